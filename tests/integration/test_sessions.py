"""Sessionization on the real stack: interleaved devices in, the expected trajectories out."""

from __future__ import annotations

import signal
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.control_records import Tick
from schemas.events import InteractionEvent, KeyEvent, MouseButton, WindowContext
from schemas.records import from_avro, to_avro
from schemas.trajectory import Trajectory
from tests.integration.conftest import Isolated, wait_for

FAST_SESSIONS = {
    "TEACHSTREAM_SESSION_GAP_S": "4",
    "TEACHSTREAM_SESSION_GRACE_S": "1",
    "TEACHSTREAM_TICK_INTERVAL_S": "1",
    "TEACHSTREAM_TICK_LAG_S": "0",
}


def scripted_device(device: str, start: datetime, bursts: int) -> list[InteractionEvent]:
    """Bursts of click + typing 'hi', 10 s apart (longer than the 4 s gap): one session per burst."""
    out, seq, ctx = [], 0, WindowContext("xterm", f"{device} terminal", 7)
    for burst in range(bursts):
        t = start + timedelta(seconds=10 * burst)
        for dt, payload in [
            (0.0, MouseButton("left", True, 100, 100)),
            (0.1, MouseButton("left", False, 100, 100)),
            (0.3, KeyEvent(True, "h", "h")),
            (0.35, KeyEvent(False, "h")),
            (0.4, KeyEvent(True, "i", "i")),
            (0.45, KeyEvent(False, "i")),
        ]:
            seq += 1
            out.append(InteractionEvent(device, f"u-{device}", seq, t + timedelta(seconds=dt), payload, ctx))
    return out


def test_interleaved_devices_become_the_expected_trajectories(isolated: Isolated, tmp_path: Path) -> None:
    isolated.grant("u-d-a", "u-d-b", "u-d-c")
    isolated.start(
        "streams",
        log=tmp_path / "streams.log",
        extra_env={"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), **FAST_SESSIONS},
    )
    start = datetime.now(UTC) - timedelta(seconds=30)
    devices = {
        d: scripted_device(d, start + timedelta(seconds=i), bursts=2) for i, d in enumerate(["d-a", "d-b", "d-c"])
    }
    merged = sorted((e for events in devices.values() for e in events), key=lambda e: e.event_time)
    producer = isolated.producer()
    for e in merged:
        producer.produce(
            isolated.topic("interactions.raw"),
            isolated.codec.encode("InteractionEvent", to_avro(e)),
            key=e.device_id.encode(),
        )
    assert producer.flush(30) == 0

    records = isolated.read_all("trajectories", expect=6, timeout_s=120)
    trajectories = [from_avro(Trajectory, isolated.codec.decode(m.value()).value) for m in records]
    assert len(trajectories) == 6, [t.session_id for t in trajectories]
    assert len({t.session_id for t in trajectories}) == 6
    for t in trajectories:
        assert [s.action for s in t.steps] == ["click", "type"]
        assert t.steps[1].text == "hi" and t.steps[0].app == "xterm"
        assert t.event_count == 6 and t.end_reason == "gap"
        assert t.user_id == "u-" + t.device_id
    by_device = sorted((t.device_id, t.start_time) for t in trajectories)
    assert [d for d, _ in by_device] == ["d-a", "d-a", "d-b", "d-b", "d-c", "d-c"]


def _wait_for_text(path: Path, text: str, timeout_s: float = 90) -> None:
    wait_for(lambda: path.exists() and text in path.read_text(errors="replace"), timeout_s, f"{text!r} in {path.name}")


def test_a_worker_killed_mid_session_loses_and_duplicates_nothing(isolated: Isolated, tmp_path: Path) -> None:
    slow = {**FAST_SESSIONS, "TEACHSTREAM_SESSION_GAP_S": "60", "TEACHSTREAM_SESSION_GRACE_S": "5"}
    logs = {name: tmp_path / f"{name}.log" for name in ("a", "b", "a2")}
    isolated.grant(*(f"u-d-{i:02d}" for i in range(12)))

    def worker(name: str) -> subprocess.Popen[bytes]:
        env = {"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / name), **slow}
        return isolated.start("streams", log=logs[name], extra_env=env)

    a, _b = worker("a"), worker("b")
    _wait_for_text(logs["a"], "Worker]: Ready")
    _wait_for_text(logs["b"], "Worker]: Ready")
    t0 = datetime.now(UTC)
    devices = [f"d-{i:02d}" for i in range(12)]
    events = {
        d: scripted_device(d, t0, bursts=1) + scripted_device(d, t0 + timedelta(seconds=20), bursts=1) for d in devices
    }
    for d in devices:  # the second burst continues the same session (20 s < 60 s gap)
        events[d] = [replace(e, seq=i + 1) for i, e in enumerate(events[d])]
    producer = isolated.producer()

    def send(part: int) -> None:
        for d in devices:
            for e in events[d][part * 6 : part * 6 + 6]:
                producer.produce(
                    isolated.topic("interactions.raw"),
                    isolated.codec.encode("InteractionEvent", to_avro(e)),
                    key=d.encode(),
                )
        assert producer.flush(30) == 0

    send(0)
    wait_for(lambda: isolated.end_offsets("interactions.clean") >= 72, 60, "the first half in interactions.clean")
    time.sleep(3)  # let both workers take the first halves into their tables and commit
    a.send_signal(signal.SIGKILL)
    a.wait(10)
    worker("a2")
    send(1)
    wait_for(lambda: isolated.end_offsets("interactions.clean") >= 144, 90, "the second half in interactions.clean")
    time.sleep(3)
    future = datetime.now(UTC) + timedelta(minutes=5)  # the stream clock jumps: every session can close now
    for p in range(6):
        producer.produce(  # into the raw topic: the clean stage passes the clock on
            isolated.topic("interactions.raw"),
            isolated.codec.encode("Tick", to_avro(Tick(p, future, "test"))),
            partition=p,
        )
    assert producer.flush(30) == 0

    records = isolated.read_all("trajectories", expect=12, timeout_s=120)
    time.sleep(5)
    records = isolated.read_all("trajectories", expect=len(records) + 1, timeout_s=3)  # anything extra?
    trajectories = [from_avro(Trajectory, isolated.codec.decode(m.value()).value) for m in records]
    letters = [
        isolated.codec.decode(m.value()).value for m in isolated.read_all("deadletter", expect=10**9, timeout_s=2)
    ]
    assert letters == [], [(d["stage"], d["reason"]) for d in letters][:5]  # nothing late, nothing lost
    assert sorted(t.device_id for t in trajectories) == devices  # each session exactly once
    for t in trajectories:
        assert t.event_count == 12, (t.device_id, t.event_count)  # and complete
        assert [s.action for s in t.steps] == ["click", "type", "click", "type"]
