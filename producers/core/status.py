"""What the agent is capturing right now, and why, in plain words (pure core)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from producers.core.consent import granted_scopes, scope_words
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState


@dataclass(frozen=True)
class AgentStatus:
    consent: ConsentRecord | None  # the decision in force (the newest of this device's and the ledger's)
    paused_until: float | None  # POSIX seconds; inf: until resumed
    app: str | None
    verdict: str  # why the focused window may or may not be captured
    window_allowed: bool
    screenshots: bool  # the policy allows screenshots
    events: int = 0
    frames: int = 0
    delivered: int = 0
    spooled: int = 0  # records waiting on disk or in the Kafka client
    dropped: int = 0
    failed: int = 0
    broker_down: bool = False
    user_id: str = ""
    device_id: str = ""
    halted: str | None = None  # why the policy halted capture (invalid, expired, kill switch)
    policy_version: str | None = None  # the published policy in force (None: the configured one)
    policy_note: str = ""  # how the policy stands, in words
    browsers: dict[str, int] = field(default_factory=dict)  # browser extensions that answer, with their windows

    @property
    def scopes(self) -> frozenset[CaptureScope]:
        return granted_scopes(self.consent)

    @property
    def capturable(self) -> frozenset[CaptureScope]:
        """What consent covers and the policy allows (screenshots may be off by policy)."""
        return self.scopes if self.screenshots else self.scopes - {CaptureScope.SCREENS}

    @property
    def state(self) -> str:
        if self.halted is not None:
            return "halted"
        if self.consent is None:
            return "no-consent"
        if not self.scopes:
            return "off"
        if self.paused_until is not None:
            return "paused"
        return "capturing" if self.window_allowed else "suppressed"


def when(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def recorded_by(record: ConsentRecord) -> str:
    return "by you on this device" if record.source == "device" else f"by your admin ({record.recorded_by})"


def headline(s: AgentStatus, now: float) -> str:
    """One sentence: capturing, paused or off, and why."""
    if s.halted is not None:
        return (
            f"Not capturing anything: {s.halted}. Capture resumes when your organisation publishes"
            " a newer valid policy."
        )
    if s.consent is None:
        return "Not capturing anything: no consent is recorded on this device (`teachstream consent accept`)."
    if s.consent.state is ConsentState.WITHDRAWN:
        return (
            f"Off: nothing is captured because consent was withdrawn {recorded_by(s.consent)} at "
            f"{when(s.consent.recorded_at)}; `teachstream consent accept` agrees again."
        )
    if s.paused_until is not None:
        if s.paused_until == float("inf"):
            return "Paused: nothing is captured until you run `teachstream agent resume`."
        left = max(0, round((s.paused_until - now) / 60))
        at = datetime.fromtimestamp(s.paused_until, UTC).astimezone().strftime("%H:%M")
        return f"Paused until {at} (about {left} min): nothing is captured; `teachstream agent resume` ends it."
    if not s.window_allowed:
        return (
            f"Not capturing the focused window: {s.verdict}. No keys, clicks or screenshots are recorded,"
            " only how long capture was withheld."
        )
    missing = [w for scope, w in _NOT_CAPTURED.items() if scope not in s.capturable]
    head = f"Capturing {scope_words(s.capturable)} of {s.app or 'the desktop'}: consent is recorded and {s.verdict}."
    return f"{head} Not captured: {', '.join(missing)}." if missing else head


_NOT_CAPTURED = {CaptureScope.KEYS: "keys", CaptureScope.MOUSE: "the mouse", CaptureScope.SCREENS: "screenshots"}


def describe(s: AgentStatus, now: float) -> str:
    """The headline and the counts, for ``pause``, ``resume`` and the top of ``status``."""
    link = "broker unreachable, records wait in the spool" if s.broker_down else "broker reachable"
    counts = (
        f"Since start: {s.events} events, {s.frames} frames; {s.delivered} delivered, {s.spooled} waiting"
        f" ({link}), {s.dropped} dropped, {s.failed} refused by Kafka."
    )
    return f"{headline(s, now)}\n{counts}"
