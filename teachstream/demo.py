"""``make demo``: the product end to end on the local stack, explained as it goes (edge).

It simulates a few employees' devices, sends some garbage too, waits until the stream
worker has cleaned everything and the sink has landed it in S3, then prints the keys and a
summary. The stack keeps running afterwards.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime

from confluent_kafka import Consumer, Producer, TopicPartition

from producers.simulator import run_simulation
from sinks.s3 import s3_client
from sinks.settings import SinkSettings
from teachstream.admin import existing_topics
from teachstream.settings import Settings, load

DEVICES, DURATION_S, GARBAGE = 3, 8.0, 25


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def end_offsets(consumer: Consumer, topic: str, partitions: int) -> dict[int, int]:
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}


def committed(consumer: Consumer, topic: str, partitions: int) -> dict[int, int]:
    parts = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    return {tp.partition: max(tp.offset, 0) for tp in parts}


def wait(label: str, done: object, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():  # type: ignore[operator]
        if time.monotonic() > deadline:
            say(f"gave up waiting for {label} after {timeout_s:.0f}s; see .stack/logs/")
            sys.exit(1)
        time.sleep(0.5)


def main() -> None:
    settings = load(Settings)
    sink_group = load(SinkSettings).sink_group
    topics = existing_topics(settings)
    t = settings.topic
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": sink_group,
                         "enable.auto.commit": False})
    before_dead = sum(end_offsets(consumer, t("deadletter"), topics[t("deadletter")]).values())
    started = datetime.now(UTC)

    say(f"{DEVICES} simulated employees work for {DURATION_S:.0f}s: typing (with emails and card numbers), "
        "clicking, scrolling, switching apps; their agents publish Avro events and JPEG frames to Kafka")
    result = run_simulation(settings, DEVICES, DURATION_S, seed=int(time.time()) % 1000)
    say(f"published {result.events} interaction events to {t('interactions.raw')} "
        f"and {result.frames} screen frames to {t('screens.raw')}")

    say(f"a misbehaving client also sends {GARBAGE} undecodable records; they must end in {t('deadletter')}")
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    rng = random.Random(1)
    for _ in range(GARBAGE):
        producer.produce(t("interactions.raw"), rng.randbytes(rng.randrange(1, 64)), key=b"broken-client")
    producer.flush(10)

    raw_ends = {base: end_offsets(consumer, t(f"{base}.raw"), topics[t(f"{base}.raw")]) for base in ("interactions", "screens")}
    say("the stream worker decodes every record: valid ones go to the clean topics, bad ones to dead letters")
    wait("the stream worker", lambda: sum(end_offsets(consumer, t("deadletter"), topics[t("deadletter")]).values())
         >= before_dead + GARBAGE)
    say("the sink batches clean records per partition, uploads them to S3, and only then commits its offsets")
    for base in ("interactions", "screens"):
        clean = t(f"{base}.clean")
        target = sum(raw_ends[base].values())
        wait(f"{clean}", lambda c=clean, n=target: sum(end_offsets(consumer, c, topics[c]).values()) >= n - GARBAGE * (base == "interactions"))
        ends = end_offsets(consumer, clean, topics[clean])
        wait(f"the sink on {clean}", lambda c=clean, e=ends: all(committed(consumer, c, topics[c]).get(p, 0) >= o for p, o in e.items()))
    consumer.close()

    dead = sum(end_offsets_from_new(settings, t("deadletter"), topics[t("deadletter")]).values()) - before_dead
    s3 = s3_client(settings)
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket, Prefix=f"{settings.s3_prefix}stream/"):
        keys.extend((o["Key"], o["Size"]) for o in page.get("Contents", []) if o["LastModified"] >= started)
    for key, size in sorted(keys):
        print(f"  s3://{settings.s3_bucket}/{key}  ({size / 1024:.1f} KiB)")
    total = sum(size for _, size in keys) / 1024 / 1024
    print()
    print(f"teachstream demo: {result.events + result.frames} events in ({result.events} interactions, "
          f"{result.frames} frames from {DEVICES} devices), {len(keys)} objects out ({total:.1f} MiB in "
          f"s3://{settings.s3_bucket}/stream/v1/), {dead} dead letters (the {GARBAGE} garbage records).")
    print("The stack is still running. Look around:  . .stack/env; teachstream topics; "
          "teachstream tail interactions.clean --max 5")
    print("Stop it with:  make stack-down")


def end_offsets_from_new(settings: Settings, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "teachstream-demo"})
    try:
        return end_offsets(consumer, topic, partitions)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
