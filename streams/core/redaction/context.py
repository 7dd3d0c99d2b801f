"""Where everything typed is a password: sign-in windows, password managers, password prompts (pure core).

``is_password_context(context)`` looks at the focused window's app and title.
``expects_password_next(text)`` tells, from a command line just entered in a terminal, that
the next line typed in that window answers a password prompt (``sudo``, ``su``, ``ssh``,
``passwd``, ``mysql -p``, ``docker login``, ...); the wiring keeps that one bit per window.
"""

from __future__ import annotations

import functools
import re

from schemas.events import WindowContext

_PASSWORD_TITLE = re.compile(
    r"(?i)(?:\b(?:sign|log)[ -]?(?:in|on)\b|\bpasswor[dt]|\bpassphrase|\bpasscode|\bpin\b|\bunlock\b|authenticat"
    r"|\b[2m]fa\b|two-factor|one-time (?:code|password)|verification code|\bcredentials?\b|\bkeychain\b"
    r"|\bpinentry\b|\bpolkit\b|\bkeyring\b|1password|bitwarden|keepass|lastpass|dashlane|\bsudo\b)"
)
_PASSWORD_COMMAND = re.compile(
    r"(?:^|[;&|]\s*)(?:sudo\b(?!.*\s-[nS]\b)|su(?:\s|$)|passwd\b|ssh(?:\s|$)|scp\s|sftp\s|kinit\b|docker login\b"
    r"|gpg\b.*(?:-c|--symmetric|--decrypt|-d)\b|(?:mysql|mariadb|mysqldump)\b.*\s-p(?:\s|$)|ssh-keygen\b|ssh-add\b"
    r"|openssl\b.*\s-(?:aes|des)|read\s+-s\b|vault login\b|htpasswd\b(?!.*\s-b))"
)


def is_password_context(context: WindowContext | None) -> bool:
    """Whether the focused window asks for a password (sign-in page, password manager, prompt)."""
    return context is not None and _password_window(context.app, context.title)


@functools.lru_cache(maxsize=4096)
def _password_window(app: str, title: str) -> bool:
    """(Remembered: every typed key asks about its window, and a person stays in a few.)"""
    return _PASSWORD_TITLE.search(title) is not None or _PASSWORD_TITLE.search(app) is not None


def expects_password_next(command: str) -> bool:
    """Whether the line after ``command`` (entered in a terminal) is likely a password."""
    return _PASSWORD_COMMAND.search(command.strip()) is not None
