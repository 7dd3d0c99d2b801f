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
from datetime import datetime

from schemas.events import InteractionEvent, KeyEvent, VisibleWindow, WindowContext

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

    @property
    def tokens(self) -> dict[str, str]:
        """Each name to remove, lower case, and its placeholder."""
        return dict(self._tokens)

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


TYPOS = 2  # letters typed past a name's prefix that are held, waiting for a backspace ("jdx<-oe")
_BOUNDARY_KEYS = frozenset({"space", "enter", "tab", "escape", "up", "down", "left", "right", "home", "end"})
_MODIFIER_KEYS = frozenset({"shift", "shift_l", "shift_r", "caps_lock"})
_LABELS = {USER: "USER", HOST: "HOST", EMAIL: "EMAIL"}


class TypedIdentities:
    """The person's user name, host name and emails typed as text, replaced on the device (pure core).

    Key events pass through :meth:`push`. When a press starts a word (after a non-alphanumeric
    character or at the start) with text that could begin one of the names, this event and every
    later one are held, in order, while the typed word stays a prefix of a name (backspace
    included, and up to two mistyped letters past it). A whole name followed by a boundary (a
    non-alphanumeric character, enter, tab, a click, a focus change: any other event) or by
    :meth:`release` is sent with its key events redacted (``key=""``, ``char=None``,
    ``redaction="USER"``, ``"HOST"`` or ``"EMAIL"``), as the stream would; anything else is sent
    unchanged. The stream knows only pseudonyms, so it could
    not find these names itself.
    """

    def __init__(self, identities: Identities, hold_s: float = 10.0) -> None:
        self._tokens = identities.tokens
        self._prefixes = {name[:i] for name in self._tokens for i in range(1, len(name) + 1)}
        self.hold_s = hold_s
        self._held: list[InteractionEvent] = []
        self._typed = ""
        self._after_boundary = True
        self.redacted = 0

    def push(self, event: InteractionEvent) -> list[InteractionEvent]:
        """The events that may leave now, in order (``event`` may be held)."""
        key = event.payload
        if not self._tokens:
            return [event]
        if not isinstance(key, KeyEvent) or key.redaction is not None:
            return [*self._finish(), self._seen_other(event)]  # a click, a focus change: the word ends
        if not key.pressed:
            if self._held:
                self._held.append(event)
                return []
            return [event]
        char = _typed_char(key)
        if self._held:
            return self._continue(event, key, char)
        if char is not None and self._after_boundary and char.lower() in self._prefixes:
            self._held, self._typed = [event], char.lower()
            return []
        self._after_boundary = char is None or not char.isalnum()
        return [event]

    def release(self, now: datetime | None = None) -> list[InteractionEvent]:
        """Held events, if the first was held for ``hold_s`` (or always, without ``now``): a frame, a flush."""
        if not self._held or (now is not None and (now - self._held[0].event_time).total_seconds() < self.hold_s):
            return []
        return self._finish()

    def _continue(self, event: InteractionEvent, key: KeyEvent, char: str | None) -> list[InteractionEvent]:
        if key.key.lower() == "backspace":
            self._held.append(event)
            self._typed = self._typed[:-1]
            return [] if self._typed else self._flush(redact=None)
        if char is not None and self._near(self._typed + char.lower()):
            self._held.append(event)
            self._typed += char.lower()
            return []
        boundary = (char is not None and not char.isalnum()) or key.key.lower() in _BOUNDARY_KEYS
        out = self._finish() if boundary else self._flush(redact=None)  # "anna" is not the user "ann"
        self._after_boundary = boundary
        return [*out, event]

    def _near(self, typed: str) -> bool:
        """A prefix of a name, or one followed by up to ``TYPOS`` letters or digits a backspace may still remove."""
        for k in range(len(typed), max(0, len(typed) - TYPOS - 1), -1):
            if typed[:k] in self._prefixes:
                return typed[k:].isalnum() or k == len(typed)
        return False

    def _seen_other(self, event: InteractionEvent) -> InteractionEvent:
        self._after_boundary = True
        return event

    def _finish(self) -> list[InteractionEvent]:
        return self._flush(redact=self._tokens.get(self._typed))

    def _flush(self, redact: str | None) -> list[InteractionEvent]:
        held, self._held, self._typed = self._held, [], ""
        if redact is None:
            return held
        label = _LABELS[redact]
        out = []
        for event in held:
            k = event.payload
            if isinstance(k, KeyEvent) and k.redaction is None and k.key not in _MODIFIER_KEYS:
                self.redacted += k.pressed
                out.append(replace(event, payload=replace(k, key="", char=None, modifiers=(), redaction=label)))
            else:
                out.append(event)
        return out


def _typed_char(key: KeyEvent) -> str | None:
    if key.char is not None and len(key.char) == 1 and not (set(key.modifiers) & {"ctrl", "alt", "super"}):
        return key.char
    return None
