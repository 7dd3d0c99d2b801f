"""Load curve: how many simulated people (typical profile) one stream worker keeps up with.

For each step, on topics of its own: one ``teachstream streams`` worker and one sink, and
``teachstream simulate --profile typical --no-frames`` publishing N people in real time for
a minute. While they work, the worker group's lag on ``interactions.raw`` is sampled every two
seconds (``teachstream lag``: the age of the oldest record not yet committed). Then it reads
``interactions.clean`` for the latency from capture (the event's time) to the clean topic, and
the dataset for the latency from a session's last event to its steps object in S3 (the session
first has to end: 20 s without activity on this stack). The curve stops at the first step
whose lag passes 5 s for good.

    python -m bench.load_curve            writes bench-out/load_curve.md and docs/load_curve.png
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from runtime.settings import Settings, load
from schemas.codec import Codec
from schemas.dataset import dataset_root
from sinks.s3 import s3_client
from teachstream import dataset
from teachstream.admin import ensure_topics, existing_topics, watermarks
from teachstream.lag import measure

ROOT = Path(__file__).resolve().parents[1]
STEPS = (50, 100, 200, 400, 800)
DURATION_S = 60.0
LIMIT_S = 5.0
WORKER_ENV = {
    "TEACHSTREAM_SESSION_GAP_S": "20",
    "TEACHSTREAM_SESSION_GRACE_S": "5",
    "TEACHSTREAM_TICK_INTERVAL_S": "2",
    "TEACHSTREAM_TICK_LAG_S": "2",
}


@dataclass
class Point:
    devices: int
    events: int = 0
    rate: float = 0.0  # events/s published
    lag_s: list[float] = field(default_factory=list)  # samples while the people worked, after a 10 s warm-up
    clean_ms: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # kind -> p50, p95, p99
    s3_s: tuple[float, float, float] = (float("nan"),) * 3  # session end -> steps object stored

    @property
    def max_lag(self) -> float:
        return max(self.lag_s, default=0.0)

    @property
    def kept_up(self) -> bool:
        return self.max_lag <= LIMIT_S


def _pct(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    values = sorted(values)
    at = lambda q: values[min(int(len(values) * q), len(values) - 1)]  # noqa: E731
    return statistics.median(values), at(0.95), at(0.99)


def _start(kind: str, settings: Settings, name: str, work: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **WORKER_ENV,
        "TEACHSTREAM_TOPIC_PREFIX": settings.topic_prefix,
        "TEACHSTREAM_S3_PREFIX": settings.s3_prefix,
        "TEACHSTREAM_STREAMS_APP_ID": f"{name}-streams",
        "TEACHSTREAM_SINK_GROUP": f"{name}-sink",
        "TEACHSTREAM_STREAMS_DATA_DIR": str(work / "faust"),
        "TEACHSTREAM_METRICS_PORT": "0",
    }
    log = (work / f"{kind}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "teachstream.cli", kind], env=env, stdout=log, stderr=log)


def _clean_latencies(settings: Settings) -> dict[str, tuple[float, float, float]]:
    """Capture -> interactions.clean, from each clean event's time and its record's timestamp."""
    codec, topic = Codec(), settings.topic("interactions.clean")
    consumer = Consumer(settings.kafka({"group.id": f"curve-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False}))
    kinds: dict[str, list[float]] = {"typing": [], "pointer and windows": []}
    try:
        partitions = existing_topics(settings)[topic]
        ends = {p: watermarks(consumer, TopicPartition(topic, p))[1] for p in range(partitions)}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends if ends[p]])
        left = {p for p, end in ends.items() if end}
        while left:
            for msg in consumer.consume(500, 2.0):
                if msg.error() is not None:
                    continue
                if msg.offset() >= ends[msg.partition()] - 1:
                    left.discard(msg.partition())
                decoded = codec.decode(msg.value())
                if decoded.short_name != "InteractionEvent":
                    continue
                stamp_ms = msg.timestamp()[1]
                event_ms = decoded.value["event_time"].timestamp() * 1000
                payload = decoded.value["payload"]
                kind = (
                    "typing"
                    if isinstance(payload, tuple) and payload[0].endswith("KeyEvent")
                    else "pointer and windows"
                )
                kinds[kind].append(stamp_ms - event_ms)
    finally:
        consumer.close()
    return {k: _pct(v) for k, v in kinds.items()}


def _s3_latency(settings: Settings) -> tuple[float, float, float]:
    """A session's last event -> its steps object stored in S3."""
    client = s3_client(settings)
    ds = dataset.open(f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}", client=client)
    root = dataset_root(settings.s3_prefix)
    out = []
    for entry in ds.sessions():
        head = client.head_object(Bucket=settings.s3_bucket, Key=root + entry.steps_key)
        out.append((head["LastModified"] - datetime.fromisoformat(entry.end_time)).total_seconds())
    return _pct(out)


def step(devices: int, duration_s: float, work: Path) -> Point:
    name = f"curve-{uuid.uuid4().hex[:6]}-{devices}"
    settings = load(Settings, topic_prefix=f"{name}.", s3_prefix=f"bench/{name}/")
    ensure_topics(settings)
    work.mkdir(parents=True, exist_ok=True)
    procs = [_start("streams", settings, name, work), _start("sink", settings, name, work)]
    point = Point(devices)
    try:
        deadline = time.monotonic() + 120
        while "Worker]: Ready" not in (work / "streams.log").read_text(errors="replace"):
            if time.monotonic() > deadline or procs[0].poll() is not None:
                raise RuntimeError(f"the stream worker did not start; see {work / 'streams.log'}")
            time.sleep(0.5)
        env = {**os.environ, "TEACHSTREAM_TOPIC_PREFIX": settings.topic_prefix}
        args = ["simulate", "--profile", "typical", "--devices", str(devices), "--duration", str(duration_s),
                "--no-frames", "--tag", name, "--seed", str(devices)]  # fmt: skip
        t0 = time.monotonic()
        sim = subprocess.Popen([sys.executable, "-m", "teachstream.cli", *args], env=env, stdout=subprocess.PIPE)
        group = f"{name}-streams"
        while sim.poll() is None:
            time.sleep(2)
            if time.monotonic() - t0 < 10:
                continue
            lags = [lag.seconds for lag in measure(settings, [group], lambda: int(time.time() * 1000))
                    if lag.topic == settings.topic("interactions.raw")]  # fmt: skip
            point.lag_s.append(max(lags, default=0.0))
        out = (sim.stdout.read() if sim.stdout else b"").decode()
        point.events = int(out.split(": ", 1)[1].split(" events", 1)[0]) if ": " in out else 0
        point.rate = point.events / duration_s
        time.sleep(60)  # the last sessions end (20 s without activity) and land
        point.clean_ms = _clean_latencies(settings)
        point.s3_s = _s3_latency(settings)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    return point


def plot(points: list[Point], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.plot([p.devices for p in points], [p.max_lag for p in points], "o-", label="worst lag while they worked")
    ax.plot([p.devices for p in points], [statistics.median(p.lag_s or [0]) for p in points], "s--", label="median lag")
    ax.axhline(LIMIT_S, color="red", linewidth=1, label=f"{LIMIT_S:g} s")
    ax.set_xscale("log", base=2)
    ax.set_xticks([p.devices for p in points], [str(p.devices) for p in points])
    ax.set_xlabel("simulated people (typical profile), one stream worker")
    ax.set_ylabel("lag on interactions.raw (s)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)


def markdown(points: list[Point], machine: str) -> str:
    best = max((p.devices for p in points if p.kept_up), default=0)
    lines = [
        f"One stream worker (all stages but the screens, which have no frames here) and one sink, {machine}.",
        f"**It kept the lag under {LIMIT_S:g} s up to {best} typical people** "
        f"({next((p.rate for p in points if p.devices == best), 0):,.0f} events/s).",
        "",
        "| people | events/s | lag median | lag worst | clean p50 / p99 (pointer) | clean p50 / p99 (typing) "
        "| S3 p50 / p99 (after the session ends) |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in points:
        ptr, typ = p.clean_ms.get("pointer and windows", (0, 0, 0)), p.clean_ms.get("typing", (0, 0, 0))
        lines.append(
            f"| {p.devices} | {p.rate:,.0f} | {statistics.median(p.lag_s or [0]):.1f} s | {p.max_lag:.1f} s | "
            f"{ptr[0] / 1000:.1f} / {ptr[2] / 1000:.1f} s | {typ[0] / 1000:.1f} / {typ[2] / 1000:.1f} s | "
            f"{p.s3_s[0]:.0f} / {p.s3_s[2]:.0f} s |"
        )
    return "\n".join(lines) + "\n"


def section() -> str:
    points = run()
    plot(points, ROOT / "docs" / "load_curve.png")
    return "\n".join([
        "## Load curve: simulated people one stream worker keeps up with",
        "",
        "`bench/load_curve.py`: per step, topics of its own, one `teachstream streams` worker and one sink, and",
        f"`teachstream simulate --profile typical --no-frames` with N people in real time for {DURATION_S:.0f} s. Lag:",
        "the age of the oldest record of `interactions.raw` the worker has not committed (`teachstream lag`),",
        "sampled every 2 s after a 10 s warm-up. Clean latency: from an event's capture time to its record in",
        "`interactions.clean` (typing waits for its segment to end: a pause or 5 s without keys). S3 latency: from",
        "a session's last event to its steps object (the session ends after 20 s without activity on this stack).",
        "Typing segments held whole, as by default (the pipeline section measures early release).",
        "",
        "![lag against simulated people](docs/load_curve.png)",
        "",
        markdown(points, f"{os.cpu_count()} cores"),
    ])  # fmt: skip


def run() -> list[Point]:
    work = ROOT / "bench-out" / f"load-curve-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    points: list[Point] = []
    for devices in STEPS:
        print(f"load curve: {devices} people ...", flush=True)
        point = step(devices, DURATION_S, work / str(devices))
        points.append(point)
        print(f"load curve: {devices} people, {point.rate:,.0f} events/s, worst lag {point.max_lag:.1f} s", flush=True)
        if not point.kept_up and point.max_lag > 4 * LIMIT_S:
            break  # far past the limit: larger steps only say the same
    return points


def main() -> int:
    text = section()
    (ROOT / "bench-out").mkdir(exist_ok=True)
    (ROOT / "bench-out" / "load_curve.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
