"""The clean stage for frames: denied focused windows drop the frame, titles are redacted, pixels go through a hook."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from schemas.capture_policy import CapturePolicy
from schemas.events import Monitor, ScreenFrame, VisibleWindow
from streams.core.cleaner import TitleRedactor
from streams.core.frames import CleanedFrame, DroppedFrame, FrameCleaner, PixelRedactor, keep_pixels

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MAIL = VisibleWindow("thunderbird", "Reply to jane.doe@example.com - Mail", 0, 0, 960, 540, focused=True)
TERMINAL = VisibleWindow("xterm", "bob@example.org: ~/src", 960, 0, 960, 540)
VAULT = VisibleWindow("KeePassXC", "Passwords - KeePassXC", 0, 540, 960, 540)


def frame(*windows: VisibleWindow) -> ScreenFrame:
    return ScreenFrame("d-1", "u-1", 7, T0, "d-1-7", "click", b"jpeg", 960, 540, Monitor(0, 0, 0, 1920, 1080), windows)


def cleaner(redact_pixels: PixelRedactor = keep_pixels) -> FrameCleaner:
    return FrameCleaner(CapturePolicy(), TitleRedactor(None), redact_pixels)


def test_every_title_of_an_allowed_frame_is_redacted_and_counted() -> None:
    out = cleaner().clean(frame(MAIL, TERMINAL))
    assert isinstance(out, CleanedFrame)
    assert [w.title for w in out.frame.windows] == ["Reply to <EMAIL> - Mail", "<EMAIL>: ~/src"]
    assert out.frame == replace(frame(MAIL, TERMINAL), windows=out.frame.windows)  # nothing else changes
    assert out.counts == {"redaction.frame_title.EMAIL": 2}


def test_a_frame_whose_focused_window_is_denied_is_dropped_without_quoting_its_title() -> None:
    focused_vault = replace(VAULT, focused=True)
    out = cleaner().clean(frame(replace(MAIL, focused=False), focused_vault))
    assert isinstance(out, DroppedFrame) and out.counts == {"filter.denied_frames": 1}
    assert "KeePassXC" in out.reason and "Passwords" not in out.reason
    by_title = cleaner().clean(frame(VisibleWindow("firefox", "Sign in - Google Accounts", 0, 0, 9, 9, True)))
    assert isinstance(by_title, DroppedFrame) and "Sign in" not in by_title.reason


def test_only_the_focused_window_decides_and_a_frame_without_focus_goes_on() -> None:
    assert isinstance(cleaner().clean(frame(MAIL, VAULT)), CleanedFrame)  # the agent blanks the unfocused vault
    out = cleaner().clean(frame(replace(MAIL, focused=False)))
    assert isinstance(out, CleanedFrame) and out.frame.windows[0].title == "Reply to <EMAIL> - Mail"
    assert cleaner().clean(frame()) == CleanedFrame(frame(), {})


def test_pixels_are_redacted_by_the_hook_which_sees_the_titles_as_captured() -> None:
    seen: list[ScreenFrame] = []

    def blank(f: ScreenFrame) -> ScreenFrame:
        seen.append(f)
        return replace(f, image=b"blanked", redactions=("EMAIL",))

    c = cleaner(redact_pixels=blank)
    out = c.clean(frame(MAIL))
    assert isinstance(out, CleanedFrame) and out.frame.image == b"blanked" and out.frame.redactions == ("EMAIL",)
    assert out.frame.windows[0].title == "Reply to <EMAIL> - Mail" and seen == [frame(MAIL)]
    assert isinstance(c.clean(frame(replace(VAULT, focused=True))), DroppedFrame) and len(seen) == 1


def test_the_pixels_are_kept_by_default_and_a_failing_hook_fails_the_frame() -> None:
    out = cleaner().clean(frame(MAIL))
    assert isinstance(out, CleanedFrame) and out.frame.image == b"jpeg" and out.frame.redactions == ()

    def broken(_: ScreenFrame) -> ScreenFrame:
        raise RuntimeError("ocr engine crashed")

    with pytest.raises(RuntimeError, match="ocr engine crashed"):  # the agent dead-letters it: fail closed
        cleaner(redact_pixels=broken).clean(frame(MAIL))
