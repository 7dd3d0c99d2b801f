"""``make chaos``: faults under load on a three-broker stack, each scenario ending with the ledger check.

A scratch stack of its own (``.stack/chaos``, ports from ``CHAOS_PORT_BASE``, 63000 by default):
three Kafka nodes (replication factor 3, ``min.insync.replicas`` 2), S3, two stream workers and
a sink, all started here. Each scenario publishes the activity of simulated people in real time
(``teachstream simulate --ledger``), injects its fault while they work, and then waits for the
ledger check (``teachstream ledger-check``) to pass: every acknowledged event in exactly one
session in S3 or in the dead letters, every frame in ``screens.clean`` or the dead letters.

    python -m bench.chaos                 every scenario, then the table
    python -m bench.chaos --only s3-outage,broker-bounce
    python -m bench.chaos --short         one scenario with a smaller load (what `make test` runs)

The table is printed and written to ``.stack/chaos/summary.md``; the exit code is 1 if any
scenario lost, duplicated or reordered anything.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK_SH = ROOT / "deploy" / "local" / "stack.sh"
TS = ROOT / ".venv" / "bin" / "teachstream"
WORKER_ENV = {  # the local stack's settings: sessions close after 20 s without activity
    "TEACHSTREAM_SESSION_GAP_S": "20",
    "TEACHSTREAM_SESSION_GRACE_S": "5",
    "TEACHSTREAM_TICK_INTERVAL_S": "2",
    "TEACHSTREAM_TICK_LAG_S": "2",
}
SETTLE_S = 420.0  # after the load: how long the check may wait for the pipeline to catch up


@dataclass
class Harness:
    """The chaos stack: its settings, its worker processes, and the stack script's commands."""

    home: Path
    env: dict[str, str]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)  # what the fault did, for the table

    def stack(self, *args: str) -> None:
        subprocess.run([str(STACK_SH), *args], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def start(self, name: str, extra: dict[str, str] | None = None) -> None:
        kind = "sink" if name.startswith("sink") else "streams"
        env = {**self.env, **WORKER_ENV, "TEACHSTREAM_STREAMS_DATA_DIR": str(self.home / "data" / name)}
        log = (self.home / "logs" / f"{name}.log").open("ab")
        self.workers[name] = subprocess.Popen([str(TS), kind], env={**env, **(extra or {})}, stdout=log, stderr=log)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.workers.pop(name)
        proc.send_signal(sig)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def note(self, text: str) -> None:
        self.events.append(text)
        print(f"chaos:   {text}", flush=True)

    def stop_all(self) -> None:
        for name in list(self.workers):
            self.kill(name, signal.SIGTERM)


Fault = Callable[[Harness], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    fault: Fault
    devices: int = 20
    duration_s: float = 100.0
    fault_at_s: float = 20.0
    load: tuple[str, ...] = ()  # more arguments of `teachstream simulate`


def _kill_stream_worker(h: Harness) -> None:
    h.kill("streams-b")
    h.note("kill -9 streams-b")
    time.sleep(10)
    h.start("streams-b")
    h.note("streams-b restarted 10 s later")


def _kill_sink_mid_commit(h: Harness) -> None:
    h.kill("sink", signal.SIGTERM)
    h.start("sink", {"TEACHSTREAM_SINK_FAILPOINT": "before_commit:4"})
    proc, t0 = h.workers["sink"], time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 120:
        time.sleep(0.5)
    h.note(f"sink killed itself with SIGKILL after its uploads, before the commit (exit {proc.returncode})")
    h.workers.pop("sink")
    h.start("sink")
    h.note("sink restarted")


def _s3_outage(h: Harness) -> None:
    h.stack("s3-stop")
    h.note("S3 stopped")
    time.sleep(60)
    h.stack("s3-start")
    h.note("S3 started again after 60 s")


def _broker_bounce(h: Harness) -> None:
    h.stack("kafka-stop-node", "2")
    h.note("Kafka node 2 of 3 stopped")
    time.sleep(30)
    h.stack("kafka-start-node", "2")
    h.note("node 2 started again after 30 s")


def _cluster_restart(h: Harness) -> None:
    h.stack("kafka-stop")
    h.note("all three Kafka nodes stopped")
    h.stack("kafka-start")
    h.note("cluster started again")


def _offline(h: Harness) -> None:
    h.note("the 20 devices lost the network at 20 s for 120 s: they hold what they capture, then send it in order")


def _rebalance_storm(h: Harness) -> None:
    for i in range(8):
        if i % 2 == 0:
            h.start("streams-c")
        else:
            h.kill("streams-c", signal.SIGKILL if i % 4 == 3 else signal.SIGTERM)
        time.sleep(6)
    h.note("a third stream worker joined and left 4 times, 6 s apart (2 of the leaves by kill -9)")


SCENARIOS = (
    Scenario("worker-kill", "kill -9 one of two stream workers, restart it", _kill_stream_worker),
    Scenario("sink-kill", "kill -9 the sink between upload and commit", _kill_sink_mid_commit),
    Scenario("broker-bounce", "stop one of three brokers under load, restart it", _broker_bounce),
    Scenario("cluster-restart", "restart the whole Kafka cluster", _cluster_restart),
    Scenario("s3-outage", "stop S3 for 60 s", _s3_outage),
    Scenario("rebalance-storm", "workers joining and leaving every 6 s", _rebalance_storm),
    Scenario(
        "agents-offline",
        "devices offline for 2 minutes, then back",
        _offline,
        duration_s=160.0,
        load=("--offline", "20:120"),
    ),
)


@dataclass
class Row:
    scenario: Scenario
    devices: int
    events: int = 0
    frames: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    frames_lost: int = 0
    dead: int = 0
    seconds: float = 0.0
    ok: bool = False
    detail: list[str] = field(default_factory=list)


def run_scenario(h: Harness, scenario: Scenario, index: int, devices: int, duration_s: float) -> Row:
    from runtime.settings import Settings
    from teachstream.ledger_check import check_ledger, load_ledger

    print(f"chaos: {scenario.name}: {scenario.what} ({devices} typical people, {duration_s:.0f} s)", flush=True)
    h.events = []
    ledger = h.home / f"{scenario.name}.ledger.jsonl"
    t0 = time.monotonic()
    sim = subprocess.Popen(
        [str(TS), "simulate", "--profile", "typical", "--devices", str(devices), "--duration", str(duration_s),
         "--seed", str(100 + index), "--tag", f"chaos-{scenario.name}-{int(time.time())}", "--frame-scale", "0.5",
         "--ledger", str(ledger), *scenario.load],
        env=h.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    time.sleep(min(scenario.fault_at_s, duration_s / 3))
    scenario.fault(h)
    out, _ = sim.communicate(timeout=duration_s + 900)
    if sim.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{out.decode(errors='replace')[-2000:]}")
    records = load_ledger(ledger)
    settings = Settings()
    deadline = time.monotonic() + SETTLE_S
    while True:
        report, _ = check_ledger(settings, records)
        if report.ok or time.monotonic() > deadline:
            break
        time.sleep(10)
    t = report.total
    row = Row(scenario, devices, t("sent"), t("frames_sent"), t("lost"), t("duplicated"), t("out_of_order"))
    row.frames_lost, row.dead, row.ok = t("frames_lost"), t("dead") + t("frames_dead"), report.ok
    row.seconds, row.detail = time.monotonic() - t0, report.lines()
    for line in row.detail:
        print(f"chaos:   {line}", flush=True)
    return row


def table(rows: list[Row]) -> str:
    head = ("scenario", "fault", "devices", "events", "frames", "lost", "duplicated", "out of order", "frames lost",
            "dead letters", "s", "result")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            f"| {r.scenario.name} | {r.scenario.what} | {r.devices} | {r.events:,} | {r.frames:,} | {r.lost} | "
            f"{r.duplicated} | {r.out_of_order} | {r.frames_lost} | {r.dead} | {r.seconds:.0f} | "
            f"{'pass' if r.ok else 'FAIL'} |"
        )
    return "\n".join(lines)


def up(home: Path, port_base: str, brokers: str, fresh: bool) -> Harness:
    env = {**os.environ, "TS_STACK": str(home), "TS_PORT_BASE": port_base, "BROKERS": brokers, "STACK_WORKERS": "0"}
    if fresh:
        subprocess.run([str(STACK_SH), "down"], env=env, check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", str(home / "data"), str(home / "logs")], check=True)
    subprocess.run([str(STACK_SH), "up"], env=env, check=True)
    for line in (home / "env").read_text().splitlines():
        if line.startswith("export ") and "=" in line and "PATH" not in line:
            name, _, value = line[len("export ") :].partition("=")
            env[name] = value
            os.environ[name] = value  # the check runs in this process
    return Harness(home, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated scenario names")
    parser.add_argument("--short", action="store_true", help="the worker-kill scenario with 6 people for 40 s")
    parser.add_argument("--brokers", default="3", choices=("1", "3"))
    parser.add_argument("--keep", action="store_true", help="leave the chaos stack running at the end")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the workers and the stack on the way out
    wanted = [s for s in SCENARIOS if not args.only or s.name in args.only.split(",")]
    if args.short:
        wanted = [SCENARIOS[0]]
    if args.brokers == "1":
        wanted = [s for s in wanted if s.name != "broker-bounce"]
    home = Path(os.environ.get("CHAOS_HOME", ROOT / ".stack" / "chaos"))
    t0 = time.monotonic()
    h = up(home, os.environ.get("CHAOS_PORT_BASE", "63000"), args.brokers, fresh=True)
    rows: list[Row] = []
    try:
        for name in ("streams-a", "streams-b", "sink"):
            h.start(name)
        time.sleep(20)  # the workers join their groups
        for i, scenario in enumerate(wanted):
            devices, duration = (6, 40.0) if args.short else (scenario.devices, scenario.duration_s)
            row = run_scenario(h, scenario, i, devices, duration)
            row.detail = [*h.events, *row.detail]
            rows.append(row)
    finally:
        h.stop_all()
        if not args.keep:
            subprocess.run([str(STACK_SH), "down"], env=h.env, check=False, stdout=subprocess.DEVNULL)
    summary = table(rows)
    minutes = (time.monotonic() - t0) / 60
    text = f"{summary}\n\n{len(rows)} scenarios, {args.brokers} Kafka nodes, {minutes:.1f} min in all\n"
    (home / "summary.md").write_text(text)
    print("\n" + text)
    return 0 if rows and all(r.ok for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
