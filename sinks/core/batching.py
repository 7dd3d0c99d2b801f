"""Per-partition batches that close on size, count or age (pure core, injectable clock)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Batch:
    """Consecutive records of one partition, in offset order."""

    topic: str
    partition: int
    first_offset: int
    opened_at: float
    values: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    last_offset: int = -1
    size: int = 0

    def add(self, offset: int, value: bytes) -> None:
        if offset <= self.last_offset:
            raise ValueError(f"offset {offset} is not after {self.last_offset} in {self.topic}[{self.partition}]")
        self.values.append(value)
        self.offsets.append(offset)
        self.last_offset = offset
        self.size += len(value)


@dataclass(frozen=True)
class BatchLimits:
    max_records: int = 5000
    max_bytes: int = 32 * 1024 * 1024
    max_age_s: float = 10.0


class Batcher:
    """Collects records per (topic, partition); hands back batches that are ready to write."""

    def __init__(self, limits: BatchLimits) -> None:
        self.limits = limits
        self._open: dict[tuple[str, int], Batch] = {}

    def add(self, topic: str, partition: int, offset: int, value: bytes, now: float) -> Batch | None:
        """Add one record; returns the batch if this record filled it."""
        tp = (topic, partition)
        batch = self._open.get(tp)
        if batch is None:
            batch = self._open[tp] = Batch(topic, partition, offset, now)
        batch.add(offset, value)
        if len(batch.values) >= self.limits.max_records or batch.size >= self.limits.max_bytes:
            return self._open.pop(tp)
        return None

    def due(self, now: float) -> list[Batch]:
        """Batches older than ``max_age_s``, removed from the open set."""
        ready = [tp for tp, b in self._open.items() if now - b.opened_at >= self.limits.max_age_s]
        return [self._open.pop(tp) for tp in ready]

    def drain(self) -> list[Batch]:
        """Every open batch (on shutdown)."""
        batches, self._open = list(self._open.values()), {}
        return batches

    def drop(self, topic: str, partition: int) -> None:
        """Forget a partition's open batch (it was revoked; its records will be read again)."""
        self._open.pop((topic, partition), None)

    def __len__(self) -> int:
        return len(self._open)
