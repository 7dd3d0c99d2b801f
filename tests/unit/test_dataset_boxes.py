"""Covered boxes travel with a frame into S3 metadata, the steps and the manifest entry."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.dataset import BOXES_MAX_CHARS, decode_boxes, encode_boxes
from schemas.events import RemovedBox
from sinks.core.card import render_card
from sinks.core.sessions import FrameInfo, session_entry, steps_table
from tests.samples import sample_sessions


def test_boxes_round_trip_through_object_metadata_and_what_does_not_fit_is_counted() -> None:
    boxes = (RemovedBox("EMAIL", 10, 20, 120, 9), RemovedBox("DENIED_WINDOW", 0, 0, 640, 400))
    text, more = encode_boxes(boxes)
    assert decode_boxes(text) == boxes and more == 0
    many = tuple(RemovedBox("CARD", i, i, 100, 10) for i in range(500))
    text, more = encode_boxes(many)
    assert len(text) <= BOXES_MAX_CHARS and more > 0 and len(decode_boxes(text)) + more == 500
    assert decode_boxes("EMAIL:1,2,3;junk;CARD:1,2,3,4") == (RemovedBox("CARD", 1, 2, 3, 4),)


def test_steps_entry_and_card_report_the_boxes_of_the_session_s_frames() -> None:
    (sample,) = sample_sessions(1, steps=3, seed=7, start=datetime(2026, 12, 1, 9, tzinfo=UTC))
    trajectory = sample.trajectory
    frame_id = next(s.frame_id for s in trajectory.steps if s.frame_id)
    boxes = (RemovedBox("EMAIL", 1, 2, 3, 4), RemovedBox("CARD", 5, 6, 7, 8), RemovedBox("EMAIL", 9, 9, 9, 9))
    frames = {frame_id: FrameInfo("frames/f.jpg", 640, 400, 0.5, 0, 0, 100, boxes)}
    rows = steps_table(trajectory, frames).to_pylist()
    with_frame = [r for r in rows if r["frame_id"] == frame_id]
    assert with_frame and with_frame[0]["frame_removed"][0] == {
        "label": "EMAIL",
        "x": 1,
        "y": 2,
        "width": 3,
        "height": 4,
    }
    entry = session_entry(trajectory, frames, 1000, 0, 0)
    assert entry.frame_labels == {"EMAIL": 2, "CARD": 1}
    card = render_card([entry], {}, datetime(2026, 12, 1, tzinfo=UTC))
    assert "| EMAIL | 2 |" in card and "3 boxes covered" in card
