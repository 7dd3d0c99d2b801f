"""Decide what happens to one raw record: forward it, or dead-letter it with a reason (pure core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.codec import Codec
from schemas.control import DeadLetter
from schemas.errors import CodecError


@dataclass(frozen=True)
class RecordMeta:
    """Where a record came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


@dataclass(frozen=True)
class Forward:
    """The record is valid: send ``value`` downstream."""

    value: bytes
    record: dict[str, object]


Outcome = Forward | DeadLetter


def triage(codec: Codec, expected: str, value: bytes | None, meta: RecordMeta, stage: str, now: datetime) -> Outcome:
    """Forward a decodable record of schema ``expected``; dead-letter anything else."""
    try:
        if value is None:
            raise CodecError("record has no value (a tombstone or an empty message)")
        record = codec.decode_named(value, expected)
    except CodecError as exc:
        return DeadLetter(
            stage=stage,
            reason=f"{meta.topic}[{meta.partition}]@{meta.offset}: {exc}",
            error_type=type(exc).__name__,
            topic=meta.topic,
            partition=meta.partition,
            offset=meta.offset,
            original=value or b"",
            failed_at=now,
            key=meta.key,
        )
    return Forward(value, record)
