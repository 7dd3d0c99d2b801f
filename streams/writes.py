"""Where the interactions agent's records go: one librdkafka producer, flushed before a batch is acknowledged (edge).

Per record, faust's producer path (a ``FutureMessage``, its buffer, aiokafka's accumulator, all in Python)
cost the worker more than its own work: three or four records go out per event (the clean copy and the
table writes that make the state crash-safe). librdkafka does the same in C. Faust still consumes, assigns
partitions, and restores the tables from their changelogs; the agent writes the clean records and the
changelog records here and waits for :meth:`KafkaWrites.flush` before faust may acknowledge (and later
commit) the batch that made them, so a committed offset never runs ahead of the state it produced.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import faust
from confluent_kafka import KafkaError, Message, Producer

from streams.settings import StreamsSettings

log = logging.getLogger(__name__)


async def delivered(
    channel: faust.ChannelT[Any], value: bytes, key: bytes | None, partition: int | None = None
) -> None:
    """Send ``value`` through faust and return once Kafka has it. Before it commits, faust flushes its send
    buffer for at most 0.1 s: a record only handed to ``send`` can die with the worker while the offset of
    the record that made it is committed (``make chaos`` lost frames so, in a worker killed mid-OCR)."""
    delivery = await channel.send(key=key, value=value, partition=partition)
    await delivery


class Writes(Protocol):
    """Records to produce, and a flush that returns once Kafka has them all."""

    def produce(self, topic: str, value: bytes | None, key: bytes | None, partition: int) -> None: ...

    async def flush(self) -> None: ...


class KafkaWrites:
    """A confluent-kafka producer (idempotent, ``acks=all``: per partition in order, once)."""

    def __init__(self, settings: StreamsSettings) -> None:
        conf = {
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": "zstd",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "error_cb": self._on_error,
            # a report only for a record Kafka refused: no Python call per record delivered
            "delivery.report.only.error": True,
            "on_delivery": self._on_delivery,
        }
        self._producer = Producer(settings.kafka(conf))
        self._failed: list[tuple[str, bytes | None, bytes | None, int, str]] = []
        self.produced = 0

    def produce(self, topic: str, value: bytes | None, key: bytes | None, partition: int) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, partition=partition)
                break
            except BufferError:  # the local queue is full: serve deliveries, then try again
                self._producer.poll(0.1)
        self.produced += 1

    async def flush(self) -> None:
        """Return once Kafka has acknowledged every record produced so far. While it does not, wait and say
        why, every few seconds; a record Kafka refused is produced again (nothing is dropped)."""
        loop = asyncio.get_running_loop()
        waited = 0.0
        while True:
            left = await loop.run_in_executor(None, self._producer.flush, 5.0)  # waits without the GIL
            if left:
                waited += 5.0
                log.warning("Kafka has not acknowledged %d records for %.0f s; the worker waits for it", left, waited)
                continue
            if not self._failed:
                return
            failed, self._failed = self._failed, []
            log.error("Kafka refused %d records (first: %s); producing them again in 1 s", len(failed), failed[0][4])
            await asyncio.sleep(1.0)
            for topic, value, key, partition, _ in failed:
                self.produce(topic, value, key, partition)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            partition = msg.partition()  # always the one produced to; -1 (by key) only to satisfy the types
            topic, where = msg.topic() or "", partition if partition is not None else -1
            self._failed.append((topic, msg.value(), msg.key(), where, err.str()))

    def _on_error(self, err: KafkaError) -> None:
        log.warning("Kafka client error: %s", err.str())
