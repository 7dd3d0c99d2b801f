"""The session page: escaping, placeholder chips, marker geometry, missing frames and step order."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.dataset import SessionEntry
from teachstream.view import MARK, frame_point, render_session, text_html

START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>'


def entry(**changes: Any) -> SessionEntry:
    fields: dict[str, Any] = {
        "session_id": "dev1-20250304T090000-7",
        "device_id": "dev1",
        "user_id": "u42",
        "dt": "2025-03-04",
        "start_time": START.isoformat(),
        "end_time": (START + timedelta(minutes=2, seconds=5)).isoformat(),
        "end_reason": "idle",
        "steps": 3,
        "frames": 1,
        "events": 40,
        "redactions": 2,
        "apps": ("firefox", "gedit"),
        "steps_key": "steps/dt=2025-03-04/user=u42/s.parquet",
        "frame_keys": ("frames/user=u42/device=dev1/f1.jpg",),
        "bytes": 1234,
        "partition": 0,
        "offset": 7,
    }
    return SessionEntry(**{**fields, **changes})


def step(index: int, action: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": index,
        "action": action,
        "start_time": START + timedelta(seconds=index * 1.5),
        "end_time": START + timedelta(seconds=index * 1.5 + 0.2),
        "app": "firefox",
        "title": "Inbox",
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
        "frame_id": "f1",
        "frame_key": "frames/user=u42/device=dev1/f1.jpg",
        "frame_width": 640,
        "frame_height": 400,
        "frame_scale": 0.5,
        "frame_left": 1920,
        "frame_top": 0,
    }
    return {**row, **changes}


FRAMES = {"frames/user=u42/device=dev1/f1.jpg": b"\xff\xd8\xff\xe0fake-jpeg"}


def test_user_text_is_escaped_everywhere() -> None:
    steps = [
        step(0, "type", title=EVIL, app=EVIL, text=f"hi {EVIL} <EMAIL>"),
        step(1, "hotkey", keys=["ctrl", EVIL]),
    ]
    page = render_session(entry(session_id=EVIL, apps=(EVIL,), end_reason=EVIL), steps, FRAMES)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_placeholders_become_chips_and_nothing_else_does() -> None:
    html = text_html("mail <EMAIL> or call <PHONE>, ask <PERSON>; a<b>c")
    assert re.findall(r'<span class="chip">([^<]*)</span>', html) == ["EMAIL", "PHONE", "PERSON"]
    assert "a&lt;b&gt;c" in html
    page = render_session(entry(), [step(0, "type", text="to <EMAIL>", title="Re: <PERSON>")], FRAMES)
    assert '<span class="chip">EMAIL</span>' in page and '<span class="chip">PERSON</span>' in page


def test_screen_points_land_on_image_pixels_of_their_monitor() -> None:
    row = step(0, "click", frame_left=1920, frame_top=-200, frame_scale=0.5)
    assert frame_point(row, 2320, 100) == (200.0, 150.0)
    assert frame_point(step(0, "click", frame_scale=None), 1, 1) is None


def test_click_marker_is_drawn_at_the_click_in_the_frame_viewbox() -> None:
    page = render_session(entry(), [step(0, "click", x=2320, y=300, button="left")], FRAMES)
    assert 'viewBox="0 0 640 400"' in page
    assert f'<circle cx="200.0" cy="150.0" r="4.5" fill="{MARK}"' in page
    assert page.count('cx="200.0" cy="150.0"') == 3  # white outline and ring, dot


def test_click_kinds_are_distinguishable() -> None:
    def rings(action: str) -> tuple[int, int]:
        svg = render_session(entry(), [step(0, action, x=2000, y=100)], FRAMES).split("<figure>")[1]
        return svg.count('fill="none"'), svg.count("stroke-dasharray")

    assert rings("click") == (2, 0)
    assert rings("double_click") == (4, 0)
    assert rings("right_click") == (2, 1)


def test_drag_path_and_scroll_arrow_are_in_image_pixels() -> None:
    path = [{"x": 1920, "y": 0}, {"x": 2120, "y": 100}, {"x": 2520, "y": 400}]
    page = render_session(entry(), [step(0, "drag", x=1920, y=0, path=path, button="left")], FRAMES)
    assert 'points="0.0,0.0 100.0,50.0 300.0,200.0"' in page
    scroll = render_session(entry(), [step(0, "scroll", x=2320, y=300, dy=3)], FRAMES)
    arrow = re.search(r'<line x1="200.0" y1="150.0" x2="([\d.]+)" y2="([\d.]+)"', scroll)
    assert arrow and float(arrow.group(1)) == 200.0 and float(arrow.group(2)) < 150.0  # wheel up points up
    assert "wheel up 3 at (2320, 300)" in scroll


def test_a_pointer_outside_the_frame_is_said_so() -> None:
    page = render_session(entry(), [step(0, "click", x=100, y=100)], FRAMES)
    assert "pointer outside this frame" in page


def test_a_step_without_its_frame_shows_a_placeholder() -> None:
    steps = [
        step(0, "click", x=2000, y=100, frame_id=None, frame_key=None, frame_width=None),
        step(1, "type", text="hello <EMAIL>", frame_key="frames/user=u42/device=dev1/gone.jpg"),
    ]
    page = render_session(entry(), steps, FRAMES)
    assert "no frame for this step" in page and "frame not available" in page
    assert "<figure>" not in page and "data:image" not in page
    assert '<span class="chip">EMAIL</span>' in page  # the typed caption is still shown


def test_every_step_is_rendered_once_in_order_and_frames_once() -> None:
    actions = ["click", "drag", "scroll", "type", "hotkey", "key", "double_click", "right_click"]
    steps = [
        step(i, a, x=2000, y=100, path=[{"x": 2000, "y": 100}, {"x": 2100, "y": 150}], text="ok", keys=["enter"])
        for i, a in enumerate(actions)
    ]
    page = render_session(entry(steps=len(steps)), steps, FRAMES)
    assert re.findall(r'id="step-(\d+)" data-action="(\w+)"', page) == [(str(i), a) for i, a in enumerate(actions)]
    assert page.count("data:image/jpeg;base64,") == 1
    assert page.count('<use href="#frame-0"/>') == len(steps)


def test_header_and_offsets() -> None:
    page = render_session(entry(), [step(0, "click", x=2000, y=100), step(41, "key", keys=["enter"])], FRAMES)
    assert "2:05.0" in page and "dev1" in page and "u42" in page and "firefox, gedit" in page
    assert '<span class="offset">+1:01.5</span>' in page
    assert "<kbd>enter</kbd>" in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")


def test_covered_boxes_are_drawn_as_labelled_blocks_in_image_pixels() -> None:
    boxes = [
        {"label": "EMAIL", "x": 10, "y": 20, "width": 120, "height": 9},
        {"label": "<b>", "x": 0, "y": 0, "width": 5, "height": 5},
    ]
    page = render_session(entry(), [step(0, "type", text="hi <EMAIL>", frame_removed=boxes)], FRAMES)
    assert '<rect x="10" y="20" width="120" height="9"' in page and ">EMAIL</text>" in page
    assert "&lt;b&gt;</text>" in page and "<b></text>" not in page
    assert 'class="removed"' not in render_session(entry(), [step(0, "type", text="hi")], FRAMES)
