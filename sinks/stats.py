"""What a sink worker did, for the CLI's summary, the benchmarks and the tests (edge)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class SinkStats:
    records: int = 0
    frames: int = 0
    sessions: int = 0
    objects: int = 0
    bytes: int = 0
    dead_letters: int = 0
    frames_missing: int = 0
    withheld: int = 0  # frames and sessions not stored: consent withdrawn or erased
    erasures: int = 0
    keys: deque[str] = field(default_factory=lambda: deque(maxlen=1000))  # the latest steps objects
