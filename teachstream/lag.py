"""Consumer lag per group, topic and partition: in records, and in seconds from record timestamps.

The numbers come from Kafka (committed offsets, end offsets, the timestamp of the oldest record a group
has not committed yet); :func:`rows` turns them into what ``teachstream lag`` prints, :func:`table` the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from runtime.settings import Settings
from teachstream.admin import admin_client, watermarks

TP = tuple[str, int]
LAG_RECORDS, LAG_SECONDS = "teachstream_consumer_lag_records", "teachstream_consumer_lag_seconds"


@dataclass(frozen=True)
class Lag:
    group: str
    topic: str
    partition: int
    committed: int | None  # None: the group has not committed in this partition yet
    end: int
    records: int
    seconds: float  # age of the oldest record not committed yet; 0 when nothing is behind


def rows(
    group: str,
    committed: Mapping[TP, int | None],
    ends: Mapping[TP, tuple[int, int]],
    oldest: Mapping[TP, int],
    now_ms: int,
) -> list[Lag]:
    """``committed``: the group's next offset per partition; ``ends``: (low, high) watermarks; ``oldest``: the
    timestamp (ms) of the record at the committed offset, where one is behind. A partition the group never
    committed counts from the low watermark (what it would read first)."""
    out = []
    for (topic, partition), offset in sorted(committed.items()):
        low, high = ends.get((topic, partition), (0, 0))
        behind = max(high - _first_unread(offset, low), 0)
        stamp = oldest.get((topic, partition))
        seconds = max((now_ms - stamp) / 1000, 0.0) if behind and stamp is not None else 0.0
        out.append(Lag(group, topic, partition, offset, high, behind, seconds))
    return out


def table(lags: Iterable[Lag], at: datetime) -> str:
    lines = [f"consumer lag at {at:%Y-%m-%d %H:%M:%S} UTC"]
    lines.append(f"{'group':<36} {'topic':<32} {'part':>4} {'committed':>10} {'end':>10} {'records':>9} {'seconds':>9}")
    for lag in lags:
        committed = "-" if lag.committed is None else str(lag.committed)
        lines.append(
            f"{lag.group:<36} {lag.topic:<32} {lag.partition:>4} {committed:>10} {lag.end:>10} "
            f"{lag.records:>9} {lag.seconds:>9.1f}"
        )
    return "\n".join(lines)


def project_groups(client: AdminClient, settings: Settings, wanted: Iterable[str] = ()) -> list[str]:
    """The consumer groups named in ``wanted``, else every group that has committed offsets in a project
    topic under this deployment's prefix."""
    if wanted:
        return list(wanted)
    listed = client.list_consumer_groups(request_timeout=10).result()
    groups = sorted(g.group_id for g in listed.valid)
    return [g for g in groups if any(t.startswith(settings.topic_prefix) for t, _ in _committed(client, g))]


def measure(settings: Settings, groups: list[str], now_ms: Callable[[], int]) -> list[Lag]:
    client = admin_client(settings)
    consumer = Consumer(
        settings.kafka(
            {"group.id": "teachstream-lag", "enable.auto.commit": False, "enable.partition.eof": True}, quiet=True
        )
    )
    try:
        out: list[Lag] = []
        for group in groups:
            committed = {
                tp: off for tp, off in _committed(client, group).items() if tp[0].startswith(settings.topic_prefix)
            }
            ends = {tp: watermarks(consumer, TopicPartition(*tp)) for tp in committed}
            oldest = {}
            for tp, offset in committed.items():
                start, high = _first_unread(offset, ends[tp][0]), ends[tp][1]
                if start < high:
                    stamp = _timestamp_at(consumer, tp, start)
                    if stamp is not None:
                        oldest[tp] = stamp
            out += rows(group, committed, ends, oldest, now_ms())
        return out
    finally:
        consumer.close()


def _first_unread(committed: int | None, low: int) -> int:
    """The offset a group reads next: its committed one, unless it never committed or retention removed it."""
    return low if committed is None or committed < low else committed


def _committed(client: AdminClient, group: str) -> dict[TP, int | None]:
    request = [ConsumerGroupTopicPartitions(group)]
    result = client.list_consumer_group_offsets(request, request_timeout=10)[group].result()
    return {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None) for tp in result.topic_partitions}


def _timestamp_at(consumer: Consumer, tp: TP, offset: int) -> int | None:
    consumer.assign([TopicPartition(tp[0], tp[1], offset)])
    try:
        for _ in range(20):
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            return int(msg.timestamp()[1])
        return None
    finally:
        consumer.unassign()


def serve_lag(settings: Settings, groups: list[str], port: int, bind: str, now_ms: Callable[[], int]) -> None:
    """Serve each group's lag as Prometheus gauges, measured at every scrape (``teachstream lag --serve``)."""
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector

    from runtime.metrics import expose

    class Lags(Collector):
        def collect(self) -> Iterator[GaugeMetricFamily]:
            labels = ["group", "topic", "partition"]
            records = GaugeMetricFamily(LAG_RECORDS, "records behind the end", labels=labels)
            age = GaugeMetricFamily(LAG_SECONDS, "age of the oldest record not committed", labels=labels)
            for lag in measure(settings, groups, now_ms):
                key = [lag.group, lag.topic, str(lag.partition)]
                records.add_metric(key, lag.records)
                age.add_metric(key, lag.seconds)
            yield records
            yield age

    expose(Lags(), port, bind)
