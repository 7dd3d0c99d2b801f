"""Following control topics (consent, policy, erasure) from their beginning, in a thread (edge).

Every process that must obey a control topic (agent, stream worker, sink) reads all of it,
without a consumer group, and hands each decoded record to the callback of its topic. One
follower reads all the control topics a process needs with one Kafka client: an idle client
costs CPU all the time (its threads poll the broker), which matters on every device.
``wait_caught_up`` blocks until everything that was in the topics when it was called has
been handed over, so a decision made after it sees every record published before it.

A record that cannot be decoded is skipped with a warning (anyone who can write the topic
could send one). A record the callback fails on is not skipped: the follower stops there and
calls ``on_failure``, which by default stops the whole process loudly (exit code 70): an
erasure or a withdrawal that is silently skipped would break a promise to a person, while a
restarted process reads the topic again from its beginning.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from runtime.settings import Settings
from schemas.codec import Codec
from schemas.errors import BrokerUnavailableError, CodecError, ControlRecordError, SchemaRegistryUnavailableError
from schemas.records import AvroRecord, to_avro

log = logging.getLogger(__name__)
EXIT_CONTROL_FAILURE = 70
OnRecord = Callable[[str, dict[str, Any]], None]
# why a decoded record (short name, value, key) must not be applied, or None; see ``schemas.validation``
Screen = Callable[[str, dict[str, Any], bytes | None], str | None]
# A fetch waits this long on the broker for new records: a new one is delivered at once, and an
# idle follower asks twice a second less often than with librdkafka's default (500 ms).
FETCH_WAIT_MS = 5000


def stop_process(error: ControlRecordError) -> None:
    """The default reaction to a control record that cannot be applied: say so, and stop the process at once."""
    log.critical("%s; stopping (exit %d) so that no later record is applied without it", error, EXIT_CONTROL_FAILURE)
    logging.shutdown()
    os._exit(EXIT_CONTROL_FAILURE)


class ControlFollower:
    """Reads the project topics of ``routes`` from the beginning; each record of a topic goes to
    its callback as ``on_record(short_name, value)``."""

    def __init__(
        self,
        settings: Settings,
        routes: Mapping[str, OnRecord],
        codec: Codec | None = None,
        on_failure: Callable[[ControlRecordError], None] = stop_process,
        screen: Screen | None = None,
    ) -> None:
        if not routes:
            raise ValueError("a control follower needs at least one topic")
        self.routes = dict(routes)
        self._by_topic = {settings.topic(t): on_record for t, on_record in routes.items()}
        self.topics = tuple(self._by_topic)
        self.on_failure = on_failure
        self.screen = screen
        self.ignored: Counter[str] = Counter()  # control.ignored.<why>: records skipped, not applied
        self.failure: ControlRecordError | None = None
        self.codec = codec or Codec.from_url(settings.schema_registry_url)
        name = "+".join(sorted(routes))
        self.consumer = Consumer(
            settings.kafka(
                {
                    "group.id": f"teachstream-follow-{name}",
                    "enable.auto.commit": False,
                    "enable.partition.eof": True,
                    "fetch.wait.max.ms": FETCH_WAIT_MS,
                },
                quiet=True,
            )
        )
        self._settings = settings
        self._watermarks: Consumer | None = None  # made by the first wait_caught_up (an agent never waits)
        self._positions: dict[tuple[str, int], int] = {}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"follow-{name}", daemon=True)
        self._assigned = False

    def start(self) -> ControlFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._watermarks is not None:
            self._watermarks.close()

    def _assign(self) -> bool:
        found: dict[tuple[str, int], int] = {}
        for topic in self.topics:
            try:
                meta = self.consumer.list_topics(topic, timeout=5)
            except KafkaException as exc:
                log.warning("cannot read %s yet (%s); retrying", topic, exc)
                return False
            partitions = meta.topics[topic].partitions if topic in meta.topics else {}
            if not partitions:
                return False
            found.update(((topic, p), 0) for p in partitions)
        self.consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in found])
        with self._lock:
            self._positions = found
        return True

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self._assigned:
                self._assigned = self._assign()
                if not self._assigned:
                    self._stop.wait(2)
            while not self._stop.is_set() and self.failure is None:
                try:
                    for msg in self.consumer.consume(100, 0.5):
                        if not self._take(msg):
                            break
                except KafkaException as exc:  # the broker went away: keep trying, positions are kept
                    log.warning("reading %s failed (%s); retrying", ", ".join(self.topics), exc)
                    self._stop.wait(1)
        finally:
            self.consumer.close()

    def _take(self, msg: Any) -> bool:
        """Hand one record to the callback; False (and ``on_failure`` called) if the callback failed on it."""
        topic, partition = msg.topic(), msg.partition() or 0
        on_record = self._by_topic.get(topic)
        if msg.error() is None and msg.value() and on_record is not None:
            try:
                decoded = self.codec.decode_patiently(msg.value(), lambda: not self._stop.is_set())
            except SchemaRegistryUnavailableError:
                return True  # stopping: the position stays before this record
            except CodecError as exc:
                self.ignored["control.ignored.unreadable"] += 1
                log.warning("skipping an unreadable record in %s at offset %s: %s", topic, msg.offset(), exc)
            else:
                problem = self.screen(decoded.short_name, decoded.value, msg.key()) if self.screen else None
                if problem is not None:
                    self.ignored["control.ignored.invalid"] += 1
                    where = f"{topic}[{partition}]@{msg.offset()}"
                    log.warning("ignoring the %s at %s: %s", decoded.short_name, where, problem)
                    return self._advance(msg, topic, partition)
                try:
                    on_record(decoded.short_name, decoded.value)
                except Exception as exc:
                    self.failure = ControlRecordError(
                        f"applying the {decoded.short_name} at {topic}[{partition}]@{msg.offset()} failed: "
                        f"{type(exc).__name__}: {exc}"
                    )
                    log.exception("%s", self.failure)
                    self.on_failure(self.failure)
                    return False
        return self._advance(msg, topic, partition)

    def _advance(self, msg: Any, topic: str, partition: int) -> bool:
        position = (msg.offset() or 0) + (1 if msg.error() is None else 0)
        with self._lock:
            self._positions[topic, partition] = max(self._positions.get((topic, partition), 0), position)
            self._lock.notify_all()
        return True

    def wait_caught_up(self, timeout_s: float = 10.0) -> bool:
        """True once every record in the topics now has been handed to its callback."""
        deadline = time.monotonic() + timeout_s
        while not self._assigned:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        with self._lock:  # an idle Kafka client costs CPU all the time: made when first asked
            if self._watermarks is None:
                self._watermarks = Consumer(self._settings.kafka({"group.id": "teachstream-watermarks"}, quiet=True))
            watermarks = self._watermarks
        ends: dict[tuple[str, int], int] = {}
        for topic, partition in list(self._positions):
            try:
                _, high = watermarks.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
            except KafkaException:
                return False
            ends[topic, partition] = high
        with self._lock:
            return self._lock.wait_for(
                lambda: all(self._positions.get(p, 0) >= end for p, end in ends.items()),
                timeout=max(0.0, deadline - time.monotonic()),
            )


def publish(settings: Settings, topic: str, key: str, record: AvroRecord, timeout_s: float = 10.0) -> None:
    """Publish one control record and wait for the broker to store it; a clear error if it cannot."""
    codec = Codec.from_url(settings.schema_registry_url)
    producer = Producer(settings.kafka({"enable.idempotence": True, "acks": "all"}, quiet=True))
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    producer.produce(
        settings.topic(topic), codec.encode(record.AVRO_NAME, to_avro(record)), key=key.encode(), on_delivery=delivered
    )
    if producer.flush(timeout_s) or errors:
        raise BrokerUnavailableError(
            f"could not publish to {settings.topic(topic)} at {settings.kafka_bootstrap} "
            f"({errors[0] if errors else f'no answer in {timeout_s:.0f}s'}); is Kafka running?"
        )
