"""The sink's rule for a session's frames: store now, wait, or store without the missing ones."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sinks.core.readiness import Verdict, frames_ready
from sinks.core.sessions import FrameInfo

REFERENCED = {"d-1-5": "frames/user=u-1/device=d-1/d-1-5.jpg", "d-1-9": "frames/user=u-1/device=d-1/d-1-9.jpg"}
INFO = {key: FrameInfo(key, 960, 540, 0.5, 0, 0, 1000) for key in REFERENCED.values()}
FIVE = "frames/user=u-1/device=d-1/d-1-5.jpg"


def test_a_session_whose_frames_are_all_stored_is_ready() -> None:
    check = frames_ready(REFERENCED, INFO, None, now=10.0, wait_limit_s=300)
    assert check.verdict is Verdict.READY and check.store
    assert check.frames == {fid: INFO[key] for fid, key in REFERENCED.items()}
    assert check.missing == () and check.waiting_since is None


def test_a_session_without_frames_is_ready() -> None:
    assert frames_ready({}, {}, None, now=0.0, wait_limit_s=300).verdict is Verdict.READY


def test_a_missing_frame_makes_the_session_wait_from_the_first_time_it_is_missed() -> None:
    landed = {FIVE: INFO[FIVE]}
    first = frames_ready(REFERENCED, landed, None, now=100.0, wait_limit_s=300)
    assert first.verdict is Verdict.WAIT and not first.store
    assert first.missing == ("d-1-9",) and first.waiting_since == 100.0
    later = frames_ready(REFERENCED, landed, first.waiting_since, now=399.0, wait_limit_s=300)
    assert later.verdict is Verdict.WAIT and later.waiting_since == 100.0


def test_after_the_wait_limit_the_session_is_stored_without_the_missing_frames() -> None:
    check = frames_ready(REFERENCED, {FIVE: INFO[FIVE]}, 100.0, now=400.0, wait_limit_s=300)
    assert check.verdict is Verdict.WITHOUT_MISSING and check.store
    assert check.frames == {"d-1-5": INFO[FIVE]} and check.missing == ("d-1-9",)


def test_a_wait_that_started_at_clock_zero_still_ends() -> None:
    check = frames_ready(REFERENCED, {}, 0.0, now=300.0, wait_limit_s=300)
    assert check.verdict is Verdict.WITHOUT_MISSING and check.waiting_since == 0.0


def test_frames_that_land_while_waiting_make_it_ready() -> None:
    check = frames_ready(REFERENCED, INFO, 100.0, now=150.0, wait_limit_s=300)
    assert check.verdict is Verdict.READY and set(check.frames) == set(REFERENCED)


ids = st.lists(st.from_regex(r"d-1-[0-9]{1,3}", fullmatch=True), unique=True, max_size=8)


@given(ids, st.data(), st.none() | st.floats(0, 1000), st.floats(0, 2000), st.floats(0.1, 600))
def test_every_referenced_frame_is_either_stored_or_missing_and_only_a_complete_session_is_ready(
    frame_ids: list[str], data: st.DataObject, since: float | None, now: float, limit: float
) -> None:
    referenced = {fid: f"frames/user=u-1/device=d-1/{fid}.jpg" for fid in frame_ids}
    stored = data.draw(st.sets(st.sampled_from(frame_ids))) if frame_ids else set()
    landed = {referenced[fid]: FrameInfo(referenced[fid], 1, 1, 1.0, 0, 0, 1) for fid in stored}
    check = frames_ready(referenced, landed, since, max(now, since or 0.0), limit)
    assert set(check.frames) | set(check.missing) == set(referenced)
    assert not set(check.frames) & set(check.missing)
    assert list(check.missing) == [fid for fid in frame_ids if fid not in stored]  # in step order
    assert (check.verdict is Verdict.READY) == (not check.missing)
    if check.missing:
        assert check.waiting_since == (since if since is not None else max(now, 0.0))
