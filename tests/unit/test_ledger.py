"""The load run's ledger and its check against what landed (pure core)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from producers.core.simulation import BUSY, TYPICAL, events_per_second, people, simulate
from schemas.ledger import LandedSession, LedgerRecord, check, read_ledger
from schemas.trajectory import SeqRange, seq_ranges


def _events(device: str, *seqs: int) -> list[LedgerRecord]:
    return [LedgerRecord("e", device, s, True) for s in seqs]


def _session(device: str, start: str, *ranges: tuple[int, int]) -> LandedSession:
    return LandedSession(f"{device}-{start}", device, f"2026-12-04T10:00:{start}+00:00", ranges)


def test_ranges_compress_runs_and_keep_repeats() -> None:
    assert seq_ranges([5, 1, 2, 3, 7]) == (SeqRange(1, 3), SeqRange(5, 5), SeqRange(7, 7))
    assert seq_ranges([3, 3, 4]) == (SeqRange(3, 3), SeqRange(3, 4))  # a repeat overlaps: a duplicate
    assert seq_ranges([]) == ()


def test_ledger_lines_round_trip() -> None:
    records = [
        LedgerRecord("e", "d-1", 1, True),
        LedgerRecord("e", "d-1", 2, True, marker=True),
        LedgerRecord("f", "d-1", 3, True, frame_id="d-1-3"),
        LedgerRecord("e", "d-1", 4, False, error="Local: Message timed out"),
    ]
    assert list(read_ledger(r.to_line() for r in records)) == records
    with pytest.raises(ValueError, match="ledger line 2"):
        list(read_ledger([records[0].to_line(), '{"k": "x"}']))


def test_everything_landed_once_passes() -> None:
    ledger = [*_events("d-1", 1, 2, 4, 5), LedgerRecord("e", "d-1", 3, True, marker=True)]
    ledger.append(LedgerRecord("f", "d-1", 6, True, frame_id="d-1-6"))
    report = check(ledger, [_session("d-1", "00", (1, 2)), _session("d-1", "30", (4, 5))], (), [("d-1", "d-1-6")])
    assert report.ok, report.lines()
    d = report.devices["d-1"]
    assert (d.sent, d.landed, d.sessions, d.frames_clean) == (4, 4, 2, 1)
    assert report.lines()[-1] == "ledger check: OK, nothing lost or duplicated"


def test_lost_duplicated_unexpected_and_out_of_order_are_named() -> None:
    ledger = _events("d-1", *range(1, 11))
    sessions = [
        _session("d-1", "00", (1, 4)),
        _session("d-1", "10", (3, 3)),  # 3 again, and it starts before the first session ended
        _session("d-1", "20", (8, 12)),  # 11 and 12 were never published
    ]
    report = check(ledger, sessions, dead_events=[("d-1", 5)])
    d = report.devices["d-1"]
    assert d.lost == [6, 7]
    assert d.duplicated == [3]
    assert d.unexpected == [11, 12]
    assert d.out_of_order == ["d-1-10"]
    assert d.dead == 1
    assert not report.ok
    text = "\n".join(report.lines())
    assert "device d-1: lost 2 (e.g. 6, 7); duplicated 1 (e.g. 3)" in text
    assert text.endswith("ledger check: FAILED")


def test_frames_count_as_landed_in_screens_clean_or_dead_letters() -> None:
    ledger = [LedgerRecord("f", "d-1", s, True, frame_id=f"d-1-{s}") for s in (1, 2, 3)]
    report = check(ledger, [], clean_frames=[("d-1", "d-1-1"), ("d-1", "d-1-1")], dead_frames=[("d-1", "d-1-2")])
    d = report.devices["d-1"]
    assert (d.frames_clean, d.frames_dead, d.frames_lost, d.frames_redelivered) == (1, 1, ["d-1-3"], 1)


def test_unacknowledged_records_are_the_producers_loss_not_the_pipelines() -> None:
    ledger = [*_events("d-1", 1), LedgerRecord("e", "d-1", 2, False, error="timed out")]
    report = check(ledger, [_session("d-1", "00", (1, 1))])
    assert report.ok
    assert report.devices["d-1"].undelivered == 1


def test_other_devices_sessions_are_counted_apart() -> None:
    report = check(_events("d-1", 1), [_session("d-1", "00", (1, 1)), _session("d-9", "00", (1, 1))])
    assert report.ok and report.sessions_elsewhere == 1


def test_profiles_differ_in_pace_and_are_deterministic() -> None:
    busy, typical = events_per_second(BUSY), events_per_second(TYPICAL)
    assert busy > 2 * typical > 0
    persons = people(2, b"k", random.Random(3))
    start = datetime(2026, 12, 4, 9, tzinfo=UTC)
    one = list(simulate(persons, start, 60, 3, TYPICAL))
    assert one == list(simulate(persons, start, 60, 3, TYPICAL))
    assert one != list(simulate(persons, start, 60, 3, BUSY))
