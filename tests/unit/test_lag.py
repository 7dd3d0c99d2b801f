"""Consumer lag from committed offsets, watermarks and the oldest record's timestamp (pure)."""

from __future__ import annotations

from teachstream.lag import rows


def test_lag_counts_from_the_committed_offset_or_the_oldest_record_kept() -> None:
    now = 1_000_000
    lags = rows(
        "g",
        {("t", 0): 4, ("t", 1): None, ("t", 2): 7, ("t", 3): 2},
        {("t", 0): (0, 10), ("t", 1): (3, 8), ("t", 2): (0, 7), ("t", 3): (5, 9)},
        {("t", 0): now - 2_500, ("t", 1): now - 60_000, ("t", 3): now - 1_000},
        now,
    )
    assert [(lag.partition, lag.records, lag.seconds) for lag in lags] == [
        (0, 6, 2.5),  # six records after the committed offset, the oldest 2.5 s old
        (1, 5, 60.0),  # never committed: everything still kept is behind
        (2, 0, 0.0),  # caught up
        (3, 4, 1.0),  # committed below what retention kept: counts from the oldest record kept
    ]
