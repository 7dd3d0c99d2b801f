"""Fleet control on running agents (real Xvfb, xdotool, Kafka): signed policies take effect without a
restart, refused ones halt capture with the reason in status, the kill switch stops typing agents
within 10 s and lets them resume, and heartbeats from two agents show in ``teachstream fleet``."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from runtime.control_topics import publish
from schemas.control_records import Policy
from schemas.signed_policy import load_private, sign
from tests.integration.conftest import Isolated
from tests.integration.display import CLI, AgentProc, Display, agent_env, decode_all, display, kind, typed

__all__ = ["display"]


@dataclasses.dataclass
class Fleet:
    isolated: Isolated
    key_file: Path
    env: dict[str, str]  # what an admin's CLI runs with: the topics and the trusted key

    def admin(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False)

    def signed(self, policy: Policy) -> Policy:
        return sign(policy, load_private(self.key_file.read_bytes()))


@pytest.fixture
def fleet(isolated: Isolated, tmp_path: Path) -> Fleet:
    key_file = tmp_path / "policy.key"
    env = {**isolated.env, "TEACHSTREAM_TOPIC_PREFIX": isolated.settings.topic_prefix}
    made = subprocess.run(
        [*CLI, "policy", "keygen", "-o", str(key_file)], env=env, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    public = made.stdout.split("public key ")[1].split(": ")[1].split()[0]
    return Fleet(isolated, key_file, {**env, "TEACHSTREAM_POLICY_KEYS": json.dumps([public])})


def start_agent(
    fleet: Fleet, display: Display, tmp_path: Path, host: str, user: str = "jdoe4711", **settings: str
) -> AgentProc:
    env = agent_env(fleet.env, display, tmp_path / host, user=user, host=host, **settings)
    proc = AgentProc(env, tmp_path / f"{host}.log")
    proc.start()
    return proc


@pytest.fixture
def agents(fleet: Fleet, display: Display, tmp_path: Path) -> Iterator[list[AgentProc]]:
    started: list[AgentProc] = []
    yield started
    for proc in started:
        proc.stop()


def wait_for(what: Callable[[], str], needle: str, timeout_s: float = 20) -> str:
    deadline = time.monotonic() + timeout_s
    while needle not in (text := what()) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert needle in text, text
    return text


def test_a_signed_policy_governs_the_running_agent_and_refused_ones_halt_it(
    fleet: Fleet, display: Display, agents: list[AgentProc], tmp_path: Path
) -> None:
    agent = start_agent(fleet, display, tmp_path, "ws-1")
    agents.append(agent)
    assert agent.cli("consent", "accept").returncode == 0
    notes = display.window("notes", "#303030", 50, 50)
    agent.wait_capturing()
    display.type("ab")
    time.sleep(1.0)
    policy_file = tmp_path / "fleet.json"
    policy_file.write_text(json.dumps({"policy_id": "fleet", "version": "2026-12.1", "deny_apps": ["chatapp"]}))
    signed = fleet.admin("policy", "sign", str(policy_file), "--key", str(fleet.key_file), "--valid-for", "1d")
    assert signed.returncode == 0, signed.stderr
    pushed = fleet.admin("policy", "push", str(policy_file))
    assert pushed.returncode == 0, pushed.stderr
    wait_for(lambda: agent.cli("agent", "status").stdout, "2026-12.1")
    display.window("team chat", "#005000", 600, 300, wm_class="ChatApp")  # focused: denied by the new policy
    display.type("secret plans")
    time.sleep(1.0)
    display.activate(notes)
    display.type("cd")
    time.sleep(1.5)
    events = decode_all(fleet.isolated.codec, fleet.isolated.read_all("interactions.raw", 10), "InteractionEvent")
    assert typed(events) == "abcd"
    assert any(kind(e) == "CaptureSuppressed" for e in events)

    now = datetime.now(UTC)
    good = fleet.signed(Policy("fleet", "2026-12.2", now, expires_at=now + timedelta(days=1)))

    def soon_expired() -> Policy:
        issued = datetime.now(UTC)
        return fleet.signed(Policy("fleet", "2026-12.4", issued, expires_at=issued + timedelta(seconds=3)))

    refusals: list[tuple[Callable[[], Policy], str]] = [
        (lambda: dataclasses.replace(good, screenshots=False), "changed after signing"),  # tampered with
        (lambda: Policy("fleet", "2026-12.3", datetime.now(UTC)), "is not signed"),
        (soon_expired, "expired"),
    ]
    for make, why in refusals:
        refused = make()
        publish(fleet.isolated.settings, "control.policy", "fleet", refused)
        status = wait_for(lambda: agent.cli("agent", "status").stdout, why)
        assert status.startswith("Not capturing anything"), status
        good = fleet.signed(dataclasses.replace(good, issued_at=datetime.now(UTC)))  # a newer valid one: resumes
        publish(fleet.isolated.settings, "control.policy", "fleet", good)
        wait_for(lambda: agent.cli("agent", "status").stdout, "Capturing")


def test_the_kill_switch_stops_typing_agents_within_10_s_and_off_resumes_them(
    fleet: Fleet, display: Display, agents: list[AgentProc], tmp_path: Path
) -> None:
    policy_file = tmp_path / "fleet.json"
    policy_file.write_text(json.dumps({"policy_id": "fleet", "version": "2026-12.1"}))
    assert fleet.admin("policy", "sign", str(policy_file), "--key", str(fleet.key_file)).returncode == 0
    assert fleet.admin("policy", "push", str(policy_file)).returncode == 0
    agent = start_agent(fleet, display, tmp_path, "ws-2")
    agents.append(agent)
    assert agent.cli("consent", "accept").returncode == 0
    display.window("notes", "#303030", 50, 50)
    agent.wait_capturing()
    with display.typing("the lazy dog " * 60, delay_ms=80) as typist:
        time.sleep(2.0)
        switched = fleet.admin("policy", "kill-switch", "on", "--reason", "incident 42", "--key", str(fleet.key_file))
        assert switched.returncode == 0, switched.stdout + switched.stderr
        switched_at = time.monotonic()
        status = wait_for(lambda: agent.cli("agent", "status").stdout, "kill switch on", timeout_s=10)
        stopped_after = time.monotonic() - switched_at
        assert "incident 42" in status and status.startswith("Not capturing anything"), status
        time.sleep(3.0)
        assert typist.poll() is None, "xdotool stopped typing too early for the test to mean anything"
    assert stopped_after < 10, stopped_after
    first = decode_all(fleet.isolated.codec, fleet.isolated.read_all("interactions.raw", 5), "InteractionEvent")
    time.sleep(2.0)
    again = decode_all(fleet.isolated.codec, fleet.isolated.read_all("interactions.raw", 5), "InteractionEvent")
    assert len(again) == len(first)  # nothing more while the switch is on
    shown = fleet.admin("policy", "show")
    assert "KILL SWITCH ON: incident 42" in shown.stdout and "valid" in shown.stdout, shown.stdout + shown.stderr
    assert fleet.admin("policy", "kill-switch", "off", "--key", str(fleet.key_file)).returncode == 0
    wait_for(lambda: agent.cli("agent", "status").stdout, "Capturing")
    display.type("back")
    time.sleep(1.5)
    events = decode_all(fleet.isolated.codec, fleet.isolated.read_all("interactions.raw", 5), "InteractionEvent")
    assert typed(events).endswith("back")


def test_heartbeats_of_two_agents_show_in_the_fleet_and_a_killed_one_goes_stale(
    fleet: Fleet, display: Display, agents: list[AgentProc], tmp_path: Path
) -> None:
    one = start_agent(fleet, display, tmp_path, "ws-3", heartbeat_seconds="1")
    two = start_agent(fleet, display, tmp_path, "ws-4", "asmith", heartbeat_seconds="1")  # no consent: stays off
    agents += [one, two]
    assert one.cli("consent", "accept").returncode == 0
    display.window("notes", "#303030", 50, 50)
    one.wait_capturing()

    def rows() -> list[dict[str, object]]:
        shown = fleet.admin("fleet", "--json", "--stale-after", "4s")
        assert shown.returncode == 0, shown.stderr
        return list(json.loads(shown.stdout))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and {r["state"] for r in rows()} != {"capturing", "no-consent"}:
        time.sleep(1.0)
    assert {r["state"] for r in rows()} == {"capturing", "no-consent"}, rows()
    assert two.proc is not None
    two.proc.send_signal(signal.SIGKILL)
    two.proc.wait(10)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "stale" not in {r["state"] for r in rows()}:
        time.sleep(1.0)
    assert sorted(str(r["state"]) for r in rows()) == ["capturing", "stale"], rows()
