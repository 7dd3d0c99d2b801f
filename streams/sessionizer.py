"""The sessionizer agent: clean events and frames in, trajectories out, state in a faust table (edge).

The decisions are in ``streams.core.sessions``, ``streams.core.steps`` and
``streams.core.store``; this module only moves records between Kafka and them. A
trajectory is sent and its delivery awaited before its events leave the table, so a crash
never loses a session; a worker that takes a partition over rebuilds its open sessions
from the table's changelog, and skips the records it finds already handled there.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import AgentT

from schemas.codec import Codec
from schemas.control_records import Tick
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

log = logging.getLogger(__name__)


class Sessionizer:
    """What the agent does with one record of interactions.clean or screens.clean. It writes to the
    trajectories and dead-letter topics, or to the channels given instead (the agent tests)."""

    def __init__(
        self,
        app: faust.App,
        settings: StreamsSettings,
        codec: Codec,
        counters: Counter[str],
        gate: PrivacyGate,
        trajectories: faust.ChannelT[Any] | None = None,
        deadletter: faust.ChannelT[Any] | None = None,
    ) -> None:
        self.gate = gate
        spec = spec_for("interactions.clean")
        assert spec is not None
        self.partitions, self.codec, self.counters = spec.partitions, codec, counters
        table = app.Table("sessionizer", partitions=spec.partitions)
        raw = spec_for("interactions.raw")
        assert raw is not None
        self.store = SessionStore(settings.session_config(), codec, JsonTable(table), sources=raw.partitions)
        clean = settings.topic("interactions.clean")
        self.source = app.topic(clean, settings.topic("screens.clean"), partitions=spec.partitions)
        self.subject = settings.topic("trajectories")  # the schema registry's subject of what is sent there
        self.trajectories = trajectories if trajectories is not None else app.topic(self.subject)
        self.deadletter = deadletter if deadletter is not None else app.topic(settings.topic("deadletter"))

    async def handle(self, msg: Any) -> None:
        marker = f"{msg.topic}|{msg.partition}"
        if self.store.seen(marker, msg.offset):
            return  # handled before a crash or a rebalance: its outcome is in the table already
        settled = False  # dead-lettered: must not happen twice
        try:
            decoded = await decode(self.codec, msg.value)
        except CodecError as exc:
            await self._dead_letter(msg, str(exc), type(exc).__name__)
            settled = True
        else:
            if decoded.short_name == "InteractionEvent":
                event = from_avro(InteractionEvent, decoded.value)
                closed, rejected = self.store.add_event(msg.partition, event, msg.value, datetime.now(UTC))
                for r in rejected:
                    await self._dead_letter(msg, r.reason, "LateEvent")
                settled = bool(rejected)
                await self._emit(closed)
            elif decoded.short_name == "ScreenFrame":
                frame = from_avro(ScreenFrame, decoded.value)
                m = frame.monitor
                ref = FrameRef(frame.frame_id, frame.event_time, m.left, m.top, m.width, m.height)
                self.store.add_frame(msg.partition, frame.device_id, ref)
            elif decoded.short_name == "Tick":
                tick = from_avro(Tick, decoded.value)  # the clock of one raw partition, sent by the clean stage
                await self._emit(self.store.tick(msg.partition, tick.stream_time, source=tick.partition))
        self.store.handled(marker, msg.offset, settled)

    async def _emit(self, closed: list[Closed]) -> None:
        for c in closed:
            if self.gate.erased(c.trajectory.user_id, c.trajectory.start_time):
                self.store.delivered(c)  # the person asked for erasure: their open session goes, unsent
                self.counters["sessionize.erased_sessions"] += 1
                continue
            value = self.codec.encode("Trajectory", to_avro(c.trajectory), self.subject)
            delivery = await self.trajectories.send(key=c.trajectory.session_id.encode(), value=value)
            await delivery  # on the topic before its events leave the table
            self.store.delivered(c)
            self.counters["sessionize.trajectories"] += 1

    async def _dead_letter(self, msg: Any, reason: str, error_type: str) -> None:
        value, now, key = msg.value or b"", datetime.now(UTC), msg.key
        letter = dead_letter("sessionize", msg.topic, msg.partition, msg.offset, value, reason, now, key, error_type)
        await self.deadletter.send(key=msg.key, value=self.codec.encode("DeadLetter", to_avro(letter)))
        self.counters["sessionize.dead_lettered"] += 1

    def forget(self, revoked: set[Any]) -> None:
        for tp in revoked:
            self.store.forget(tp.partition)


def register(
    app: faust.App,
    settings: StreamsSettings,
    codec: Codec,
    counters: Counter[str],
    gate: PrivacyGate,
    trajectories: faust.ChannelT[Any] | None = None,
    deadletter: faust.ChannelT[Any] | None = None,
) -> AgentT[Any]:
    """Add the sessionizer agent; ``trajectories``, ``deadletter``: where it writes (default: the topics)."""
    sessionizer = Sessionizer(app, settings, codec, counters, gate, trajectories, deadletter)

    async def sessionize(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            await sessionizer.handle(event.message)
            yield None

    async def on_revoked(_sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        sessionizer.forget(set(args[0]) if args else set())

    agent = app.agent(sessionizer.source, name="teachstream.sessionize", concurrency=1)(sessionize)
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]  # mode's stub wants a sync callable
    return agent
