"""Publishing to Kafka with confluent-kafka: idempotent, acks=all, zstd, counted deliveries (edge)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas.errors import BrokerUnavailableError
from schemas.topics import SCREEN_MAX_BYTES

log = logging.getLogger(__name__)


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    last_error: str = ""


class Publisher:
    """A confluent-kafka producer whose deliveries are counted, flushed on close."""

    def __init__(self, kafka_config: dict[str, Any], client_id: str = "teachstream") -> None:
        self.stats = DeliveryStats()
        self._producer = Producer(
            {
                **kafka_config,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                "compression.type": "zstd",
                "linger.ms": 20,
                "batch.size": 1_000_000,
                "message.max.bytes": SCREEN_MAX_BYTES + 65536,
                "queue.buffering.max.messages": 200_000,
                "error_cb": self._on_error,
            }
        )

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            self.stats.last_error = err.str()

    def _on_error(self, err: KafkaError) -> None:
        log.warning("Kafka client error: %s", err.str())

    def publish(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=self._on_delivery)
                break
            except BufferError:
                self._producer.poll(0.1)  # local queue full: wait for deliveries
        self._producer.poll(0)

    def close(self, timeout_s: float = 30.0) -> None:
        """Flush everything; raise if anything is still undelivered."""
        remaining = self._producer.flush(timeout_s)
        if remaining or self.stats.failed:
            raise BrokerUnavailableError(
                f"{remaining} records still queued and {self.stats.failed} failed after {timeout_s:.0f}s"
                f" ({self.stats.last_error or 'broker unreachable'}); is Kafka running?"
            )
