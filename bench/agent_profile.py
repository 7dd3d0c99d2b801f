"""``python -m bench.agent_profile``: where the capture agent's CPU goes on the agent bench's scripted session.

Starts the agent on its own Xvfb and Kafka (as ``bench.agent_bench``), drives the same scripted
person for ``AGENT_BENCH_SECONDS`` (40), and reports the agent's CPU per thread from
``/proc/<pid>/task/*/schedstat`` (names from ``py-spy dump``: Python threads all show as
``python`` in ``comm``), then py-spy's samples of the main thread by function (inclusive).
Needs ``py-spy`` (``pip install py-spy``) besides what the agent bench needs.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import agent_bench as ab

SECONDS = float(os.environ.get("AGENT_BENCH_SECONDS", "40"))


def per_thread(pid: int) -> dict[str, tuple[float, str]]:
    """CPU seconds and ``comm`` of each thread of ``pid``, by thread id."""
    found: dict[str, tuple[float, str]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[task.name] = (
                int((task / "schedstat").read_text().split()[0]) / 1e9,
                (task / "comm").read_text().strip(),
            )
        except (OSError, ValueError, IndexError):
            continue
    return found


def main() -> None:
    from runtime.settings import Settings, load
    from teachstream.admin import ensure_topics

    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    tmp = Path(tempfile.mkdtemp(prefix="agent-profile-"))
    kafka = ab.OwnKafka(tmp / "stack")
    kafka.start()
    disp = ab.start_display(150 + os.getpid() % 100, 1920, 1080)
    try:
        bootstrap = f"127.0.0.1:{kafka.port}"
        ensure_topics(load(Settings, kafka_bootstrap=bootstrap, topic_prefix="agent."))
        windows, env = ab.session(disp, bootstrap, tmp)
        cli = [sys.executable, "-m", "teachstream.cli"]
        subprocess.run([*cli, "consent", "accept"], env=env, check=True, capture_output=True)
        agent = subprocess.Popen([*cli, "agent"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(4)  # start-up is not what we measure
        dump = subprocess.run([spy_bin, "dump", "--pid", str(agent.pid)], capture_output=True, text=True, check=False)
        names = {line.split()[1]: line.split('"')[1] for line in dump.stdout.splitlines() if line.startswith("Thread")}
        raw = tmp / "agent.raw"
        seconds = str(int(SECONDS - 2))
        record = [spy_bin, "record", "--pid", str(agent.pid), "--threads", "--rate", "100", "--duration", seconds]
        spy = subprocess.Popen(
            [*record, "-f", "raw", "-o", str(raw)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        before, start = per_thread(agent.pid), time.monotonic()
        ab.drive(disp.name, windows, SECONDS)
        after, elapsed = per_thread(agent.pid), time.monotonic() - start
        spy.wait(60)
        agent.terminate()
        agent.wait(30)
    finally:
        ab.stop_display(disp)
        kafka.stop()
    used = {tid: cpu - before.get(tid, (0.0, ""))[0] for tid, (cpu, _) in after.items()}
    print(
        f"agent CPU over {elapsed:.0f} s (py-spy sampling it at 100 Hz): "
        f"{100 * sum(used.values()) / elapsed:.2f}% of a core"
    )
    by_name: collections.Counter[str] = collections.Counter()
    for tid, cpu in used.items():
        by_name[names.get(tid, after[tid][1])] += cpu
    for name, cpu in by_name.most_common():
        print(f"  {100 * cpu / elapsed:6.2f}%  {name}")
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines() if raw.exists() else []:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if "MainThread" not in frames[0]:
            continue
        total += int(count)
        for frame in dict.fromkeys(frames[1:]):
            inclusive[frame] += int(count)
    print(f"main thread, {total} samples (blocking waits included), inclusive by function:")
    for frame, count in inclusive.most_common(40):
        if "click/" not in frame and "runpy" not in frame and "cli.py" not in frame:
            print(f"  {count:5d}  {frame[:130]}")


if __name__ == "__main__":
    main()
