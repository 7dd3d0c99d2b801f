"""The agent's pure core: move coalescing, frame triggers, key state, the recorder, sequence numbers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from producers.core.coalesce import MoveCoalescer
from producers.core.inputs import KeyState, RawButton, RawKey, RawMove, RawScroll
from producers.core.recorder import DENIED, PAUSED, Emit, Recorder, Shoot
from producers.core.sequence import SeqAllocator
from producers.core.status import AgentStatus, describe
from producers.core.triggers import FrameDeduper, FrameTrigger
from schemas.control_records import ConsentRecord, ConsentState
from schemas.events import (
    TYPING_PAUSE_S,
    CaptureSuppressed,
    KeyEvent,
    MouseButton,
    MouseMove,
    TypingPause,
    WindowContext,
    WindowFocus,
)

XTERM = WindowContext("xterm", "alice@host: ~", 1)
VAULT = WindowContext("keepassxc", "secrets.kdbx - KeePassXC", 2)


def test_moves_at_120hz_are_coalesced_to_the_rate_and_the_last_one_before_a_click_is_kept() -> None:
    c = MoveCoalescer(20.0)
    emitted = [m for i in range(120) if (m := c.move(RawMove(i / 120, i, i))) is not None]
    assert 19 <= len(emitted) <= 21
    last = c.flush()
    assert last is not None and last.x == 119
    assert c.flush() is None


@given(st.lists(st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=200))
def test_coalesced_moves_are_at_least_one_interval_apart_and_the_last_survives(times: list[float]) -> None:
    c = MoveCoalescer(20.0)
    out = [m for i, t in enumerate(sorted(times)) if (m := c.move(RawMove(t, i, 0))) is not None]
    if (m := c.flush()) is not None:
        out.append(m)
    gaps = [b.t - a.t for a, b in itertools.pairwise(out)]
    assert all(g >= 0.05 - 1e-9 for g in gaps[:-1])
    assert out[-1].x == len(times) - 1


def test_frame_triggers() -> None:
    f = FrameTrigger(keyframe_s=10, burst_gap_s=2, min_interval_s=0.25)
    assert f.on_key(100.0) == "typing"
    assert f.on_key(100.2) is None  # same burst
    assert f.on_click(100.3) == "click"
    assert f.on_click(100.4) is None  # closer than min_interval
    assert f.on_key(103.0) == "typing"  # new burst after a 2 s gap
    assert f.on_tick(105.0) is None
    f.on_input(110.0)
    assert f.on_tick(113.0) == "keyframe"  # active within the last 10 s
    assert f.on_tick(130.0) is None  # idle: no keyframes
    assert f.on_focus(131.0) == "focus"


def test_identical_frames_are_skipped_per_monitor() -> None:
    d = FrameDeduper()
    assert d.is_new(1, b"a") and d.is_new(2, b"a")
    assert not d.is_new(1, b"a")
    assert d.is_new(1, b"b") and d.skipped == 1


def test_key_state_marks_repeats_and_modifiers_and_shifted_releases() -> None:
    k = KeyState()
    assert k.press("shift_l") == (False, ())
    assert k.press("!") == (False, ("shift",))
    assert k.release("shift_l") == ()
    assert k.release("1") == ()  # X names the release of "!" by its unshifted key
    assert k.held == []
    assert k.press("a") == (False, ())
    assert k.press("a") == (True, ())  # auto-repeat
    k.press("caps_lock")
    assert k.modifiers() == ("caps_lock",)


def payloads(outs: list[Emit | Shoot]) -> list[object]:
    return [o.payload if isinstance(o, Emit) else o.trigger for o in outs]


def test_recorder_typing_clicking_and_moves() -> None:
    r = Recorder()
    assert payloads(r.focus(0.0, XTERM)) == ["focus", WindowFocus(None)]
    out = r.feed(RawKey(1.0, True, "h", "h")) + r.feed(RawKey(1.05, False, "h"))
    assert payloads(out) == ["typing", KeyEvent(True, "h", "h"), KeyEvent(False, "h")]
    assert all(o.context == XTERM for o in out if isinstance(o, Emit))
    r.feed(RawMove(2.0, 10, 10))
    assert r.feed(RawMove(2.01, 11, 11)) == []  # held
    out = r.feed(RawButton(2.02, "left", True, 11, 11))
    assert payloads(out) == [MouseMove(11, 11), "click", MouseButton("left", True, 11, 11)]
    assert payloads(r.feed(RawScroll(2.5, 11, 11, 0, 1)))[0].dy == 1  # type: ignore[attr-defined]


def test_a_typing_pause_marker_follows_the_last_press_once_and_not_after_a_focus_change() -> None:
    r = Recorder()
    r.focus(0.0, XTERM)
    r.feed(RawKey(1.0, True, "a", "a"))
    r.feed(RawKey(1.1, False, "a"))
    r.feed(RawKey(2.0, True, "b", "b"))
    assert r.pause_due() == 2.0 + TYPING_PAUSE_S
    assert r.tick(2.0 + TYPING_PAUSE_S - 0.01) == []  # a release or the pointer do not count, only presses
    out = r.tick(7.5)
    assert payloads(out) == [TypingPause(5500)] and out[0].context == XTERM  # type: ignore[union-attr]
    assert r.tick(20.0) == [] and r.pause_due() is None  # once per pause
    r.feed(RawKey(21.0, True, "c", "c"))
    r.focus(22.0, WindowContext("firefox", "News", 7))  # the focus change already ends the segment
    assert r.pause_due() is None and r.tick(30.0) == []


def test_denied_window_yields_no_characters_and_no_frames_only_a_marker_without_its_title() -> None:
    r = Recorder()
    r.focus(0.0, XTERM)
    assert r.focus(1.0, VAULT) == []
    assert r.suppressed == DENIED
    hidden = [r.feed(RawKey(1.1 + i / 10, True, c, c)) for i, c in enumerate("hunter2")]
    hidden += [r.feed(RawButton(2.0, "left", True, 5, 5)), r.tick(30.0)]
    assert all(h == [] for h in hidden)
    out = r.focus(4.5, XTERM)
    marker = out[0]
    assert isinstance(marker, Emit) and marker.payload == CaptureSuppressed(DENIED, 3500)
    assert marker.context == WindowContext("keepassxc", "", 2)
    assert payloads(out)[1:] == ["focus", WindowFocus("keepassxc")]
    assert r.suppressed_inputs == 8


def test_a_title_change_to_a_sign_in_page_suppresses_in_the_same_window() -> None:
    r = Recorder()
    r.focus(0.0, WindowContext("firefox", "News", 7, "news.example.com"))
    assert r.focus(1.0, WindowContext("firefox", "Sign in - Bank", 7, "bank.example.com")) == []
    assert r.feed(RawKey(1.2, True, "p", "p")) == []
    out = r.focus(2.0, WindowContext("firefox", "Account - Bank", 7, "bank.example.com"))
    assert payloads(out) == [CaptureSuppressed(DENIED, 1000)]  # same window: no focus event


def test_pause_and_resume() -> None:
    r = Recorder()
    r.focus(0.0, XTERM)
    r.feed(RawMove(0.5, 1, 1))
    r.feed(RawMove(0.51, 2, 2))
    out = r.set_paused(1.0, True)
    assert payloads(out) == [MouseMove(2, 2)]  # what happened before the pause is kept
    assert r.feed(RawKey(1.5, True, "x", "x")) == []
    assert payloads(r.set_paused(61.0, False)) == [CaptureSuppressed(PAUSED, 60000)]
    assert payloads(r.feed(RawKey(62.0, True, "y", "y")))[0] == "typing"


def test_sequence_reservations_survive_restarts_and_never_repeat() -> None:
    a = SeqAllocator(block=3)
    taken = [a.take() for _ in range(4)]
    assert [s for s, _ in taken] == [0, 1, 2, 3]
    assert [r for _, r in taken] == [3, None, None, 6]
    b = SeqAllocator.resume(6, block=3)  # crashed after handing out 3
    assert b.take() == (6, 9)


GRANT = ConsentRecord("u-1", ConsentState.GRANTED, "device-1", datetime(2024, 5, 1, tzinfo=UTC), "u-1")


def test_status_says_what_and_why() -> None:
    base = AgentStatus(GRANT, None, "xterm", "app 'xterm' is allowed", True, True, events=3)
    assert describe(base, 0).startswith("Capturing keys, mouse and screenshots of xterm")
    no = AgentStatus(None, None, None, "", True, True)
    assert "no consent" in describe(no, 0)
    paused = AgentStatus(GRANT, float("inf"), "xterm", "", True, True)
    assert describe(paused, 0).startswith("Paused") and paused.state == "paused"
    denied = AgentStatus(GRANT, None, "keepassxc", "app 'keepassxc' is on the deny list", False, True)
    assert "deny list" in describe(denied, 0) and denied.state == "suppressed"


def test_the_agent_s_metrics_are_its_totals_and_its_state_now() -> None:
    from producers.core.heartbeat import Reading
    from producers.core.metrics import STATES, metrics

    reading = Reading(1000.0, 120, 7, 5, 2, 3.5, 80 * 2**20, 4096, 990.0)
    status = AgentStatus(GRANT, None, "xterm", "app 'xterm' is allowed", True, True, spooled=4)
    by_name = {(m.name, m.labels): m for m in metrics(reading, status)}
    values = {name: m.value for (name, labels), m in by_name.items() if not labels}
    assert values == {
        "teachstream_agent_events_sent_total": 120,
        "teachstream_agent_frames_sent_total": 7,
        "teachstream_agent_dropped_total": 3,  # frames counted apart
        "teachstream_agent_frames_dropped_total": 2,
        "teachstream_agent_cpu_seconds_total": 3.5,
        "teachstream_agent_resident_memory_bytes": 80 * 2**20,
        "teachstream_agent_spool_bytes": 4096,
        "teachstream_agent_spooled_records": 4,
        "teachstream_agent_oldest_spooled_seconds": 10.0,
    }
    states = {dict(labels)["state"]: m.value for (name, labels), m in by_name.items() if labels}
    assert states == {s: float(s == "capturing") for s in STATES}
    paused = AgentStatus(GRANT, float("inf"), "xterm", "", True, True)
    assert [dict(m.labels)["state"] for m in metrics(reading, paused) if m.labels and m.value] == ["paused"]
    assert all(m.name.endswith("_total") == (m.kind == "counter") for m in metrics(reading, status))
