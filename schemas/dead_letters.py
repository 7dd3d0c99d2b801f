"""The one dead-letter builder every stage uses, and its reason format (pure core).

A dead letter keeps the original bytes (the topic is restricted), where they came from, the
stage that gave up, the error's type and a reason an operator can read. The reason always
starts with where the record was: ``<topic>[<partition>]@<offset>: <what went wrong>``.
"""

from __future__ import annotations

from datetime import datetime

from schemas.control_records import DeadLetter

REASON_MAX = 2000  # a reason is a sentence, not a payload


def where(topic: str, partition: int, offset: int) -> str:
    return f"{topic}[{partition}]@{offset}"


def dead_letter(
    stage: str,
    topic: str,
    partition: int,
    offset: int,
    original: bytes,
    error: BaseException | str,
    at: datetime,
    key: bytes | None = None,
    error_type: str | None = None,
) -> DeadLetter:
    """The dead letter of a record of ``topic[partition]@offset`` that ``stage`` gave up on because of ``error``."""
    what = str(error) if isinstance(error, BaseException) else error
    kind = error_type or (type(error).__name__ if isinstance(error, BaseException) else "Error")
    reason = f"{where(topic, partition, offset)}: {what}"[:REASON_MAX]
    return DeadLetter(stage, reason, kind, topic, partition, offset, original, at, key)
