"""The clean stage for interaction events: consent-free app filtering, then PII redaction (pure core).

Per device, a :class:`Segmenter` holds key events until a typing segment closes (enter,
tab, focus change, the agent's ``TypingPause`` marker, idle gap on the stream clock, length
cap) and then releases them redacted; the marker itself goes no further. With early release
on, words that nothing typed later can make part of PII go before that (``redaction.release``).
Window titles are redacted on every event. Events of denied apps or titles are dropped and
counted: the agent should never have sent them, this is the second line of defense.

Held events are mirrored into a table under ``H|<partition>|<device>|<seq>`` and removed
once their segment closed, so a worker that takes a partition over re-holds them and nothing
typed is lost in a crash. Events that went early stay there as their open segment's context,
up to the seq under ``W|<partition>|<device>``. The PII strings found go to ``known`` (if
given), where the screen redaction of the same device looks for them. If redaction raises,
what the segment still holds is quarantined (fail closed): the caller gets those events back
as :class:`Quarantined` and none of them goes downstream.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from schemas.capture_policy import CapturePolicy, HostRules
from schemas.codec import Codec
from schemas.events import InteractionEvent, TypingPause
from schemas.records import from_avro
from streams.core.known import KnownPii
from streams.core.redaction import PersonFinder, Segmenter, SegmentPolicy, redact_title


class TitleRedactor:
    """``redact_title`` with a bounded memory: the same few titles come with every event of a window."""

    def __init__(self, names: PersonFinder | None, size: int = 10_000) -> None:
        self.names, self.size = names, size
        self._seen: dict[str, tuple[str, list[str]]] = {}

    def __call__(self, title: str) -> tuple[str, list[str]]:
        hit = self._seen.get(title)
        if hit is None:
            if len(self._seen) >= self.size:
                self._seen.clear()
            hit = self._seen[title] = redact_title(title, self.names)
        return hit


def held_key(partition: int, e: InteractionEvent) -> str:
    return f"H|{partition:03d}|{e.device_id}|{e.seq:020d}"


def went_key(partition: int, device_id: str) -> str:
    return f"W|{partition:03d}|{device_id}"


def _mark(raw: bytes | None) -> tuple[int | None, frozenset[int]]:
    """How far a segment went early and which of it went redacted, from its mark; a mark that cannot be read
    says nothing went (its events are held again and go once more at the close: twice, never unredacted)."""
    try:
        mark = json.loads(raw) if raw is not None else None
        if isinstance(mark, int) and not isinstance(mark, bool):
            return mark, frozenset()
        if isinstance(mark, dict) and isinstance(mark.get("to"), int):
            return mark["to"], frozenset(s for s in mark.get("redacted", ()) if isinstance(s, int))
    except (ValueError, TypeError):
        pass
    return None, frozenset()


@dataclass(frozen=True)
class Quarantined:
    """Events that could not be redacted, with the reason: they must not go downstream."""

    events: tuple[InteractionEvent, ...]
    reason: str


@dataclass(frozen=True)
class Cleaned:
    """What one input produced: events for the clean topic, and anything quarantined. ``unchanged``: by seq,
    the bytes an event came in, for the events that go on as they came (no need to encode them again)."""

    events: list[InteractionEvent]
    quarantined: list[Quarantined]
    unchanged: dict[int, bytes] = field(default_factory=dict)


@dataclass
class _Device:
    """One device's segmenter, and the events of its open segment (by seq, oldest first), as in the table."""

    name: str
    segmenter: Segmenter
    held: dict[int, InteractionEvent] = field(default_factory=dict)
    raw: dict[int, bytes] = field(default_factory=dict)  # the bytes of held events that may go on as they came
    went: int | None = None  # the last seq of the open segment that went early (its context), as in the table
    mark: bytes | None = None  # the table's record of it: that seq, and which of the context went redacted

    def waiting(self) -> list[InteractionEvent]:
        """The events held that have not gone downstream."""
        return [e for seq, e in self.held.items() if self.went is None or seq > self.went]


class Cleaner:
    """Filters and redacts the interaction events of the partitions one worker owns."""

    def __init__(
        self,
        policy: CapturePolicy,
        segments: SegmentPolicy,
        names: PersonFinder | None,
        codec: Codec,
        table: MutableMapping[str, bytes],
        known: KnownPii | None = None,
        hosts: Callable[[datetime], HostRules | None] = lambda _: None,
    ) -> None:
        self.policy, self.segments, self.names, self.codec, self.table = policy, segments, names, codec, table
        self.hosts = hosts  # the site rules of the signed policy in force at a moment (None: none seen)
        self.known = known  # where the PII strings found in typed text go, for the screen redaction
        self.titles = TitleRedactor(names)
        self.counts: Counter[str] = Counter()
        self._devices: dict[int, dict[str, _Device]] = {}

    def push(self, partition: int, event: InteractionEvent, raw: bytes, as_is: bool = False) -> Cleaned:
        """One event of the partition (``raw``: its bytes; ``as_is``: in the framing and schema version the
        clean topic takes, so it may go on as it came if unchanged)."""
        if event.context is not None and not self.policy.decide(event.context).allowed:
            self.counts["filter.denied"] += 1
            return Cleaned([], [])
        if event.context is not None and event.context.host is not None and not self._site(event):
            self.counts["filter.denied_site"] += 1
            return Cleaned([], [])
        device = self._device(partition, event.device_id)
        if isinstance(event.payload, TypingPause):  # in order after the keys: the segment is over
            if device.segmenter.open:
                self.counts["segments.closed_by_pause"] += 1
            return self._run(partition, device, device.segmenter.flush)
        if event.seq in device.held:
            return Cleaned([], [])  # a replay of an event already held
        out = self._run(partition, device, lambda: device.segmenter.push(event), also=(event,))
        sent = any(e.seq == event.seq for e in out.events)
        if not out.quarantined and device.segmenter.holds(event.seq):  # in the open segment (held, or its context)
            device.held[event.seq] = event
            if as_is and not sent:
                device.raw[event.seq] = raw
            self.table[held_key(partition, event)] = raw
        if as_is and any(e is event for e in out.events):
            out.unchanged[event.seq] = raw
        return out

    def _site(self, event: InteractionEvent) -> bool:
        """Whether the fleet's policy of the event's moment allows the site it claims (a device's rules may differ)."""
        host = None if event.context is None else event.context.host
        rules = None if host is None else self.hosts(event.event_time)
        return rules is None or host is None or rules.decide(host).allowed

    def tick(self, partition: int, now: datetime) -> Cleaned:
        """Close idle segments of every device of the partition (``now``: the stream clock)."""
        events, quarantined = [], []
        for device in list(self._partition(partition).values()):
            result = self._run(partition, device, functools.partial(device.segmenter.tick, now))
            events += result.events
            quarantined += result.quarantined
        return Cleaned(events, quarantined)

    def clock(self, partition: int, now: datetime) -> datetime:
        """How far this partition's stream time may go downstream: not past an event still held."""
        waiting = [d.waiting() for d in self._partition(partition).values()]
        return min([now, *(w[0].event_time for w in waiting if w)])

    def forget(self, partition: int) -> None:
        self._devices.pop(partition, None)

    def held(self, partition: int) -> tuple[int, int]:
        """How many events the partition holds in open typing segments, and of how many devices."""
        waiting = [w for w in (d.waiting() for d in self._partition(partition).values()) if w]
        return sum(map(len, waiting)), len(waiting)

    # -- internals ----------------------------------------------------------------------
    def _run(
        self,
        partition: int,
        device: _Device,
        step: Callable[[], list[InteractionEvent]],
        also: tuple[InteractionEvent, ...] = (),
    ) -> Cleaned:
        try:
            events = [self._title(e) for e in step()]
        except Exception as exc:  # fail closed: nothing of this segment goes downstream (what went early, went)
            lost = tuple({**{e.seq: e for e in device.waiting()}, **{e.seq: e for e in also}}.values())
            if lost or device.held:
                self._partition(partition)[device.name] = self._new(device.name)
                self._release(partition, device, (*device.held.values(), *also))
                if device.mark is not None:
                    self.table.pop(went_key(partition, device.name), None)
            self.counts["redaction.quarantined"] += len(lost)
            return Cleaned([], [Quarantined(lost, f"redaction failed: {type(exc).__name__}: {exc}")])
        unchanged = {e.seq: device.raw[e.seq] for e in events if e.seq in device.raw and device.held[e.seq] is e}
        for e in events:
            device.raw.pop(e.seq, None)
        segment = device.segmenter.open
        if device.held and (not segment or device.segmenter.starts_after(next(iter(device.held)))):
            # the segment they were in closed: every event it held came out
            self._release(partition, device, tuple(device.held.values()))
        self._went(partition, device)
        for label, n in device.segmenter.counts.items():
            self.counts[f"redaction.{label}"] += n
        device.segmenter.counts.clear()
        if device.segmenter.found:
            if self.known is not None and events:
                self.known.add(events[0].device_id, events[-1].event_time, device.segmenter.found)
            device.segmenter.found.clear()
        return Cleaned(events, [], unchanged)

    def _title(self, event: InteractionEvent) -> InteractionEvent:
        ctx = event.context
        if ctx is None:
            return event
        title, labels = self.titles(ctx.title)
        for label in labels:
            self.counts[f"redaction.title.{label}"] += 1
        return event if title == ctx.title else replace(event, context=replace(ctx, title=title))

    def _release(self, partition: int, device: _Device, events: tuple[InteractionEvent, ...]) -> None:
        for e in events:
            device.raw.pop(e.seq, None)
            if device.held.pop(e.seq, None) is not None:
                self.table.pop(held_key(partition, e), None)

    def _went(self, partition: int, device: _Device) -> None:
        """Mirror how far the open segment went early into the table (a worker taking over reads it as context),
        and which of it went redacted (so that its close still tells what went as typed and became PII)."""
        segmenter = device.segmenter
        device.went = segmenter.context_end
        mark = None
        if device.went is not None:
            mark = json.dumps({"to": device.went, "redacted": sorted(segmenter.went_redacted)}).encode()
        if mark != device.mark:
            device.mark = mark
            if mark is None:
                self.table.pop(went_key(partition, device.name), None)
            else:
                self.table[went_key(partition, device.name)] = mark

    def _partition(self, partition: int) -> dict[str, _Device]:
        devices = self._devices.get(partition)
        if devices is None:
            devices = self._devices[partition] = self._rebuild(partition)
        return devices

    def _device(self, partition: int, name: str) -> _Device:
        devices = self._partition(partition)
        device = devices.get(name)
        if device is None:
            device = devices[name] = self._new(name)
        return device

    def _new(self, name: str) -> _Device:
        return _Device(name, Segmenter(self.segments, self.names))

    def _rebuild(self, partition: int) -> dict[str, _Device]:
        """Re-hold the events a previous owner of the partition held when it stopped."""
        prefix, went = f"H|{partition:03d}|", f"W|{partition:03d}|"
        devices: dict[str, _Device] = {}
        marks: dict[str, bytes] = {}
        for key, raw in sorted((k, v) for k, v in self.table.items() if k.startswith((prefix, went))):
            if key.startswith(went):
                marks[key.removeprefix(went)] = raw
            else:
                event = from_avro(InteractionEvent, self.codec.decode_named(raw, "InteractionEvent"))
                device = devices.get(event.device_id)
                if device is None:
                    device = devices[event.device_id] = self._new(event.device_id)
                device.held[event.seq] = event
        for name in marks.keys() - devices.keys():  # a segment that closed before its mark was dropped
            self.table.pop(went + name, None)
        for name, device in devices.items():
            device.mark = marks.get(name)
            device.went, redacted = _mark(device.mark)
            device.segmenter.restore(list(device.held.values()), device.went, redacted)
        return devices
