"""``teachstream tail``: print decoded records of a topic as JSON lines (edge).

Like ``tail``: without flags it prints the last records and stops; ``--from-beginning``
starts at the oldest record; ``--follow`` keeps waiting for new ones.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from runtime.settings import Settings
from schemas.codec import Codec
from schemas.errors import CodecError, ConfigError
from schemas.topics import SCREEN_MAX_BYTES, spec_for
from teachstream.admin import existing_topics, watermarks
from teachstream.render import record_line

_CATCH_UP_IDLE_S = 5.0
_TICK_WINDOW = 500  # records per partition read back to find the last ones between ticks


@dataclass(frozen=True)
class TailRequest:
    topic: str
    from_beginning: bool = False
    follow: bool = False
    last: int = 10
    max_records: int | None = None
    idle_timeout_s: float | None = None  # with follow: stop after this long without records
    markers: bool = False  # also show event-time ticks and other markers between the records


def tail(settings: Settings, request: TailRequest, codec: Codec, emit: Callable[[str], None]) -> int:
    """Print records; returns how many were printed."""
    partitions, consumer = _reader(settings, request.topic, "tail")
    spec = spec_for(request.topic, settings.topic_prefix)
    hidden = () if request.markers or spec is None else spec.markers
    wanted = request.max_records if request.max_records is not None else request.last
    # the last records: read further back when ticks are hidden, keep the newest `wanted`
    newest: deque[str] | None = None if request.from_beginning or request.follow else deque(maxlen=wanted)
    try:
        stops = _assign(consumer, request, partitions, _TICK_WINDOW if hidden else 0)
        printed = 0
        for msg in _messages(consumer, stops, request):
            line = _line(codec, msg, hidden)
            if line is None:
                continue
            if newest is not None:
                newest.append(line)
                continue
            emit(line)
            printed += 1
            if request.max_records is not None and printed >= request.max_records:
                break
        for line in newest or ():
            emit(line)
        return printed + len(newest or ())
    finally:
        consumer.close()


def read_topic(settings: Settings, topic: str) -> Iterator[Message]:
    """Every record of ``topic`` from its start to its end offsets at the time of the call."""
    partitions, consumer = _reader(settings, topic, "read")
    request = TailRequest(topic, from_beginning=True)
    try:
        yield from _messages(consumer, _assign(consumer, request, partitions, 0), request)
    finally:
        consumer.close()


def _reader(settings: Settings, topic: str, purpose: str) -> tuple[int, Consumer]:
    """The number of partitions of ``topic`` (which must exist) and a consumer of a group of its own to read it."""
    partitions = existing_topics(settings).get(topic)
    if partitions is None:
        raise ConfigError(f"topic {topic} does not exist; list the project topics with `teachstream topics`")
    conf = {
        "group.id": f"teachstream-{purpose}-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "fetch.message.max.bytes": SCREEN_MAX_BYTES + 65536,
    }
    return partitions, Consumer(settings.kafka(conf, quiet=True))


def _assign(consumer: Consumer, request: TailRequest, partitions: int, extra: int) -> dict[int, int]:
    """Assign every partition at its start offset; returns the end offset of those with records to read."""
    assignment, stops = [], {}
    per_partition = (request.max_records if request.max_records is not None else request.last) + extra
    for p in range(partitions):
        low, high = watermarks(consumer, TopicPartition(request.topic, p))
        start = low if request.from_beginning else max(low, high - per_partition) if not request.follow else high
        if start < high:
            stops[p] = high
        assignment.append(TopicPartition(request.topic, p, start if start >= 0 else OFFSET_BEGINNING))
    consumer.assign(assignment)
    return stops


def _messages(consumer: Consumer, stops: dict[int, int], request: TailRequest) -> Iterator[Message]:
    pending = set(stops)
    idle = 0.0
    while request.follow or pending:
        msg = consumer.poll(0.5)
        if msg is None:
            idle += 0.5
            # compacted or aborted records can leave gaps at the end: give up waiting after a while
            limit = request.idle_timeout_s if request.follow else _CATCH_UP_IDLE_S
            if limit is not None and idle >= limit:
                return
            continue
        error = msg.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                continue
            raise ConfigError(f"reading {request.topic} failed: {error.str()}")
        idle = 0.0
        partition, offset = msg.partition() or 0, msg.offset() or 0
        if not request.follow and offset >= stops.get(partition, 0) - 1:
            pending.discard(partition)
            if offset >= stops.get(partition, 0):
                continue
        yield msg


def _line(codec: Codec, msg: Message, hidden: tuple[str, ...]) -> str | None:
    value = msg.value() or b""
    where = (msg.topic() or "", msg.partition() or 0, msg.offset() or 0, msg.key())
    try:
        decoded = codec.decode(value)
    except CodecError as exc:
        return record_line(*where, None, None, error=str(exc))
    if decoded.short_name in hidden:
        return None
    return record_line(*where, decoded.short_name, decoded.value)
