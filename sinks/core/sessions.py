"""A closed session as dataset objects: its Parquet steps and its manifest entry (pure core)."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dataset import SessionEntry, day, frame_key, steps_key
from schemas.trajectory import Trajectory

_TIME = pa.timestamp("us", tz="UTC")

STEP_SCHEMA = pa.schema(
    [
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("index", pa.int32(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("start_time", _TIME, nullable=False),
        pa.field("end_time", _TIME, nullable=False),
        pa.field("app", pa.string()),
        pa.field("title", pa.string()),
        pa.field("x", pa.int32()),
        pa.field("y", pa.int32()),
        pa.field("nx", pa.float32()),
        pa.field("ny", pa.float32()),
        pa.field("button", pa.string()),
        pa.field("text", pa.string()),
        pa.field("keys", pa.list_(pa.string())),
        pa.field("dx", pa.int32()),
        pa.field("dy", pa.int32()),
        pa.field("path", pa.list_(pa.struct([("x", pa.int32()), ("y", pa.int32())]))),
        pa.field("frame_id", pa.string()),
        pa.field("frame_key", pa.string()),
        pa.field("frame_width", pa.int32()),
        pa.field("frame_height", pa.int32()),
        pa.field("frame_scale", pa.float32()),
        pa.field("frame_left", pa.int32()),
        pa.field("frame_top", pa.int32()),
    ],
    metadata={b"teachstream": b"steps v1: one row per step of one session"},
)

STEP_DOCS = {
    "session_id": "deterministic session id (device, time and seq of its first event)",
    "device_id": "device pseudonym",
    "user_id": "person pseudonym",
    "index": "step number within the session, from 0",
    "action": "click, double_click, right_click, drag, scroll, type, hotkey or key",
    "start_time": "UTC, microseconds",
    "end_time": "UTC, microseconds",
    "app": "application of the focused window",
    "title": "window title, redacted",
    "x": "screen pixel of the pointer (clicks, drags, scrolls)",
    "y": "screen pixel of the pointer",
    "nx": "x as a fraction of the monitor width",
    "ny": "y as a fraction of the monitor height",
    "button": "mouse button",
    "text": "typed text; PII replaced by placeholders such as <EMAIL>",
    "keys": "keys of a hotkey or special key",
    "dx": "horizontal scroll",
    "dy": "vertical scroll",
    "path": "drag path in screen pixels",
    "frame_id": "the last frame seen before the step",
    "frame_key": "that frame's object, relative to the dataset root",
    "frame_width": "frame width in image pixels",
    "frame_height": "frame height in image pixels",
    "frame_scale": "image pixels per screen pixel",
    "frame_left": "the frame's monitor origin, screen pixels",
    "frame_top": "the frame's monitor origin, screen pixels",
}

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*)>")


@dataclass(frozen=True)
class FrameInfo:
    """A stored frame: its object and the geometry needed to place a step on it."""

    key: str
    width: int
    height: int
    scale: float
    left: int
    top: int
    size: int


def referenced_frames(trajectory: Trajectory) -> dict[str, str]:
    """frame_id -> frame key of every frame the session's steps refer to."""
    return {
        s.frame_id: frame_key(trajectory.user_id, trajectory.device_id, s.frame_id)
        for s in trajectory.steps
        if s.frame_id
    }


def steps_table(trajectory: Trajectory, frames: Mapping[str, FrameInfo]) -> pa.Table:
    """One row per step; frames missing from ``frames`` leave the frame columns null."""
    rows = []
    for s in trajectory.steps:
        f = frames.get(s.frame_id) if s.frame_id else None
        rows.append(
            {
                "session_id": trajectory.session_id,
                "device_id": trajectory.device_id,
                "user_id": trajectory.user_id,
                "index": s.index,
                "action": s.action,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "app": s.app,
                "title": s.title,
                "x": s.x,
                "y": s.y,
                "nx": s.nx,
                "ny": s.ny,
                "button": s.button,
                "text": s.text,
                "keys": list(s.keys),
                "dx": s.dx,
                "dy": s.dy,
                "path": [{"x": p.x, "y": p.y} for p in s.path],
                "frame_id": s.frame_id,
                "frame_key": f.key if f else None,
                "frame_width": f.width if f else None,
                "frame_height": f.height if f else None,
                "frame_scale": f.scale if f else None,
                "frame_left": f.left if f else None,
                "frame_top": f.top if f else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=STEP_SCHEMA)


def to_parquet(table: pa.Table) -> bytes:
    """Parquet with zstd; the same table gives the same bytes."""
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd", write_statistics=True)
    return out.getvalue()


def placeholder_labels(texts: Iterable[str | None]) -> dict[str, int]:
    """How often each redaction placeholder (``<EMAIL>`` …) appears in typed text."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_PLACEHOLDER.findall(text or ""))
    return dict(sorted(counts.items()))


def placeholder_counts(trajectory: Trajectory) -> dict[str, int]:
    return placeholder_labels(s.text for s in trajectory.steps)


def session_entry(
    trajectory: Trajectory, frames: Mapping[str, FrameInfo], size: int, partition: int, offset: int
) -> SessionEntry:
    """The manifest entry of a session whose steps object (``size`` bytes) and ``frames`` are stored."""
    dt = day(trajectory.start_time)
    return SessionEntry(
        session_id=trajectory.session_id,
        device_id=trajectory.device_id,
        user_id=trajectory.user_id,
        dt=dt,
        start_time=trajectory.start_time.isoformat(),
        end_time=trajectory.end_time.isoformat(),
        end_reason=trajectory.end_reason,
        steps=len(trajectory.steps),
        frames=len(frames),
        events=trajectory.event_count,
        redactions=trajectory.redaction_count,
        apps=tuple(sorted({s.app for s in trajectory.steps if s.app})),
        steps_key=steps_key(dt, trajectory.user_id, trajectory.session_id),
        frame_keys=tuple(sorted(f.key for f in frames.values())),
        bytes=size + sum(f.size for f in frames.values()),
        partition=partition,
        offset=offset,
        labels=placeholder_counts(trajectory),
    )
