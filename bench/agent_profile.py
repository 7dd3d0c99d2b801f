"""``python -m bench.agent_profile``: where the capture agent's CPU goes on the agent bench's scripted session.

Starts the agent on its own Xvfb and Kafka (as ``bench.agent_bench``), drives the same scripted
person for ``AGENT_BENCH_SECONDS`` (40), and reports the agent's CPU per thread from
``/proc/<pid>/task/*/schedstat`` (names from ``py-spy dump``: Python threads all show as
``python`` in ``comm``), and py-spy's samples of the threads while they hold the GIL (Python
code, and C code called from Python that keeps the GIL: the JPEG encoder, fastavro), by function.
py-spy samples without stopping the process (``--nonblocking``): stopping it 100 times a second
inflated the CPU of librdkafka's threads, which it wakes. Needs ``py-spy`` besides what the
agent bench needs. ``run()`` measures, ``markdown(profile)`` is the part of BENCHMARKS.md's
agent section that says where the time goes.
"""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import agent_bench as ab

SECONDS = float(os.environ.get("AGENT_BENCH_SECONDS", "40"))
RATE_HZ = 250
_NOISE = ("click/", "runpy", "cli.py", "agent_cli.py", "threading.py")


@dataclass(frozen=True)
class Profile:
    seconds: float
    cpu_by_thread: dict[str, float]  # % of one core, by thread name
    gil_samples: dict[str, int]  # samples holding the GIL, by thread name
    inclusive: list[tuple[str, int]]  # function, samples in it or below it (all threads), most first
    own: list[tuple[str, int]]  # function, samples in it itself, most first

    @property
    def cpu(self) -> float:
        return sum(self.cpu_by_thread.values())


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


def run() -> Profile:
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
        record = [spy_bin, "record", "--pid", str(agent.pid), "--threads", "--gil", "--nonblocking"]
        spy = subprocess.Popen(
            [*record, "--rate", str(RATE_HZ), "--duration", str(int(SECONDS - 2)), "-f", "raw", "-o", str(raw)],
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
    cpu: dict[str, float] = collections.defaultdict(float)
    for tid, (seconds, comm) in after.items():
        cpu[names.get(tid, comm)] += 100 * (seconds - before.get(tid, (0.0, ""))[0]) / elapsed
    threads, inclusive, own = _samples(raw.read_text() if raw.exists() else "")
    by_share = dict(sorted(cpu.items(), key=lambda item: -item[1]))
    return Profile(elapsed, by_share, threads, inclusive.most_common(), own.most_common())


def _samples(text: str) -> tuple[dict[str, int], collections.Counter[str], collections.Counter[str]]:
    """py-spy's raw (collapsed) stacks: samples by thread name, by function inclusive, by function itself."""
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        threads[frames[0].split(": ", 1)[-1].rstrip(")").strip()] += n
        for frame in dict.fromkeys(frames[1:]):
            inclusive[frame] += n
        own[frames[-1]] += n
    return dict(threads.most_common()), inclusive, own


def markdown(p: Profile, top: int = 12) -> str:
    sampled = sum(p.gil_samples.values())
    threads = ", ".join(f"{name} {share:.2f}%" for name, share in p.cpu_by_thread.items() if share >= 0.01)
    lines = [
        f"**Where the agent's time goes** (`python -m bench.agent_profile`, in this run: the same scripted session "
        f"for {p.seconds:.0f} s). CPU per thread from `/proc/<pid>/task/*/schedstat`, "
        f"{p.cpu:.2f}% of a core in all: {threads}. py-spy sampled the threads at {RATE_HZ} Hz while they held "
        f"the GIL, without stopping them: {sampled} samples ({sampled / RATE_HZ / p.seconds * 100:.2f}% of a core; "
        "C code that releases the GIL, such as librdkafka's threads, the X server's replies and the kernel, is "
        "not in them).",
        "",
        "| function (inclusive) | samples | function (itself) | samples |",
        "| --- | ---: | --- | ---: |",
    ]
    inclusive = [(f, n) for f, n in p.inclusive if not any(x in f for x in _NOISE)][:top]
    own = p.own[:top]
    for (f_in, n_in), (f_own, n_own) in zip(inclusive, own, strict=False):
        lines.append(f"| `{f_in}` | {n_in} | `{f_own}` | {n_own} |")
    return "\n".join([*lines, ""])


def main() -> None:
    print(markdown(run()))


if __name__ == "__main__":
    main()
