"""``make demo``: the product end to end on the local stack, explained as it goes (edge).

Simulated employees' devices publish to Kafka, a broken client sends garbage, the stream
worker (started by ``make stack-up``) cleans and dead-letters, the sink lands everything in
S3. The demo waits until the sink has committed every clean record, then prints the S3 keys
written and a summary. The stack keeps running afterwards.
"""

from __future__ import annotations

import functools
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from producers.simulator import run_simulation
from schemas.codec import Codec
from schemas.errors import CodecError
from schemas.events import InteractionEvent, KeyEvent
from schemas.records import from_avro
from schemas.trajectory import Trajectory
from sinks.s3 import s3_client
from sinks.settings import SinkSettings
from teachstream.admin import existing_topics, watermarks
from teachstream.desktop_demo import run_desktop_demo
from teachstream.settings import Settings, load

DEVICES, DURATION_S, GARBAGE = 3, 8.0, 25


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


class Offsets:
    """End offsets of topics and the sink group's committed offsets."""

    def __init__(self, kafka_config: dict[str, Any], partitions: dict[str, int]) -> None:
        self.partitions = partitions
        self.consumer = Consumer({**kafka_config, "enable.auto.commit": False})

    def ends(self, topic: str) -> dict[int, int]:
        return {p: watermarks(self.consumer, TopicPartition(topic, p))[1] for p in range(self.partitions[topic])}

    def total(self, topic: str) -> int:
        return sum(self.ends(topic).values())

    def committed_up_to(self, topic: str, ends: dict[int, int]) -> bool:
        """True once the group's committed offsets reach ``ends`` (a snapshot: ticks keep arriving)."""
        parts = self.consumer.committed([TopicPartition(topic, p) for p in ends], timeout=10)
        done = {tp.partition: max(tp.offset, 0) for tp in parts}
        return all(done[p] >= end for p, end in ends.items())


def wait(label: str, done: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            say(f"gave up waiting for {label} after {timeout_s:.0f}s; see .stack/logs/")
            sys.exit(1)
        time.sleep(0.5)


def main() -> None:
    settings = load(SinkSettings)
    t = settings.topic
    offsets = Offsets(settings.kafka({"group.id": settings.sink_group}), existing_topics(settings))
    dead_before = offsets.total(t("deadletter"))
    clean_before = {b: offsets.total(t(f"{b}.clean")) for b in ("interactions", "screens")}
    trajectory_start = offsets.ends(t("trajectories"))
    raw_start, clean_start = offsets.ends(t("interactions.raw")), offsets.ends(t("interactions.clean"))
    started = datetime.now(UTC)

    say("a person works on a virtual X display, with the real capture agent running (consent given)")
    desktop = run_desktop_demo(settings)

    say(
        f"{DEVICES} simulated employees work for {DURATION_S:.0f}s: they type (emails and card numbers too), "
        "click, scroll and switch apps; their agents publish Avro events and JPEG frames to Kafka"
    )
    result = run_simulation(settings, DEVICES, DURATION_S, seed=int(time.time()) % 1000)
    say(f"published {result.events} events to {t('interactions.raw')} and {result.frames} frames to {t('screens.raw')}")

    say(f"a broken client sends {GARBAGE} undecodable records; they must end in {t('deadletter')}, with reasons")
    producer = Producer(settings.kafka())
    rng = random.Random(1)
    for _ in range(GARBAGE):
        producer.produce(t("interactions.raw"), rng.randbytes(rng.randrange(1, 64)), key=b"broken-client")
    producer.flush(10)

    say("the stream worker decodes every record: valid ones go to the clean topics, bad ones to dead letters")
    wait("dead letters", lambda: offsets.total(t("deadletter")) >= dead_before + GARBAGE)
    wait("clean events", lambda: offsets.total(t("interactions.clean")) >= clean_before["interactions"] + result.events)
    wait("clean frames", lambda: offsets.total(t("screens.clean")) >= clean_before["screens"] + result.frames)
    say("the sink batches clean records per partition, uploads each batch to S3, and only then commits")
    for base in ("interactions", "screens"):
        clean = t(f"{base}.clean")
        wait(f"the sink on {clean}", functools.partial(offsets.committed_up_to, clean, offsets.ends(clean)))
    dead = offsets.total(t("deadletter")) - dead_before

    say("the sessionizer cuts each device's events into sessions on event time (here after 20 s without activity)")
    sessions = collect_sessions(settings, trajectory_start, {*result.device_ids, desktop})
    say("what the desktop person typed, as the agent published it and as it left the clean stage:")
    print(f"  raw:   {typed_text(settings, t('interactions.raw'), raw_start, desktop)!r}")
    print(f"  clean: {typed_text(settings, t('interactions.clean'), clean_start, desktop)!r}")
    say("the sessions:")
    for trajectory in sessions:
        actions = Counter(step.action for step in trajectory.steps)
        summary = ", ".join(f"{n} {action}" for action, n in actions.most_common())
        who = "desktop person" if trajectory.device_id == desktop else "simulated"
        print(f"  {who:>14} session {trajectory.session_id[:24]}…  {len(trajectory.steps)} steps ({summary})")
    for step in next((s.steps for s in sessions if s.device_id == desktop), ()):
        if step.action == "type":
            print(f"  desktop step {step.index}: type({step.text!r}) in {step.app}")

    s3 = s3_client(settings)
    written: list[tuple[str, int]] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=settings.s3_bucket, Prefix=f"{settings.s3_prefix}stream/"
    )
    for page in pages:
        written.extend((o["Key"], o["Size"]) for o in page.get("Contents", []) if o["LastModified"] >= started)
    for key, size in sorted(written):
        print(f"  s3://{settings.s3_bucket}/{key}  ({size / 1024:.1f} KiB)")
    kib = sum(size for _, size in written) / 1024
    print()
    print(
        f"teachstream demo: {result.events + result.frames} events in ({result.events} interactions and "
        f"{result.frames} screen frames from {DEVICES} devices), {len(written)} objects out ({kib:.0f} KiB under "
        f"s3://{settings.s3_bucket}/{settings.s3_prefix}stream/v1/), {len(sessions)} sessions on "
        f"{t('trajectories')}, {dead} dead letters (the broken client's records)."
    )
    print("The stack is still running. Look around:  . .stack/env; teachstream topics; teachstream tail deadletter")
    print("Stop it with:  make stack-down")


def typed_text(settings: Settings, topic: str, start: dict[int, int], device: str) -> str:
    """The characters one device typed, from ``start`` on; redacted runs show as ``<LABEL>``."""
    codec = Codec.from_url(settings.schema_registry_url)
    consumer = Consumer(settings.kafka({"group.id": "teachstream-demo", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    ends = {p: watermarks(consumer, TopicPartition(topic, p))[1] for p in start}
    pending = {p for p in start if ends[p] > start[p]}
    events: list[InteractionEvent] = []
    deadline = time.monotonic() + 60
    try:
        while pending and time.monotonic() < deadline:  # up to the end as it is now: ticks keep coming
            for msg in consumer.consume(500, 0.5):
                if (msg.offset() or 0) >= ends[msg.partition() or 0] - 1:
                    pending.discard(msg.partition() or 0)
                try:
                    decoded = codec.decode(msg.value() or b"") if msg.error() is None else None
                except CodecError:
                    continue  # the broken client's records
                if decoded is not None and decoded.short_name == "InteractionEvent":
                    event = from_avro(InteractionEvent, decoded.value)
                    if event.device_id == device and isinstance(event.payload, KeyEvent) and event.payload.pressed:
                        events.append(event)
    finally:
        consumer.close()
    out: list[str] = []
    for e in sorted(events, key=lambda e: e.seq):
        key = e.payload
        assert isinstance(key, KeyEvent)
        chunk = f"<{key.redaction}>" if key.redaction else key.char or ("⏎" if key.key == "enter" else "")
        if chunk and not (chunk.startswith("<") and out and out[-1] == chunk):
            out.append(chunk)
    return "".join(out)


def collect_sessions(
    settings: Settings, start: dict[int, int], devices: set[str], timeout_s: float = 90
) -> list[Trajectory]:
    """Trajectories of ``devices`` written after ``start``, once every device has at least one."""
    codec = Codec.from_url(settings.schema_registry_url)
    consumer = Consumer(settings.kafka({"group.id": "teachstream-demo", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(settings.topic("trajectories"), p, o) for p, o in start.items()])
    found: list[Trajectory] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not devices <= {s.device_id for s in found}:
            for msg in consumer.consume(100, 0.5):
                if msg.error() is None and msg.value():
                    trajectory = from_avro(Trajectory, codec.decode(msg.value() or b"").value)
                    if trajectory.device_id in devices:
                        found.append(trajectory)
    finally:
        consumer.close()
    if not devices <= {s.device_id for s in found}:
        say(f"gave up waiting for sessions after {timeout_s:.0f}s; see .stack/logs/streams.log")
        sys.exit(1)
    return sorted(found, key=lambda s: s.start_time)


if __name__ == "__main__":
    main()
