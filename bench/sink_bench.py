"""Sink throughput against a plain boto3 loop, on the local stack.

1. N synthetic sessions (20 steps, a frame every two steps, text-heavy 960x540 JPEGs) and
   their frames are published to scratch topics.
2. The sink (``SinkWorker``, in this process) lands them: frames, Parquet steps, manifests.
   The time runs from its start until the last session is in a manifest.
3. The baseline: a plain boto3 loop puts the same objects (the same bytes) one after another.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import Producer

from runtime.settings import load
from schemas.codec import Codec
from schemas.dataset import frame_key
from schemas.records import to_avro
from sinks.core.sessions import FrameInfo, steps_table, to_parquet
from sinks.s3 import list_keys, s3_client
from sinks.settings import SinkSettings
from sinks.worker import SinkWorker
from teachstream.admin import ensure_topics
from tests.samples import SampleSession, sample_sessions


@dataclass(frozen=True)
class SinkResult:
    sessions: int
    objects: int
    megabytes: float
    sink_s: float
    baseline_s: float

    @property
    def sink_mb_s(self) -> float:
        return self.megabytes / self.sink_s

    @property
    def baseline_mb_s(self) -> float:
        return self.megabytes / self.baseline_s


def _publish(settings: SinkSettings, sessions: list[SampleSession]) -> None:
    codec = Codec()
    producer = Producer(settings.kafka({"linger.ms": 20, "message.max.bytes": 17_000_000}))
    for s in sessions:
        for f in s.frames:
            value = codec.encode("ScreenFrame", to_avro(f))
            producer.produce(settings.topic("screens.clean"), value, key=f.device_id.encode())
            producer.poll(0)
        value = codec.encode("Trajectory", to_avro(s.trajectory))
        producer.produce(settings.topic("trajectories"), value, key=s.trajectory.session_id.encode())
    producer.flush(120)


def _sink(settings: SinkSettings, count: int) -> tuple[float, int, int]:
    """Seconds from the group assignment until ``count`` sessions are visible; objects and bytes stored."""
    worker = SinkWorker(settings, clock=time.perf_counter)
    elapsed = [0.0]

    def watch() -> None:
        while worker.running and worker.stats.sessions < count:
            time.sleep(0.01)
        elapsed[0] = time.perf_counter() - (worker.assigned_at or 0.0)
        worker.stop()

    threading.Thread(target=watch, daemon=True).start()
    worker.run()
    return elapsed[0], worker.stats.objects, worker.stats.bytes


def _baseline(settings: SinkSettings, sessions: list[SampleSession], prefix: str) -> tuple[float, int]:
    """A plain loop putting the same frames and Parquet bytes (and a manifest-sized object per session)."""
    s3 = s3_client(settings)
    bodies: list[tuple[str, bytes]] = []
    for s in sessions:
        t = s.trajectory
        frames = {}
        for f in s.frames:
            key = frame_key(f.user_id, f.device_id, f.frame_id)
            frames[f.frame_id] = FrameInfo(key, f.width, f.height, f.scale, 0, 0, len(f.image))
            bodies.append((key, f.image))
        bodies.append((f"steps/{t.session_id}.parquet", to_parquet(steps_table(t, frames))))
        bodies.append((f"manifests/{t.session_id}.json", b"{}" * 400))
    t0 = time.perf_counter()
    for key, body in bodies:
        s3.put_object(Bucket=settings.s3_bucket, Key=prefix + key, Body=body)
    return time.perf_counter() - t0, sum(len(b) for _, b in bodies)


def _cleanup(settings: SinkSettings, prefix: str) -> None:
    s3 = s3_client(settings)
    keys = list(list_keys(s3, settings.s3_bucket, prefix))
    for i in range(0, len(keys), 1000):
        batch = [{"Key": k} for k in keys[i : i + 1000]]
        s3.delete_objects(Bucket=settings.s3_bucket, Delete={"Objects": batch, "Quiet": True})


def run(count: int = 120) -> SinkResult:
    name = f"bench-sink-{uuid.uuid4().hex[:6]}"
    settings = load(SinkSettings, topic_prefix=f"{name}.", s3_prefix=f"bench/{name}/", sink_group=name)
    ensure_topics(settings)
    sessions = list(sample_sessions(count, 20, seed=1, start=datetime(2026, 11, 26, 8, tzinfo=UTC)))
    _publish(settings, sessions)
    try:
        sink_s, objects, stored = _sink(settings, count)
        baseline_s, _ = _baseline(settings, sessions, f"bench/{name}-baseline/")
    finally:
        _cleanup(settings, f"bench/{name}")
    return SinkResult(count, objects, stored / 1e6, sink_s, baseline_s)


def markdown(r: SinkResult) -> str:
    return "\n".join(
        [
            "## Sink: sessions and frames into the dataset",
            "",
            f"{r.sessions} synthetic sessions of 20 steps with a frame every two steps (text-heavy 960x540 JPEGs,",
            "as the capture agent sends them), already in `trajectories` and `screens.clean`. The sink consumes",
            "them and stores every frame, the Parquet steps of each session and the manifests, committing",
            "offsets after the uploads; its time runs from its group assignment until the last session is in a",
            "manifest. The baseline, in the same run against the same S3 server, is a plain boto3 loop that puts",
            "the same bytes as the same number of objects, one after another, with nothing read from Kafka.",
            "",
            "| writer | seconds | MB/s | sessions/s | share of the baseline |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| plain boto3 put loop (baseline) | {r.baseline_s:.2f} | {r.baseline_mb_s:.1f} | "
            f"{r.sessions / r.baseline_s:.1f} | 100% |",
            f"| `teachstream sink` | {r.sink_s:.2f} | {r.sink_mb_s:.1f} | {r.sessions / r.sink_s:.1f} | "
            f"{r.sink_mb_s / r.baseline_mb_s * 100:.0f}% |",
            "",
            f"Objects: {r.objects}, {r.megabytes:.1f} MB in all, {r.megabytes * 1e6 / r.objects / 1024:.0f} KiB on "
            "average (frames dominate; a session's Parquet steps are a few KiB).",
            "",
            "The reader is measured in its own section below.",
            "",
        ]
    )


if __name__ == "__main__":
    print(markdown(run()))
