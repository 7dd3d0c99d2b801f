"""Which offsets of a partition may be committed (pure core).

Records of a partition finish out of order (uploads run in parallel, a session may wait for
its frames), but an offset is committed only when it and every record before it are done:
after a crash, everything not committed is read again and written to the same keys.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Item(Generic[T]):
    offset: int
    work: T
    done: bool = False


@dataclass
class PartitionProgress(Generic[T]):
    """The records of one partition that are read but not yet committed, in offset order."""

    items: deque[Item[T]] = field(default_factory=deque)

    def add(self, offset: int, work: T) -> Item[T]:
        if self.items and offset <= self.items[-1].offset:
            raise ValueError(f"offset {offset} is not after {self.items[-1].offset}")
        item = Item(offset, work)
        self.items.append(item)
        return item

    def committable(self) -> int | None:
        """Pop the finished prefix; the offset to commit (last finished + 1), or None if nothing finished."""
        last = None
        while self.items and self.items[0].done:
            last = self.items.popleft().offset
        return None if last is None else last + 1

    def pending(self) -> Iterator[Item[T]]:
        return (i for i in self.items if not i.done)

    def __len__(self) -> int:
        return len(self.items)
