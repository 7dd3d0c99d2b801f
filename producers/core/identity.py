"""Identity scrubbing: the person's real names out of window titles before anything leaves (pure core).

Downstream, people and devices are keyed-hash pseudonyms; but a terminal titled
``jdoe@ws-17: ~`` or a mail client titled ``Inbox - jane.doe@example.com`` would carry the
real identity in plain text. The agent knows the user name, the host name and (optionally)
the person's email addresses, and replaces each with ``<USER>``, ``<HOST>`` or ``<EMAIL>``
in every title it publishes. Matching ignores case and needs a non-alphanumeric character
(or the edge of the title) on both sides, so a user ``ann`` leaves ``annual report`` alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from schemas.events import VisibleWindow, WindowContext

USER, HOST, EMAIL = "<USER>", "<HOST>", "<EMAIL>"


@dataclass(frozen=True)
class Identities:
    """The real names to remove: a user name, a host name, email addresses."""

    user: str = ""
    host: str = ""
    emails: tuple[str, ...] = ()
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _tokens: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens: dict[str, str] = {}
        for email in self.emails:
            tokens[email.strip().lower()] = EMAIL
        host = self.host.strip().lower()
        for name in (host, host.split(".", 1)[0]):  # ws-17.corp.example and ws-17
            tokens.setdefault(name, HOST)
        tokens.setdefault(self.user.strip().lower(), USER)
        tokens.pop("", None)
        longest_first = sorted(tokens, key=len, reverse=True)  # an email before the user name inside it
        alternatives = "|".join(re.escape(name) for name in longest_first)
        regex = re.compile(rf"(?<![0-9a-z])(?:{alternatives})(?![0-9a-z])", re.IGNORECASE) if tokens else None
        object.__setattr__(self, "_regex", regex)
        object.__setattr__(self, "_tokens", tokens)

    def scrub(self, text: str) -> str:
        """``text`` with every known name replaced by its placeholder."""
        if self._regex is None or not text:
            return text
        return self._regex.sub(lambda m: self._tokens[m.group(0).lower()], text)

    def context(self, context: WindowContext | None) -> WindowContext | None:
        if context is None:
            return None
        title = self.scrub(context.title)
        return context if title == context.title else replace(context, title=title)

    def window(self, window: VisibleWindow) -> VisibleWindow:
        title = self.scrub(window.title)
        return window if title == window.title else replace(window, title=title)
