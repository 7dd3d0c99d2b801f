"""Synthetic closed sessions with their frames, to exercise the sink and the reader without devices.

The frames look like a text-heavy window (a document, a terminal), so their JPEGs are about
as large as real screenshots of that kind; ids and times are deterministic for a seed.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from schemas.events import Monitor, ScreenFrame, VisibleWindow
from schemas.trajectory import Point, Step, Trajectory

APPS = ("firefox", "libreoffice-writer", "xterm", "thunderbird", "code")
WORDS = (
    "the", "report", "quarterly", "invoice", "draft", "meeting", "notes", "build", "deploy", "review", "customer",
)  # fmt: skip


@dataclass(frozen=True)
class SampleSession:
    trajectory: Trajectory
    frames: tuple[ScreenFrame, ...]


def sample_sessions(
    count: int,
    steps: int,
    seed: int,
    start: datetime,
    devices: int = 4,
    screen: tuple[int, int] = (1920, 1080),
    scale: float = 0.5,
    users: Sequence[str] = (),
) -> Iterator[SampleSession]:
    """``count`` sessions of ``steps`` steps, one new frame every two steps, spread over ``devices`` devices
    (and over ``users``, when given: pseudonyms, the n-th session belongs to ``users[n % len(users)]``)."""
    rng = random.Random(seed)
    for n in range(count):
        device = f"d-sample{n % devices:04d}"
        user = users[n % len(users)] if users else f"u-sample{n % devices:04d}"
        t0 = start + timedelta(minutes=10 * n)
        seq0 = int(t0.timestamp()) * 1000  # unique across calls with other start times
        frames: list[ScreenFrame] = []
        step_list: list[Step] = []
        for i in range(steps):
            at = t0 + timedelta(seconds=3 * i)
            app = APPS[(n + i // 6) % len(APPS)]
            if i % 2 == 0:
                frames.append(_frame(device, user, seq0 + 2 * i, at, app, rng, screen, scale))
            step_list.append(_step(i, at, app, frames[-1].frame_id, rng, screen))
        end = t0 + timedelta(seconds=3 * steps)
        yield SampleSession(
            Trajectory(f"{device}-{seq0}", device, user, t0, end, "gap", tuple(step_list), 4 * steps, steps // 5),
            tuple(frames),
        )


def _step(i: int, at: datetime, app: str, frame_id: str, rng: random.Random, screen: tuple[int, int]) -> Step:
    x, y = rng.randrange(screen[0]), rng.randrange(screen[1])
    base = Step(i, "key", at, at + timedelta(seconds=1), app, f"{app}: notes", frame_id=frame_id)
    kind = i % 5
    if kind == 0:
        return replace(base, action="click", x=x, y=y, nx=x / screen[0], ny=y / screen[1], button="left")
    if kind == 1:
        return replace(base, action="type", text=" ".join(rng.choice(WORDS) for _ in range(5)) + " <EMAIL>")
    if kind == 2:
        return replace(base, action="scroll", x=x, y=y, dy=-3)
    if kind == 3:
        return replace(base, action="hotkey", keys=("ctrl", "s"))
    path = (Point(x, y), Point(min(x + 200, screen[0] - 1), min(y + 80, screen[1] - 1)))
    return replace(base, action="drag", x=x, y=y, path=path)


def _frame(
    device: str,
    user: str,
    seq: int,
    at: datetime,
    app: str,
    rng: random.Random,
    screen: tuple[int, int],
    scale: float,
) -> ScreenFrame:
    w, h = int(screen[0] * scale), int(screen[1] * scale)
    img = Image.new("RGB", (w, h), (245, 245, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w, 24), fill=(40, 60, 90))
    draw.text((8, 6), app, fill=(255, 255, 255))
    for row in range(32, h - 12, 14):
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 16)))
        draw.text((12, row), line, fill=(20, 20, 20))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=75)
    window = VisibleWindow(app, f"{app}: notes", 0, 0, screen[0], screen[1], focused=True)
    return ScreenFrame(
        device_id=device,
        user_id=user,
        seq=seq,
        event_time=at,
        frame_id=f"{device}-{seq}",
        trigger="click",
        image=out.getvalue(),
        width=w,
        height=h,
        scale=scale,
        monitor=Monitor(index=1, left=0, top=0, width=screen[0], height=screen[1]),
        windows=(window,),
    )
