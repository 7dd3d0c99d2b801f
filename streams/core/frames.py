"""The clean stage for screen frames: drop frames of denied windows, redact what the rest show (pure core).

A frame whose focused window is denied by the capture policy (its app, or a title pattern)
is dropped and counted as ``filter.denied_frames``: the agent blanks such windows and should
never send the frame, this is the second line of defense. Every other frame goes on with its
pixels passed through ``redact_pixels`` and every window title redacted like the titles of
interaction events. Consent is not decided here: the agent checks it before.

``redact_pixels`` is where redaction of what a frame shows plugs in. It gets the frame as
captured (titles not yet redacted, so it can look for them on screen) and returns it with its
image redacted (and what was hidden listed in ``redactions``); by default it keeps the pixels.
Anything it or the title redaction raises propagates: the caller dead-letters the frame
(fail closed), nothing unredacted goes downstream.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from schemas.capture_policy import CapturePolicy, HostRules
from schemas.events import ScreenFrame
from streams.core.cleaner import TitleRedactor

PixelRedactor = Callable[[ScreenFrame], ScreenFrame]


def keep_pixels(frame: ScreenFrame) -> ScreenFrame:
    """The default ``redact_pixels``: the frame as it came."""
    return frame


@dataclass(frozen=True)
class CleanedFrame:
    """A frame that may go downstream, redacted, and what its redaction counted."""

    frame: ScreenFrame
    counts: Mapping[str, int]


@dataclass(frozen=True)
class DroppedFrame:
    """A frame that must not go downstream: why (never quoting a title), and what to count."""

    reason: str
    counts: Mapping[str, int]


FrameOutcome = CleanedFrame | DroppedFrame


class FrameCleaner:
    """Decides, for one frame at a time, whether it goes on and with which pixels and titles."""

    def __init__(
        self,
        policy: CapturePolicy,
        titles: TitleRedactor,
        redact_pixels: PixelRedactor = keep_pixels,
        hosts: Callable[[datetime], HostRules | None] = lambda _: None,
    ) -> None:
        self.policy, self.titles, self.redact_pixels = policy, titles, redact_pixels
        self.hosts = hosts  # the site rules of the signed policy in force at a moment (None: none seen)

    def clean(self, frame: ScreenFrame) -> FrameOutcome:
        focused = next((w for w in frame.windows if w.focused), None)
        if focused is not None:
            verdict = self.policy.decide_window(focused.app, focused.title, focused.host)
            rules = self.hosts(frame.event_time) if focused.host is not None and verdict.allowed else None
            if rules is not None:
                verdict = rules.decide(focused.host or "")
            if not verdict.allowed:
                return DroppedFrame(verdict.reason, {"filter.denied_frames": 1})
        before = len(frame.removed)
        frame = self.redact_pixels(frame)
        counts: Counter[str] = Counter(f"redaction.frame.{box.label}" for box in frame.removed[before:])
        windows = []
        for w in frame.windows:
            title, labels = self.titles(w.title)
            counts.update(f"redaction.frame_title.{label}" for label in labels)
            windows.append(replace(w, title=title))
        return CleanedFrame(replace(frame, windows=tuple(windows)), counts)
