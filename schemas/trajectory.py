"""Typed trajectories: a closed session as ordered steps (pure core)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar


@dataclass(frozen=True)
class Point:
    AVRO_NAME: ClassVar[str] = "Point"
    x: int
    y: int


@dataclass(frozen=True)
class Step:
    AVRO_NAME: ClassVar[str] = "Step"
    index: int
    action: str
    start_time: datetime
    end_time: datetime
    app: str
    title: str
    x: int | None = None
    y: int | None = None
    nx: float | None = None
    ny: float | None = None
    button: str | None = None
    text: str | None = None
    keys: tuple[str, ...] = ()
    dx: int = 0
    dy: int = 0
    path: tuple[Point, ...] = ()
    frame_id: str | None = None


@dataclass(frozen=True)
class SeqRange:
    """Device sequence numbers ``first..last``, both included."""

    AVRO_NAME: ClassVar[str] = "SeqRange"
    first: int
    last: int


def seq_ranges(seqs: Iterable[int]) -> tuple[SeqRange, ...]:
    """Sequence numbers as ascending runs of consecutive numbers (repeats are kept as repeats)."""
    ranges: list[SeqRange] = []
    for seq in sorted(seqs):
        if ranges and seq == ranges[-1].last + 1:
            ranges[-1] = SeqRange(ranges[-1].first, seq)
        else:
            ranges.append(SeqRange(seq, seq))
    return tuple(ranges)


@dataclass(frozen=True)
class Trajectory:
    AVRO_NAME: ClassVar[str] = "Trajectory"
    session_id: str
    device_id: str
    user_id: str
    start_time: datetime
    end_time: datetime
    end_reason: str
    steps: tuple[Step, ...]
    event_count: int
    redaction_count: int = 0
    suppressed_ms: int = 0
    seq_ranges: tuple[SeqRange, ...] = ()  # the events' device sequence numbers
