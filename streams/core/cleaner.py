"""The clean stage for interaction events: consent-free app filtering, then PII redaction (pure core).

Per device, a :class:`Segmenter` holds key events until a typing segment closes (enter,
tab, focus change, the agent's ``TypingPause`` marker, idle gap on the stream clock, length
cap) and then releases them redacted; the marker itself goes no further. With early release
on, words that nothing typed later can make part of PII go before that (``redaction.release``).
Window titles are redacted on every event. Events of denied apps or titles are dropped and
counted: the agent should never have sent them, this is the second line of defense.

Held events are mirrored into a table under ``H|<partition>|<device>|<seq>`` (with the offset of the
record they came in, if the caller gives it) and removed once their segment closed, so a worker that
takes a partition over re-holds them and nothing typed is lost in a crash. Events that went early stay
there as their open segment's context, up to the seq under ``W|<partition>|<device>``. A close is marked
under ``T|<partition>|<device>``: the last seq that went, and what the device's segmenter carries to its
next segment (labels for key releases still to come, a terminal line that answers a password prompt).
The caller calls :meth:`Cleaner.settle` after each event, once what it released is with the sessions; it
writes the marks, then the events held since. The table's changes reach its changelog in that order, and
deletes last (``streams.tables``), so a worker killed while they went out leaves the mark whenever it
left only some of the close's deletions. A worker taking over drops what the mark says went (never
holding the end of a segment without its beginning, which it would redact without its cue), skips those
events when it reads them again, and carries on what the mark carries. A stream tick it reads again does
not close a re-held segment with an event that came after the tick: the first owner ticked before that
event was there. The PII strings found go to ``known`` (if given), where the screen redaction of the
same device looks for them. If redaction raises, what the segment still holds is quarantined (fail
closed): the caller gets those events back as :class:`Quarantined` and none of them goes downstream.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from schemas.capture_policy import CapturePolicy, HostRules
from schemas.codec import Codec
from schemas.events import InteractionEvent, TypingPause
from schemas.records import from_avro, to_avro
from streams.core.known import KnownPii
from streams.core.positions import split_offset, with_offset
from streams.core.redaction import Carried, PersonFinder, Segmenter, SegmentPolicy, redact_title


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


def closed_key(partition: int, device_id: str) -> str:
    return f"T|{partition:03d}|{device_id}"


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
    closed: int = -1  # its last seq known gone downstream with nothing held before it (closed, quarantined, passed)
    closed_at: datetime | None = None  # that event's time (as its close mark kept it, after a takeover)
    carried_changes: int = 0  # the segmenter's count of changes to what it carries, as last marked
    held_to: int | None = None  # the last offset of the events re-held at a takeover: ticks up to it were had
    marked_for: tuple[int, ...] | None = None  # the segmenter's ``context_state`` that ``mark`` was made for

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
        self._closing: dict[int, set[str]] = {}  # partition -> devices whose close mark is to be written
        self._holding: dict[int, list[tuple[_Device, InteractionEvent, bytes]]] = {}  # held values to write, at settle
        self._marking: dict[int, set[str]] = {}  # partition -> devices whose early-release mark is to be written
        # partition -> device -> the seq and time through which its events went downstream before this worker took
        # the partition over (from the close marks, and the start of its re-held segment): read again, they are skipped
        self._gone: dict[int, dict[str, tuple[int, datetime]]] = {}

    def push(
        self, partition: int, event: InteractionEvent, raw: bytes, as_is: bool = False, offset: int | None = None
    ) -> Cleaned:
        """One event of the partition (``raw``: its bytes; ``as_is``: in the framing and schema version the
        clean topic takes, so it may go on as it came if unchanged; ``offset``: its record's, kept if held)."""
        if event.context is not None and not self.policy.decide(event.context).allowed:
            self.counts["filter.denied"] += 1
            return Cleaned([], [])
        if event.context is not None and event.context.host is not None and not self._site(event):
            self.counts["filter.denied_site"] += 1
            return Cleaned([], [])
        if self._went_before(partition, event):
            self.counts["restore.replays_skipped"] += 1
            return Cleaned([], [])
        device = self._device(partition, event.device_id)
        if event.seq <= device.closed and device.closed_at is not None and event.event_time <= device.closed_at:
            self.counts["restore.replays_skipped"] += 1  # the device sent it again: it went downstream already
            return Cleaned([], [])
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
            held = device.segmenter.pushed
            # as held: a key release that took its press's label (the press went in a segment closed before it)
            stored = raw if held is event or held is None else self._encode(held)
            self._holding.setdefault(partition, []).append((device, event, with_offset(stored, offset)))
        if as_is and any(e is event for e in out.events):
            out.unchanged[event.seq] = raw
        return out

    def _encode(self, event: InteractionEvent) -> bytes:
        return self.codec.encode("InteractionEvent", to_avro(event))

    def _site(self, event: InteractionEvent) -> bool:
        """Whether the fleet's policy of the event's moment allows the site it claims (a device's rules may differ)."""
        host = None if event.context is None else event.context.host
        rules = None if host is None else self.hosts(event.event_time)
        return rules is None or host is None or rules.decide(host).allowed

    def tick(self, partition: int, now: datetime, offset: int | None = None) -> Cleaned:
        """Close idle segments of every device of the partition (``now``: the stream clock; ``offset``: the
        tick's record, if it is one of the partition's)."""
        events, quarantined = [], []
        for device in list(self._partition(partition).values()):
            if device.held_to is not None and offset is not None:
                if offset <= device.held_to:  # read again: its segment has events the first owner had after it
                    self.counts["restore.ticks_skipped"] += 1
                    continue
                device.held_to = None
            result = self._run(partition, device, functools.partial(device.segmenter.tick, now))
            events += result.events
            quarantined += result.quarantined
        return Cleaned(events, quarantined)

    def clock(self, partition: int, now: datetime) -> datetime:
        """How far this partition's stream time may go downstream: not past an event still held."""
        waiting = [d.waiting() for d in self._partition(partition).values()]
        return min([now, *(w[0].event_time for w in waiting if w)])

    def settle(self, partition: int) -> None:
        """Write to the table what the partition's events since the last call changed: the marks of the segments
        that closed (or were quarantined), then the events held since. Call it after each event or tick, once
        what it released is with the sessions: their table writes must reach the changelog before a mark (a
        worker taking over skips what a mark says went), and a mark before a key held after it (which a worker
        taking over would hold after the beginning of the closed segment, the rest of which it reads again)."""
        devices = self._devices.get(partition)
        if devices is None:  # revoked meanwhile: its next owner reads the table as it stands
            for pending in (self._closing, self._marking, self._holding):
                pending.pop(partition, None)
            return
        for name in self._closing.pop(partition, ()):
            device = devices[name]
            carried = device.segmenter.carried
            at = None if device.closed_at is None else device.closed_at.isoformat()
            mark = {
                "through": device.closed,
                "at": at,
                "released": carried.released,
                "password_next": carried.password_next,
            }
            self.table[closed_key(partition, name)] = json.dumps(mark).encode()
        for name in self._marking.pop(partition, ()):  # after the sessions' writes of what went early
            marked = devices.get(name)
            if marked is not None and marked.mark is not None:
                self.table[went_key(partition, name)] = marked.mark
        for device, event, stored in self._holding.pop(partition, ()):  # after the marks: a key held after a close
            if device.held.get(event.seq) is event:  # (a break) must not reach the changelog without its mark
                self.table[held_key(partition, event)] = stored

    def forget(self, partition: int) -> None:
        self._devices.pop(partition, None)
        self._closing.pop(partition, None)
        self._holding.pop(partition, None)
        self._marking.pop(partition, None)
        self._gone.pop(partition, None)

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
                fresh = self._partition(partition)[device.name] = self._new(device.name)
                self._release(partition, device, (*device.held.values(), *also))
                fresh.closed, fresh.closed_at = device.closed, device.closed_at
                fresh.segmenter.carry(device.segmenter.carried)  # labels for releases to come, password prompts
                if device.mark is not None:
                    self.table.pop(went_key(partition, device.name), None)
            self.counts["redaction.quarantined"] += len(lost)
            return Cleaned([], [Quarantined(lost, f"redaction failed: {type(exc).__name__}: {exc}")])
        unchanged = {e.seq: device.raw[e.seq] for e in events if e.seq in device.raw and device.held[e.seq] is e}
        for e in events:
            device.raw.pop(e.seq, None)
        segment = device.segmenter.open
        if device.held and (not segment or device.segmenter.starts_after(next(iter(device.held)))):
            # the segment they were in closed: every event it held came out, with the one that closed it (its mark
            # covers that one too: read again alone after a takeover, a segment's last key would go unredacted)
            through = max((e.seq for e in events), default=-1)
            self._release(partition, device, tuple(device.held.values()), through)
            device.closed_at = _latest(device.closed_at, events)
        elif events and not segment:  # nothing held: every event of the device up to these went downstream
            device.closed, device.closed_at = max(device.closed, events[-1].seq), _latest(device.closed_at, events)
        if device.segmenter.carried_changes != device.carried_changes:  # a close, or a release took its label
            device.carried_changes = device.segmenter.carried_changes
            self._closing.setdefault(partition, set()).add(device.name)
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

    def _release(
        self, partition: int, device: _Device, events: tuple[InteractionEvent, ...], through: int = -1
    ) -> None:
        """Drop ``events`` from what the device holds; its close mark covers them, and up to seq ``through``."""
        if events:
            device.closed = max(device.closed, through, *(e.seq for e in events))
            device.closed_at = _latest(device.closed_at, events)
            self._closing.setdefault(partition, set()).add(device.name)
        for e in events:
            device.raw.pop(e.seq, None)
            if device.held.pop(e.seq, None) is not None:
                self.table.pop(held_key(partition, e), None)

    def _went(self, partition: int, device: _Device) -> None:
        """Mirror how far the open segment went early into the table (a worker taking over reads it as context),
        and which of it went redacted (so that its close still tells what went as typed and became PII)."""
        segmenter = device.segmenter
        state = segmenter.context_state
        if state == device.marked_for:
            return  # what went early is as when it was last marked (most events: the mark is made once a release)
        device.marked_for, device.went = state, segmenter.context_end
        mark = None
        if device.went is not None:
            mark = json.dumps({"to": device.went, "redacted": sorted(segmenter.went_redacted)}).encode()
        if mark != device.mark:
            device.mark = mark
            if mark is None:
                self.table.pop(went_key(partition, device.name), None)
            else:  # at settle: after the sessions' writes of what went
                self._marking.setdefault(partition, set()).add(device.name)

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

    def _went_before(self, partition: int, event: InteractionEvent) -> bool:
        """Whether ``event`` went downstream before this worker took its partition over (it is read again): its seq
        and time are not past what went. A device whose seq went back (its agent's state was lost) goes on."""
        self._partition(partition)  # read the table first, if this is the partition's first record here
        gone = self._gone.get(partition, {})
        mark = gone.get(event.device_id)
        if mark is None:
            return False
        through, at = mark
        if event.seq <= through and event.event_time <= at:
            return True
        del gone[event.device_id]  # past it: nothing of it is read again after this
        return False

    def _rebuild(self, partition: int) -> dict[str, _Device]:
        """Re-hold the events a previous owner of the partition held when it stopped."""
        prefix, went, closed = f"H|{partition:03d}|", f"W|{partition:03d}|", f"T|{partition:03d}|"
        devices: dict[str, _Device] = {}
        marks: dict[str, bytes] = {}
        items = sorted((k, v) for k, v in self.table.items() if k.startswith((prefix, went, closed)))  # one read
        closes = _closes((k.removeprefix(closed), v) for k, v in items if k.startswith(closed))
        # a mark without the time of what went (written before marks kept it) skips nothing: its device's seq may
        # have gone back since, and then a skip by seq alone would drop every event it sends until it passes
        gone = self._gone[partition] = {n: (through, at) for n, (through, at, _) in closes.items() if at is not None}
        for key, raw in items:
            if key.startswith(closed):
                continue
            if key.startswith(went):
                marks[key.removeprefix(went)] = raw
                continue
            name, seq = key.removeprefix(prefix).rsplit("|", 1)
            if int(seq) <= gone.get(name, (-1, None))[0]:
                # its segment closed, but the previous owner stopped before all of the close reached the changelog
                del self.table[key]
                self.counts["restore.closed_dropped"] += 1
                continue
            self._rehold(devices, raw)
        for name in marks.keys() - devices.keys():  # a segment that closed before its mark was dropped
            self.table.pop(went + name, None)
        for name, (through, at, carried) in closes.items():
            if carried != Carried() or name in devices:
                device = devices.get(name)
                if device is None:
                    device = devices[name] = self._new(name)
                device.closed, device.closed_at = through, at
                device.segmenter.carry(carried)
        for name, device in devices.items():
            if device.held:  # what came before its open segment went downstream (or was dropped), marked or not
                first = device.held[min(device.held)]
                through, at = gone.get(name, (-1, None))
                gone[name] = max(through, first.seq - 1), max(at or first.event_time, first.event_time)
            device.mark = marks.get(name)
            device.went, redacted = _mark(device.mark)
            if device.went is not None and device.went <= gone.get(name, (-1, None))[0]:  # of a segment that closed
                self.table.pop(went + name, None)
                device.mark, device.went, redacted = None, None, frozenset()
            device.segmenter.restore(list(device.held.values()), device.went, redacted)
            device.carried_changes = device.segmenter.carried_changes
        return devices

    def _rehold(self, devices: dict[str, _Device], value: bytes) -> None:
        """Hold again an event a previous owner held (``value``: its bytes with the offset of its record)."""
        raw, offset = split_offset(value)
        event = from_avro(InteractionEvent, self.codec.decode_named(raw, "InteractionEvent"))
        device = devices.get(event.device_id)
        if device is None:
            device = devices[event.device_id] = self._new(event.device_id)
        device.held[event.seq] = event
        if offset is not None:
            device.held_to = max(offset, device.held_to or offset)


def _latest(at: datetime | None, events: Sequence[InteractionEvent]) -> datetime:
    return max([*(e.event_time for e in events), *([at] if at is not None else [])])


def _closes(marks: Iterable[tuple[str, bytes]]) -> dict[str, tuple[int, datetime | None, Carried]]:
    """The close marks (device, value): device -> the last seq its last close released, and what its segmenter
    carried on (a mark that cannot be read is left out: its device's held keys are held again, as before marks)."""
    out: dict[str, tuple[int, datetime | None, Carried]] = {}
    for name, raw in marks:
        try:
            mark = json.loads(raw)
            released = tuple((str(k), str(label)) for k, label in mark["released"])
            windows = tuple(str(w) for w in mark["password_next"])
            at = None if mark.get("at") is None else datetime.fromisoformat(str(mark["at"]))
            out[name] = int(mark["through"]), at, Carried(released, windows)
        except (ValueError, TypeError, KeyError):
            continue
    return out
