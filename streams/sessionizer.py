"""Sessions of the partitions a worker owns: clean events and frames in, trajectories out, state in a faust
table (edge).

There is no sessionizer agent of its own: the interactions agent (``streams.cleaning``) hands each event it
releases straight to :class:`Sessionizer` in the same pass over ``interactions.raw``, and the frames of
``screens.clean`` come through the same agent (both topics are co-partitioned by device: the screens
stage writes each frame to the partition its raw frame came from). The decisions are in
``streams.core.sessions``, ``streams.core.steps`` and ``streams.core.store``. A trajectory is sent and
its delivery awaited before its events leave the table, so a crash never loses a session; a worker that
takes a partition over rebuilds its open sessions from the table's changelog, and skips the records it
finds already handled there.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.codec import Codec
from schemas.dead_letters import dead_letter
from schemas.errors import CodecError
from schemas.events import InteractionEvent, ScreenFrame
from schemas.records import from_avro, to_avro
from schemas.topics import spec_for
from streams.core.steps import FrameRef
from streams.core.store import Closed, SessionStore
from streams.decoding import decode
from streams.privacy import PrivacyGate
from streams.settings import StreamsSettings
from streams.tables import JsonTable
from streams.writes import delivered

log = logging.getLogger(__name__)


class Sessionizer:
    """Sessionization for the interactions agent, its state in ``table`` (which the clean stage's held
    events share). It writes to the trajectories and dead-letter topics, or to the channels given instead
    (the agent tests)."""

    def __init__(
        self,
        app: faust.App,
        settings: StreamsSettings,
        codec: Codec,
        counters: Counter[str],
        gate: PrivacyGate,
        table: JsonTable,
        trajectories: faust.ChannelT[Any] | None = None,
        deadletter: faust.ChannelT[Any] | None = None,
    ) -> None:
        self.gate = gate
        spec = spec_for("interactions.raw")
        assert spec is not None
        self.codec, self.counters = codec, counters
        self.table = table
        self.store = SessionStore(settings.session_config(), codec, self.table)
        self.frames = settings.topic("screens.clean")
        self.subject = settings.topic("trajectories")  # the schema registry's subject of what is sent there
        self.trajectories = trajectories if trajectories is not None else app.topic(self.subject)
        self.deadletter = deadletter if deadletter is not None else app.topic(settings.topic("deadletter"))

    def seen(self, msg: Any) -> bool:
        """Handled before a crash or a rebalance: its outcome is in the table already."""
        return self.store.seen(f"{msg.topic}|{msg.partition}", msg.offset)

    def handled(self, msg: Any, settled: bool) -> None:
        """``settled``: handling it did more than add its own events or frame (a dead letter, a delivery)."""
        self.store.handled(f"{msg.topic}|{msg.partition}", msg.offset, settled)

    async def event(self, msg: Any, event: InteractionEvent, encoded: bytes) -> bool:
        """A clean event of ``msg``'s partition (``encoded``: its bytes on interactions.clean); True if it
        settled something (a late event dead-lettered)."""
        was_open = self.store.has_open(msg.partition, event.device_id)
        closed, rejected = self.store.add_event(msg.partition, event, encoded, datetime.now(UTC), msg.offset)
        if not rejected and not was_open:
            self.counters["sessionize.opened"] += 1  # on a device with none open
        for r in rejected:
            # the event may have been released by another record (its segment's last key, a marker, a tick):
            # the dead letter holds the rejected event itself, and says which record released it
            reason = f"{r.reason} (seq {r.event.seq}; released by this record)" if msg.value != encoded else r.reason
            await self._dead_letter(msg, reason, "LateEvent", encoded, r.event.device_id.encode())
        await self._emit(closed, msg.partition)
        return bool(rejected)

    async def frame(self, msg: Any) -> bool:
        """A record of screens.clean; True if it was dead-lettered."""
        try:
            decoded = await decode(self.codec, msg.value or b"")
        except CodecError as exc:
            await self._dead_letter(msg, str(exc), type(exc).__name__)
            return True
        if decoded.short_name != "ScreenFrame":
            await self._dead_letter(msg, f"expected a ScreenFrame, got a {decoded.short_name}", "WrongRecordTypeError")
            return True
        frame = from_avro(ScreenFrame, decoded.value)
        m = frame.monitor
        self.store.add_frame(
            msg.partition, frame.device_id, FrameRef(frame.frame_id, frame.event_time, m.left, m.top, m.width, m.height)
        )
        return False

    async def tick(self, partition: int, stream_time: datetime, offset: int | None = None) -> None:
        """The stream clock of ``partition`` (``offset``: of the tick's record): the sessions it ends go out."""
        closed = self.store.tick(partition, stream_time, offset=offset)
        for name, n in self.store.counts.items():
            self.counters[name] += n
        self.store.counts.clear()
        await self._emit(closed, partition)

    async def _emit(self, closed: list[Closed], partition: int) -> None:
        """Send the closed sessions; a device with events after one of them has its next session open,
        counted as opened now (so sessions opened, less those closed or erased, are those open)."""
        if not closed:
            return
        for c in closed:
            if self.gate.erased(c.trajectory.user_id, c.trajectory.start_time):
                self.store.delivered(c)  # the person asked for erasure: their open session goes, unsent
                self.counters["sessionize.erased_sessions"] += 1
                continue
            value = self.codec.encode("Trajectory", to_avro(c.trajectory), self.subject)
            await delivered(
                self.trajectories, value, c.trajectory.session_id.encode()
            )  # before its events leave the table
            self.store.delivered(c)
            self.counters["sessionize.trajectories"] += 1
            self.counters[f"sessionize.closed.{c.trajectory.end_reason}"] += 1
        per_device = Counter(c.trajectory.device_id for c in closed)
        for device, n in per_device.items():  # each closed session with one after it: that one began
            self.counters["sessionize.opened"] += n - 1 + self.store.has_open(partition, device)

    async def _dead_letter(
        self, msg: Any, reason: str, error_type: str, original: bytes | None = None, key: bytes | None = None
    ) -> None:
        """``original``: the bytes of what was given up on (default: ``msg``'s own value), ``key`` its key."""
        value = original if original is not None else msg.value or b""
        key = key if key is not None else msg.key
        now = datetime.now(UTC)
        letter = dead_letter("sessionize", msg.topic, msg.partition, msg.offset, value, reason, now, key, error_type)
        await delivered(self.deadletter, self.codec.encode("DeadLetter", to_avro(letter)), key)
        self.counters["sessionize.dead_lettered"] += 1
        self.counters[f"sessionize.dead_lettered.{error_type}"] += 1

    def forget(self, partition: int) -> None:
        self.store.forget(partition)
