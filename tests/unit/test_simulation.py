"""The simulated devices: deterministic, ordered, pseudonymous, and realistic enough to exercise redaction."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

from PIL import Image

from producers.core.screens import render_frame
from producers.core.simulation import FrameRequest, people, simulate
from schemas.events import InteractionEvent, KeyEvent, WindowContext

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _run(seed: int = 3, devices: int = 3, duration: float = 30) -> list[InteractionEvent | FrameRequest]:
    return list(simulate(people(devices, b"key", random.Random(seed)), START, duration, seed))


def test_same_seed_same_activity() -> None:
    assert _run() == _run()
    assert _run(seed=4) != _run()


def test_events_are_in_time_order_with_increasing_seq_per_device() -> None:
    items = _run()
    assert [i.event_time for i in items] == sorted(i.event_time for i in items)
    last: dict[str, int] = {}
    for item in items:
        assert item.seq > last.get(item.device_id, 0)
        last[item.device_id] = item.seq
    assert len(last) == 3
    assert all(i.event_time >= START for i in items)


def test_ids_are_pseudonyms_not_names() -> None:
    persons = people(2, b"key", random.Random(1))
    for p in persons:
        assert p.user_id.startswith("u-") and p.name not in p.user_id
        assert p.device_id.startswith("d-") and "corp" not in p.device_id
    assert people(2, b"other", random.Random(1))[0].user_id != persons[0].user_id


def test_typing_contains_pii_for_later_stages() -> None:
    typed: dict[str, str] = {}
    for i in _run(duration=300):
        if isinstance(i, InteractionEvent) and isinstance(i.payload, KeyEvent) and i.payload.char:
            typed[i.device_id] = typed.get(i.device_id, "") + i.payload.char
    assert any("@example.com" in text for text in typed.values())


def test_rendered_frame_is_a_jpeg_of_the_scaled_screen() -> None:
    jpeg, size, windows = render_frame(WindowContext("code", "main.py"), (100, 100), (1920, 1080), 0.25)
    image = Image.open(io.BytesIO(jpeg))
    assert image.format == "JPEG" and image.size == size == (480, 270)
    assert windows[0].focused and windows[0].width == int(1920 * 0.84)
