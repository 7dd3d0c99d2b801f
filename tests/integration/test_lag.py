"""`teachstream lag` on the real broker: records behind and seconds behind, per group, topic and partition."""

from __future__ import annotations

import json
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from tests.integration.conftest import Isolated, wait_for
from tests.integration.test_metrics import free_port, scrape


def test_lag_counts_the_records_a_group_has_not_committed_and_how_old_the_oldest_is(
    isolated: Isolated, tmp_path: Path
) -> None:
    topic = isolated.topic("interactions.raw")
    producer = isolated.producer()
    for i in range(10):
        producer.produce(topic, f"record {i}".encode(), partition=2)
    assert producer.flush(30) == 0
    group = f"{isolated.settings.topic_prefix}lag-reader"
    consumer = Consumer({"bootstrap.servers": isolated.settings.kafka_bootstrap, "group.id": group})
    consumer.commit(offsets=[TopicPartition(topic, 2, 4), TopicPartition(topic, 3, 0)], asynchronous=False)
    consumer.close()
    time.sleep(2)  # the oldest record not committed is at least this old

    result = isolated.cli("lag", group, "--json")
    assert result.returncode == 0, result.stderr
    rows = {(r["topic"], r["partition"]): r for r in map(json.loads, result.stdout.splitlines())}
    behind, empty = rows[(topic, 2)], rows[(topic, 3)]
    assert (behind["committed"], behind["end"], behind["records"]) == (4, 10, 6)
    assert 2 <= behind["seconds"] < 600
    assert (empty["records"], empty["seconds"]) == (0, 0)

    table = isolated.cli("lag")  # every group reading a topic of this deployment, as a table
    assert table.returncode == 0, table.stderr
    assert any(line.split()[:3] == [group, topic, "2"] for line in table.stdout.splitlines())

    port = free_port()  # and as Prometheus gauges, for alerts on lag
    isolated.start("lag", group, "--serve", str(port), log=tmp_path / "lag.log")
    labels = (("group", group), ("partition", "2"), ("topic", topic))

    def served() -> bool:
        try:
            return scrape(port).get(("teachstream_consumer_lag_records", labels)) == 6
        except OSError:
            return False  # not serving yet

    wait_for(served, 60, "the lag on /metrics")
    assert scrape(port)[("teachstream_consumer_lag_seconds", labels)] >= 2
