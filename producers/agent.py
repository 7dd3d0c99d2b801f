"""``teachstream agent``: the capture agent's pipeline thread and its wiring (edge).

Listener callbacks enqueue raw input and wake this loop; it feeds the input to the pure
:class:`Recorder` together with the focused window, and hands the recorder's events and
frame requests to the :class:`Outbox`, which numbers them and appends them to the spool
(group commit: one write every 0.2 s, an fsync a second). The :class:`Sender` thread moves spooled records
to Kafka. The loop sleeps in ``select`` until there is work: input, a focus or title change
pushed by the X server, a control command, or its next deadline (the pointer sample, a held
move, a keyframe, the consent check). The control socket's thread only changes the pause
state and wakes the loop, which applies it at once.

Consent and policy: the decision on this device (``consent.json``, read every second) and the
ledger on ``control.consent`` (followed by :class:`Directives`, which wakes the loop on every
record) are combined by :func:`in_force`; with the pause, :func:`producers.core.gate.next_gate`
decides from it which listeners run and what queued input still counts when they stop.
Which windows a frame blacks out and lists is :mod:`producers.core.frames`' decision. A
policy published on ``control.policy`` replaces the configured one. A local decision the
ledger lacks goes to ``control.consent`` through the spool, so it reaches the ledger once
Kafka answers. Every "now" comes from the agent's ``clock`` (the wall clock by default).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import resource
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from producers import consent
from producers.browser_windows import BrowserWindows
from producers.capture import InputCapture
from producers.control_socket import ControlServer
from producers.core import transparency
from producers.core.browser import message_windows
from producers.core.coalesce import MoveCoalescer, PointerSampler
from producers.core.consent import admits, in_force
from producers.core.frames import on_monitor, plan_frame, takes_frames
from producers.core.gate import ALL_SCOPES, Gate, Turn, admitted, next_gate, pause_in_force, wants_capture
from producers.core.heartbeat import Reading, beat
from producers.core.inputs import RawButton, RawInput
from producers.core.policy import Standing, published, standing
from producers.core.recorder import Emit, Output, Recorder
from producers.core.status import AgentStatus, describe
from producers.core.triggers import FrameDeduper, FrameTrigger
from producers.directives import Directives
from producers.outbox import FRAMES, Outbox
from producers.publisher import Publisher
from producers.screen import Screens
from producers.sender import Sender
from producers.settings import AgentSettings
from producers.spool import Spool
from producers.waker import Waker
from producers.windows import window_source
from schemas.codec import Codec
from schemas.control_records import CaptureScope, ConsentRecord, Policy
from schemas.pseudonym import device_pseudonym, user_pseudonym
from schemas.records import AvroRecord, to_avro

log = logging.getLogger(__name__)
CONSENT_POLL_S, SYNC_S, BATCH_S, COMMIT_S = 1.0, 1.0, 0.05, 0.2
PAGE = "what-is-captured.html"


class Agent:
    """``clock`` gives "now" in POSIX seconds: the input's timestamps, the gate, pauses, frames."""

    def __init__(self, settings: AgentSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = s = settings
        self.clock = clock
        key = s.pseudonym_key.get_secret_value().encode()
        self.user_id = user_pseudonym(key, s.user())
        self.device_id = device_pseudonym(key, s.host())
        self.state_dir = s.agent_state_dir
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.configured = self.active = s.active_policy()
        self.waker = Waker()
        self.windows = BrowserWindows(window_source(s.agent_display), self._is_browser, self.waker.set)
        self.screens = Screens(s.agent_screenshot_scale, s.agent_jpeg_quality)
        self.recorder = Recorder(
            self.active.capture,
            MoveCoalescer(s.agent_move_hz),
            FrameTrigger(s.agent_keyframe_seconds, s.agent_burst_gap_seconds),
        )
        self.dedupe = FrameDeduper()
        self.inputs: deque[RawInput] = deque()
        self.capture = InputCapture(self.inputs, s.agent_queue_max, self.waker.set, clock)
        self.pointer = PointerSampler(s.agent_move_hz)
        self.spool = Spool(self.state_dir / "spool", int(s.agent_spool_max_mb * 1024 * 1024))
        self.codec = Codec.from_url(s.schema_registry_url)
        self.outbox = Outbox(self.state_dir, self.spool, self.codec, self.device_id, self.user_id, s.identities())
        self.publisher = Publisher(s.kafka(), f"teachstream-agent-{self.device_id}", {"message.timeout.ms": 0})
        self.sender = Sender(self.spool, self.publisher, s.topic)
        self.control = ControlServer(self.state_dir, self._on_control)
        self.directives = Directives(s, self.user_id, self.waker.set)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._paused_until: float | None = None  # written by the control thread
        self._local: ConsentRecord | None = None  # this device's decision, read every CONSENT_POLL_S
        self._consent: ConsentRecord | None = None  # the decision in force
        self._published: Policy | None = None
        self._standing = Standing(None, None, "")
        self._allowed = ALL_SCOPES  # the scopes the policy in force lets capture
        self._beat: Reading | None = None  # the counters at the previous heartbeat
        self._waiting_since: float | None = None  # records have been waiting to be sent since
        self._gate = Gate()  # whether capturing, and the scopes the listeners run for
        self._focus_stale = False  # a focus or title change arrived and was not looked up yet
        self._committed = 0.0

    # -- control (runs on the control socket's thread) ------------------------------------
    def _on_control(self, req: dict[str, Any]) -> dict[str, Any]:
        cmd = req.get("cmd")
        if cmd == "browser":  # the browser extension's report, through its native messaging host
            try:
                source, windows = message_windows(req)
            except ValueError as exc:
                return {"ok": False, "text": f"bad browser report: {exc}"}
            self.windows.report(source, windows)
            return {"ok": True}
        if cmd == "pause":
            minutes = req.get("minutes")
            with self._lock:
                self._paused_until = self.clock() + float(minutes) * 60 if minutes else float("inf")
        elif cmd == "resume":
            with self._lock:
                self._paused_until = None
        elif cmd not in ("status", "transparency"):
            return {"ok": False, "text": f"unknown command {cmd!r}; use pause, resume, status or transparency"}
        self.waker.set()
        deadline = time.monotonic() + 1.0  # answer once the pipeline has applied it
        while cmd != "status" and self._capturing != self._should_capture(self.clock()) and time.monotonic() < deadline:
            time.sleep(0.01)
        status, now = self.status(), self.clock()
        if cmd == "transparency":
            return {"ok": True, "state": status.state, "html": transparency.html(status, self.active, now)}
        text = describe(status, now)
        if cmd == "status":
            text = f"{text}\n\n{transparency.text(status, self.active, now)}"
        return {"ok": True, "state": status.state, "text": text}

    def _is_browser(self, app: str) -> bool:
        return self.active.capture.is_browser(app)  # the policy in force now (a published one may replace it)

    def status(self) -> AgentStatus:
        r = self.recorder
        return AgentStatus(
            consent=self._consent,
            paused_until=self._paused_until,
            app=r.context.app if r.context else None,
            verdict=self.windows.why if self.windows.why and not r.verdict.allowed else r.verdict.reason,
            window_allowed=r.verdict.allowed,
            screenshots=self.active.screenshots,
            events=self.outbox.events,
            frames=self.outbox.frames,
            delivered=self.publisher.stats.delivered,
            spooled=self.outbox.queued + self.spool.unread + self.sender.in_flight,
            dropped=self.spool.dropped + self.capture.dropped,
            failed=self.sender.failed,
            broker_down=self.publisher.stats.broker_down,
            user_id=self.user_id,
            device_id=self.device_id,
            halted=self._standing.halted,
            policy_version=self._published.version if self._published is not None else None,
            policy_note=self._standing.note,
            browsers=self.windows.sources(),
        )

    @property
    def _capturing(self) -> bool:
        return self._gate.capturing

    @property
    def _listening(self) -> frozenset[CaptureScope]:
        return self._gate.listening

    def _pause(self, now: float) -> float | None:
        """The pause in force at ``now``; one that ran out is forgotten."""
        with self._lock:
            self._paused_until = pause_in_force(self._paused_until, now)
            return self._paused_until

    def _should_capture(self, now: float) -> bool:
        return wants_capture(self._consent, self._pause(now), now, self._standing.halted is not None, self._allowed)

    # -- the pipeline thread --------------------------------------------------------------
    def stop(self) -> None:
        """Ask :meth:`run` to finish (safe from a signal handler or another thread)."""
        self.stopping.set()
        self.waker.set()

    def run(self) -> None:
        if self.settings.metrics_port:
            self._serve_metrics(self.settings.metrics_port)
        self.sender.start()
        self.control.start()
        self.directives.start()
        log.info("capture agent started for device %s (state in %s)", self.device_id, self.state_dir)
        last_consent = last_sync = 0.0
        next_beat = self.clock()
        self._write_page()
        try:
            while not self.stopping.is_set():
                now = self.clock()
                if now - last_consent >= CONSENT_POLL_S:
                    self._local = consent.load(self.state_dir)
                    self._send_local(now)
                    last_consent = now
                self._follow(now)
                self._apply_gate(now)
                if self._capturing:
                    self._step(now)
                if self.outbox.queued and (now - self._committed >= COMMIT_S or self.outbox.queued >= 500):
                    self._commit(now)
                if now - last_sync >= SYNC_S:
                    self.spool.sync()
                    last_sync = now
                if now >= next_beat:
                    self._send_heartbeat(now)
                    next_beat = now + self.settings.agent_heartbeat_seconds
                commit = self._committed + COMMIT_S if self.outbox.queued else float("inf")
                self._sleep(min(last_consent + CONSENT_POLL_S, last_sync + SYNC_S, commit, next_beat))
        finally:
            self.close()

    def _follow(self, now: float) -> None:
        """Take up the decision in force and how the published policies stand (the newest
        valid one, or why capture halts); the page follows both."""
        record = in_force(self.user_id, self._local, self.directives.consent())
        valid, rejected = self.directives.policy()
        stand = standing(valid, rejected, bool(self.directives.keys), datetime.fromtimestamp(now, UTC))
        if record == self._consent and stand == self._standing:
            return
        policy = stand.policy if stand.halted is None else self._published
        if policy is not self._published:
            self._published = policy
            self.active = self.configured if policy is None else published(policy, self.settings.agent_default_denies)
            self._allowed = frozenset(policy.scopes) or ALL_SCOPES if policy is not None else ALL_SCOPES
            self.screens.scale, self.screens.quality = self.active.screenshot_scale, self.active.jpeg_quality
            self._handle(self.recorder.set_policy(now, self.active.capture, self.active.keyframe_seconds))
            log.info("capture policy now: %s", self.active.version)
        if stand.halted != self._standing.halted:
            if stand.halted is None:
                log.info("capture no longer halted by the policy: %s", stand.note)
            else:
                log.warning("capture halted: %s", stand.halted)
        self._standing = stand
        if record != self._consent:
            self._consent = record
            state = "none" if record is None else f"{record.state.value} ({record.source})"
            log.info("consent in force: %s", state)
        self._write_page()

    def _send_local(self, now: float) -> None:
        """A decision made on this device while Kafka was away goes to the ledger through the spool."""
        local = self._local
        if local is None or local.user_id != self.user_id or consent.is_published(self.state_dir, local):
            return
        self._to_spool("control.consent", self.user_id, local, now)
        consent.mark_published(self.state_dir, local)

    def _send_heartbeat(self, now: float) -> None:
        """A heartbeat to ``agents.heartbeat``, through the spool like every record."""
        status = self.status()
        waiting = status.spooled > 0
        if not waiting:
            self._waiting_since = None
        elif self._waiting_since is None:
            self._waiting_since = now
        reading = self._reading(now, status)
        heartbeat = beat(status, _version(), reading, self._beat)
        self._beat = reading
        self._to_spool("agents.heartbeat", self.device_id, heartbeat, now)

    def _reading(self, now: float, status: AgentStatus) -> Reading:
        """The agent's counters at ``now`` (for a heartbeat, or a scrape of its metrics)."""
        return Reading(
            now,
            self.outbox.events,
            self.outbox.frames,
            status.dropped,
            self.spool.dropped_by_topic[FRAMES],
            time.process_time(),
            _rss_bytes(),
            self.spool.size,
            self._waiting_since,
        )

    def _serve_metrics(self, port: int) -> None:
        """Prometheus metrics on 127.0.0.1:``port`` only (``metrics_bind`` is for servers: the device's
        numbers stay on the device), read at each scrape. Imported here: off by default, it costs nothing."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        from prometheus_client.registry import Collector

        from producers.core.metrics import metrics
        from runtime.metrics import expose

        agent = self

        class AgentMetrics(Collector):
            def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
                status = agent.status()
                families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
                for m in metrics(agent._reading(agent.clock(), status), status):
                    if m.name not in families:
                        kind = CounterMetricFamily if m.kind == "counter" else GaugeMetricFamily
                        families[m.name] = kind(m.name, m.help, labels=[k for k, _ in m.labels])
                    families[m.name].add_metric([v for _, v in m.labels], m.value)
                yield from families.values()

        expose(AgentMetrics(), port, "127.0.0.1")

    def _to_spool(self, topic: str, key: str, record: AvroRecord, now: float) -> None:
        """A control or health record to ``topic`` through the spool, committed at once."""
        self.spool.append(topic, key.encode(), self.codec.encode(record.AVRO_NAME, to_avro(record), topic))
        self._commit(now)

    def _write_page(self) -> None:
        page = transparency.html(self.status(), self.active, self.clock())
        tmp = self.state_dir / f"{PAGE}.tmp"
        tmp.write_text(page)
        tmp.replace(self.state_dir / PAGE)

    def _commit(self, now: float) -> None:
        """Group commit: the queued events into the spool, in one write, and the sender woken."""
        self.outbox.flush()
        self.spool.flush()
        self.sender.wake()
        self._committed = now

    def _step(self, now: float) -> None:
        """Handle what arrived since the last wake, then the deadlines that are due."""
        if self.windows.changed() or self._focus_stale:
            self._focus_stale = False
            self._handle(self.recorder.focus(now, self.windows.focused()))
        for raw in self._drain():
            if not admits(raw, self._listening):
                continue
            if isinstance(raw, RawButton) and raw.pressed:
                self.pointer.activity(raw.t)
            self._handle(self.recorder.feed(raw))
        now = self.clock()
        mouse = CaptureScope.MOUSE in self._listening
        sample = mouse and self.capture.samples_pointer and now >= self.pointer.due(now)
        if sample and (move := self.pointer.sample(now, *self.windows.pointer())) is not None:
            self._handle(self.recorder.feed(move))
        self._handle(self.recorder.tick(now))

    def _sleep(self, deadline: float) -> None:
        """Wait for a press, an X event, a command, or ``deadline`` (earlier while capturing).

        Only presses (which may trigger a screenshot) wake the loop at once; other input is
        handled in batches with the next wake, at most ``BATCH_S`` later.
        """
        now = self.clock()
        if self._capturing:
            deadline = min(deadline, self.pointer.due(now) if self.capture.samples_pointer else now + 0.25)
            if (pause := self.recorder.pause_due()) is not None:
                deadline = min(deadline, pause)
            if (held := self.recorder.moves.due_at()) is not None:
                deadline = min(deadline, held)
            if self.inputs:  # inputs that did not wake us (releases, scrolls, moves) wait at most BATCH_S
                deadline = min(deadline, self.inputs[0].t + BATCH_S)
        self._focus_stale = self.windows.changed() or self._focus_stale  # (events read by earlier requests)
        if self._capturing and self._focus_stale:
            return
        select.select([self.waker.fileno(), self.windows.fileno()], [], [], max(0.0, deadline - now))
        self.waker.clear()

    def _apply_gate(self, now: float) -> None:
        """Open, close or rescope the gate as :func:`next_gate` decides, and act on it."""
        halted = self._standing.halted is not None
        change = next_gate(self._consent, self._pause(now), now, self._gate, halted, self._allowed)
        if change is None:
            return
        if change.cutoff is not None:  # the listeners ran: what they queued before the cut-off still counts
            self.capture.stop()
            for raw in admitted(self._drain(), change.cutoff, self._listening):
                self._handle(self.recorder.feed(raw))
        scopes = change.gate.listening
        self._gate = Gate(self._capturing, scopes)  # the new scopes first: frames taken below obey them
        if change.gate.capturing:
            self.capture.start(CaptureScope.KEYS in scopes, CaptureScope.MOUSE in scopes)
        if change.turn is Turn.RESCOPED:
            log.info("capture on for %s", ", ".join(sorted(s.value.lower() for s in scopes)))
            return
        if change.turn is Turn.ON:
            self.pointer.reset()
            self._focus_stale = False
            self._handle(self.recorder.set_paused(now, False))
            self._handle(self.recorder.focus(now, self.windows.focused()))
        elif change.turn is Turn.PAUSED:
            self._handle(self.recorder.set_paused(now, True))
        else:
            self.recorder.context = None  # consent withdrawn or capture halted: start afresh after
        self._gate = change.gate
        self.dedupe.forget()
        log.info("capture %s", change.turn.value)

    def _drain(self) -> list[RawInput]:
        items: list[RawInput] = []
        while self.inputs:
            items.append(self.inputs.popleft())
        return items

    def _handle(self, outputs: list[Output]) -> None:
        for out in outputs:
            if isinstance(out, Emit):
                self.outbox.event(out.t, out.payload, out.context)
            else:
                self._shoot(out.t, out.trigger)

    def _shoot(self, t: float, trigger: str) -> None:
        if not takes_frames(self.active, self._listening):
            return
        focused = self.windows.focused()  # a frame never shows a window that just became denied
        if focused != self.recorder.context:
            self._handle(self.recorder.focus(self.clock(), focused))
        if self.recorder.suppressed:
            return
        visible = self.windows.visible()
        plan = plan_frame(visible, self.active.capture, self.windows.address_bars(visible))
        for shot in self.screens.grab(plan.blackout, self.dedupe.is_new):
            windows = on_monitor(plan.listed, shot.monitor)
            self.outbox.frame(t, trigger, shot, self.screens.scale, windows, plan.redactions)
            self._commit(self.clock())  # frames are rare and large: to the sender at once

    def close(self) -> None:
        self.capture.stop()
        self.control.stop()
        self.directives.stop()
        self.outbox.flush(held=True)  # key events held as a possible typed identity go too
        self._commit(self.clock())
        self.sender.stop()
        self.spool.close()
        self.waker.close()
        self.screens.close()
        self.windows.close()
        log.info("capture agent stopped; %d records wait in the spool", self.spool.unread)


def _rss_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


@functools.cache
def _version() -> str:
    try:
        return importlib.metadata.version("teachstream")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
