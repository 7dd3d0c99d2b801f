"""Capture policy: which windows may be recorded; one format for the agent and the stream (pure core).

A window is denied when its app matches a deny pattern, when an allow list is set and the
app matches none of it, or when its title matches a deny pattern. Denied windows yield no
characters and no frames; the agent only records that something was suppressed, and for
how long. App patterns are case-insensitive globs (``keepass*``); title patterns are
case-insensitive regular expressions. A policy remembers its verdicts for the last few
thousand (app, title) pairs: every event carries its window, and a person stays in a few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from schemas.events import WindowContext

_REMEMBERED = 4096  # (app, title) verdicts a policy keeps
DEFAULT_DENY_APPS: tuple[str, ...] = (
    "keepass*",
    "keepassxc",
    "1password",
    "bitwarden",
    "lastpass",
    "dashlane",
    "enpass",
    "nordpass",
    "proton-pass",
    "seahorse",
    "gnome-keyring*",
    "kwalletmanager*",
    "pinentry*",
    "gcr-prompter",
    "polkit-*",
    "*ssh-askpass*",
    "*-authentication-agent*",
)
DEFAULT_DENY_TITLES: tuple[str, ...] = (
    r"\b(private browsing|incognito|inprivate)\b",
    r"\b(passwor[dt]s?|passphrase|passcode|pin code)\b",
    r"\b(sign[ -]?in|sign[ -]?on|log[ -]?in|log[ -]?on|authenticat\w*)\b",
    r"\b(2fa|mfa|two[- ]factor|one[- ]time (code|password)|verification code|otp)\b",
    r"\b(password manager|keychain|credentials?)\b",
)


@dataclass(frozen=True)
class Verdict:
    """Whether a window may be captured, and a sentence saying why."""

    allowed: bool
    reason: str


@dataclass(frozen=True)
class CapturePolicy:
    """Allow and deny lists for apps, deny patterns for titles."""

    allow_apps: tuple[str, ...] = ()
    deny_apps: tuple[str, ...] = DEFAULT_DENY_APPS
    deny_title_patterns: tuple[str, ...] = DEFAULT_DENY_TITLES
    _titles: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _verdicts: dict[tuple[str, str], Verdict] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple(re.compile(p, re.IGNORECASE) for p in self.deny_title_patterns)
        object.__setattr__(self, "_titles", compiled)
        object.__setattr__(self, "_verdicts", {})

    def decide_window(self, app: str, title: str) -> Verdict:
        """The verdict for a window given by its app and title."""
        return self.decide(WindowContext(app, title))

    def decide(self, context: WindowContext | None) -> Verdict:
        """The verdict for the focused window (``None``: no window has focus, nothing to hide)."""
        if context is None:
            return Verdict(True, "no window has focus")
        key = (context.app, context.title)
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _REMEMBERED:
                self._verdicts.clear()
            verdict = self._verdicts[key] = self._decide(context.app, context.title)
        return verdict

    def _decide(self, app_name: str, title: str) -> Verdict:
        app = app_name.lower()
        for pattern in self.deny_apps:
            if fnmatchcase(app, pattern.lower()):
                return Verdict(False, f"app {app_name!r} is on the deny list ({pattern})")
        if self.allow_apps and not any(fnmatchcase(app, p.lower()) for p in self.allow_apps):
            return Verdict(False, f"app {app_name!r} is not on the allow list")
        for regex in self._titles:
            if regex.search(title):
                return Verdict(False, f"the title of {app_name!r} matches a denied pattern ({regex.pattern})")
        return Verdict(True, f"app {app_name!r} is allowed")


def validate_patterns(patterns: tuple[str, ...]) -> None:
    """Raise ``ValueError`` naming the first title pattern that is not a valid regular expression."""
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"title pattern {p!r} is not a valid regular expression: {exc}") from exc
