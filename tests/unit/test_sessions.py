"""Sessionization on event time: gaps, maximum length, locks, grace, merging, watermarks."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import CaptureSuppressed, InteractionEvent, KeyEvent, Payload
from streams.core.sessions import PartitionState, Session, SessionConfig, segment

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CONFIG = SessionConfig(
    gap=timedelta(seconds=60), max_length=timedelta(seconds=600), grace=timedelta(seconds=10), max_events=500
)


def ev(device: str, seconds: float, seq: int, payload: Payload | None = None) -> InteractionEvent:
    return InteractionEvent(device, "u-1", seq, T0 + timedelta(seconds=seconds), payload or KeyEvent(True, "a", "a"))


def run(
    events: list[InteractionEvent], config: SessionConfig = CONFIG, flush: bool = True
) -> tuple[list[Session], list[InteractionEvent]]:
    state = PartitionState(config)
    closed: list[Session] = []
    rejected = []
    for e in events:
        c, r = state.advance(e)
        closed += c
        rejected += [x.event for x in r]
    if flush and state.max_seen is not None:
        closed += state.tick(state.max_seen + config.max_length + config.gap + config.grace + timedelta(seconds=1))
    assert state.open_events() == 0 or not flush
    return closed, rejected


def as_sets(sessions: list[Session]) -> list[tuple[str, tuple[int, ...]]]:
    return sorted((s.device_id, tuple(e.seq for e in s.events)) for s in sessions)


def test_gap_splits_sessions_and_ids_are_deterministic() -> None:
    events = [ev("d", 0, 1), ev("d", 30, 2), ev("d", 200, 3), ev("d", 210, 4)]
    closed, _ = run(events)
    assert as_sets(closed) == [("d", (1, 2)), ("d", (3, 4))]
    assert [s.end_reason for s in sorted(closed, key=lambda s: s.start)] == ["gap", "gap"]
    assert closed[0].session_id == run(events)[0][0].session_id
    assert closed[0].session_id.startswith("d-")


def test_maximum_length_splits_a_busy_session() -> None:
    events = [ev("d", i * 30, i) for i in range(50)]  # 25 minutes of steady activity
    closed, _ = run(events)
    assert all(s.end - s.start < CONFIG.max_length for s in closed)
    assert len(closed) == 3 and sorted(closed, key=lambda s: s.start)[0].end_reason == "max_length"


def test_lock_ends_a_session() -> None:
    events = [ev("d", 0, 1), ev("d", 5, 2, CaptureSuppressed("lock", 0)), ev("d", 8, 3)]
    closed, _ = run(events)
    assert as_sets(closed) == [("d", (1, 2)), ("d", (3,))]


def test_late_event_within_grace_joins_and_bridges_two_sessions() -> None:
    # 0..5 and 100..105 are two sessions (gap 60s) until an event at 50s arrives late but in grace
    state = PartitionState(SessionConfig(gap=timedelta(seconds=60), grace=timedelta(seconds=60)))
    for e in [ev("d", 0, 1), ev("d", 5, 2), ev("d", 100, 4), ev("d", 105, 5)]:
        assert state.advance(e) == ([], [])
    closed, rejected = state.advance(ev("d", 50, 3))
    assert closed == [] and rejected == []
    closed = state.tick(T0 + timedelta(seconds=400))
    assert as_sets(closed) == [("d", (1, 2, 3, 4, 5))]


def test_an_event_too_late_for_a_session_already_closed_is_rejected_with_a_reason() -> None:
    state = PartitionState(CONFIG)
    state.advance(ev("d", 0, 1))
    state.advance(ev("d", 20, 3))
    (closed,) = state.tick(T0 + timedelta(seconds=200))  # the session 0..20 is sent
    _, rejected = state.advance(ev("d", 10, 2))
    assert closed.end == T0 + timedelta(seconds=20)
    assert len(rejected) == 1 and "late" in rejected[0].reason and "already sent" in rejected[0].reason


def test_a_devices_backlog_behind_the_clock_becomes_sessions_of_its_own() -> None:
    """An agent offline for a while sends what it spooled: behind the partition's clock, but after its
    device's last session, so nothing is lost and nothing joins a session already sent."""
    state = PartitionState(CONFIG)
    state.advance(ev("d", 0, 1))
    state.tick(T0 + timedelta(seconds=200))  # d's first session is closed; d goes offline
    state.tick(T0 + timedelta(seconds=1000))  # the partition's clock goes on
    backlog = [ev("d", 300 + 5 * i, 2 + i) for i in range(5)] + [ev("d", 500, 7)]  # a gap of 180 s in it
    for e in backlog:
        assert state.advance(e) == ([], [])
    closed = state.tick(T0 + timedelta(seconds=1010))
    assert as_sets([s for s in closed if s.device_id == "d"]) == [("d", (2, 3, 4, 5, 6)), ("d", (7,))]
    _, rejected = state.advance(ev("d", 320, 8))  # within a backlog session already sent: too late
    assert rejected


def test_silent_device_is_closed_by_a_tick() -> None:
    state = PartitionState(CONFIG)
    state.advance(ev("quiet", 0, 1))
    assert state.tick(T0 + timedelta(seconds=30)) == []
    (closed,) = state.tick(T0 + timedelta(seconds=75))
    assert closed.device_id == "quiet" and closed.end_reason == "gap"


def test_another_devices_events_advance_the_watermark() -> None:
    state = PartitionState(CONFIG)
    state.advance(ev("a", 0, 1))
    closed, _ = state.advance(ev("b", 100, 1))
    assert as_sets(closed) == [("a", (1,))]


def test_clock_skew_far_ahead_of_the_ticks_is_rejected() -> None:
    state = PartitionState(CONFIG)
    state.tick(T0)
    _, rejected = state.advance(ev("d", 3600, 1))
    assert rejected and "clock" in rejected[0].reason


def test_after_the_worker_was_down_skew_is_judged_by_its_own_clock_not_by_old_ticks() -> None:
    state = PartitionState(CONFIG)
    state.tick(T0)  # the last tick before 30 minutes of downtime
    now = T0 + timedelta(minutes=30)
    _, rejected = state.advance(ev("d", 1800, 1), now=now)
    assert not rejected
    _, rejected = state.advance(ev("d", 1800 + 3600, 2), now=now)
    assert rejected and "ahead of the worker's clock" in rejected[0].reason


def test_duplicates_from_a_replay_are_ignored() -> None:
    events = [ev("d", 0, 1), ev("d", 1, 2), ev("d", 1, 2), ev("d", 2, 3)]
    closed, _ = run(events)
    assert as_sets(closed) == [("d", (1, 2, 3))]


def test_erasure_drops_open_state() -> None:
    state = PartitionState(CONFIG)
    state.advance(ev("d", 0, 1))
    assert state.drop_user("u-1") == 1 and state.open_events() == 0


# -- properties ----------------------------------------------------------------------------

devices = st.sampled_from(["a", "b", "c"])
gaps = st.floats(min_value=0.0, max_value=150.0)


@st.composite
def activity(draw: st.DrawFn) -> list[InteractionEvent]:
    out, clock, seqs = [], 0.0, {"a": 0, "b": 0, "c": 0}
    for _ in range(draw(st.integers(1, 120))):
        device = draw(devices)
        clock += draw(gaps)
        seqs[device] += 1
        lock = draw(st.integers(0, 30)) == 0
        out.append(ev(device, clock, seqs[device], CaptureSuppressed("lock", 0) if lock else None))
    return out


@settings(max_examples=200, deadline=None)
@given(activity())
def test_every_event_lands_in_exactly_one_session(events: list[InteractionEvent]) -> None:
    closed, rejected = run(events)
    assert rejected == []
    seen = sorted((e.device_id, e.seq) for s in closed for e in s.events)
    assert seen == sorted((e.device_id, e.seq) for e in events)


@settings(max_examples=200, deadline=None)
@given(activity())
def test_gaps_and_maximum_length_are_respected_and_steps_in_time_order(events: list[InteractionEvent]) -> None:
    closed, _ = run(events)
    for s in closed:
        times = [e.event_time for e in s.events]
        assert times == sorted(times)
        assert all(b - a <= CONFIG.gap for a, b in itertools.pairwise(times))
        assert s.end - s.start < CONFIG.max_length
        assert len(s.events) <= CONFIG.max_events


@settings(max_examples=200, deadline=None)
@given(activity(), st.randoms(use_true_random=False))
def test_shuffling_within_the_grace_period_gives_the_same_sessions(
    events: list[InteractionEvent], rng: random.Random
) -> None:
    grace = CONFIG.grace.total_seconds()
    shuffled = sorted(events, key=lambda e: e.event_time + timedelta(seconds=rng.uniform(0, grace * 0.999)))
    in_order, _ = run(events)
    out_of_order, rejected = run(shuffled)
    assert rejected == []
    assert as_sets(out_of_order) == as_sets(in_order)


@settings(max_examples=100, deadline=None)
@given(activity())
def test_incremental_sessions_equal_the_batch_definition(events: list[InteractionEvent]) -> None:
    closed, _ = run(events)
    expected = []
    for device in "abc":
        mine = sorted((e for e in events if e.device_id == device), key=lambda e: (e.event_time, e.seq))
        expected += [(device, tuple(e.seq for e in part)) for part, _ in segment(mine, CONFIG)]
    assert as_sets(closed) == sorted(expected)


def test_with_an_upstream_hold_only_ticks_move_the_clock() -> None:
    held_back = SessionConfig(gap=timedelta(seconds=60), grace=timedelta(seconds=10), events_move_clock=False)
    state = PartitionState(held_back)
    state.advance(ev("a", 0, 1))
    closed, _ = state.advance(ev("b", 500, 1))  # would close a's session if events moved the clock
    assert closed == []
    _, rejected = state.advance(ev("a", 5, 2))  # a's held-back key event still joins
    assert rejected == []
    assert as_sets(state.tick(T0 + timedelta(seconds=600))) == [("a", (1, 2)), ("b", (1,))]
