"""The clean agents: raw interactions and frames in, filtered and redacted records out (edge).

The decisions are in ``streams.core.cleaner`` (interaction events), ``streams.core.frames``
(screen frames) and ``streams.core.redaction``; consent is checked by ``streams.privacy``.
Records that cannot be decoded, and segments and frames that cannot be redacted, go to the
restricted dead-letter topic with the reason (``schemas.dead_letters``; fail closed):
nothing unredacted reaches a clean topic.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import AgentT

from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.consent import scope_of
from schemas.control_records import CaptureScope, Tick
from schemas.dead_letters import dead_letter
from schemas.errors import CodecError, WrongRecordTypeError
from schemas.events import InteractionEvent, ScreenFrame
from schemas.records import from_avro, to_avro
from schemas.topics import spec_for
from streams.core.cleaner import Cleaned, Cleaner, TitleRedactor
from streams.core.frames import CleanedFrame, FrameCleaner, PixelRedactor, keep_pixels
from streams.core.known import KnownPii
from streams.core.redaction import SegmentPolicy, default_person_finder
from streams.decoding import decode
from streams.privacy import PrivacyGate
from streams.settings import StreamsSettings
from streams.tables import JsonTable

log = logging.getLogger(__name__)


class Outlets:
    """The channels a clean agent writes to (its clean topic and the dead-letter topic), and how it
    reports a record it gives up on. The agent tests pass in-memory faust channels instead of topics."""

    def __init__(
        self,
        stage: str,
        clean: faust.ChannelT[Any],
        deadletter: faust.ChannelT[Any],
        partitions: int,
        codec: Codec,
        counters: Counter[str],
    ) -> None:
        self.stage, self.clean, self.deadletter, self.partitions = stage, clean, deadletter, partitions
        self.codec, self.counters = codec, counters

    @classmethod
    def of(cls, app: faust.App, settings: StreamsSettings, codec: Codec, base: str, counters: Counter[str]) -> Outlets:
        """The outlets of the ``base`` stage (``interactions`` or ``screens``): ``<base>.clean`` and ``deadletter``."""
        spec = spec_for(f"{base}.clean")
        assert spec is not None
        clean = app.topic(settings.topic(f"{base}.clean"), partitions=spec.partitions)
        return cls(f"{base}.clean", clean, app.topic(settings.topic("deadletter")), spec.partitions, codec, counters)

    async def send(self, key: bytes | None, name: str, record: Any, encoded: bytes | None = None) -> None:
        """Send ``record``; ``encoded``: its bytes as ``codec.encode`` would write them, if known."""
        value = encoded if encoded is not None else self.codec.encode(name, to_avro(record))
        await self.clean.send(key=key, value=value)
        self.counters[f"{self.stage}.forwarded"] += 1

    async def reject(self, msg: Any, reason: str, error_type: str, original: bytes | None = None) -> None:
        value = original if original is not None else msg.value or b""
        letter = dead_letter(
            self.stage, msg.topic, msg.partition, msg.offset, value, reason, datetime.now(UTC), msg.key, error_type
        )
        await self.deadletter.send(key=msg.key, value=self.codec.encode("DeadLetter", to_avro(letter)))
        count = self.counters[f"{self.stage}.dead_lettered"] = self.counters[f"{self.stage}.dead_lettered"] + 1
        if count <= 10 or count % 1000 == 0:  # the reasons are in the dead-letter topic; keep logs short
            log.warning("dead-lettered record #%d of %s: %s", count, self.stage, reason[:300])


def register_interactions(
    app: faust.App,
    settings: StreamsSettings,
    codec: Codec,
    counters: Counter[str],
    gate: PrivacyGate,
    out: Outlets | None = None,
    known: KnownPii | None = None,
) -> AgentT[Any]:
    """Add the agent cleaning interactions.raw; ``out``: where it writes (default: its topics); ``known``: where
    the PII found in typed text goes, for the screen redaction of the same worker."""
    names = default_person_finder() if settings.redact_names else None
    table = app.Table("redaction", partitions=6)
    cleaner = Cleaner(CapturePolicy(), SegmentPolicy(), names, codec, JsonTable(table), known)
    if out is None:
        out = Outlets.of(app, settings, codec, "interactions", counters)
    # a raw record in the framing and schema version the codec writes can go on as it came, if unchanged
    newest = None if settings.schema_registry_url else codec.registry.latest("InteractionEvent").version

    async def publish(msg: Any, result: Cleaned, tick: Tick | None, unchanged: InteractionEvent | None) -> None:
        for e in result.events:
            if gate.erased(e.user_id, e.event_time):  # erasure requested while the event was held
                counters["consent.dropped_events"] += 1
                continue
            await out.send(e.device_id.encode(), "InteractionEvent", e, msg.value if e is unchanged else None)
        for q in result.quarantined:
            for e in q.events:
                await out.reject(msg, q.reason, "RedactionError", codec.encode("InteractionEvent", to_avro(e)))
        if tick is not None:  # the clean clock, held back to the oldest event still held, to every partition
            clock = Tick(msg.partition, cleaner.clock(msg.partition, tick.stream_time), tick.source)
            for partition in range(out.partitions):
                await out.clean.send(value=codec.encode("Tick", to_avro(clock)), partition=partition)
        for name, n in cleaner.counts.items():
            counters[name] += n
        cleaner.counts.clear()

    async def clean(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        await gate.ready()
        async for event in stream.events():
            msg = event.message
            try:
                decoded = await decode(codec, msg.value or b"")
            except CodecError as exc:
                await out.reject(msg, str(exc), type(exc).__name__)
                yield None
                continue
            tick = from_avro(Tick, decoded.value) if decoded.short_name == "Tick" else None
            interaction: InteractionEvent | None = None
            if tick is not None:
                result = cleaner.tick(msg.partition, tick.stream_time)
            elif decoded.short_name == "InteractionEvent":
                interaction = from_avro(InteractionEvent, decoded.value)
                if not await gate.passes(
                    interaction.user_id, scope_of(interaction), interaction.event_time, counters, "events"
                ):
                    yield None
                    continue
                result = cleaner.push(msg.partition, interaction, msg.value)
                if newest is None or decoded.writer_version != newest:
                    interaction = None  # re-encode it even if unchanged
            else:
                await out.reject(
                    msg, f"expected an InteractionEvent, got a {decoded.short_name}", "WrongRecordTypeError"
                )
                yield None
                continue
            await publish(msg, result, tick, interaction)
            yield None

    async def on_revoked(_sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        for tp in set(args[0]) if args else set():
            cleaner.forget(tp.partition)

    agent = app.agent(
        app.topic(settings.topic("interactions.raw")), name="teachstream.clean-interactions", concurrency=1
    )(clean)
    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]  # mode's stub wants a sync callable
    return agent


def withheld_image(codec: Codec, frame: ScreenFrame | None) -> bytes:
    """What a dead letter of screens.raw keeps: the frame without its image (never the pixels in clear)."""
    if frame is None:
        return b""  # not a frame we can read: the bytes stay in screens.raw for its retention, not here
    return codec.encode("ScreenFrame", to_avro(replace(frame, image=b"")))


def register_screens(
    app: faust.App,
    settings: StreamsSettings,
    codec: Codec,
    counters: Counter[str],
    gate: PrivacyGate,
    out: Outlets | None = None,
    redact_pixels: PixelRedactor = keep_pixels,
) -> AgentT[Any]:
    """Add the agent cleaning screens.raw; ``out``: where it writes (default: its topics).

    Frames are redacted in a thread of their own, one at a time (OCR takes tens to hundreds of
    milliseconds; the event loop keeps serving heartbeats and other agents meanwhile). A frame
    not done within ``screens_deadline_s`` is dead-lettered. Dead letters of this stage never
    carry the image."""
    frames = FrameCleaner(
        CapturePolicy(), TitleRedactor(default_person_finder() if settings.redact_names else None), redact_pixels
    )
    if out is None:
        out = Outlets.of(app, settings, codec, "screens", counters)
    pool = ThreadPoolExecutor(1, thread_name_prefix="screens-redaction")

    async def clean(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        await gate.ready()
        loop = asyncio.get_running_loop()
        async for event in stream.events():
            msg = event.message
            frame: ScreenFrame | None = None
            try:
                decoded = await decode(codec, msg.value or b"")
                if decoded.short_name != "ScreenFrame":
                    raise WrongRecordTypeError(f"expected a ScreenFrame, got a {decoded.short_name}")
                frame = from_avro(ScreenFrame, decoded.value)
                if not await gate.passes(frame.user_id, CaptureScope.SCREENS, frame.event_time, counters, "frames"):
                    yield None
                    continue
                job = loop.run_in_executor(pool, frames.clean, frame)
                try:
                    outcome = await asyncio.wait_for(asyncio.shield(job), settings.screens_deadline_s)
                except TimeoutError:
                    counters["redaction.frame_deadline"] += 1
                    raise TimeoutError(
                        f"the frame was not redacted within {settings.screens_deadline_s:g} s; "
                        "raise TEACHSTREAM_SCREENS_DEADLINE_S or add screens workers"
                    ) from None
                counters.update(outcome.counts)
                if isinstance(outcome, CleanedFrame):
                    await out.send(msg.key, "ScreenFrame", outcome.frame)
            except CodecError as exc:
                counters["redaction.frame_failed"] += frame is not None
                await out.reject(msg, str(exc), type(exc).__name__, withheld_image(codec, frame))
            except Exception as exc:  # fail closed: a frame whose titles or pixels cannot be redacted stays out
                counters["redaction.frame_failed"] += 1
                reason = f"redaction failed: {type(exc).__name__}: {exc} (image withheld)"
                await out.reject(msg, reason, "RedactionError", withheld_image(codec, frame))
            yield None

    return app.agent(app.topic(settings.topic("screens.raw")), name="teachstream.clean-screens", concurrency=1)(clean)
