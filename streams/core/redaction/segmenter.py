"""One device's interaction events in, redacted events out, in order (pure core, stateful).

``Segmenter`` holds a device's events while a typing segment is open, and closes the
segment at a boundary: the press of enter or tab, a focus change (``WindowFocus`` or another
window in the context), an idle gap in event time, or a length cap. It then redacts the
segment with ``redact_segment`` and releases every held event, in the order it came. While
no segment is open, events pass straight through. The added latency is therefore the time
to the next boundary, at most the idle gap (``tick(now)`` closes idle segments from an
event-time watermark) or the time to type ``max_presses`` keys.

State carried between segments: key releases that arrive after their press's segment
closed get the press's label; after a terminal command that asks for a password (``sudo``,
``ssh``, ...), the next line typed in that window is ``PASSWORD``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from schemas.events import TYPING_PAUSE_S, InteractionEvent, KeyEvent, WindowFocus
from streams.core.redaction.context import expects_password_next
from streams.core.redaction.names import PersonFinder
from streams.core.redaction.segment import redact_segment
from streams.core.text import reconstruct

BOUNDARY_KEYS = frozenset({"enter", "return", "tab"})
TERMINAL_APPS = re.compile(r"(?i)term|konsole|iterm|alacritty|kitty|wezterm|tilix|terminator|powershell|cmd\.exe|ssh")


@dataclass(frozen=True)
class SegmentPolicy:
    """When a typing segment closes besides enter, tab and focus changes."""

    idle: timedelta = timedelta(seconds=TYPING_PAUSE_S)
    max_presses: int = 1000


def _window(event: InteractionEvent) -> tuple[str, str, int] | None:
    ctx = event.context
    return None if ctx is None else (ctx.app, ctx.title, ctx.window_id)


class Segmenter:
    """Buffers, segments and redacts the key events of one device."""

    def __init__(self, policy: SegmentPolicy | None = None, names: PersonFinder | None = None) -> None:
        self.policy = policy or SegmentPolicy()
        self.names = names
        self.counts: Counter[str] = Counter()
        self.found: list[str] = []  # PII strings as typed, found since the owner last emptied this list
        self._held: list[InteractionEvent] = []
        self._seg_window: tuple[str, str, int] | None = None
        self._presses = 0
        self._last: datetime | None = None
        self._released: dict[str, str] = {}  # key -> label of a redacted press still held down
        self._password_next: set[tuple[str, str, int] | None] = set()

    @property
    def held(self) -> tuple[InteractionEvent, ...]:
        """The events of the open segment, not yet released."""
        return tuple(self._held)

    @property
    def open(self) -> bool:
        return bool(self._held)

    def push(self, event: InteractionEvent) -> list[InteractionEvent]:
        """Take one event (in seq order); return the events that may go downstream now."""
        out: list[InteractionEvent] = []
        event = self._late_release(event)
        if self._held and self._breaks(event):
            out += self._close()
        self._last = event.event_time
        key = event.payload
        if not isinstance(key, KeyEvent) or (not self._held and not key.pressed):
            if self._held:
                self._held.append(event)
                return out
            return [*out, event]
        if not self._held:
            self._seg_window = _window(event)
        self._held.append(event)
        if key.pressed:
            self._presses += 1
            if key.key.lower() in BOUNDARY_KEYS or self._presses >= self.policy.max_presses:
                out += self._close()
        return out

    def tick(self, now: datetime) -> list[InteractionEvent]:
        """Close the open segment if nothing came for the idle gap (``now``: event-time watermark)."""
        if self._held and self._last is not None and now - self._last >= self.policy.idle:
            return self._close()
        return []

    def flush(self) -> list[InteractionEvent]:
        """Close the open segment whatever its state (shutdown, rebalance)."""
        return self._close() if self._held else []

    def _breaks(self, event: InteractionEvent) -> bool:
        if isinstance(event.payload, WindowFocus):
            return True
        if event.context is not None and _window(event) != self._seg_window:
            return True
        return self._last is not None and event.event_time - self._last >= self.policy.idle

    def _late_release(self, event: InteractionEvent) -> InteractionEvent:
        key = event.payload
        if isinstance(key, KeyEvent) and not key.pressed and key.redaction is None:
            label = self._released.pop(key.key.lower(), None)
            if label is not None:
                self.counts[label] += 1
                return replace(event, payload=replace(key, key="", char=None, modifiers=(), redaction=label))
        return event

    def _close(self) -> list[InteractionEvent]:
        events, self._held, self._presses = self._held, [], 0
        window = self._seg_window
        secret = window in self._password_next
        self._password_next.discard(window)
        result = redact_segment(events, names=self.names, secret_input=secret)
        self.counts += result.counts
        self.found += result.found
        labels = {
            e.seq: e.payload.redaction
            for e in result.events
            if isinstance(e.payload, KeyEvent) and e.payload.pressed and e.payload.redaction is not None
        }
        down: dict[str, str | None] = {}
        for e in events:
            if isinstance(e.payload, KeyEvent):
                name = e.payload.key.lower()
                if e.payload.pressed:
                    down[name] = labels.get(e.seq)
                else:
                    down.pop(name, None)
        self._released.update({name: label for name, label in down.items() if label is not None})
        if window is not None and TERMINAL_APPS.search(window[0]) and expects_password_next(reconstruct(events).text):
            self._password_next.add(window)
        return list(result.events)
