"""Open sessions persisted in a table: a new worker rebuilds them and nothing is sent twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.codec import Codec
from schemas.events import InteractionEvent, KeyEvent, MouseButton, WindowContext
from schemas.records import to_avro
from streams.core.sessions import SessionConfig
from streams.core.steps import FrameRef
from streams.core.store import Closed, SessionStore

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CONFIG = SessionConfig(gap=timedelta(seconds=60), grace=timedelta(seconds=5))
CODEC = Codec()


def ev(device: str, seconds: float, seq: int) -> InteractionEvent:
    return InteractionEvent(
        device, "u-1", seq, T0 + timedelta(seconds=seconds), KeyEvent(True, "a", "a"), WindowContext("xterm", "t", 1)
    )


def feed(store: SessionStore, items: list[tuple[int, InteractionEvent]], deliver: bool = True) -> list[Closed]:
    out = []
    for offset, e in items:
        if store.seen("t|0", offset):
            continue
        closed, _ = store.add_event(0, e, CODEC.encode("InteractionEvent", to_avro(e)))
        for c in closed:
            out.append(c)
            if deliver:
                store.delivered(c)
        store.handled("t|0", offset)
    return out


def stream() -> list[tuple[int, InteractionEvent]]:
    events = [ev("a", t, i) for i, t in enumerate([0, 10, 20, 200, 210, 400, 410, 600], start=1)]
    return list(enumerate(events))


def test_a_new_worker_rebuilds_open_sessions_from_the_table() -> None:
    table: dict[str, bytes] = {}
    first = feed(SessionStore(CONFIG, CODEC, table), stream()[:5])  # crash after offset 4
    second = feed(SessionStore(CONFIG, CODEC, table), stream())  # replays from offset 0
    sessions = [[e.seq for e in c.session.events] for c in first + second]
    assert sessions == [[1, 2, 3], [4, 5], [6, 7]]
    assert not any(k.startswith("E|") and "|00000000000000000001" in k for k in table)


def test_a_session_delivered_but_not_cleaned_up_is_not_sent_again() -> None:
    table: dict[str, bytes] = {}
    store = SessionStore(CONFIG, CODEC, table)
    (closed,) = feed(store, stream()[:4], deliver=False)
    table["S|a"] = b"%020d|%020d" % (int(T0.timestamp() * 1_000_000), 1)  # delivered, then the worker died
    again = feed(SessionStore(CONFIG, CODEC, table), stream()[4:])
    assert [c.session.events[0].seq for c in again] == [4, 6]  # the first session (1..3) is not sent twice
    assert not any(k.startswith("E|000|a|") and k.endswith("|00000000000000000001") for k in table)
    assert closed.trajectory.session_id == closed.session.session_id


def test_frames_are_kept_for_open_steps_and_pruned_after() -> None:
    table: dict[str, bytes] = {}
    store = SessionStore(CONFIG, CODEC, table)
    store.add_frame(0, "a", FrameRef("f-old", T0 - timedelta(seconds=500), 0, 0, 100, 100))
    store.add_frame(0, "a", FrameRef("f-1", T0, 0, 0, 100, 100))
    click = InteractionEvent("a", "u-1", 1, T0 + timedelta(seconds=1), MouseButton("left", True, 50, 50))
    release = InteractionEvent("a", "u-1", 2, T0 + timedelta(seconds=1.1), MouseButton("left", False, 50, 50))
    feed(store, [(0, click), (1, release)])
    (closed,) = feed(store, [(2, ev("a", 300, 3))])
    assert closed.trajectory.steps[0].frame_id == "f-1"
    assert [k.rsplit("|", 1)[1] for k in table if k.startswith("F|")] == ["f-1"]


def test_the_stream_clock_is_the_slowest_upstream_partition() -> None:
    store = SessionStore(CONFIG, CODEC, {}, sources=2)
    feed(store, [(0, ev("a", 0, 1))])
    assert store.tick(0, T0 + timedelta(seconds=500), source=0) == []  # source 1 has not spoken yet
    assert store.tick(0, T0 + timedelta(seconds=30), source=1) == []  # it still holds events from 30 s
    (closed,) = store.tick(0, T0 + timedelta(seconds=100), source=1)
    assert closed.session.events[0].seq == 1


def test_a_rebuilt_partition_waits_for_the_ticks_before_calling_anything_late() -> None:
    held_back = SessionConfig(gap=timedelta(seconds=60), grace=timedelta(seconds=5), events_move_clock=False)
    table: dict[str, bytes] = {}
    feed(SessionStore(held_back, CODEC, table), [(0, ev("b", 20, 1))])  # another device, further ahead
    store = SessionStore(held_back, CODEC, table)  # a new owner after a crash
    _, rejected = store.add_event(0, ev("a", 0, 1), CODEC.encode("InteractionEvent", to_avro(ev("a", 0, 1))))
    assert rejected == []  # typing the clean stage released late, after the rebalance, still joins


def test_a_tick_read_again_by_a_new_owner_does_not_end_a_session_of_events_brought_after_it() -> None:
    """An offline device's backlog comes after a tick that is far past it, and the worker dies before it marks
    those records handled. The new owner reads the tick again with the backlog already in the table: it must not
    end the backlog's session there, which the first owner never did (it had not seen the backlog at the tick).
    Else the backlog's session splits, and the backlog read again goes to the dead letters as late."""
    backlog = [ev("b", t, seq) for seq, t in enumerate([0, 10, 20, 30, 40, 50, 60], start=1)]
    records: list[tuple[int, InteractionEvent | datetime]] = [
        (0, ev("a", 400, 1)),
        (1, T0 + timedelta(seconds=400)),  # a tick: the stream's clock is far past the backlog
        *((offset, e) for offset, e in enumerate(backlog, start=2)),
        (9, T0 + timedelta(seconds=500)),
    ]

    def handle(store: SessionStore, upto: int) -> tuple[list[list[int]], list[int]]:
        sessions, late = [], []
        for offset, record in records[: upto + 1]:
            if store.seen("t|0", offset):
                continue
            if isinstance(record, datetime):
                closed = store.tick(0, record, offset=offset)
            else:
                raw = CODEC.encode("InteractionEvent", to_avro(record))
                closed, rejected = store.add_event(0, record, raw, offset=offset)
                late += [r.event.seq for r in rejected]
            for c in closed:
                sessions.append([e.seq for e in c.session.events] if c.session.device_id == "b" else [])
                store.delivered(c)
            store.handled("t|0", offset)
        return [s for s in sessions if s], late

    assert handle(SessionStore(CONFIG, CODEC, {}), 9) == ([[1, 2, 3, 4, 5, 6, 7]], [])  # no crash
    for crash_after in range(2, 9):  # the first owner saw the tick and some of the backlog, and marked none of it
        table: dict[str, bytes] = {}
        first = SessionStore(CONFIG, CODEC, table, mark_every=1000)
        assert handle(first, crash_after) == ([], [])
        second = SessionStore(CONFIG, CODEC, table, mark_every=1000)
        assert handle(second, 9) == ([[1, 2, 3, 4, 5, 6, 7]], []), crash_after
        assert second.counts["restore.session_ticks_skipped"] == 1
