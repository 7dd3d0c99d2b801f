"""The clean agents: raw interactions and frames in, filtered and redacted records out (edge); the
interactions agent also feeds the sessions (``streams.sessionizer``) in the same pass.

The decisions are in ``streams.core.cleaner`` (interaction events), ``streams.core.frames``
(screen frames) and ``streams.core.redaction``; consent is checked by ``streams.privacy``.
Records that cannot be decoded, and segments and frames that cannot be redacted, go to the
restricted dead-letter topic with the reason (``schemas.dead_letters``; fail closed):
nothing unredacted reaches a clean topic.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TP, AgentT

from runtime.metrics import BATCH_SECONDS, FRAME_SECONDS, seconds
from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.consent import scope_of
from schemas.control_records import CaptureScope, Tick
from schemas.dead_letters import dead_letter
from schemas.errors import CodecError, InvalidRecordError, WrongRecordTypeError
from schemas.events import InteractionEvent, ScreenFrame
from schemas.records import from_avro, to_avro
from schemas.topics import spec_for
from schemas.validation import MAX_FUTURE, event_problem, frame_problem
from streams.core.cleaner import Cleaned, Cleaner, TitleRedactor
from streams.core.frames import CleanedFrame, FrameCleaner, PixelRedactor, keep_pixels
from streams.core.known import KnownPii
from streams.core.positions import InOrder, Source
from streams.core.redaction import SegmentPolicy, default_person_finder
from streams.core.screens.pixels import image_size
from streams.decoding import decode
from streams.privacy import PrivacyGate
from streams.sessionizer import Sessionizer
from streams.settings import StreamsSettings
from streams.tables import JsonTable
from streams.writes import KafkaWrites, Writes, delivered

log = logging.getLogger(__name__)
Seek = Callable[[str, int, int], Awaitable[None]]  # read a topic's partition again from an offset
Earliest = Callable[[str, int], Awaitable[int]]  # the offset of a topic partition's first record kept


class Outlets:
    """The channels a clean agent writes to (its clean topic and the dead-letter topic), and how it
    reports a record it gives up on. The agent tests pass in-memory faust channels instead of topics.
    With ``writes``, records sent to a given partition of the clean topic go there instead of through faust."""

    def __init__(
        self,
        stage: str,
        clean: faust.ChannelT[Any],
        deadletter: faust.ChannelT[Any],
        partitions: int,
        codec: Codec,
        counters: Counter[str],
        writes: Writes | None = None,
    ) -> None:
        self.stage, self.clean, self.deadletter, self.partitions = stage, clean, deadletter, partitions
        self.codec, self.counters, self.writes = codec, counters, writes
        self._topic = "" if writes is None else clean.get_topic_name()

    @classmethod
    def of(
        cls,
        app: faust.App,
        settings: StreamsSettings,
        codec: Codec,
        base: str,
        counters: Counter[str],
        writes: Writes | None = None,
    ) -> Outlets:
        """The outlets of the ``base`` stage (``interactions`` or ``screens``): ``<base>.clean`` and ``deadletter``."""
        spec = spec_for(f"{base}.clean")
        assert spec is not None
        clean = app.topic(settings.topic(f"{base}.clean"), partitions=spec.partitions)
        deadletter = app.topic(settings.topic("deadletter"))
        return cls(f"{base}.clean", clean, deadletter, spec.partitions, codec, counters, writes)

    async def send(
        self, key: bytes | None, name: str, record: Any, encoded: bytes | None = None, partition: int | None = None
    ) -> bytes:
        """Send ``record`` (to ``partition``, else by key); ``encoded``: its bytes as ``codec.encode`` would write
        them, if known. Returns the bytes sent."""
        value = encoded if encoded is not None else self.codec.encode(name, to_avro(record))
        await self.mark(value, partition, key)
        self.counters[f"{self.stage}.forwarded"] += 1
        return value

    async def mark(self, value: bytes, partition: int | None, key: bytes | None = None) -> None:
        """Send ``value`` to the clean topic without counting it as forwarded (the clean clock)."""
        if self.writes is not None and partition is not None:
            self.writes.produce(self._topic, value, key, partition)
        else:
            await delivered(self.clean, value, key, partition)

    async def reject(self, msg: Any, reason: str, error_type: str, original: bytes | None = None) -> None:
        value = original if original is not None else msg.value or b""
        letter = dead_letter(
            self.stage, msg.topic, msg.partition, msg.offset, value, reason, datetime.now(UTC), msg.key, error_type
        )
        await delivered(self.deadletter, self.codec.encode("DeadLetter", to_avro(letter)), msg.key)
        self.counters[f"{self.stage}.dead_lettered.{error_type}"] += 1
        count = self.counters[f"{self.stage}.dead_lettered"] = self.counters[f"{self.stage}.dead_lettered"] + 1
        if count <= 10 or count % 1000 == 0:  # the reasons are in the dead-letter topic; keep logs short
            log.warning("dead-lettered record #%d of %s: %s", count, self.stage, reason[:300])


def on_revoked(app: faust.App, forget: Callable[[int], None]) -> None:
    """Call ``forget`` with each partition revoked from this worker."""

    async def revoked(_sender: Any, *args: Any, signal: Any = None, **_: Any) -> None:
        for tp in set(args[0]) if args else set():
            forget(tp.partition)

    app.on_partitions_revoked.connect(revoked)  # type: ignore[arg-type]  # mode's stub wants a sync callable


def consumer_seek(app: faust.App) -> Seek:
    async def seek(topic: str, partition: int, offset: int) -> None:
        await app.consumer.seek(TP(topic, partition), offset)

    return seek


def consumer_earliest(app: faust.App) -> Earliest:
    async def earliest(topic: str, partition: int) -> int:
        tp = TP(topic, partition)
        return int((await app.consumer.earliest_offsets(tp))[tp])

    return earliest


class Ordered:
    """An agent's records handled in offset order per partition (``streams.core.positions``): a repeat is
    skipped, and a record after a gap makes the partition read again from the gap."""

    def __init__(self, seek: Seek, what: str, earliest: Earliest | None = None) -> None:
        self.order, self.seek, self.what, self.earliest = InOrder(), seek, what, earliest
        self.retries: Counter[Source] = Counter()  # timer seeks since the last record handled, for the log

    async def admit(self, msg: Any, mark: int | None = None) -> bool:
        """Whether to handle ``msg``; ``mark``: the last offset of its partition handled before it was assigned
        here (used at its first record since then)."""
        source = (msg.topic, msg.partition)
        taking_over = not self.order.owns(source)
        if taking_over:
            self.order.start(source, mark, msg.offset)
        verdict = self.order.check(source, msg.offset, time.monotonic())
        if verdict.seek_to is not None:
            where = f"{msg.topic}[{msg.partition}]"
            if taking_over:  # usual: faust's committed offset is past the table's mark, or before it
                log.info("%s: reading from %d, after the last %s handled (faust's position: %d)",
                         where, verdict.seek_to, self.what, msg.offset)  # fmt: skip
            elif self.order.seeks_asked(source) == 1:
                log.warning("%s: %s %d came while %d was expected (faust skipped records); reading again from %d",
                            where, self.what, msg.offset, verdict.seek_to, verdict.seek_to)  # fmt: skip
            await self.seek(msg.topic, msg.partition, verdict.seek_to)
        if verdict.handle:
            self.retries.pop(source, None)
        if verdict.unreadable is not None:
            first, last = verdict.unreadable
            log.error(
                "%s[%d]: offsets %d to %d did not come after %d seeks back (deleted by the topic's retention?); "
                "going on from %d without them",
                msg.topic, msg.partition, first, last, self.order.seeks, msg.offset,
            )  # fmt: skip
        return verdict.handle

    async def retry(self) -> None:
        """Seek again where a seek back was not answered (see :meth:`InOrder.overdue`)."""
        for source, want in self.order.overdue(time.monotonic()):
            try:
                await self._seek_again(source, want)
            except Exception as exc:  # revoked meanwhile: its next owner starts from the table
                log.warning("%s[%d]: could not seek to %d: %s", *source, want, exc)

    async def _seek_again(self, source: Source, want: int) -> None:
        """Seek to ``want`` again; where the topic no longer holds it (deleted by its retention), go on from the
        partition's first record kept."""
        topic, partition = source
        earliest = await self.earliest(topic, partition) if self.earliest is not None else None
        if earliest is not None and self.order.give_up(source, want, earliest):
            log.error("%s[%d]: offsets %d to %d are no longer in the topic (deleted by its retention); going on from "
                      "%d without them", topic, partition, want, earliest - 1, earliest)  # fmt: skip
            await self.seek(topic, partition, earliest)
            return
        if self.order.pending(source) != want:
            return  # it came, or the partition was revoked, while the topic was asked
        self.retries[source] += 1
        if self.retries[source] in (1, 30) or self.retries[source] % 300 == 0:
            log.info("%s[%d]: %s %d has not come since the seek back to it; seeking again (%d times)",
                     topic, partition, self.what, want, self.retries[source])  # fmt: skip
        await self.seek(topic, partition, want)

    def watch(self, app: faust.App) -> None:
        """Ask :meth:`retry` on a timer (the topic's first records kept asked of ``app``'s consumer)."""
        if self.earliest is None:
            self.earliest = consumer_earliest(app)
        app.timer(interval=self.order.retry_s)(self.retry)


class Interactions:
    """What the interactions agent does with one record: a raw event or tick is cleaned and what it releases
    goes to interactions.clean and to the sessions of its partition; a clean frame goes to the sessions."""

    def __init__(
        self,
        cleaner: Cleaner,
        out: Outlets,
        sessions: Sessionizer,
        gate: PrivacyGate,
        newest: int | None,
        table: JsonTable,
        writes: Writes,
        seek: Seek,
    ) -> None:
        self.cleaner, self.out, self.sessions, self.gate = cleaner, out, sessions, gate
        self.codec, self.counters = out.codec, out.counters
        self.newest = newest  # raw records of this schema version may go on as they came, if unchanged
        self.table, self.writes = table, writes  # where the cleaner and the sessions keep their state
        self.ordered = Ordered(seek, "record")

    async def handle(self, msg: Any) -> None:
        """One record; its table writes wait for :meth:`flush`, unless it settled something (a trajectory
        sent, a dead letter): then they go at once, so that a crash does not make it happen twice."""
        self.table.partition = msg.partition
        self.counters[self._source(msg.topic)] += 1
        if not await self._in_order(msg) or self.sessions.seen(msg):
            return
        settled = await (self.sessions.frame(msg) if msg.topic == self.sessions.frames else self._raw(msg))
        self.sessions.handled(msg, settled)
        if settled:
            await self.flush()

    async def flush(self) -> None:
        """Return once Kafka has what the records handled so far wrote: clean records and table changes. The
        clean records go first: a table change (a held event deleted, a close marked, a record marked handled)
        says they went, and Kafka keeps the order of records only within a partition. Every partition's records
        handled so far are marked handled (the marks reach the changelog after the changes they cover): a worker
        taking the partition over reads again only what came after, which the table does not reflect."""
        await self.writes.flush()
        store = self.sessions.store
        for partition in store.unmarked():
            self.table.partition = partition
            store.mark(partition)
        self.counters["interactions.changelog_records"] += self.table.flush()
        await self.writes.flush()

    def _source(self, topic: str) -> str:
        return "in.screens.clean" if topic == self.sessions.frames else "in.interactions.raw"

    def forget(self, partition: int) -> None:
        self.ordered.order.forget(partition)
        self.cleaner.forget(partition)
        self.sessions.forget(partition)

    async def _in_order(self, msg: Any) -> bool:
        """Whether ``msg`` is the next record of its partition; a partition taken over starts after the last
        record its table marks handled."""
        mark = None
        if not self.ordered.order.owns((msg.topic, msg.partition)):
            mark = self.sessions.store.handled_up_to(f"{msg.topic}|{msg.partition}")
            self._took_over(msg, mark)
        return await self.ordered.admit(msg, mark)

    def _took_over(self, msg: Any, mark: int | None) -> None:
        """Say what the first record of a partition found: what a previous owner left in the table."""
        held, devices = self.cleaner.held(msg.partition)
        log.info(
            "%s[%d]: first record at offset %d; handled before: %s; the table holds %d typed events of %d devices "
            "not yet released and %d events in open sessions",
            msg.topic, msg.partition, msg.offset, "nothing" if mark is None else f"up to {mark}", held, devices,
            self.sessions.store.open_events(msg.partition),
        )  # fmt: skip

    async def _raw(self, msg: Any) -> bool:
        """One record of interactions.raw: True if it settled something (a dead letter, a delivery)."""
        try:
            decoded = await decode(self.codec, msg.value or b"")
        except CodecError as exc:
            await self.out.reject(msg, str(exc), type(exc).__name__)
            return True
        if decoded.short_name == "Tick":
            tick = from_avro(Tick, decoded.value)
            if tick.stream_time > datetime.now(UTC) + MAX_FUTURE:  # not a worker's clock: it would end every session
                when, source = tick.stream_time.isoformat(), tick.source[:60]
                what = f"a tick at {when} from {source!r} is ahead of this worker's clock"
                await self.out.reject(msg, what, "InvalidRecordError")
                return True
            settled = await self._publish(msg, self.cleaner.tick(msg.partition, tick.stream_time, msg.offset))
            # the clean clock, held back to the oldest event still held
            clock = Tick(msg.partition, self.cleaner.clock(msg.partition, tick.stream_time), tick.source)
            await self.out.mark(self.codec.encode("Tick", to_avro(clock)), msg.partition)
            await self.sessions.tick(msg.partition, clock.stream_time, msg.offset)
            return settled
        if decoded.short_name != "InteractionEvent":
            what = f"expected an InteractionEvent, got a {decoded.short_name}"
            await self.out.reject(msg, what, "WrongRecordTypeError")
            return True
        try:
            event = from_avro(InteractionEvent, decoded.value)
            problem = event_problem(event, datetime.now(UTC))
        except (ValueError, TypeError, KeyError) as exc:
            problem = f"not a valid InteractionEvent: {type(exc).__name__}: {exc}"
        if problem is not None:
            await self.out.reject(msg, problem, "InvalidRecordError")
            return True
        if not await self.gate.passes(event.user_id, scope_of(event), event.event_time, self.counters, "events"):
            return False
        fresh = decoded.writer_version == self.newest  # else encoded again even if unchanged
        return await self._publish(msg, self.cleaner.push(msg.partition, event, msg.value, fresh, msg.offset))

    async def _publish(self, msg: Any, result: Cleaned) -> bool:
        """Send what ``msg`` released; True if that settled something besides its own events."""
        settled = False
        for e in result.events:
            if self.gate.erased(e.user_id, e.event_time):  # erasure requested while the event was held
                self.counters["consent.dropped_events"] += 1
                continue
            as_is = result.unchanged.get(e.seq)
            encoded = await self.out.send(e.device_id.encode(), "InteractionEvent", e, as_is, msg.partition)
            settled |= await self.sessions.event(msg, e, encoded)
        for q in result.quarantined:
            for e in q.events:
                await self.out.reject(
                    msg, q.reason, "RedactionError", self.codec.encode("InteractionEvent", to_avro(e))
                )
            settled = True
        self.cleaner.settle(msg.partition)  # after the sessions' table writes: its marks say what went
        for name, n in self.cleaner.counts.items():
            self.counters[name] += n
        self.cleaner.counts.clear()
        return settled


def register_interactions(
    app: faust.App,
    settings: StreamsSettings,
    codec: Codec,
    counters: Counter[str],
    gate: PrivacyGate,
    out: Outlets | None = None,
    known: KnownPii | None = None,
    sessions: Sessionizer | None = None,
    writes: Writes | None = None,
) -> AgentT[Any]:
    """Add the agent of the interactions stage: one pass over interactions.raw and screens.clean (co-partitioned
    by device) that cleans each raw event and hands what it releases to the sessions of the same partition.
    Clean events also go to interactions.clean, in the partition they came from, for its readers, followed by
    the partition's clean clock. ``out``, ``sessions``: where it writes (default: the topics); ``known``: where
    the PII found in typed text goes, for the screen redaction of the same worker; ``writes``: where clean
    records and table changes are produced (default: a librdkafka producer, ``streams.writes``)."""
    names = default_person_finder(settings.names_ner) if settings.redact_names else None
    if writes is None:
        writes = KafkaWrites(settings)
    # one table for the held typing and the open sessions: their changes go to one changelog partition, in order
    table = sessions.table if sessions is not None else JsonTable(app.Table("interactions", partitions=6), writes)
    segments = SegmentPolicy(release_margin=settings.typing_margin or None)
    cleaner = Cleaner(CapturePolicy(), segments, names, codec, table, known, gate.hosts_at)
    if sessions is None:
        sessions = Sessionizer(app, settings, codec, counters, gate, table)
    # a raw record in the framing and schema version the codec writes can go on as it came, if unchanged
    newest = None if settings.schema_registry_url else codec.registry.latest("InteractionEvent").version

    stage = Interactions(
        cleaner,
        out if out is not None else Outlets.of(app, settings, codec, "interactions", counters, writes),
        sessions,
        gate,
        newest,
        table,
        writes,
        consumer_seek(app),
    )

    async def run(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        """Records in batches (up to ``streams_batch`` or what came within ``streams_batch_wait_s``): faust
        acknowledges a batch once the next one is asked for, after its table writes went out."""
        await gate.ready()
        took = seconds(BATCH_SECONDS, "time to handle a batch of records, with its flush", "interactions")
        batches = stream.take_events(settings.streams_batch, within=settings.streams_batch_wait_s)  # type: ignore[attr-defined]  # faust.Stream has it, StreamT does not say so
        async for batch in batches:
            start = time.perf_counter()
            for event in batch:
                await stage.handle(event.message)
            await stage.flush()
            took.observe(time.perf_counter() - start)
            yield None

    source = app.topic(settings.topic("interactions.raw"), stage.sessions.frames)
    agent = app.agent(source, name="teachstream.interactions", concurrency=1)(run)
    on_revoked(app, stage.forget)
    stage.ordered.watch(app)
    return agent


def withheld_image(codec: Codec, frame: ScreenFrame | None) -> bytes:
    """What a dead letter of screens.raw keeps: the frame without its image (never the pixels in clear)."""
    if frame is None:
        return b""  # not a frame we can read: the bytes stay in screens.raw for its retention, not here
    return codec.encode("ScreenFrame", to_avro(replace(frame, image=b"")))


class Screens:
    """What the screens agent does with one record of screens.raw: a frame cleaned and redacted goes to
    screens.clean, in the partition it came from; one that cannot be goes to the dead letters, without its image.

    Frames are redacted in a thread of their own, one at a time (OCR takes tens to hundreds of
    milliseconds; the event loop keeps serving heartbeats and other agents meanwhile). A frame
    not done within ``screens_deadline_s`` is dead-lettered. The last offset handled of each partition is kept
    in ``table`` (``P|<topic>|<partition>``), in Kafka before the frame is acknowledged: a worker that takes the
    partition over resumes after it, whatever faust committed (``streams.core.positions``)."""

    def __init__(
        self,
        frames: FrameCleaner,
        out: Outlets,
        gate: PrivacyGate,
        settings: StreamsSettings,
        table: JsonTable,
        writes: Writes,
        seek: Seek,
    ) -> None:
        self.frames, self.out, self.gate, self.deadline_s = frames, out, gate, settings.screens_deadline_s
        self.codec, self.counters, self.table, self.writes = out.codec, out.counters, table, writes
        self.ordered = Ordered(seek, "frame")
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="screens-redaction")
        self.took = seconds(FRAME_SECONDS, "time to clean and redact one frame (OCR included)", "screens")

    async def handle(self, msg: Any) -> None:
        self.counters["in.screens.raw"] += 1
        self.table.partition = msg.partition
        position = f"P|{msg.topic}|{msg.partition}"
        mark = None
        if not self.ordered.order.owns((msg.topic, msg.partition)) and position in self.table:
            mark = int(self.table[position])
        if not await self.ordered.admit(msg, mark):
            return
        await self._clean(msg)
        self.table[position] = str(msg.offset).encode()
        self.table.flush()
        await self.writes.flush()

    async def _clean(self, msg: Any) -> None:
        frame: ScreenFrame | None = None
        try:
            decoded = await decode(self.codec, msg.value or b"")
            if decoded.short_name != "ScreenFrame":
                raise WrongRecordTypeError(f"expected a ScreenFrame, got a {decoded.short_name}")
            try:
                frame = from_avro(ScreenFrame, decoded.value)
            except (ValueError, TypeError, KeyError) as exc:
                raise InvalidRecordError(f"not a valid ScreenFrame: {type(exc).__name__}: {exc}") from exc
            problem = frame_problem(frame, datetime.now(UTC), image_size(frame.image))
            if problem is not None:
                raise InvalidRecordError(problem)
            if not await self.gate.passes(
                frame.user_id, CaptureScope.SCREENS, frame.event_time, self.counters, "frames"
            ):
                return
            start = time.perf_counter()
            job = asyncio.get_running_loop().run_in_executor(self.pool, self.frames.clean, frame)
            try:
                outcome = await asyncio.wait_for(asyncio.shield(job), self.deadline_s)
            except TimeoutError:
                self.counters["redaction.frame_deadline"] += 1
                raise TimeoutError(
                    f"the frame was not redacted within {self.deadline_s:g} s; "
                    "raise TEACHSTREAM_SCREENS_DEADLINE_S or add screens workers"
                ) from None
            self.took.observe(time.perf_counter() - start)
            self.counters.update(outcome.counts)
            if isinstance(outcome, CleanedFrame):
                await self.out.send(msg.key, "ScreenFrame", outcome.frame, partition=msg.partition)
        except CodecError as exc:
            self.counters["redaction.frame_failed"] += frame is not None
            await self.out.reject(msg, str(exc), type(exc).__name__, withheld_image(self.codec, frame))
        except Exception as exc:  # fail closed: a frame whose titles or pixels cannot be redacted stays out
            self.counters["redaction.frame_failed"] += 1
            reason = f"redaction failed: {type(exc).__name__}: {exc} (image withheld)"
            await self.out.reject(msg, reason, "RedactionError", withheld_image(self.codec, frame))


def register_screens(
    app: faust.App,
    settings: StreamsSettings,
    codec: Codec,
    counters: Counter[str],
    gate: PrivacyGate,
    out: Outlets | None = None,
    redact_pixels: PixelRedactor = keep_pixels,
    writes: Writes | None = None,
) -> AgentT[Any]:
    """Add the agent cleaning screens.raw (:class:`Screens`); ``out``: where it writes (default: its topics);
    ``writes``: where its table changes are produced (default: a librdkafka producer of its own)."""
    frames = FrameCleaner(
        CapturePolicy(),
        TitleRedactor(default_person_finder(settings.names_ner) if settings.redact_names else None),
        redact_pixels,
        gate.hosts_at,
    )
    spec = spec_for("screens.raw")
    assert spec is not None
    writes = writes if writes is not None else KafkaWrites(settings)
    table = JsonTable(app.Table("screens", partitions=spec.partitions), writes)
    if out is None:
        out = Outlets.of(app, settings, codec, "screens", counters)
    stage = Screens(frames, out, gate, settings, table, writes, consumer_seek(app))

    async def clean(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        await gate.ready()
        async for event in stream.events():
            await stage.handle(event.message)
            yield None

    on_revoked(app, stage.ordered.order.forget)
    stage.ordered.watch(app)
    return app.agent(app.topic(settings.topic("screens.raw")), name="teachstream.clean-screens", concurrency=1)(clean)
