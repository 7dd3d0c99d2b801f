"""Sessions per device on event time: gap, maximum length, lock, grace and watermarks (pure core).

A session is defined on the *set* of a device's events, whatever order they arrive in:
sorted by (event time, seq), a new session starts at the first event, after a gap longer
than ``gap``, once the session has lasted ``max_length`` (or holds ``max_events``), and
after a lock or sleep marker. The state below keeps each device's not-yet-final events
sorted and cuts them with that same rule (:func:`segment`), so an event arriving late but
within ``grace`` lands where it would have landed in order, and one that bridges two
sessions merges them.

The watermark of a partition is the highest event time seen there (events or tick
records) minus ``grace``. A session is closed once no event at or after the watermark could
still join it. An event older than the watermark is late: it comes back rejected if it is at
or before the end of its device's last closed session (it cannot join a session already
sent); otherwise it is a device's backlog (an agent sending what it spooled while offline),
and it starts sessions of its own, closed at the next tick, cut by the same rule.

    closed, rejected = state.advance(event)
    closed = state.tick(stream_time)
"""

from __future__ import annotations

import bisect
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.events import CaptureSuppressed, InteractionEvent

LOCK_REASONS = frozenset({"lock", "sleep", "screen_locked"})


@dataclass(frozen=True)
class SessionConfig:
    gap: timedelta = timedelta(minutes=5)
    max_length: timedelta = timedelta(minutes=60)
    grace: timedelta = timedelta(seconds=30)
    max_events: int = 20_000  # a session is cut here too, so open state stays bounded
    max_future: timedelta = timedelta(minutes=10)  # this far past the last tick is clock skew
    # False when an upstream stage may hold some devices' events back (redaction does): then only
    # ticks, which that stage aligns with what it still holds, move the clock
    events_move_clock: bool = True


@dataclass(frozen=True)
class Session:
    """A closed session: its events in order, and why it ended (gap, max_length, lock)."""

    device_id: str
    events: tuple[InteractionEvent, ...]
    end_reason: str

    @property
    def start(self) -> datetime:
        return self.events[0].event_time

    @property
    def end(self) -> datetime:
        return self.events[-1].event_time

    @property
    def session_id(self) -> str:
        """Deterministic: the device, and the time and seq of the first event."""
        first = self.events[0]
        micros = (first.event_time - datetime(1970, 1, 1, tzinfo=first.event_time.tzinfo)) // timedelta(microseconds=1)
        return f"{self.device_id}-{micros}-{first.seq}"


@dataclass(frozen=True)
class Rejected:
    """An event that cannot join any session, with the reason for the dead-letter topic."""

    event: InteractionEvent
    reason: str


def _key(e: InteractionEvent) -> tuple[datetime, int]:
    return (e.event_time, e.seq)


def is_lock(e: InteractionEvent) -> bool:
    return isinstance(e.payload, CaptureSuppressed) and e.payload.reason in LOCK_REASONS


def cut_reason(
    first: InteractionEvent, last: InteractionEvent, count: int, nxt: InteractionEvent, config: SessionConfig
) -> str | None:
    """Why ``nxt`` starts a new session after the session first..last of ``count`` events, if it does."""
    if is_lock(last):
        return "lock"
    if nxt.event_time - last.event_time > config.gap:
        return "gap"
    if nxt.event_time - first.event_time >= config.max_length or count >= config.max_events:
        return "max_length"
    return None


def segment(events: list[InteractionEvent], config: SessionConfig) -> list[tuple[list[InteractionEvent], str]]:
    """Cut sorted events into sessions, each with the reason it ended (the last: ``open``)."""
    sessions: list[tuple[list[InteractionEvent], str]] = []
    current: list[InteractionEvent] = []
    for event in events:
        if current:
            reason = cut_reason(current[0], current[-1], len(current), event, config)
            if reason:
                sessions.append((current, reason))
                current = []
        current.append(event)
    if current:
        sessions.append((current, "open"))
    return sessions


@dataclass
class DeviceEvents:
    """One device's open events, sorted, and the length of the oldest session among them."""

    events: list[InteractionEvent] = field(default_factory=list)
    first_len: int = 0

    def add(self, event: InteractionEvent, config: SessionConfig) -> bool:
        """Insert in order; False if this exact event (device, seq, time) is already here."""
        events, key = self.events, _key(event)
        # nearly always after the last one: no search
        at = len(events) if not events or _key(events[-1]) < key else bisect.bisect_left(events, key, key=_key)
        if at < len(events) and _key(events[at]) == key:
            return False
        if at == len(events) and self.first_len == len(events):  # in order, extending the oldest session
            if not events or cut_reason(events[0], events[-1], len(events), event, config) is None:
                self.first_len += 1
            events.append(event)
        elif at == len(events):  # in order, after the oldest session
            events.append(event)
        else:  # out of order: recompute the oldest session's extent
            events.insert(at, event)
            self._measure(config)
        return True

    def _measure(self, config: SessionConfig) -> None:
        count, events = 0, self.events
        for i, event in enumerate(events):
            if i and cut_reason(events[0], events[i - 1], i, event, config):
                break
            count += 1
        self.first_len = count

    def first_final(self, watermark: datetime, config: SessionConfig) -> str | None:
        """The end reason of the oldest session if no event at or after ``watermark`` can join it."""
        if not self.first_len:
            return None
        first, last = self.events[0], self.events[self.first_len - 1]
        if is_lock(last) or self.first_len >= config.max_events:
            final = watermark > last.event_time  # whatever comes later starts a new session
        else:  # a later event could still extend it, or bridge the gap to the next session
            final = watermark > last.event_time + config.gap or watermark >= first.event_time + config.max_length
        if not final:
            return None
        if self.first_len < len(self.events):  # a later event already cut it: that is why it ended
            nxt = self.events[self.first_len]
            return cut_reason(first, last, self.first_len, nxt, config) or "gap"
        if is_lock(last):
            return "lock"
        if self.first_len >= config.max_events:
            return "max_length"
        # whichever limit the session reached first in event time, so the reason depends only on its events
        return "gap" if last.event_time + config.gap < first.event_time + config.max_length else "max_length"

    def pop_first(self, reason: str, config: SessionConfig) -> Session:
        part = tuple(self.events[: self.first_len])
        del self.events[: self.first_len]
        self._measure(config)
        return Session(part[0].device_id, part, reason)


@dataclass
class PartitionState:
    """The open events of every device of one partition, and the partition's event-time clock."""

    config: SessionConfig = field(default_factory=SessionConfig)
    devices: dict[str, DeviceEvents] = field(default_factory=dict)
    max_seen: datetime | None = None
    last_tick: datetime | None = None
    closed_until: dict[str, datetime] = field(default_factory=dict)  # device -> end of its last closed session

    @property
    def watermark(self) -> datetime | None:
        return None if self.max_seen is None else self.max_seen - self.config.grace

    def open_events(self) -> int:
        return sum(len(d.events) for d in self.devices.values())

    def advance(self, event: InteractionEvent, now: datetime | None = None) -> tuple[list[Session], list[Rejected]]:
        """Add one event; returns the sessions it made final, and the event itself if rejected.

        ``now`` is the wall clock of the worker: an event further than ``max_future`` ahead of it
        comes from a device whose clock is wrong. Without it the stream's clock (the last tick)
        is the reference, which lags by as long as the worker was down."""
        config, watermark = self.config, self.watermark
        until = self.closed_until.get(event.device_id)
        if watermark is not None and event.event_time < watermark and until is not None and event.event_time <= until:
            late = (watermark - event.event_time).total_seconds()
            grace = config.grace.total_seconds()
            return [], [
                Rejected(event, f"late: {late:.1f}s past the {grace:.0f}s grace, within a session already sent")
            ]
        reference = now if now is not None else self.last_tick
        if reference is not None and event.event_time > reference + config.max_future:
            ahead = (event.event_time - reference).total_seconds()
            clock = "the worker's clock" if now is not None else "the stream's clock"
            return [], [Rejected(event, f"event time {ahead:.0f}s ahead of {clock} (device clock skew?)")]
        device = self.devices.setdefault(event.device_id, DeviceEvents())
        if not device.add(event, config):
            return [], []  # a replayed duplicate: already in its session
        if self.config.events_move_clock and (self.max_seen is None or event.event_time > self.max_seen):
            self.max_seen = event.event_time
            return self._close_final(), []
        return [], []

    def tick(self, stream_time: datetime, skip: Collection[str] = ()) -> list[Session]:
        """A tick record: the stream's event time has reached ``stream_time``; the sessions of the devices of
        ``skip`` do not end at it."""
        self.last_tick = stream_time if self.last_tick is None else max(self.last_tick, stream_time)
        if self.max_seen is None or stream_time > self.max_seen:
            self.max_seen = stream_time
        return self._close_final(skip)

    def drop_user(self, user_id: str) -> int:
        """Forget every open event of one person (erasure); returns how many were dropped."""
        dropped = 0
        for name, device in list(self.devices.items()):
            kept = [e for e in device.events if e.user_id != user_id]
            dropped += len(device.events) - len(kept)
            device.events = kept
            device._measure(self.config)
            if not kept:
                del self.devices[name]
        return dropped

    def _close_final(self, skip: Collection[str] = ()) -> list[Session]:
        watermark = self.watermark
        assert watermark is not None
        closed = []
        for name in list(self.devices):
            if name in skip:
                continue
            device = self.devices[name]
            while (reason := device.first_final(watermark, self.config)) is not None:
                session = device.pop_first(reason, self.config)
                until = self.closed_until.get(name)
                self.closed_until[name] = session.end if until is None else max(until, session.end)
                closed.append(session)
            if not device.events:
                del self.devices[name]
        return closed
