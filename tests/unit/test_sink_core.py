"""The sink's pure decisions: dataset keys, manifests, step rows, commit progress and the card."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.dataset import Manifest, date_of, frame_key, manifest_key, steps_key, user_prefixes
from schemas.step_columns import STEP_SCHEMA
from schemas.trajectory import Point, Step, Trajectory
from sinks.core.card import render_card
from sinks.core.progress import PartitionProgress
from sinks.core.sessions import FrameInfo, referenced_frames, session_entry, steps_table, to_parquet

T0 = datetime(2026, 11, 26, 23, 59, 58, tzinfo=UTC)


def trajectory(user: str = "u-1", steps: int = 3, session: str = "d-1-100-1") -> Trajectory:
    actions = [
        Step(0, "click", T0, T0, "firefox", "Inbox", x=110, y=220, nx=0.1, ny=0.2, button="left", frame_id="d-1-5"),
        Step(
            1,
            "type",
            T0 + timedelta(seconds=1),
            T0 + timedelta(seconds=3),
            "firefox",
            "Inbox",
            text="mail <EMAIL> or <EMAIL>, call <PHONE>",
            frame_id="d-1-9",
        ),
        Step(
            2,
            "drag",
            T0 + timedelta(seconds=4),
            T0 + timedelta(seconds=5),
            "files",
            "Home",
            x=1,
            y=2,
            path=(Point(1, 2), Point(30, 40)),
            frame_id="d-1-9",
        ),
    ][:steps]
    return Trajectory(session, "d-1", user, T0, T0 + timedelta(seconds=5), "gap", tuple(actions), 42, 3, 0)


FRAMES = {
    "d-1-5": FrameInfo("frames/user=u-1/device=d-1/d-1-5.jpg", 960, 540, 0.5, 0, 0, 1000),
    "d-1-9": FrameInfo("frames/user=u-1/device=d-1/d-1-9.jpg", 960, 540, 0.5, 1920, 0, 2000),
}


def test_keys_are_deterministic_and_partitioned_by_day_and_person() -> None:
    assert steps_key("2026-11-26", "u-1", "d-1-100-1") == "steps/dt=2026-11-26/user=u-1/d-1-100-1.parquet"
    assert frame_key("u-1", "d-1", "d-1-5") == "frames/user=u-1/device=d-1/d-1-5.jpg"
    assert frame_key("u-1", "d-1", "d-1-5", "png") == "frames/user=u-1/device=d-1/d-1-5.png"
    assert manifest_key("2026-11-26", 3) == "manifests/dt=2026-11-26/partition=003.json"
    assert user_prefixes("u-1", ["2026-11-25", "2026-11-26"]) == [
        "frames/user=u-1/",
        "steps/dt=2026-11-25/user=u-1/",
        "steps/dt=2026-11-26/user=u-1/",
    ]
    assert date_of("x/steps/dt=2026-11-26/user=u/s.parquet") == "2026-11-26"
    assert date_of("frames/user=u/a.jpg") is None


@pytest.mark.parametrize("bad", ["../u", "u/1", "u 1", "", "ü"])
def test_ids_that_could_escape_their_prefix_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot be part of an object key"):
        steps_key("2026-11-26", bad, "s")
    with pytest.raises(ValueError, match="cannot be part of an object key"):
        frame_key("u", "d", bad)


def test_steps_rows_carry_every_step_with_its_frame_geometry() -> None:
    t = trajectory()
    table = steps_table(t, FRAMES)
    assert table.schema.equals(STEP_SCHEMA, check_metadata=False)
    rows = table.to_pylist()
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert rows[0]["frame_key"] == FRAMES["d-1-5"].key and rows[0]["frame_scale"] == 0.5
    assert rows[2]["frame_left"] == 1920 and rows[2]["path"] == [{"x": 1, "y": 2}, {"x": 30, "y": 40}]
    assert rows[1]["text"] == "mail <EMAIL> or <EMAIL>, call <PHONE>"
    assert rows[0]["start_time"] == T0


def test_a_missing_frame_leaves_its_columns_empty() -> None:
    rows = steps_table(trajectory(), {"d-1-5": FRAMES["d-1-5"]}).to_pylist()
    assert rows[1]["frame_id"] == "d-1-9" and rows[1]["frame_key"] is None and rows[1]["frame_width"] is None


def test_parquet_is_zstd_and_byte_identical_for_the_same_session() -> None:
    body = to_parquet(steps_table(trajectory(), FRAMES))
    assert body == to_parquet(steps_table(trajectory(), FRAMES))
    meta = pq.ParquetFile(io.BytesIO(body)).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_table(io.BytesIO(body)).num_rows == 3


def test_session_entry_counts_frames_bytes_apps_and_placeholders() -> None:
    t = trajectory()
    entry = session_entry(t, FRAMES, 500, partition=4, offset=77)
    assert entry.dt == "2026-11-26"  # the day the session started, in UTC
    assert entry.steps_key == "steps/dt=2026-11-26/user=u-1/d-1-100-1.parquet"
    assert entry.frames == 2 and entry.bytes == 3500 and entry.apps == ("files", "firefox")
    assert entry.labels == {"EMAIL": 2, "PHONE": 1}
    assert set(referenced_frames(t)) == {"d-1-5", "d-1-9"}


def test_manifest_round_trips_and_is_sorted() -> None:
    a = session_entry(trajectory("u-2", session="z"), FRAMES, 10, 1, 5)
    b = session_entry(trajectory("u-1", session="a"), FRAMES, 10, 1, 6)
    m = Manifest("2026-11-26", 1, {"z": a, "a": b})
    again = Manifest.from_bytes(m.to_bytes())
    assert again.sessions == m.sessions and again.key() == "manifests/dt=2026-11-26/partition=001.json"
    assert m.to_bytes() == Manifest("2026-11-26", 1, {"a": b, "z": a}).to_bytes()


def test_a_manifest_of_another_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout"):
        Manifest.from_bytes(b'{"layout": "v0", "dt": "x", "partition": 0, "sessions": []}')


@given(st.lists(st.booleans(), min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_commit_offset_never_passes_an_unfinished_record(done_flags: list[bool], rnd: object) -> None:
    progress: PartitionProgress[int] = PartitionProgress()
    items = [progress.add(10 + i, i) for i in range(len(done_flags))]
    for item, done in zip(items, done_flags, strict=True):
        item.done = done
    first_open = next((i for i, d in enumerate(done_flags) if not d), len(done_flags))
    expected = None if first_open == 0 else 10 + first_open
    assert progress.committable() == expected
    assert len(progress) == len(done_flags) - first_open


def test_progress_refuses_offsets_out_of_order() -> None:
    progress: PartitionProgress[None] = PartitionProgress()
    progress.add(5, None)
    with pytest.raises(ValueError, match="not after"):
        progress.add(5, None)


def test_card_states_counts_labels_and_columns() -> None:
    entries = [session_entry(trajectory("u-1"), FRAMES, 10, 0, 1), session_entry(trajectory("u-2"), FRAMES, 10, 0, 2)]
    card = render_card(entries, {"text": ("string", "typed text")}, T0)
    assert "| sessions | 2 |" in card and "| steps | 6 |" in card and "| people | 2 |" in card
    assert "| EMAIL | 4 |" in card and "| PHONE | 2 |" in card
    assert "| text | string | typed text |" in card
    assert "No session is complete yet." in render_card([], {}, T0)
