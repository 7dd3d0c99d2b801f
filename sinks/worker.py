"""The S3 sink worker: consume, batch per partition, upload, then commit (edge).

Offsets of a partition are committed only after its batch is in S3, and object keys are
deterministic (``sinks.core.naming``), so a crash at any point replays into the same keys.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from schemas.codec import Codec
from schemas.control import DeadLetter
from schemas.errors import CodecError, ConfigError, WrongRecordTypeError
from schemas.records import to_avro
from schemas.topics import SCREEN_MAX_BYTES, spec_for
from sinks.core.batching import Batch, Batcher, BatchLimits
from sinks.core.formats import AvroContainerFormat
from sinks.core.naming import batch_key
from sinks.s3 import check_bucket, put_until_stored, s3_client
from sinks.settings import SinkSettings

log = logging.getLogger(__name__)


@dataclass
class SinkStats:
    records: int = 0
    objects: int = 0
    bytes: int = 0
    dead_letters: int = 0
    keys: list[str] = field(default_factory=list)


class SinkWorker:
    """Moves records of the configured topics into S3 objects."""

    def __init__(self, settings: SinkSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.codec = Codec.from_url(settings.schema_registry_url)
        self.format = AvroContainerFormat()
        self.batcher = Batcher(
            BatchLimits(settings.sink_batch_records, settings.sink_batch_bytes, settings.sink_batch_seconds)
        )
        self.s3 = s3_client(settings)
        self.stats = SinkStats()
        self.running = True
        self.topics = {settings.topic(t): t for t in settings.sink_topics}
        for topic in settings.sink_topics:
            if spec_for(topic) is None:
                raise ConfigError(f"sink topic {topic} is not a project topic; see `teachstream topics`")
        self.consumer = Consumer(
            settings.kafka(
                {
                    "group.id": settings.sink_group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "max.poll.interval.ms": 600_000,
                    "fetch.message.max.bytes": SCREEN_MAX_BYTES + 65536,
                }
            )
        )
        self.deadletters = Producer(settings.kafka({"enable.idempotence": True, "acks": "all"}))

    def stop(self, *_: object) -> None:
        self.running = False

    def run(self, idle_exit_s: float | None = None) -> SinkStats:
        """Run until stopped (SIGTERM/SIGINT) or, with ``idle_exit_s``, until idle that long with nothing open."""
        check_bucket(self.s3, self.settings)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.consumer.subscribe(list(self.topics), on_revoke=self._on_revoke)
        log.info(
            "sink started: %s -> s3://%s/%s", ", ".join(self.topics), self.settings.s3_bucket, self.settings.s3_prefix
        )
        last_record = self.clock()
        try:
            while self.running:
                messages = self.consumer.consume(num_messages=500, timeout=0.5)
                for msg in messages:
                    if self._take(msg):
                        last_record = self.clock()
                for batch in self.batcher.due(self.clock()):
                    self._flush(batch)
                if idle_exit_s is not None and not len(self.batcher) and self.clock() - last_record > idle_exit_s:
                    break
            for batch in self.batcher.drain():
                self._flush(batch)
        finally:
            self.deadletters.flush(10)
            self.consumer.close()
        return self.stats

    def _take(self, msg: Message) -> bool:
        error = msg.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("Kafka reported %s while consuming; continuing", error.str())
            return False
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        batch = self.batcher.add(topic, partition, offset, msg.value() or b"", self.clock())
        if batch is not None:
            self._flush(batch)
        return True

    def _flush(self, batch: Batch) -> None:
        base = self.topics[batch.topic]
        spec = spec_for(base)
        assert spec is not None
        schema = self.codec.registry.latest(spec.record)
        records = []
        for i, value in enumerate(batch.values):
            try:
                decoded = self.codec.decode(value)
                if decoded.short_name in spec.markers:
                    continue  # event-time ticks are for the stream stages, not for the dataset
                if decoded.short_name != spec.record:
                    raise WrongRecordTypeError(f"expected a {spec.record}, got a {decoded.short_name}")
                records.append(decoded.value)
            except CodecError as exc:
                self._dead_letter(batch, i, value, exc)
        key = batch_key(self.settings.s3_prefix, base, batch.partition, batch.first_offset, self.format.extension)
        if records:
            body = self.format.serialize(schema, records, key)
            if not put_until_stored(
                self.s3, self.settings.s3_bucket, key, body, self.format.content_type, keep_trying=lambda: self.running
            ):
                log.warning("stopping with %s not uploaded; its records will be read again", key)
                return
            self.stats.objects += 1
            self.stats.bytes += len(body)
            self.stats.keys.append(key)
        self.stats.records += len(records)
        try:
            self.consumer.commit(
                offsets=[TopicPartition(batch.topic, batch.partition, batch.last_offset + 1)], asynchronous=False
            )
        except KafkaException as exc:
            log.warning("commit after %s failed (%s); the batch will be replayed into the same key", key, exc)

    def _dead_letter(self, batch: Batch, index: int, value: bytes, exc: CodecError) -> None:
        offset = batch.offsets[index]
        letter = DeadLetter(
            stage="sink.decode",
            reason=f"{batch.topic}[{batch.partition}]@{offset}: {exc}",
            error_type=type(exc).__name__,
            topic=batch.topic,
            partition=batch.partition,
            offset=offset,
            original=value,
            failed_at=datetime.now(UTC),
        )
        self.deadletters.produce(self.settings.topic("deadletter"), self.codec.encode("DeadLetter", to_avro(letter)))
        self.stats.dead_letters += 1

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.batcher.drop(tp.topic, tp.partition)
