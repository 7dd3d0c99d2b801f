"""The sink's dead letters: a record it cannot decode or store goes to ``deadletter`` (edge).

A letter is delivered before the offset of its record is committed.

Letters are built by :func:`schemas.dead_letters.dead_letter`, the one builder every stage
uses; the stage is ``sink.decode`` for a record that cannot be decoded and ``sink.session``
for one that decodes but cannot become dataset objects (a wrong record type, an id that
cannot be part of a key).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from confluent_kafka import Producer

from runtime.settings import Settings
from schemas.codec import Codec
from schemas.dead_letters import dead_letter
from schemas.errors import CodecError
from schemas.records import to_avro

log = logging.getLogger(__name__)


class DeadLetterOutlet:
    def __init__(self, settings: Settings, codec: Codec) -> None:
        self.topic = settings.topic("deadletter")
        self.codec = codec
        self.producer = Producer(settings.kafka({"enable.idempotence": True, "acks": "all"}))
        self.unflushed = False

    def send(self, topic: str, partition: int, offset: int, value: bytes, exc: Exception) -> None:
        stage = "sink.decode" if isinstance(exc, CodecError) else "sink.session"
        letter = dead_letter(stage, topic, partition, offset, value, exc, datetime.now(UTC))
        self.producer.produce(self.topic, self.codec.encode("DeadLetter", to_avro(letter)))
        self.producer.poll(0)
        self.unflushed = True

    def delivered(self) -> bool:
        """True once every letter sent is on its topic (waiting up to 30 s): only then may offsets be committed."""
        if self.unflushed and self.producer.flush(30) == 0:
            self.unflushed = False
        elif self.unflushed:
            log.warning("dead letters not yet delivered; not committing")
        return not self.unflushed

    def close(self) -> None:
        self.producer.flush(10)
