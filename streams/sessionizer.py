"""The sessionizer agent: clean events and frames in, trajectories out, state in a faust table (edge).

The decisions are in ``streams.core.sessions``, ``streams.core.steps`` and
``streams.core.store``; this module only moves records between Kafka and them. A
trajectory is sent and its delivery awaited before its events leave the table, so a crash
never loses a session; a worker that takes a partition over rebuilds its open sessions
from the table's changelog, and skips the records it finds already handled there.
"""

from __future__ import annotations

import base64
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import faust

from schemas.codec import Codec
from schemas.control import DeadLetter, Tick
from schemas.errors import CodecError
from schemas.events import InteractionEvent, ScreenFrame
from schemas.records import from_avro, to_avro
from schemas.topics import spec_for
from streams.core.steps import FrameRef
from streams.core.store import Closed, SessionStore
from streams.settings import StreamsSettings

log = logging.getLogger(__name__)


class JsonTable(MutableMapping[str, bytes]):
    """A faust table (JSON changelog) seen as a mapping of text keys to bytes (stored as base64)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def __getitem__(self, key: str) -> bytes:
        return base64.b64decode(self.table[key])

    def __setitem__(self, key: str, value: bytes) -> None:
        self.table[key] = base64.b64encode(value).decode()

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.table.keys()))

    def __len__(self) -> int:
        return len(self.table)


class Sessionizer:
    """What the agent does with one record of interactions.clean or screens.clean."""

    def __init__(self, app: faust.App, settings: StreamsSettings, codec: Codec, counters: Counter[str]) -> None:
        spec = spec_for("interactions.clean")
        assert spec is not None
        self.partitions, self.codec, self.counters = spec.partitions, codec, counters
        table = app.Table("sessionizer", partitions=spec.partitions)
        self.store = SessionStore(settings.session_config(), codec, JsonTable(table))
        clean = settings.topic("interactions.clean")
        self.source = app.topic(clean, settings.topic("screens.clean"), partitions=spec.partitions)
        self.ticks = app.topic(clean, partitions=spec.partitions)
        self.trajectories = app.topic(settings.topic("trajectories"))
        self.deadletter = app.topic(settings.topic("deadletter"))
        self.tick_lag = timedelta(seconds=settings.tick_lag_s)
        self.name = f"{settings.streams_app_id}:{os.getpid()}"

    async def handle(self, msg: Any) -> None:
        marker = f"{msg.topic}|{msg.partition}"
        if self.store.seen(marker, msg.offset):
            return  # handled before a crash or a rebalance: its outcome is in the table already
        try:
            decoded = self.codec.decode(msg.value)
        except CodecError as exc:
            await self._dead_letter(msg, str(exc), type(exc).__name__)
        else:
            if decoded.short_name == "InteractionEvent":
                closed, rejected = self.store.add_event(
                    msg.partition, from_avro(InteractionEvent, decoded.value), msg.value
                )
                for r in rejected:
                    await self._dead_letter(msg, r.reason, "LateEvent")
                await self._emit(closed)
            elif decoded.short_name == "ScreenFrame":
                frame = from_avro(ScreenFrame, decoded.value)
                m = frame.monitor
                ref = FrameRef(frame.frame_id, frame.event_time, m.left, m.top, m.width, m.height)
                self.store.add_frame(msg.partition, frame.device_id, ref)
            elif decoded.short_name == "Tick":
                await self._emit(self.store.tick(msg.partition, from_avro(Tick, decoded.value).stream_time))
        self.store.handled(marker, msg.offset)

    async def _emit(self, closed: list[Closed]) -> None:
        for c in closed:
            value = self.codec.encode("Trajectory", to_avro(c.trajectory), self.trajectories.get_topic_name())
            delivery = await self.trajectories.send(key=c.trajectory.session_id.encode(), value=value)
            await delivery  # on the topic before its events leave the table
            self.store.delivered(c)
            self.counters["sessionize.trajectories"] += 1

    async def _dead_letter(self, msg: Any, reason: str, error_type: str) -> None:
        letter = DeadLetter(
            "sessionize",
            reason,
            error_type,
            msg.topic,
            msg.partition,
            msg.offset,
            msg.value or b"",
            datetime.now(UTC),
            msg.key,
        )
        await self.deadletter.send(key=msg.key, value=self.codec.encode("DeadLetter", to_avro(letter)))
        self.counters["sessionize.dead_lettered"] += 1

    async def tick(self) -> None:
        """Write the stream clock into every partition, so silent devices' sessions close."""
        now = datetime.now(UTC) - self.tick_lag
        for partition in range(self.partitions):
            value = self.codec.encode("Tick", to_avro(Tick(partition, now, self.name)))
            await self.ticks.send(value=value, partition=partition)

    def forget(self, revoked: set[Any]) -> None:
        for tp in revoked:
            self.store.forget(tp.partition)


def register(app: faust.App, settings: StreamsSettings, codec: Codec, counters: Counter[str]) -> None:
    sessionizer = Sessionizer(app, settings, codec, counters)

    async def sessionize(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            await sessionizer.handle(event.message)
            yield None

    async def on_revoked(_sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        sessionizer.forget(set(args[0]) if args else set())

    app.agent(sessionizer.source, name="teachstream.sessionize", concurrency=1)(sessionize)
    app.timer(interval=settings.tick_interval_s, on_leader=True)(sessionizer.tick)
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]  # mode's stub wants a sync callable
