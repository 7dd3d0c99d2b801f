"""Faust agents: a few lines each around the pure stages in ``streams.core`` (edge).

Agents catch every per-record failure themselves: a faust agent that raises still
acknowledges its message, so an exception would lose the record silently.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import faust

from schemas.codec import Codec
from schemas.records import to_avro
from streams.core.triage import Forward, RecordMeta, triage
from streams.settings import StreamsSettings

log = logging.getLogger(__name__)
counters: Counter[str] = Counter()


def register(app: faust.App, settings: StreamsSettings) -> None:
    """Attach the pass-through agents: raw topics to clean topics, bad records to dead letters."""
    codec = Codec.from_url(settings.schema_registry_url)
    deadletter = app.topic(settings.topic("deadletter"))
    pairs = (("interactions", "InteractionEvent"), ("screens", "ScreenFrame"))
    for base, record in pairs:
        source = app.topic(settings.topic(f"{base}.raw"))
        sink = app.topic(settings.topic(f"{base}.clean"))
        app.agent(source, name=f"teachstream.{base}", concurrency=1)(
            _pass_through(codec, record, sink, deadletter, f"{base}.decode")
        )

    from streams import sessionizer

    sessionizer.register(app, settings, codec, counters)

    @app.timer(interval=30.0)  # type: ignore[untyped-decorator]
    async def report() -> None:
        if counters:
            log.info("stream counters: %s", ", ".join(f"{k}={v}" for k, v in sorted(counters.items())))


def _pass_through(codec: Codec, record: str, sink: Any, deadletter: Any, stage: str) -> Any:
    async def agent(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            msg = event.message
            meta = RecordMeta(msg.topic, msg.partition, msg.offset, msg.key)
            outcome = triage(codec, record, msg.value, meta, stage, datetime.now(UTC))
            if isinstance(outcome, Forward):
                await sink.send(key=msg.key, value=outcome.value)
                counters[f"{stage}.forwarded"] += 1
            else:
                await deadletter.send(key=msg.key, value=codec.encode("DeadLetter", to_avro(outcome)))
                counters[f"{stage}.dead_lettered"] += 1
                count = counters[f"{stage}.dead_lettered"]
                if count <= 10 or count % 1000 == 0:  # the reasons are in the dead-letter topic; keep logs short
                    log.warning("dead-lettered record #%d of %s: %s", count, stage, outcome.reason[:300])
            yield None

    agent.__name__ = agent.__qualname__ = stage.replace(".", "_")
    return agent
