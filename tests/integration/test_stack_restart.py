"""Stopping and restarting the stack keeps topics, records and S3 objects."""

from __future__ import annotations

import os
import subprocess

from schemas.topics import TOPIC_NAMES
from sinks.s3 import s3_client
from teachstream.admin import existing_topics
from tests.integration.conftest import STACK, Isolated


def test_restart_keeps_topics_records_and_objects(isolated: Isolated) -> None:
    producer = isolated.producer()
    for i in range(20):
        producer.produce(isolated.topic("interactions.raw"), f"record {i}".encode())
    assert producer.flush(30) == 0
    s3 = s3_client(isolated.settings)
    key = f"{isolated.settings.s3_prefix}restart-check"
    s3.put_object(Bucket="teachstream", Key=key, Body=b"still here")

    workers = b"worker: running" in subprocess.run([str(STACK), "status"], capture_output=True, check=False).stdout
    subprocess.run([str(STACK), "down"], check=True)
    subprocess.run([str(STACK), "up"], check=True, env={**os.environ, "STACK_WORKERS": "1" if workers else "0"})

    topics = existing_topics(isolated.settings)
    assert {isolated.topic(t) for t in TOPIC_NAMES} <= set(topics)
    assert isolated.end_offsets("interactions.raw") == 20
    assert s3.get_object(Bucket="teachstream", Key=key)["Body"].read() == b"still here"
