"""What a sink worker did, for the CLI's summary, the benchmarks and the tests (edge)."""

from __future__ import annotations

from collections import Counter, deque
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
    s3_retries: int = 0  # S3 calls that failed and were tried again (an upload is never given up)
    dead_letter_types: Counter[str] = field(default_factory=Counter)
    keys: deque[str] = field(default_factory=lambda: deque(maxlen=1000))  # the latest steps objects

    def counts(self) -> dict[str, float]:
        """The counts as ``runtime.metrics`` reads them (``sink.<what>``; dead letters as the stream's are)."""
        out: dict[str, float] = {
            f"sink.{k}": v for k, v in vars(self).items() if isinstance(v, int) and k != "dead_letters"
        }
        out.update({f"sink.dead_lettered.{kind}": n for kind, n in self.dead_letter_types.items()})
        return out
