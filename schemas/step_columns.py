"""The columns of the dataset's steps objects: one Parquet row per step (pure core, shared layout).

The sink writes rows of this schema and the reader reads them; the dataset card documents each
column from ``STEP_DOCS``. Only the sink and the reader import this module (it needs pyarrow).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = ["STEP_DOCS", "STEP_SCHEMA"]

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
        pa.field(
            "frame_removed",
            pa.list_(
                pa.struct(
                    [
                        ("label", pa.string()),
                        ("x", pa.int32()),
                        ("y", pa.int32()),
                        ("width", pa.int32()),
                        ("height", pa.int32()),
                    ]
                )
            ),
        ),
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
    "frame_removed": "boxes of the frame covered by the screen redaction (label, x, y, width, height; image pixels)",
}
