"""Actions from low-level events, on realistic sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.events import (
    CaptureSuppressed,
    InteractionEvent,
    KeyEvent,
    MouseButton,
    MouseMove,
    MouseScroll,
    Payload,
    WindowContext,
)
from streams.core.sessions import Session
from streams.core.steps import FrameRef, trajectory

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MAIL = WindowContext("firefox", "Inbox - Mail", 1)
TERM = WindowContext("xterm", "Terminal", 2)


class Script:
    def __init__(self) -> None:
        self.events: list[InteractionEvent] = []
        self.ms = 0

    def __call__(self, payload: Payload, ctx: WindowContext = MAIL, after_ms: int = 50) -> Script:
        self.ms += after_ms
        self.events.append(
            InteractionEvent("d-1", "u-1", len(self.events) + 1, T0 + timedelta(milliseconds=self.ms), payload, ctx)
        )
        return self

    def type(self, text: str, ctx: WindowContext = MAIL, redaction: str | None = None) -> Script:
        for ch in text:
            key = {" ": "space", "\n": "enter"}.get(ch, ch.lower())
            mods = ("shift",) if ch.isupper() or ch == "@" else ()
            char = None if redaction or ch == "\n" else ch
            self(KeyEvent(True, "" if redaction else key, char, mods, redaction=redaction), ctx)
            self(KeyEvent(False, "" if redaction else key, None, mods, redaction=redaction), ctx)
        return self

    def click(self, x: int, y: int, button: str = "left") -> Script:
        return self(MouseButton(button, True, x, y))(MouseButton(button, False, x, y), after_ms=80)

    def steps(self, frames: list[FrameRef] | None = None) -> list[tuple[str, object]]:
        t = trajectory(Session("d-1", tuple(self.events), "gap"), frames or [])
        return [(s.action, s.text or s.keys or (s.x, s.y)) for s in t.steps]


def test_click_type_and_enter() -> None:
    s = Script().click(100, 200).type("Hello there\n")
    assert s.steps() == [("click", (100, 200)), ("type", "Hello there"), ("key", ("enter",))]


def test_redacted_characters_become_one_placeholder_per_run() -> None:
    s = Script().type("mail ").type("abcdefghij", redaction="EMAIL").type(" now")
    assert s.steps() == [("type", "mail <EMAIL> now")]
    t = trajectory(Session("d-1", tuple(s.events), "gap"), [])
    assert t.redaction_count == 10
    assert "abcdefghij" not in repr(t)


def test_backspace_edits_the_typing_run() -> None:
    s = Script().type("helo")(KeyEvent(True, "backspace"))(KeyEvent(False, "backspace")).type("lo")
    assert s.steps() == [("type", "hello")]


def test_backspace_with_nothing_typed_is_a_key_step() -> None:
    s = Script()(KeyEvent(True, "backspace"))
    assert s.steps() == [("key", ("backspace",))]


def test_double_click_right_click_and_hotkey() -> None:
    s = Script().click(10, 10).click(11, 10).click(300, 300, "right")
    s(KeyEvent(True, "ctrl_l", None, ("ctrl",)))(KeyEvent(True, "c", "\x03", ("ctrl",)))
    assert s.steps() == [("double_click", (10, 10)), ("right_click", (300, 300)), ("hotkey", ("ctrl", "c"))]


def test_drag_keeps_its_path() -> None:
    s = Script()(MouseButton("left", True, 0, 0))
    for i in range(1, 6):
        s(MouseMove(i * 20, i * 10))
    s(MouseButton("left", False, 100, 50))
    t = trajectory(Session("d-1", tuple(s.events), "gap"), [])
    (drag,) = t.steps
    assert drag.action == "drag" and (drag.x, drag.y) == (0, 0)
    assert drag.path[0].x == 0 and drag.path[-1].x == 100 and len(drag.path) == 7


def test_scrolls_merge_into_one_step_with_summed_deltas() -> None:
    s = Script()(MouseScroll(50, 50, 0, 1))(MouseScroll(50, 50, 0, 1))(MouseScroll(50, 51, 0, 2))
    t = trajectory(Session("d-1", tuple(s.events), "gap"), [])
    (scroll,) = t.steps
    assert (scroll.action, scroll.dy) == ("scroll", 4)


def test_focus_change_ends_a_typing_run_and_steps_carry_their_window() -> None:
    s = Script().type("ls", ctx=TERM).type("hi", ctx=MAIL)
    t = trajectory(Session("d-1", tuple(s.events), "gap"), [])
    assert [(x.action, x.text, x.app) for x in t.steps] == [("type", "ls", "xterm"), ("type", "hi", "firefox")]


def test_each_step_references_the_latest_frame_before_it_and_normalizes_positions() -> None:
    frames = [
        FrameRef("f-1", T0, 0, 0, 1920, 1080),
        FrameRef("f-2", T0 + timedelta(milliseconds=40), 0, 0, 1920, 1080),
        FrameRef("f-late", T0 + timedelta(seconds=60), 0, 0, 1920, 1080),
    ]
    s = Script().click(960, 270)
    (step,) = trajectory(Session("d-1", tuple(s.events), "gap"), frames).steps
    assert step.frame_id == "f-2" and (step.nx, step.ny) == (0.5, 0.25)


def test_suppressed_time_is_counted_and_steps_are_in_time_order() -> None:
    s = Script().click(1, 1)(CaptureSuppressed("denied window", 4000)).type("ok").click(5, 5)
    t = trajectory(Session("d-1", tuple(s.events), "lock"), [])
    assert t.suppressed_ms == 4000 and t.end_reason == "lock" and t.event_count == len(s.events)
    assert [x.start_time for x in t.steps] == sorted(x.start_time for x in t.steps)
    assert [x.index for x in t.steps] == list(range(len(t.steps)))
