"""Consent on a running agent (real Xvfb, xdotool, Kafka): an admin's withdrawal stops capture within 5 s,
scopes gate what is captured, and the person's real names never leave the device in window titles (published
policies: test_fleet_policy.py)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import Isolated
from tests.integration.display import CLI, AgentProc, Display, agent_env, decode_all, display, kind, typed

__all__ = ["display"]
USER, HOST = "jdoe4711", "ws-4711"


@pytest.fixture
def agent(isolated: Isolated, display: Display, tmp_path: Path) -> Iterator[AgentProc]:
    env = agent_env(
        {**isolated.env, "TEACHSTREAM_TOPIC_PREFIX": isolated.settings.topic_prefix},
        display,
        tmp_path / "state",
        user=USER,
        host=HOST,
    )
    proc = AgentProc(env, tmp_path / "agent.log")
    proc.start()
    yield proc
    proc.stop()


def test_an_admins_withdrawal_stops_capture_within_5_s(isolated: Isolated, display: Display, agent: AgentProc) -> None:
    accepted = agent.cli("consent", "accept")
    assert accepted.returncode == 0 and "device only" not in accepted.stdout, accepted.stdout + accepted.stderr
    display.window("notes", "#303030", 50, 50)
    agent.wait_capturing()
    with display.typing("the quick brown fox jumps over the lazy dog " * 30, delay_ms=60) as typist:
        time.sleep(2.0)
        withdrawn = agent.cli("consent", "withdraw", "--user", USER)  # HR, from anywhere: the ledger only
        assert withdrawn.returncode == 0, withdrawn.stdout + withdrawn.stderr
        time.sleep(7.0)  # xdotool keeps typing
        assert typist.poll() is None, "xdotool stopped typing too early for the test to mean anything"

    ledger = decode_all_consent(isolated)
    (withdrawal,) = [r for r in ledger if r["state"] == "WITHDRAWN"]
    assert withdrawal["source"] == "admin"
    events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 10), "InteractionEvent")
    keys = [e for e in events if kind(e) == "KeyEvent"]
    assert typed(keys).startswith("the quick")
    late = [e for e in keys if e["event_time"] > withdrawal["recorded_at"] + timedelta(seconds=5)]
    assert late == [], f"{len(late)} key events after withdrawal + 5 s"
    lag = (keys[-1]["event_time"] - withdrawal["recorded_at"]).total_seconds()
    print(f"the last key event was recorded {lag:.2f} s after the withdrawal")

    status = agent.cli("agent", "status").stdout
    assert status.startswith("Off: nothing is captured because consent was withdrawn by your admin"), status
    assert "teachstream consent accept" in status
    page = (Path(agent.env["TEACHSTREAM_AGENT_STATE_DIR"]) / "what-is-captured.html").read_text()
    assert "consent was withdrawn" in page


def decode_all_consent(isolated: Isolated, expect: int = 2) -> list[dict[str, object]]:
    messages = isolated.read_all("control.consent", expect)
    return [isolated.codec.decode_named(m.value(), "ConsentRecord") for m in messages]


def test_without_the_screens_scope_no_frames_are_taken(isolated: Isolated, display: Display, agent: AgentProc) -> None:
    assert agent.cli("consent", "accept", "--scope", "keys,mouse").returncode == 0
    display.window("work", "#0000ff", 50, 50)
    agent.wait_capturing()
    assert "Not captured: screenshots." in agent.cli("agent", "status").stdout
    display.type("hi")
    display.xdotool("mousemove", "300", "200", "click", "1")
    time.sleep(1.5)
    events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 6), "InteractionEvent")
    assert typed(events) == "hi" and any(kind(e) == "MouseButton" for e in events)
    assert isolated.read_all("screens.raw", 1, timeout_s=3) == []


def test_a_decision_made_while_kafka_is_away_reaches_the_ledger_through_the_agent(
    isolated: Isolated, display: Display, agent: AgentProc
) -> None:
    offline = {**agent.env, "TEACHSTREAM_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    cli = [*CLI, "consent", "accept", "--scope", "keys"]
    out = subprocess.run(cli, env=offline, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and out.stdout.startswith("Recorded on this device only"), out.stdout + out.stderr
    agent.wait_capturing()  # the local decision governs
    (record,) = decode_all_consent(isolated, 1)
    assert (record["source"], record["scopes"]) == ("device", ["KEYS"])


def test_the_persons_real_names_never_leave_in_titles(isolated: Isolated, display: Display, agent: AgentProc) -> None:
    assert agent.cli("consent", "accept").returncode == 0
    display.window(f"{USER}@{HOST}: ~", "#404040", 50, 50)
    agent.wait_capturing()
    display.type("ls")
    display.xdotool("mousemove", "300", "200", "click", "1")
    time.sleep(1.5)
    raw_events = isolated.read_all("interactions.raw", 5)
    raw_frames = isolated.read_all("screens.raw", 1)
    assert raw_events and raw_frames
    for msg in raw_events + raw_frames:
        value = msg.value()
        assert USER.encode() not in value and HOST.encode() not in value
    events = decode_all(isolated.codec, raw_events, "InteractionEvent")
    assert any(e["context"] and e["context"]["title"] == "<USER>@<HOST>: ~" for e in events)
    frames = decode_all(isolated.codec, raw_frames, "ScreenFrame")
    assert any(w["title"] == "<USER>@<HOST>: ~" for f in frames for w in f["windows"])
