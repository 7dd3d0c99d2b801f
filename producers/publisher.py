"""Publishing to Kafka with confluent-kafka: idempotent, acks=all, zstd, counted deliveries (edge)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from schemas.errors import BrokerUnavailableError
from schemas.topics import SCREEN_MAX_BYTES

log = logging.getLogger(__name__)

DeliveryHook = Callable[[KafkaError | None], None]
_DOWN = {KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT, KafkaError._RESOLVE}


@dataclass
class DeliveryStats:
    delivered: int = 0
    failed: int = 0
    last_error: str = ""
    broker_down: bool = False  # the client's last word: all brokers unreachable


class Publisher:
    """A confluent-kafka producer whose deliveries are counted, flushed on close.

    ``overrides`` change the producer config (the agent sets ``message.timeout.ms`` to 0,
    retrying forever, because its spool keeps every record until it is acknowledged).
    """

    def __init__(
        self, kafka_config: dict[str, Any], client_id: str = "teachstream", overrides: dict[str, Any] | None = None
    ) -> None:
        self.stats = DeliveryStats()
        self._producer = Producer(
            {
                **kafka_config,
                "client.id": client_id,
                "enable.idempotence": True,
                "acks": "all",
                # librdkafka's default, named: a device's events and frames land in the same partition number of
                # interactions.raw and screens.raw, which the stream worker reads co-partitioned
                "partitioner": "consistent_random",
                "compression.type": "zstd",
                "linger.ms": 20,
                "batch.size": 1_000_000,
                "message.max.bytes": SCREEN_MAX_BYTES + 65536,
                "queue.buffering.max.messages": 200_000,
                "error_cb": self._on_error,
                **(overrides or {}),
            }
        )

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is None:
            self.stats.delivered += 1
            self.stats.broker_down = False
        else:
            self.stats.failed += 1
            self.stats.last_error = err.str()

    def _on_error(self, err: KafkaError) -> None:
        if err.code() in _DOWN:
            self.stats.broker_down = err.code() == KafkaError._ALL_BROKERS_DOWN or self.stats.broker_down
        log.warning("Kafka client error: %s", err.str())

    def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Queue a record, waiting while the local queue is full."""
        while not self.try_publish(topic, key, value):
            self._producer.poll(0.1)  # local queue full: wait for deliveries
        self._producer.poll(0)

    def try_publish(self, topic: str, key: bytes, value: bytes, hook: DeliveryHook | None = None) -> bool:
        """Queue a record; False if the local queue is full. ``hook`` gets the delivery result."""

        def delivered(err: KafkaError | None, msg: Message) -> None:
            self._on_delivery(err, msg)
            if hook is not None:
                hook(err)

        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=delivered)
        except BufferError:
            return False
        return True

    def poll(self, timeout_s: float) -> int:
        """Serve delivery reports for up to ``timeout_s``; returns how many were served."""
        return int(self._producer.poll(timeout_s))

    @property
    def queued(self) -> int:
        """Records handed to the client and not yet acknowledged or failed."""
        return len(self._producer)

    def flush(self, timeout_s: float) -> int:
        """Wait up to ``timeout_s`` for deliveries; returns how many records are still queued."""
        return int(self._producer.flush(timeout_s))

    def close(self, timeout_s: float = 30.0) -> None:
        """Flush everything; raise if anything is still undelivered."""
        remaining = self._producer.flush(timeout_s)
        if remaining or self.stats.failed:
            raise BrokerUnavailableError(
                f"{remaining} records still queued and {self.stats.failed} failed after {timeout_s:.0f}s"
                f" ({self.stats.last_error or 'broker unreachable'}); is Kafka running?"
            )
