"""Capture agent cost on a scripted Xvfb session, against a naive recorder, in the same run.

Session (the issue's Performance section): 1920x1080 Xvfb with openbox and two xterms; typing
5 keys/s, the pointer moving at 60 Hz, a click every 3 s, a window switch every 20 s, driven
through XTEST from this process. Each recorder runs alone for ``DURATION_S`` against its own
Kafka broker; its CPU (the sum of its threads' run time from ``/proc/<pid>/task/*/schedstat``,
nanosecond resolution, sampled each second) and peak RSS (VmHWM) are reported with events,
frames and bytes per minute as they arrived on Kafka.
``run()`` measures both recorders, ``markdown(result)`` is the BENCHMARKS.md section.
Run alone: ``.venv/bin/python -m bench.agent_bench`` (needs xvfb, openbox, xterm, xdotool, java).
"""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer
from Xlib import XK, X
from Xlib import display as xdisplay
from Xlib.ext import xtest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.integration.display import Display, start_display, stop_display  # noqa: E402
from tests.integration.test_agent_offline import OwnKafka  # noqa: E402

DURATION_S = float(os.environ.get("AGENT_BENCH_SECONDS", "60"))
NAIVE = textwrap.dedent(
    """
    import json, sys, time, mss, mss.tools
    from confluent_kafka import Producer
    from pynput import keyboard, mouse
    p = Producer({"bootstrap.servers": sys.argv[1], "message.max.bytes": 17000000})
    def send(topic, v): p.produce(topic, v); p.poll(0)
    ev = lambda **k: send("naive.interactions.raw", json.dumps({"t": time.time(), **k}).encode())
    keyboard.Listener(on_press=lambda k: ev(kind="press", key=str(k)),
                      on_release=lambda k: ev(kind="release", key=str(k))).start()
    mouse.Listener(on_move=lambda x, y: ev(kind="move", x=x, y=y),
                   on_click=lambda x, y, b, pr: ev(kind="click", x=x, y=y, b=str(b), pressed=pr),
                   on_scroll=lambda x, y, dx, dy: ev(kind="scroll", x=x, y=y, dx=dx, dy=dy)).start()
    with mss.mss() as sct:
        while True:
            shot = sct.grab(sct.monitors[1])
            send("naive.screens.raw", mss.tools.to_png(shot.rgb, shot.size))
            time.sleep(1.0)
    """
)


def drive(display_name: str, windows: list[int], seconds: float) -> None:
    """The scripted person, through XTEST."""
    d = xdisplay.Display(display_name)
    text = "the quick brown fox jumps over the lazy dog "
    codes = {c: d.keysym_to_keycode(XK.string_to_keysym("space" if c == " " else c)) for c in set(text)}
    t0 = time.monotonic()
    n = 0
    while (now := time.monotonic() - t0) < seconds:
        x = int(960 + 600 * math.sin(now / 2))
        y = int(540 + 300 * math.cos(now / 3))
        xtest.fake_input(d, X.MotionNotify, x=x, y=y)
        if n % 12 == 0:  # 5 keys/s
            code = codes[text[(n // 12) % len(text)]]
            xtest.fake_input(d, X.KeyPress, code)
            xtest.fake_input(d, X.KeyRelease, code)
        if n % 180 == 90:  # a click every 3 s
            xtest.fake_input(d, X.ButtonPress, 1)
            xtest.fake_input(d, X.ButtonRelease, 1)
        if n % 1200 == 600:  # a window switch every 20 s
            subprocess.run(
                ["xdotool", "windowactivate", str(windows[(n // 1200) % 2])],
                env={**os.environ, "DISPLAY": display_name},
                check=False,
            )
        d.sync()
        n += 1
        time.sleep(max(0.0, t0 + n / 60 - time.monotonic()))
    d.close()


@dataclass(frozen=True)
class Cost:
    median_cpu: float  # % of one core, median of 1 s samples
    peak_cpu: float
    peak_rss_mib: float
    mean_cpu: float = 0.0  # % of one core over the whole session (CPU seconds / wall seconds)
    p95_cpu: float = 0.0


@dataclass(frozen=True)
class Row:
    name: str
    cost: Cost
    events_per_min: float
    frames_per_min: float
    kib_per_min: float


@dataclass(frozen=True)
class Result:
    seconds: float
    agent: Row
    naive: Row
    half: Row | None = None  # the agent sending frames at scale 0.5 (before the stream redacted them at full scale)


def cpu_seconds(pid: int) -> float:
    """Run time of all the process's threads so far (schedstat: nanoseconds, not 10 ms ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended
    return total / 1e9


def measure(cmd: list[str], env: dict[str, str], display_name: str, windows: list[int]) -> Cost:
    """CPU and peak RSS of ``cmd`` during the scripted session."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)  # start-up is not what we measure
    samples: list[float] = []
    person = threading.Thread(target=drive, args=(display_name, windows, DURATION_S))
    person.start()
    last, t_last = cpu_seconds(proc.pid), time.monotonic()
    first, t_first = last, t_last
    while person.is_alive():
        time.sleep(1.0)
        now_cpu, now = cpu_seconds(proc.pid), time.monotonic()
        samples.append(100 * (now_cpu - last) / (now - t_last))
        last, t_last = now_cpu, now
    mean = 100 * (last - first) / max(t_last - t_first, 1e-9)
    hwm = next(line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
    proc.terminate()
    proc.wait(30)
    p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else max(samples)
    return Cost(statistics.median(samples), max(samples), int(hwm.split()[1]) / 1024, mean, p95)


def volume(bootstrap: str, topic: str) -> tuple[int, int]:
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{time.time()}",
            "auto.offset.reset": "earliest",
            "fetch.message.max.bytes": 17 * 1024 * 1024,
        }
    )
    c.subscribe([topic])
    n = size = 0
    idle = time.monotonic()
    while time.monotonic() - idle < 5:
        msgs = [m for m in c.consume(500, 1.0) if m.error() is None]
        if msgs:
            idle = time.monotonic()
        n += len(msgs)
        size += sum(len(m.value() or b"") for m in msgs)
    c.close()
    return n, size


def session(disp: Display, bootstrap: str, tmp: Path) -> tuple[list[int], dict[str, str]]:
    """The scripted session's two windows on ``disp``, and the agent's environment for it."""
    windows = [disp.window("editor", "#203040", 100, 100, 120, 40), disp.window("mail", "#402020", 700, 300)]
    env = {
        **disp.env,
        "TEACHSTREAM_KAFKA_BOOTSTRAP": bootstrap,
        "TEACHSTREAM_TOPIC_PREFIX": "agent.",
        "TEACHSTREAM_AGENT_STATE_DIR": str(tmp / "state"),
        "TEACHSTREAM_LOG_LEVEL": "WARNING",
    }
    return windows, env


def run() -> Result:
    """Both recorders on the same scripted session, one after the other, each with its own broker."""
    from runtime.settings import Settings, load
    from teachstream.admin import ensure_topics

    tmp = Path(tempfile.mkdtemp(prefix="agent-bench-"))
    kafka = OwnKafka(tmp / "stack")
    kafka.start()
    disp = start_display(150 + os.getpid() % 100, 1920, 1080)
    try:
        bootstrap = f"127.0.0.1:{kafka.port}"
        for prefix in ("agent.", "naive.", "half."):
            ensure_topics(load(Settings, kafka_bootstrap=bootstrap, topic_prefix=prefix))
        windows, env = session(disp, bootstrap, tmp)
        subprocess.run(
            [sys.executable, "-m", "teachstream.cli", "consent", "accept"], env=env, check=True, capture_output=True
        )
        agent = measure([sys.executable, "-m", "teachstream.cli", "agent"], env, disp.name, windows)
        naive = measure([sys.executable, "-c", NAIVE, bootstrap], disp.env, disp.name, windows)
        half_env = {
            **env,
            "TEACHSTREAM_TOPIC_PREFIX": "half.",
            "TEACHSTREAM_AGENT_STATE_DIR": str(tmp / "state-half"),
            "TEACHSTREAM_AGENT_SCREENSHOT_SCALE": "0.5",
        }
        subprocess.run(
            [sys.executable, "-m", "teachstream.cli", "consent", "accept"],
            env=half_env,
            check=True,
            capture_output=True,
        )
        half = measure([sys.executable, "-m", "teachstream.cli", "agent"], half_env, disp.name, windows)
        rows = [
            _row(name, cost, bootstrap, prefix)
            for name, cost, prefix in (
                ("teachstream agent (frames at full scale, the default)", agent, "agent."),
                ("naive recorder", naive, "naive."),
                ("teachstream agent, frames at scale 0.5", half, "half."),
            )
        ]
        return Result(DURATION_S, rows[0], rows[1], rows[2])
    finally:
        stop_display(disp)
        kafka.stop()


def _row(name: str, cost: Cost, bootstrap: str, prefix: str) -> Row:
    per_min = 60 / DURATION_S
    ev, ev_bytes = volume(bootstrap, f"{prefix}interactions.raw")
    fr, fr_bytes = volume(bootstrap, f"{prefix}screens.raw")
    return Row(name, cost, ev * per_min, fr * per_min, (ev_bytes + fr_bytes) * per_min / 1024)


def markdown(result: Result) -> str:
    """The BENCHMARKS.md section (the machine and the date are in the file's header)."""
    lines = [
        f"## Capture agent against a naive recorder ({result.seconds:.0f} s scripted session, Xvfb 1920x1080)",
        "",
        "Typing 5 keys/s, the pointer moving at 60 Hz, a click every 3 s, a window switch every 20 s, driven",
        "through XTEST; each recorder runs alone on the same session, one after the other in this run, each",
        "with its own Kafka broker. CPU is the sum of the process's threads in % of one core, sampled every",
        "second; the mean is CPU seconds over the whole session divided by its length (the median of the",
        "samples hides the seconds in which frames are encoded). The target is a mean of at most 2% and a",
        "peak RSS of at most 100 MiB. The naive recorder publishes every input event as JSON and a PNG",
        "screenshot every second. Events, frames and bytes are counted as they arrived on Kafka. The last row",
        "is the agent sending frames at scale 0.5, as it did before the stream redacted frames at full scale.",
        "",
        "| recorder | mean CPU % | p95 CPU % | median CPU % | peak CPU % | peak RSS MiB | events/min "
        "| frames/min | KiB/min sent |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in (result.agent, result.naive, *([result.half] if result.half else [])):
        c = r.cost
        lines.append(
            f"| {r.name} | {c.mean_cpu:.2f} | {c.p95_cpu:.1f} | {c.median_cpu:.2f} | {c.peak_cpu:.1f} "
            f"| {c.peak_rss_mib:.0f} | {r.events_per_min:.0f} | {r.frames_per_min:.1f} | {r.kib_per_min:.0f} |"
        )
    a, n = result.agent, result.naive
    verdict = "meets" if a.cost.mean_cpu <= 2.0 and a.cost.peak_rss_mib <= 100 else "misses"
    lines += [
        "",
        f"The agent at its default settings {verdict} the target ({a.cost.mean_cpu:.2f}% of a core on average, "
        f"{a.cost.peak_rss_mib:.0f} MiB at its peak). "
        f"The agent sends {n.kib_per_min / max(a.kib_per_min, 1e-9):.1f}x fewer bytes and "
        f"{n.events_per_min / max(a.events_per_min, 1e-9):.1f}x fewer events than the naive recorder, "
        f"at {a.cost.mean_cpu / max(n.cost.mean_cpu, 1e-9):.2f}x its mean CPU.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    print(markdown(run()))


if __name__ == "__main__":
    main()
