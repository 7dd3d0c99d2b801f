"""What the agent is capturing right now, and why, in plain words (pure core)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class AgentStatus:
    consent: bool
    paused_until: float | None  # POSIX seconds; inf: until resumed
    app: str | None
    verdict: str  # why the focused window may or may not be captured
    window_allowed: bool
    screenshots: bool
    events: int = 0
    frames: int = 0
    delivered: int = 0
    spooled: int = 0  # records waiting on disk or in the Kafka client
    dropped: int = 0
    failed: int = 0
    broker_down: bool = False

    @property
    def state(self) -> str:
        if not self.consent:
            return "no-consent"
        if self.paused_until is not None:
            return "paused"
        return "capturing" if self.window_allowed else "suppressed"


def describe(s: AgentStatus, now: float) -> str:
    """A few lines for ``teachstream agent status``."""
    if not s.consent:
        head = "Not capturing anything: no consent is recorded on this device (`teachstream consent accept`)."
    elif s.paused_until is not None:
        if s.paused_until == float("inf"):
            head = "Paused: nothing is captured until you run `teachstream agent resume`."
        else:
            left = max(0, round((s.paused_until - now) / 60))
            at = datetime.fromtimestamp(s.paused_until, UTC).astimezone().strftime("%H:%M")
            head = f"Paused until {at} (about {left} min): nothing is captured; `teachstream agent resume` ends it."
    elif not s.window_allowed:
        head = (
            f"Not capturing the focused window: {s.verdict}. No keys, clicks or screenshots are recorded,"
            " only how long capture was withheld."
        )
    else:
        what = "keys, mouse and screenshots" if s.screenshots else "keys and mouse (screenshots are off)"
        head = f"Capturing {what} of {s.app or 'the desktop'}: consent is recorded and {s.verdict}."
    link = "broker unreachable, records wait in the spool" if s.broker_down else "broker reachable"
    counts = (
        f"Since start: {s.events} events, {s.frames} frames; {s.delivered} delivered, {s.spooled} waiting"
        f" ({link}), {s.dropped} dropped, {s.failed} refused by Kafka."
    )
    return f"{head}\n{counts}"
