"""The clean stage for interaction events: consent-free app filtering, then PII redaction (pure core).

Per device, a :class:`Segmenter` holds key events until a typing segment closes (enter,
tab, focus change, idle gap, length cap) and then releases them redacted; window titles
are redacted on every event. Events of denied apps or titles are dropped and counted: the
agent should never have sent them, this is the second line of defense.

Held events are mirrored into a table under ``H|<partition>|<device>|<seq>`` and removed
once released, so a worker that takes a partition over re-holds them and nothing typed is
lost in a crash. If redaction raises, the whole segment is quarantined (fail closed): the
caller gets the held events back as :class:`Quarantined` and none of them goes downstream.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime

from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.events import InteractionEvent
from schemas.records import from_avro
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


@dataclass(frozen=True)
class Quarantined:
    """Events that could not be redacted, with the reason: they must not go downstream."""

    events: tuple[InteractionEvent, ...]
    reason: str


@dataclass(frozen=True)
class Cleaned:
    """What one input produced: events for the clean topic, and anything quarantined."""

    events: list[InteractionEvent]
    quarantined: list[Quarantined]


class Cleaner:
    """Filters and redacts the interaction events of the partitions one worker owns."""

    def __init__(
        self,
        policy: CapturePolicy,
        segments: SegmentPolicy,
        names: PersonFinder | None,
        codec: Codec,
        table: MutableMapping[str, bytes],
    ) -> None:
        self.policy, self.segments, self.names, self.codec, self.table = policy, segments, names, codec, table
        self.titles = TitleRedactor(names)
        self.counts: Counter[str] = Counter()
        self._devices: dict[int, dict[str, Segmenter]] = {}

    def push(self, partition: int, event: InteractionEvent, raw: bytes) -> Cleaned:
        if event.context is not None and not self.policy.decide(event.context).allowed:
            self.counts["filter.denied"] += 1
            return Cleaned([], [])
        key = held_key(partition, event)
        if key in self.table:
            return Cleaned([], [])  # a replay of an event already held
        segmenter = self._segmenter(partition, event.device_id)
        out = self._run(partition, segmenter, lambda: segmenter.push(event), also=(event,))
        if any(e.seq == event.seq for e in segmenter.held):
            self.table[key] = raw
        return out

    def tick(self, partition: int, now: datetime) -> Cleaned:
        """Close idle segments of every device of the partition (``now``: the stream clock)."""
        events, quarantined = [], []
        for segmenter in list(self._partition(partition).values()):
            result = self._run(partition, segmenter, functools.partial(segmenter.tick, now))
            events += result.events
            quarantined += result.quarantined
        return Cleaned(events, quarantined)

    def clock(self, partition: int, now: datetime) -> datetime:
        """How far this partition's stream time may go downstream: not past an event still held."""
        held = [s.held[0].event_time for s in self._partition(partition).values() if s.held]
        return min([now, *held])

    def forget(self, partition: int) -> None:
        self._devices.pop(partition, None)

    # -- internals ----------------------------------------------------------------------
    def _run(
        self,
        partition: int,
        segmenter: Segmenter,
        step: Callable[[], list[InteractionEvent]],
        also: tuple[InteractionEvent, ...] = (),
    ) -> Cleaned:
        held_before = segmenter.held
        try:
            events = [self._title(e) for e in step()]
        except Exception as exc:  # fail closed: nothing of this segment goes downstream
            lost = tuple({e.seq: e for e in (*held_before, *also)}.values())
            if lost:
                self._partition(partition)[lost[0].device_id] = Segmenter(self.segments, self.names)
            self._release(partition, lost)
            self.counts["redaction.quarantined"] += len(lost)
            return Cleaned([], [Quarantined(lost, f"redaction failed: {type(exc).__name__}: {exc}")])
        self._release(partition, events)
        for label, n in segmenter.counts.items():
            self.counts[f"redaction.{label}"] += n
        segmenter.counts.clear()
        return Cleaned(events, [])

    def _title(self, event: InteractionEvent) -> InteractionEvent:
        ctx = event.context
        if ctx is None:
            return event
        title, labels = self.titles(ctx.title)
        for label in labels:
            self.counts[f"redaction.title.{label}"] += 1
        return event if title == ctx.title else replace(event, context=replace(ctx, title=title))

    def _release(self, partition: int, events: tuple[InteractionEvent, ...] | list[InteractionEvent]) -> None:
        for e in events:
            self.table.pop(held_key(partition, e), None)

    def _partition(self, partition: int) -> dict[str, Segmenter]:
        devices = self._devices.get(partition)
        if devices is None:
            devices = self._devices[partition] = self._rebuild(partition)
        return devices

    def _segmenter(self, partition: int, device: str) -> Segmenter:
        devices = self._partition(partition)
        if device not in devices:
            devices[device] = Segmenter(self.segments, self.names)
        return devices[device]

    def _rebuild(self, partition: int) -> dict[str, Segmenter]:
        """Re-hold the events a previous owner of the partition held when it stopped."""
        prefix = f"H|{partition:03d}|"
        devices: dict[str, Segmenter] = {}
        for _, raw in sorted((k, v) for k, v in self.table.items() if k.startswith(prefix)):
            event = from_avro(InteractionEvent, self.codec.decode_named(raw, "InteractionEvent"))
            segmenter = devices.setdefault(event.device_id, Segmenter(self.segments, self.names))
            segmenter.push(event)
        return devices
