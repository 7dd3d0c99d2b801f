"""Records of a source partition handled once, in offset order, with no gap (streams.core.positions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.core.positions import InOrder, Verdict

RAW = ("interactions.raw", 0)


def test_a_takeover_starts_after_the_tables_mark_whatever_faust_committed() -> None:
    order = InOrder()
    order.start(RAW, handled_up_to=99, offset=130)  # faust committed 130; the table says 99 was the last handled
    assert order.check(RAW, 130, now=0.0) == Verdict(False, seek_to=100)
    assert order.check(RAW, 131, now=0.1) == Verdict(False)  # still queued from before the seek: no second seek yet
    assert order.check(RAW, 100, now=0.2) == Verdict(True)
    assert order.check(RAW, 101, now=0.3) == Verdict(True)


def test_records_at_or_before_the_mark_are_skipped_without_a_seek() -> None:
    order = InOrder()
    order.start(RAW, handled_up_to=99, offset=90)
    assert [order.check(RAW, o, 0.0) for o in (90, 99)] == [Verdict(False), Verdict(False)]
    assert order.check(RAW, 100, 0.0) == Verdict(True)
    assert order.repeated == 2


def test_nothing_marked_starts_where_faust_does() -> None:
    order = InOrder()
    order.start(RAW, handled_up_to=None, offset=0)
    assert order.check(RAW, 0, 0.0) == Verdict(True)


def test_a_record_skipped_mid_stream_is_read_again_and_a_repeat_is_not_handled_twice() -> None:
    order = InOrder(retry_s=2.0)
    order.start(RAW, None, 3140)
    for o in range(3140, 3148):
        assert order.check(RAW, o, 0.0).handle
    assert order.check(RAW, 3149, 1.0) == Verdict(False, seek_to=3148)  # 3148 never came
    assert order.seeks_asked(RAW) == 1
    assert order.check(RAW, 3150, 1.5) == Verdict(False)
    assert order.check(RAW, 3151, 3.5) == Verdict(False, seek_to=3148)  # the first seek was not answered: again
    assert [order.check(RAW, o, 4.0).handle for o in (3148, 3149, 3150, 3148)] == [True, True, True, False]
    assert order.skipped == 3


def test_each_source_and_partition_keeps_its_own_place_and_a_revoked_partition_starts_again() -> None:
    order, frames = InOrder(), ("screens.clean", 0)
    order.start(RAW, None, 10)
    order.start(frames, None, 3)
    order.start(("interactions.raw", 1), None, 500)
    assert order.check(RAW, 10, 0).handle and order.check(frames, 3, 0).handle
    order.forget(0)
    assert not order.owns(RAW) and not order.owns(frames) and order.owns(("interactions.raw", 1))


@given(st.lists(st.integers(0, 40), max_size=200), st.integers(0, 10))
def test_whatever_order_faust_hands_records_in_those_handled_are_consecutive_from_the_start(
    arrivals: list[int], start: int
) -> None:
    order = InOrder(retry_s=0.0, seeks=10**9)
    order.start(RAW, start - 1, arrivals[0] if arrivals else start)
    handled = [o for t, o in enumerate(arrivals) if order.check(RAW, o, float(t)).handle]
    assert handled == list(range(start, start + len(handled)))
    gives_up = InOrder(retry_s=0.0, seeks=2)  # and giving up on a gap never handles a record twice or backwards
    gives_up.start(RAW, start - 1, arrivals[0] if arrivals else start)
    taken = [o for t, o in enumerate(arrivals) if gives_up.check(RAW, o, float(t)).handle]
    assert taken == sorted(set(taken))


def test_records_that_never_come_after_a_few_seeks_are_given_up_with_their_offsets() -> None:
    order = InOrder(retry_s=1.0, seeks=3)
    order.start(RAW, handled_up_to=99, offset=5000)  # the topic's retention deleted 100..4999
    verdicts = [order.check(RAW, 5000, t) for t in (0.0, 1.0, 2.0, 3.0)]
    assert [v.seek_to for v in verdicts[:3]] == [100, 100, 100]
    assert verdicts[3] == Verdict(True, unreadable=(100, 4999))
    assert order.check(RAW, 5001, 3.1) == Verdict(True)


def test_a_seek_back_undone_by_faust_is_asked_again_when_no_later_record_comes() -> None:
    order = InOrder(retry_s=2.0, seeks=3)
    order.start(RAW, handled_up_to=8, offset=10)  # faust's committed offset is past the table's mark
    assert order.check(RAW, 10, 0.0) == Verdict(False, 9)
    assert order.check(RAW, 10, 0.5) == Verdict(False)  # faust's own seek came after ours: 10 again, then silence
    assert order.overdue(1.9) == []
    assert order.overdue(2.0) == [(RAW, 9)]
    assert order.overdue(3.0) == []  # asked again at 2.0: not due before 4.0
    for t in (4.0, 6.0, 8.0):  # a stall: asked again and again, never counted among the seeks before giving up
        assert order.overdue(t) == [(RAW, 9)]
    assert order.seeks_asked(RAW) == 1
    assert order.check(RAW, 10, 10.5) == Verdict(False, 9)  # faust's own seek again: a seek, not a give-up
    assert order.check(RAW, 9, 10.6) == Verdict(True) and order.check(RAW, 10, 10.7) == Verdict(True)
    assert order.overdue(20.0) == []


def test_a_seek_back_is_given_up_only_while_awaited_and_only_for_records_the_topic_no_longer_holds() -> None:
    order = InOrder(retry_s=2.0)
    order.start(RAW, handled_up_to=8, offset=10)
    assert order.check(RAW, 10, 0.0) == Verdict(False, 9) and order.pending(RAW) == 9
    assert not order.give_up(RAW, 9, earliest=0)  # 9 is still in the topic: seek to it again
    assert not order.give_up(RAW, 8, earliest=12)  # not the offset awaited
    assert order.give_up(RAW, 9, earliest=12)
    assert order.pending(RAW) is None and order.expected(RAW) == 12
    assert order.check(RAW, 12, 0.1) == Verdict(True)
    assert not order.give_up(RAW, 12, earliest=20)  # nothing awaited any more
