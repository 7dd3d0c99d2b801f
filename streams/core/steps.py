"""Actions from low-level events: what a person did, step by step, with the screen they saw (pure core).

Clicks, double- and right-clicks, drags with their path, scrolls, typed text (redacted
characters become placeholders such as ``<EMAIL>``), hotkeys and special keys. Each step
carries the app and window title, its start and end time, and the most recent frame taken
before it. Focus changes, pauses and suppressed capture end a typing run but are not steps.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from schemas.events import (
    CaptureSuppressed,
    InteractionEvent,
    KeyEvent,
    MouseButton,
    MouseMove,
    MouseScroll,
    WindowContext,
)
from schemas.trajectory import Point, Step, Trajectory, seq_ranges
from streams.core.sessions import Session

MODIFIERS = frozenset(
    {
        "shift",
        "shift_l",
        "shift_r",
        "ctrl",
        "ctrl_l",
        "ctrl_r",
        "alt",
        "alt_l",
        "alt_r",
        "alt_gr",
        "cmd",
        "cmd_l",
        "cmd_r",
        "super",
        "super_l",
        "super_r",
        "caps_lock",
        "num_lock",
    }
)
CHORD_MODIFIERS = frozenset({"ctrl", "alt", "cmd", "super"})
DRAG_PX = 8
DOUBLE_CLICK = timedelta(milliseconds=500)
SCROLL_RUN = timedelta(milliseconds=600)
MAX_PATH = 200


@dataclass(frozen=True)
class FrameRef:
    """What a step needs of a clean frame: its id, time, and the monitor it shows."""

    frame_id: str
    event_time: datetime
    left: int
    top: int
    width: int
    height: int


@dataclass
class _Builder:
    frames: list[FrameRef]
    steps: list[Step] = field(default_factory=list)
    context: WindowContext | None = None
    text: list[str] = field(default_factory=list)
    text_start: datetime | None = None
    text_end: datetime | None = None
    press: tuple[MouseButton, datetime, list[Point]] | None = None

    # -- the steps ----------------------------------------------------------------------
    def add(self, action: str, start: datetime, end: datetime, **fields: Any) -> None:
        frame = self._frame_before(start)
        x, y = fields.get("x"), fields.get("y")
        if frame is not None and isinstance(x, int) and isinstance(y, int) and frame.width and frame.height:
            fields["nx"] = round(min(max((x - frame.left) / frame.width, 0.0), 1.0), 5)
            fields["ny"] = round(min(max((y - frame.top) / frame.height, 0.0), 1.0), 5)
        ctx = self.context
        self.steps.append(
            Step(
                len(self.steps),
                action,
                start,
                end,
                ctx.app if ctx else "",
                ctx.title if ctx else "",
                frame_id=frame.frame_id if frame else None,
                **fields,
            )
        )

    def _frame_before(self, at: datetime) -> FrameRef | None:
        i = bisect.bisect_right(self.frames, at, key=lambda f: f.event_time)
        return self.frames[i - 1] if i else None

    # -- typing -------------------------------------------------------------------------
    def type_char(self, chunk: str, at: datetime) -> None:
        if self.text_start is None:
            self.text_start = at
        if not (chunk.startswith("<") and self.text and self.text[-1] == chunk):  # one placeholder per run
            self.text.append(chunk)
        self.text_end = at

    def backspace(self, at: datetime) -> bool:
        """Edit the typing run in place; False if there is nothing plain to delete."""
        if self.text and not self.text[-1].startswith("<"):
            self.text.pop()
            self.text_end = at
            return True
        return False

    def flush_text(self) -> None:
        if self.text and self.text_start and self.text_end:
            self.add("type", self.text_start, self.text_end, text="".join(self.text))
        self.text, self.text_start, self.text_end = [], None, None

    # -- events -------------------------------------------------------------------------
    def key(self, event: InteractionEvent, key: KeyEvent) -> None:
        if not key.pressed or key.key in MODIFIERS:
            return
        at = event.event_time
        if key.redaction:
            self.type_char(f"<{key.redaction}>", at)
            return
        chord = sorted(CHORD_MODIFIERS.intersection(_base(m) for m in key.modifiers))
        if chord:
            self.flush_text()
            self.add("hotkey", at, at, keys=(*chord, key.key))
        elif key.char is not None and key.key not in {"enter", "tab"}:
            self.type_char(key.char, at)
        elif key.key == "backspace" and self.backspace(at):
            return
        else:
            self.flush_text()
            self.add("key", at, at, keys=(key.key,))

    def button(self, event: InteractionEvent, b: MouseButton) -> None:
        at = event.event_time
        if b.pressed:
            self.flush_text()
            self.press = (b, at, [Point(b.x, b.y)])
            return
        if self.press is None or self.press[0].button != b.button:
            return  # a release whose press was before the session
        down, start, path = self.press
        self.press = None
        path.append(Point(b.x, b.y))
        if max(abs(p.x - down.x) + abs(p.y - down.y) for p in path) > DRAG_PX:
            self.add("drag", start, at, x=down.x, y=down.y, button=b.button, path=tuple(_thin(path)))
        elif b.button == "right":
            self.add("right_click", start, at, x=down.x, y=down.y, button=b.button)
        elif self._double(down, start):
            self.steps[-1] = replace(self.steps[-1], action="double_click", end_time=at)
        else:
            self.add("click", start, at, x=down.x, y=down.y, button=b.button)

    def _double(self, down: MouseButton, start: datetime) -> bool:
        last = self.steps[-1] if self.steps else None
        return (
            last is not None
            and last.action == "click"
            and last.button == down.button
            and start - last.end_time <= DOUBLE_CLICK
            and abs((last.x or 0) - down.x) + abs((last.y or 0) - down.y) <= DRAG_PX
        )

    def move(self, m: MouseMove) -> None:
        if self.press is not None:
            self.press[2].append(Point(m.x, m.y))

    def scroll(self, event: InteractionEvent, s: MouseScroll) -> None:
        self.flush_text()
        at, last = event.event_time, self.steps[-1] if self.steps else None
        if (
            last is not None
            and last.action == "scroll"
            and at - last.end_time <= SCROLL_RUN
            and abs((last.x or 0) - s.x) + abs((last.y or 0) - s.y) <= DRAG_PX
        ):
            self.steps[-1] = replace(last, end_time=at, dx=last.dx + s.dx, dy=last.dy + s.dy)
        else:
            self.add("scroll", at, at, x=s.x, y=s.y, dx=s.dx, dy=s.dy)


def _base(modifier: str) -> str:
    return modifier.split("_", 1)[0]


def _thin(path: list[Point]) -> list[Point]:
    """Keep a drag path short: at most MAX_PATH points, always the first and the last."""
    if len(path) <= MAX_PATH:
        return path
    step = (len(path) - 1) / (MAX_PATH - 1)
    return [path[round(i * step)] for i in range(MAX_PATH)]


def trajectory(session: Session, frames: list[FrameRef]) -> Trajectory:
    """The steps of one closed session, with the frame each step's person saw just before it."""
    builder = _Builder(sorted(frames, key=lambda f: (f.event_time, f.frame_id)))
    suppressed_ms = redactions = 0
    for event in session.events:
        if event.context is not None:
            if builder.context is not None and event.context.window_id != builder.context.window_id:
                builder.flush_text()
            builder.context = event.context
        payload = event.payload
        if isinstance(payload, KeyEvent):
            redactions += payload.redaction is not None and payload.pressed
            builder.key(event, payload)
        elif isinstance(payload, MouseButton):
            builder.button(event, payload)
        elif isinstance(payload, MouseMove):
            builder.move(payload)
        elif isinstance(payload, MouseScroll):
            builder.scroll(event, payload)
        else:
            builder.flush_text()
            if isinstance(payload, CaptureSuppressed):
                suppressed_ms += payload.duration_ms
    builder.flush_text()
    if builder.press is not None:  # pressed, never released within the session
        down, start, _ = builder.press
        builder.add("click", start, start, x=down.x, y=down.y, button=down.button)
    first = session.events[0]
    return Trajectory(
        session_id=session.session_id,
        device_id=session.device_id,
        user_id=first.user_id,
        start_time=session.start,
        end_time=session.end,
        end_reason=session.end_reason,
        steps=tuple(builder.steps),
        event_count=len(session.events),
        redaction_count=redactions,
        suppressed_ms=suppressed_ms,
        seq_ranges=seq_ranges(e.seq for e in session.events),
    )
