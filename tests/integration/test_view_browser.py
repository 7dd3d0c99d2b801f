"""The session page in headless Chromium: the click marker shows where the click was, and nowhere else.

Each frame is a flat grey JPEG of its own shade, so the test finds the frame in the
screenshot by its colour and maps image pixels to page pixels without knowing the layout.
Needs Debian's ``chromium``, not the local stack.
"""

from __future__ import annotations

import io
import itertools
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from schemas.dataset import SessionEntry
from teachstream.view import render_session

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)

START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
W, H = 640, 400
SHADES = {"f1": 128, "f2": 96, "f3": 160, "f4": 112}
# the first frame shows the right-hand monitor (origin x=1920) at half scale
CLICK_SCREEN = (1920 + 400, 300)
CLICK_IMAGE = (200, 150)


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (W, H), (shade, shade, shade)).save(out, "JPEG", quality=90)
    return out.getvalue()


def step(index: int, action: str, frame: str, **fields: Any) -> dict[str, Any]:
    at = START + timedelta(seconds=2 * index)
    return {
        "index": index,
        "action": action,
        "start_time": at,
        "end_time": at + timedelta(milliseconds=300),
        "app": "thunderbird",
        "title": "Write: <PERSON>",
        "x": None,
        "y": None,
        "nx": None,
        "ny": None,
        "button": None,
        "text": None,
        "keys": [],
        "dx": 0,
        "dy": 0,
        "path": [],
        "frame_id": frame,
        "frame_key": f"frames/user=u1/device=d1/{frame}.jpg",
        "frame_width": W,
        "frame_height": H,
        "frame_scale": 0.5,
        "frame_left": 1920,
        "frame_top": 0,
        **fields,
    }


def session() -> tuple[SessionEntry, list[dict[str, Any]], dict[str, bytes]]:
    steps = [
        step(0, "click", "f1", x=CLICK_SCREEN[0], y=CLICK_SCREEN[1], button="left"),
        step(1, "drag", "f2", x=2000, y=100, button="left", path=[{"x": 2000, "y": 100}, {"x": 2400, "y": 600}]),
        step(2, "type", "f3", text="send it to <EMAIL> today"),
        step(3, "hotkey", "f4", keys=["ctrl", "enter"]),
    ]
    entry = SessionEntry(
        session_id="d1-20250304T090000-1",
        device_id="d1",
        user_id="u1",
        dt="2025-03-04",
        start_time=START.isoformat(),
        end_time=(START + timedelta(seconds=8)).isoformat(),
        end_reason="idle",
        steps=len(steps),
        frames=len(SHADES),
        events=30,
        redactions=2,
        apps=("thunderbird",),
        steps_key="steps/dt=2025-03-04/user=u1/d1-20250304T090000-1.parquet",
        frame_keys=tuple(s["frame_key"] for s in steps),
        bytes=0,
        partition=0,
        offset=0,
    )
    return entry, steps, {s["frame_key"]: jpeg(SHADES[s["frame_id"]]) for s in steps}


def screenshot(page: Path, out: Path, profile: Path) -> Image.Image:
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            "--window-size=1000,3200",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Image.open(out).convert("RGB")


def frame_box(shot: Image.Image, shade: int) -> tuple[int, int, int, int]:
    """The bounding box of the frame drawn in ``shade``: rows with a long run of that grey."""
    px = shot.load()
    assert px is not None

    def grey(x: int, y: int) -> bool:
        r, g, b = px[x, y]  # type: ignore[misc]
        return bool(max(abs(r - shade), abs(g - shade), abs(b - shade)) <= 3)

    rows = [y for y in range(shot.height) if sum(grey(x, y) for x in range(0, shot.width, 4)) > 100]
    assert rows, f"no frame of grey {shade} in the screenshot"
    top = rows[0]
    bottom = next((a for a, b in itertools.pairwise(rows) if b != a + 1), rows[-1])
    xs = [x for x in range(shot.width) if grey(x, top)]
    return xs[0], top, xs[-1] + 1, bottom + 1


def marks(shot: Image.Image, box: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """The pixels in ``box`` that have the marker colour #ff0066 (allowing for anti-aliasing)."""
    px = shot.load()
    assert px is not None
    found = []
    for y in range(box[1], box[3]):
        for x in range(box[0], box[2]):
            r, g, b = px[x, y]  # type: ignore[misc]
            if r > 200 and g < 90 and 50 < b < 170:
                found.append((x, y))
    return found


def test_the_click_marker_is_drawn_where_the_click_was_and_nowhere_else(tmp_path: Path) -> None:
    entry, steps, frames = session()
    page = tmp_path / "session.html"
    page.write_text(render_session(entry, steps, frames), encoding="utf-8")
    shot = screenshot(page, tmp_path / "shot.png", tmp_path / "profile")

    box = frame_box(shot, SHADES["f1"])
    left, top, right, bottom = box
    scale = (right - left) / W
    assert abs((bottom - top) - H * scale) <= 2, "the first frame keeps its aspect ratio"
    cx, cy = left + CLICK_IMAGE[0] * scale, top + CLICK_IMAGE[1] * scale
    ring = 5 * W / 100 * scale  # the outer edge of the marker, in page pixels

    marked = marks(shot, box)
    near = [(x, y) for x, y in marked if abs(x - cx) <= 3 and abs(y - cy) <= 3]
    assert near, f"no marker colour within 3 px of the click at ({cx:.0f}, {cy:.0f}) on the page"
    far = [(x, y) for x, y in marked if (x - cx) ** 2 + (y - cy) ** 2 > ring**2]
    assert not far, f"marker colour away from the click, e.g. at {far[:3]}"

    assert len(marks(shot, frame_box(shot, SHADES["f2"]))) > 200, "the drag's frame shows its path"
    assert not marks(shot, frame_box(shot, SHADES["f4"])), "a hotkey draws key caps, no pointer marker"
