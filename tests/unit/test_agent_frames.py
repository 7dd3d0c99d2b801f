"""Which windows the agent's frames black out, list and label, and which monitor shows which window."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from producers.core.frames import DENIED_WINDOW, on_monitor, plan_frame, takes_frames
from producers.core.policy import CapturePolicy
from producers.settings import AgentSettings
from schemas.control_records import CaptureScope
from schemas.events import Monitor, VisibleWindow

POLICY = CapturePolicy()
XTERM = VisibleWindow("xterm", "alice@host: ~", 0, 0, 800, 600)
VAULT = VisibleWindow("keepassxc", "secrets.kdbx - KeePassXC", 100, 100, 400, 300, focused=True)
SIGN_IN = VisibleWindow("firefox", "Sign in - Mail", 1920, 0, 1000, 800)
LEFT, RIGHT = Monitor(1, 0, 0, 1920, 1080), Monitor(2, 1920, 0, 1920, 1080)


def test_frames_need_the_policy_and_consent_to_screenshots() -> None:
    active = AgentSettings().active_policy()
    assert takes_frames(active, frozenset({CaptureScope.SCREENS}))
    assert not takes_frames(active, frozenset({CaptureScope.KEYS, CaptureScope.MOUSE}))
    off = AgentSettings(agent_screenshots=False).active_policy()
    assert not takes_frames(off, frozenset(CaptureScope))


def test_denied_windows_are_blacked_out_and_listed_without_their_title() -> None:
    plan = plan_frame([XTERM, VAULT, SIGN_IN], POLICY)
    assert plan.blackout == [VAULT, SIGN_IN]
    assert plan.listed == [
        XTERM,
        VisibleWindow("keepassxc", "", 100, 100, 400, 300, focused=True),
        VisibleWindow("firefox", "", 1920, 0, 1000, 800),
    ]
    assert plan.redactions == (DENIED_WINDOW,)


def test_a_frame_without_denied_windows_carries_no_redaction() -> None:
    plan = plan_frame([XTERM], POLICY)
    assert (plan.blackout, plan.listed, plan.redactions) == ([], [XTERM], ())
    assert plan_frame([], POLICY).redactions == ()


def test_each_monitor_lists_the_windows_that_overlap_it() -> None:
    spanning = VisibleWindow("gimp", "image", 1800, 500, 400, 300)
    touching = VisibleWindow("clock", "09:00", 1920 - 200, 0, 200, 100)  # ends where RIGHT begins
    below = VisibleWindow("far", "away", 0, 1080, 100, 100)
    windows = [XTERM, spanning, touching, SIGN_IN, below]
    assert on_monitor(windows, LEFT) == [XTERM, spanning, touching]
    assert on_monitor(windows, RIGHT) == [spanning, SIGN_IN]


titles = st.sampled_from(["notes.txt", "Private Browsing", "Enter your password", "Inbox", "2FA code", ""])
apps = st.sampled_from(["xterm", "firefox", "keepassxc", "1password", "code"])
windows = st.builds(
    VisibleWindow,
    apps,
    titles,
    st.integers(-100, 4000),
    st.integers(-100, 2000),
    st.integers(1, 2000),
    st.integers(1, 1200),
)


@given(st.lists(windows, max_size=8))
def test_no_denied_title_is_listed_and_every_denied_window_is_blacked_out(visible: list[VisibleWindow]) -> None:
    plan = plan_frame(visible, POLICY)
    assert len(plan.listed) == len(visible)
    for shown, listed in zip(visible, plan.listed, strict=True):
        denied = not POLICY.decide_window(shown.app, shown.title).allowed
        assert (shown in plan.blackout) == denied
        assert listed.title == ("" if denied else shown.title)
        assert (listed.app, listed.x, listed.y, listed.width, listed.height) == (
            shown.app,
            shown.x,
            shown.y,
            shown.width,
            shown.height,
        )
    assert plan.redactions == ((DENIED_WINDOW,) if plan.blackout else ())
