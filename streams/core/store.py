"""Open sessions of the partitions a worker owns, persisted in one key-value table (pure core).

The table is a plain mapping here; the faust agent passes a faust table, whose changelog
makes the state survive a crash. Every write for a partition lands in that partition of
the changelog, in order:

* ``E|<partition>|<device>|<time>|<seq>``: an accepted event, with the offset of the record that brought it
  (``positions.with_offset``), deleted once its session is delivered;
* ``F|<partition>|<device>|<time>|<frame id>``: a frame reference, deleted when no open step can use it;
* ``S|<device>``: the first event of the device's last delivered session;
* ``C|<partition>|<device>``: the time of the last event of the device's last delivered session
  (an event at or before it is too late to join anything);
* ``P|<topic>|<partition>``: a source offset handled; written when a record settles more than
  its own ``E`` or ``F`` key (a delivery, a dead letter), at least every ``mark_every`` records, and
  by the interactions agent at each flush (:meth:`SessionStore.mark`).

The worker that takes a partition over rebuilds its open sessions from the ``E`` and ``F``
keys, and skips records at or below ``P``: their fate was decided before the crash. The few
records after ``P`` that it handles again change nothing: their events and frames are in the
table already (and deduplicated), and a tick read again does not end a device's open session that has
an event brought by a later record (the first owner had not seen that event at the tick; a session it
ended then would split an offline device's backlog, and the rest of that backlog read again would go to
the dead letters as late).
"""

from __future__ import annotations

import bisect
import json
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from schemas.codec import Codec
from schemas.events import InteractionEvent
from schemas.records import from_avro
from schemas.trajectory import Trajectory
from streams.core.positions import split_offset, with_offset
from streams.core.sessions import DeviceEvents, PartitionState, Rejected, Session, SessionConfig
from streams.core.steps import FrameRef, trajectory

_EPOCH, _MICROSECOND = datetime.fromtimestamp(0, UTC), timedelta(microseconds=1)


def _micros(t: datetime) -> int:
    return (t - (_EPOCH if t.tzinfo is not None else datetime.fromtimestamp(0, t.tzinfo))) // _MICROSECOND


def _from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=micros)


def event_key(partition: int, e: InteractionEvent) -> str:
    return f"E|{partition:03d}|{e.device_id}|{_micros(e.event_time):020d}|{e.seq:020d}"


def frame_key(partition: int, device: str, f: FrameRef) -> str:
    return f"F|{partition:03d}|{device}|{_micros(f.event_time):020d}|{f.frame_id}"


def _first_key(s: Session) -> str:
    first = s.events[0]
    return f"{_micros(first.event_time):020d}|{first.seq:020d}"


@dataclass(frozen=True)
class Closed:
    """A session ready to send; call :meth:`SessionStore.delivered` once it is on the topic."""

    partition: int
    session: Session
    trajectory: Trajectory


@dataclass
class _Partition:
    state: PartitionState
    frames: dict[str, list[FrameRef]] = field(default_factory=dict)
    clocks: dict[int, datetime] = field(default_factory=dict)  # upstream partition -> its stream time
    restored_to: dict[str, int] = field(default_factory=dict)  # device -> last offset of its events rebuilt


class SessionStore:
    """Sessionization of several partitions, with state mirrored into three tables."""

    def __init__(
        self,
        config: SessionConfig,
        codec: Codec,
        table: MutableMapping[str, bytes],
        sources: int = 1,
        mark_every: int = 200,
    ) -> None:
        self.config, self.codec, self.table, self.sources = config, codec, table, sources
        self.mark_every = mark_every
        self._parts: dict[int, _Partition] = {}
        self._unmarked: dict[int, dict[str, int]] = {}  # partition -> source -> offset handled, not yet in P
        self._count: dict[int, int] = {}  # partition -> records handled since its last P write
        self._settled = False  # the current record delivered a session
        self.counts: Counter[str] = Counter()  # what the owner adds to its counters (and empties)

    def seen(self, source: str, offset: int) -> bool:
        """True if this record of ``source`` (topic and partition) was handled before a crash: skip it."""
        done = self.table.get(f"P|{source}")
        return done is not None and offset <= int(done)

    def handled(self, source: str, offset: int, settled: bool = False) -> None:
        """This record of ``source`` (``<topic>|<partition>``) is handled. ``settled``: it did more than
        add its own event or frame (e.g. a dead letter), so it must not be handled again after a crash."""
        partition = int(source.rsplit("|", 1)[1])
        unmarked = self._unmarked.setdefault(partition, {})
        unmarked[source] = offset
        self._count[partition] = count = self._count.get(partition, 0) + 1
        first = f"P|{source}" not in self.table  # marked at once: a takeover then knows where to start
        if settled or self._settled or count >= self.mark_every or first:
            self.mark(partition)
        self._settled = False

    def unmarked(self) -> list[int]:
        """The partitions with records handled since their last ``P`` write."""
        return [partition for partition, sources in self._unmarked.items() if sources]

    def mark(self, partition: int) -> None:
        """Mark the records of ``partition`` handled so far (its sources' ``P`` keys, in its changelog partition:
        the caller routes the table's writes there)."""
        unmarked = self._unmarked.get(partition, {})
        for src, off in unmarked.items():
            self.table[f"P|{src}"] = str(off).encode()
        unmarked.clear()
        self._count[partition] = 0

    # -- inputs -------------------------------------------------------------------------
    def add_event(
        self,
        partition: int,
        event: InteractionEvent,
        raw: bytes,
        now: datetime | None = None,
        offset: int | None = None,
    ) -> tuple[list[Closed], list[Rejected]]:
        """An event (``raw``: its bytes; ``offset``: of the record that brought it, kept with it)."""
        part = self._part(partition)
        closed, rejected = part.state.advance(event, now)
        if not rejected:
            self.table[event_key(partition, event)] = with_offset(raw, offset)
        return self._finish(partition, closed), rejected

    def add_frame(self, partition: int, device: str, frame: FrameRef) -> None:
        frames = self._part(partition).frames.setdefault(device, [])
        at = bisect.bisect_left(frames, _frame_order(frame), key=_frame_order)
        if at < len(frames) and frames[at] == frame:
            return  # handled again after a crash: already here
        frames.insert(at, frame)
        self.table[frame_key(partition, device, frame)] = json.dumps(_frame_json(frame)).encode()

    def tick(
        self, partition: int, stream_time: datetime, source: int | None = None, offset: int | None = None
    ) -> list[Closed]:
        """A tick; with ``source``, the clock of one upstream partition, and the stream's clock is the
        slowest of all ``sources`` (an upstream stage may still hold older events of its devices). ``offset``:
        of the tick's record, among those that bring the events."""
        part = self._part(partition)
        if source is not None:
            part.clocks[source] = max(stream_time, part.clocks.get(source, stream_time))
            if len(part.clocks) < self.sources:
                return []
            stream_time = min(part.clocks.values())
        skip: set[str] = set()
        if offset is not None and part.restored_to:  # read again after a takeover: not past what was rebuilt
            part.restored_to = {d: to for d, to in part.restored_to.items() if offset <= to}
            skip = set(part.restored_to)
            self.counts["restore.session_ticks_skipped"] += len(skip)
        return self._finish(partition, part.state.tick(stream_time, skip))

    def delivered(self, closed: Closed) -> None:
        """The trajectory is on its topic: remember it, and drop its events from the table."""
        session, p = closed.session, closed.partition
        self._settled = True
        self.table[f"S|{session.device_id}"] = _first_key(session).encode()
        self.table[f"C|{p:03d}|{session.device_id}"] = str(_micros(session.end)).encode()
        for e in session.events:
            self.table.pop(event_key(p, e), None)
        self._prune_frames(p, session.device_id)

    def forget(self, partition: int) -> None:
        """The partition moved to another worker: drop its in-memory state (the tables stay)."""
        self._parts.pop(partition, None)
        self._unmarked.pop(partition, None)  # not yet marked: the next owner handles them again, harmlessly
        self._count.pop(partition, None)

    def open_events(self, partition: int | None = None) -> int:
        """Events in open sessions, of one partition or of all the partitions handled so far."""
        if partition is not None:
            return self._part(partition).state.open_events()
        return sum(p.state.open_events() for p in self._parts.values())

    def handled_up_to(self, source: str) -> int | None:
        """The last offset of ``source`` (``<topic>|<partition>``) marked handled in the table."""
        done = self.table.get(f"P|{source}")
        return None if done is None else int(done)

    def has_open(self, partition: int, device: str) -> bool:
        """Whether ``device`` has events not yet in a closed session (a session of it is open)."""
        found = self._part(partition).state.devices.get(device)
        return found is not None and bool(found.events)

    # -- internals ----------------------------------------------------------------------
    def _part(self, partition: int) -> _Partition:
        part = self._parts.get(partition)
        if part is None:
            part = self._parts[partition] = self._rebuild(partition)
        return part

    def _rebuild(self, partition: int) -> _Partition:
        event_prefix, frame_prefix = f"E|{partition:03d}|", f"F|{partition:03d}|"
        part = _Partition(PartitionState(self.config))
        for _, value in sorted((k, v) for k, v in self.table.items() if k.startswith(event_prefix)):
            raw, offset = split_offset(value)
            event = from_avro(InteractionEvent, self.codec.decode_named(raw, "InteractionEvent"))
            part.state.devices.setdefault(event.device_id, DeviceEvents()).add(event, self.config)
            if offset is not None:
                part.restored_to[event.device_id] = max(offset, part.restored_to.get(event.device_id, offset))
            moves_clock = self.config.events_move_clock
            if moves_clock and (part.state.max_seen is None or event.event_time > part.state.max_seen):
                part.state.max_seen = event.event_time  # else the clock waits for the next ticks of every source
        closed_prefix = f"C|{partition:03d}|"
        for key, raw in self.table.items():
            if key.startswith(closed_prefix):
                micros = int(raw)
                part.state.closed_until[key[len(closed_prefix) :]] = _from_micros(micros)
            if key.startswith(frame_prefix):
                device = key.split("|", 3)[2]
                part.frames.setdefault(device, []).append(_frame_from_json(json.loads(raw)))
        for frames in part.frames.values():
            frames.sort(key=_frame_order)
        return part

    def _finish(self, partition: int, sessions: list[Session]) -> list[Closed]:
        part = self._parts[partition]
        out = []
        for session in sessions:
            done = self.table.get(f"S|{session.device_id}")
            if done is not None and _first_key(session) <= done.decode():
                self.delivered(Closed(partition, session, _empty(session)))  # sent before a crash: clean up only
                continue
            frames = part.frames.get(session.device_id, [])
            out.append(Closed(partition, session, trajectory(session, frames)))
        return out

    def _prune_frames(self, partition: int, device: str) -> None:
        part = self._parts.get(partition)
        if part is None:
            return
        frames = part.frames.get(device, [])
        open_device = part.state.devices.get(device)
        horizon = open_device.events[0].event_time - self.config.gap if open_device and open_device.events else None
        keep_from = len(frames) - 1  # with nothing open, the newest frame may still start the next session
        if horizon is not None:
            keep_from = next((i for i, f in enumerate(frames) if f.event_time >= horizon), len(frames))
            keep_from = max(keep_from - 1, 0)
        for f in frames[:keep_from]:
            self.table.pop(frame_key(partition, device, f), None)
        del frames[:keep_from]


def _empty(session: Session) -> Trajectory:
    first = session.events[0]
    return Trajectory(
        session.session_id,
        session.device_id,
        first.user_id,
        session.start,
        session.end,
        session.end_reason,
        (),
        len(session.events),
    )


def _frame_order(f: FrameRef) -> tuple[datetime, str]:
    return (f.event_time, f.frame_id)


def _frame_json(f: FrameRef) -> dict[str, object]:
    data = asdict(f)
    data["event_time"] = f.event_time.isoformat()
    return data


def _frame_from_json(data: dict[str, object]) -> FrameRef:
    return FrameRef(
        frame_id=str(data["frame_id"]),
        event_time=datetime.fromisoformat(str(data["event_time"])),
        left=int(data["left"]),  # type: ignore[call-overload]
        top=int(data["top"]),  # type: ignore[call-overload]
        width=int(data["width"]),  # type: ignore[call-overload]
        height=int(data["height"]),  # type: ignore[call-overload]
    )
