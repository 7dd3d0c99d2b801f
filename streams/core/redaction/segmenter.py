"""One device's interaction events in, redacted events out, in order (pure core, stateful).

``Segmenter`` holds a device's events while a typing segment is open, and closes the
segment at a boundary: the press of enter or tab, a focus change (``WindowFocus`` or another
window in the context), an idle gap in event time, or a length cap. It then redacts the
segment with ``redact_segment`` and releases every held event, in the order it came. While
no segment is open, events pass straight through. The added latency is therefore the time
to the next boundary, at most the idle gap (``tick(now)`` closes idle segments from an
event-time watermark) or the time to type ``max_presses`` keys.

With ``release_margin`` set (off by default), a space or a click in an open segment asks
``release.releasable`` whether its start may go already (once its oldest event waited
``early_after``, and at most once per ``early_after`` while nothing could go, doubling up to
8 s: each ask reads the segment again): words that nothing typed later can make part of PII,
``release_margin`` words behind the one being typed. What went stays as the segment's
*context*, read again when the rest is redacted; the latency is then the time to type a few
more words, for what can go early.

State carried between segments: key releases that arrive after their press's segment
closed get the press's label; after a terminal command that asks for a password (``sudo``,
``ssh``, ...), the next line typed in that window is ``PASSWORD``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from schemas.events import TYPING_PAUSE_S, InteractionEvent, KeyEvent, MouseButton, WindowFocus
from streams.core.redaction.context import expects_password_next, is_password_context
from streams.core.redaction.names import PersonFinder
from streams.core.redaction.release import releasable
from streams.core.redaction.segment import redact_segment
from streams.core.text import TextBuilder

BOUNDARY_KEYS = frozenset({"enter", "return", "tab"})
_MAX_BACKOFF = timedelta(seconds=8)
TERMINAL_APPS = re.compile(r"(?i)term|konsole|iterm|alacritty|kitty|wezterm|tilix|terminator|powershell|cmd\.exe|ssh")


@dataclass(frozen=True)
class SegmentPolicy:
    """When a typing segment closes besides enter, tab and focus changes."""

    idle: timedelta = timedelta(seconds=TYPING_PAUSE_S)
    max_presses: int = 1000
    release_margin: int | None = None  # words typed after a word before it may go early; None: held whole
    early_after: timedelta = timedelta(seconds=1)  # how long typing waits before the open segment is asked


def _is_space(event: InteractionEvent) -> bool:
    key = event.payload
    return isinstance(key, KeyEvent) and key.pressed and (key.char == " " or key.key == "space")


def _is_click(event: InteractionEvent) -> bool:
    return isinstance(event.payload, MouseButton) and event.payload.pressed


@dataclass(frozen=True)
class Carried:
    """What a device's segmenter carries from one typing segment to the next (its owner keeps it in a table)."""

    released: tuple[tuple[str, str], ...] = ()  # key, label of a redacted press whose release has not come
    password_next: tuple[str, ...] = ()  # digests of the windows whose next line answers a password prompt


def _digest(window: tuple[str, str, int] | None) -> str | None:
    """A window as a digest: what is carried between segments is kept in a table, without titles."""
    if window is None:
        return None
    return hashlib.blake2b("\x1f".join(map(str, window)).encode(), digest_size=16).hexdigest()


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
        self._context: list[InteractionEvent] = []  # events of the open segment that went early
        self._typed = TextBuilder()  # the text of the open segment (context and held), fed as events are held
        self._secret: set[int] = set()  # seqs of the open segment's events in a password context
        self._spaces = 0  # spaces typed among the held events
        self._ask_at: datetime | None = None  # not before this event time: what kept the last ask from going
        self._backoff = self.policy.early_after
        self._went_redacted: set[int] = set()  # seqs of the context that went redacted
        self._seg_window: tuple[str, str, int] | None = None
        self._presses = 0
        self._last: datetime | None = None
        self._released: dict[str, str] = {}  # key -> label of a redacted press still held down
        self._password_next: set[str | None] = set()  # digests of windows whose next line is a password
        self.carried_changes = 0  # how many times what it carries (``carried``) may have changed
        self.pushed: InteractionEvent | None = None  # the last event pushed, as held (a release may carry a label)

    @property
    def carried(self) -> Carried:
        """What it carries to the next segment: labels for key releases still to come, password prompts."""
        windows = (w for w in self._password_next if w is not None)
        return Carried(tuple(sorted(self._released.items())), tuple(sorted(windows)))

    def carry(self, carried: Carried) -> None:
        """Carry ``carried`` (a worker taking a partition over), before any event is pushed."""
        self._released, self._password_next = dict(carried.released), set(carried.password_next)

    @property
    def held(self) -> tuple[InteractionEvent, ...]:
        """The events of the open segment, not yet released."""
        return tuple(self._held)

    @property
    def context_end(self) -> int | None:
        """The seq of the last event of the open segment that went early, if any did."""
        return self._context[-1].seq if self._context else None

    @property
    def context_state(self) -> tuple[int, ...]:
        """Changes whenever what went early of the open segment (``context_end``, ``went_redacted``) may have."""
        return (self.context_end or -1, len(self._context), self.carried_changes)

    @property
    def open(self) -> bool:
        return bool(self._held or self._context)

    def holds(self, seq: int) -> bool:
        """Whether the event of ``seq``, the last one pushed, is in the open segment (held, or gone early)."""
        held, context = self._held, self._context
        return bool((held and held[-1].seq == seq) or (context and context[-1].seq == seq))

    def starts_after(self, seq: int) -> bool:
        """Whether the open segment began after the event of ``seq``."""
        first = (self._context or self._held)[0]
        return first.seq > seq

    def push(self, event: InteractionEvent) -> list[InteractionEvent]:
        """Take one event (in seq order); return the events that may go downstream now."""
        out = self._push(event)
        if self.policy.release_margin is not None and self._held and (_is_space(event) or _is_click(event)):
            out += self._release_early(self.policy.release_margin, clicked=_is_click(event))
        return out

    @property
    def went_redacted(self) -> frozenset[int]:
        """The seqs of the context that went redacted (the rest went as typed)."""
        return frozenset(self._went_redacted)

    def restore(
        self, events: list[InteractionEvent], went_through: int | None, went_redacted: frozenset[int] = frozenset()
    ) -> None:
        """Hold ``events`` again (a worker taking a partition over), those up to seq ``went_through`` as context,
        of which ``went_redacted`` went redacted."""
        for event in events:
            self._push(event)
        if went_through is not None:
            self._context = [e for e in self._held if e.seq <= went_through]
            self._held = [e for e in self._held if e.seq > went_through]
            self._went_redacted = set(went_redacted)

    def _push(self, event: InteractionEvent) -> list[InteractionEvent]:
        out: list[InteractionEvent] = []
        event = self.pushed = self._late_release(event)
        if self.open and self._breaks(event):
            out += self._close()
        self._last = event.event_time
        key = event.payload
        if not isinstance(key, KeyEvent) or (not self.open and not key.pressed):
            if self.open:
                self._hold(event)
                return out
            return [*out, event]
        if not self.open:
            self._seg_window = _window(event)
        self._hold(event)
        if key.pressed:
            self._presses += 1
            if key.key.lower() in BOUNDARY_KEYS or self._presses >= self.policy.max_presses:
                out += self._close()
        return out

    def _hold(self, event: InteractionEvent) -> None:
        self._held.append(event)
        self._typed.feed(event)
        if is_password_context(event.context):
            self._secret.add(event.seq)

    def _release_early(self, margin: int, clicked: bool) -> list[InteractionEvent]:
        """Ask what may go at a space, or at a click (the field typed in so far is done: no margin)."""
        self._spaces += not clicked
        now = self._held[-1].event_time
        if (self._spaces <= margin and not clicked) or now - self._held[0].event_time < self.policy.early_after:
            return []  # no word has its margin yet, or none has waited long: the segment may well close first
        if self._ask_at is not None and now < self._ask_at and not clicked:
            return []  # what kept the last ask from letting anything go most likely still does: each ask reads it all
        segment, secret = [*self._context, *self._held], _digest(self._seg_window) in self._password_next
        typed, released = self._typed.result(), len(self._context)
        went = releasable(
            segment, released, margin=margin, names=self.names, secret_input=secret, typed=typed, secret=self._secret
        )
        if not went:
            self._ask_at, self._backoff = now + self._backoff, min(2 * self._backoff, _MAX_BACKOFF)
            return []
        self._context += self._held[: len(went)]  # as typed: what is typed later is read beside it as it was
        self._held = self._held[len(went) :]
        self._spaces = sum(map(_is_space, self._held))
        self._ask_at, self._backoff = now + self.policy.early_after, self.policy.early_after  # one ask per wait
        self.counts["early.events"] += len(went)
        for e in went:
            if isinstance(e.payload, KeyEvent) and e.payload.redaction is not None:
                self.counts[e.payload.redaction] += 1
                self._went_redacted.add(e.seq)
        return went

    def tick(self, now: datetime) -> list[InteractionEvent]:
        """Close the open segment if nothing came for the idle gap (``now``: event-time watermark)."""
        if self.open and self._last is not None and now - self._last >= self.policy.idle:
            return self._close()
        return []

    def flush(self) -> list[InteractionEvent]:
        """Close the open segment whatever its state (shutdown, rebalance)."""
        return self._close() if self.open else []

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
                self.carried_changes += 1
                self.counts[label] += 1
                return replace(event, payload=replace(key, key="", char=None, modifiers=(), redaction=label))
        return event

    def _close(self) -> list[InteractionEvent]:
        context, held, typed, password = self._context, self._held, self._typed.result(), self._secret
        events, self._context, self._held, self._presses = [*context, *held], [], [], 0
        self._typed, self._secret = TextBuilder(), set()
        self._spaces, self._ask_at, self._backoff = 0, None, self.policy.early_after
        self.carried_changes += 1
        window, digest = self._seg_window, _digest(self._seg_window)
        secret = digest in self._password_next
        self._password_next.discard(digest)
        result = redact_segment(events, names=self.names, secret_input=secret, typed=typed, secret=password)
        self.counts += result.counts
        self.found += result.found
        for before, after in zip(context, result.events, strict=False):
            labelled = after is not before and isinstance(after.payload, KeyEvent) and after.payload.redaction
            if labelled:
                self.counts[labelled] -= 1  # went early: counted then, or not redacted at all
                if before.seq not in self._went_redacted:
                    # went as typed, labelled now: edited into PII after it went (deleted back to, or the caret moved)
                    self.counts["early.labelled_later"] += 1
        self._went_redacted = set()
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
        if window is not None and TERMINAL_APPS.search(window[0]) and expects_password_next(typed.text):
            self._password_next.add(digest)
        return list(result.events[len(context) :])
