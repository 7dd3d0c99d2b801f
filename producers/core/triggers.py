"""When to take a screenshot, and which frames to skip (pure core).

Frames are worth their bytes when they show the state a model must act on: right before
a click, at the start of a typing burst, after a focus change, and as a keyframe every
``keyframe_s`` seconds while the person is active. Two frames are never closer than
``min_interval_s``; a frame identical to the previous one of its monitor is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLICK, TYPING, FOCUS, KEYFRAME = "click", "typing", "focus", "keyframe"


@dataclass
class FrameTrigger:
    keyframe_s: float = 10.0
    burst_gap_s: float = 2.0
    min_interval_s: float = 0.25
    _last_frame: float = float("-inf")
    _last_key: float = float("-inf")
    _last_input: float = float("-inf")

    def on_click(self, t: float) -> str | None:
        self._last_input = t
        return self._fire(t, CLICK)

    def on_key(self, t: float) -> str | None:
        starts_burst = t - self._last_key >= self.burst_gap_s
        self._last_key = self._last_input = t
        return self._fire(t, TYPING) if starts_burst else None

    def on_input(self, t: float) -> None:
        """Any other input (moves, scrolls) keeps the person active."""
        self._last_input = t

    def on_focus(self, t: float) -> str | None:
        return self._fire(t, FOCUS)

    def on_tick(self, t: float) -> str | None:
        active = t - self._last_input < self.keyframe_s
        if active and t - self._last_frame >= self.keyframe_s:
            return self._fire(t, KEYFRAME)
        return None

    def reset(self) -> None:
        """Capture stopped: the next typing starts a burst, the next tick waits for activity."""
        self._last_key = self._last_input = float("-inf")

    def _fire(self, t: float, trigger: str) -> str | None:
        if t - self._last_frame < self.min_interval_s:
            return None
        self._last_frame = t
        return trigger


@dataclass
class FrameDeduper:
    """Remembers the digest of the last frame sent per monitor."""

    _last: dict[int, bytes] = field(default_factory=dict)
    skipped: int = 0

    def is_new(self, monitor: int, digest: bytes) -> bool:
        if self._last.get(monitor) == digest:
            self.skipped += 1
            return False
        self._last[monitor] = digest
        return True

    def forget(self) -> None:
        self._last.clear()
