"""How a stream worker's process collects its garbage (edge: process-wide settings).

CPython collects its youngest generation whenever 700 more container objects were allocated than freed, and
the older ones every 10 of those. A worker allocates several per record (the decoded dicts, the records, the
redaction's cells and spans) and keeps many alive (open typing segments, sessions, what its tables hold), so
it collected many times a second, and each full collection scanned all it holds. It now collects the
youngest generation every 50,000 objects: what is not in a reference cycle is freed at once either way, only
cyclic garbage waits longer. BENCHMARKS.md (pipeline section) has the runs before and after.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # container objects allocated, net of those freed, between collections of the youngest


def collect_less_often() -> None:
    """Collect the youngest generation every ``YOUNG_THRESHOLD`` objects (never more often than already set)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
