"""Per-device sequence numbers that keep increasing across agent restarts (pure core).

Numbers are handed out from blocks reserved on disk: the edge persists ``reserved`` before
the first number of a block is used, so a restart (even after SIGKILL) continues above
anything ever handed out. A crash leaves a gap of at most one block; numbers never repeat.
Events and frames of a device share one sequence.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SeqAllocator:
    next: int = 0
    reserved: int = 0  # numbers below this may be handed out without touching the disk
    block: int = 1000

    @classmethod
    def resume(cls, persisted: int, block: int = 1000) -> SeqAllocator:
        """Continue after a run that had reserved up to ``persisted``."""
        return cls(next=persisted, reserved=persisted, block=block)

    def take(self) -> tuple[int, int | None]:
        """The next number, and a new reservation the caller must persist first (or None)."""
        seq = self.next
        self.next += 1
        if seq < self.reserved:
            return seq, None
        self.reserved = seq + self.block
        return seq, self.reserved
