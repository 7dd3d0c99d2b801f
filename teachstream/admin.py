"""Topic administration on the Kafka cluster with confluent-kafka's AdminClient (edge)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from runtime.settings import Settings
from schemas.errors import BrokerUnavailableError, ConfigError
from schemas.topics import TopicSpec, topic_specs

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TopicInfo:
    """What ``teachstream topics`` shows about one topic."""

    name: str
    exists: bool
    partitions: int = 0
    retention_ms: int | None = None
    cleanup_policy: str = ""
    max_message_bytes: int | None = None
    end_offsets: int = 0  # sum over partitions


def admin_client(settings: Settings) -> AdminClient:
    return AdminClient(settings.kafka({"socket.timeout.ms": 5000}, quiet=True))


def existing_topics(settings: Settings, client: AdminClient | None = None) -> dict[str, int]:
    """Topic name -> partition count; a clear error when the broker cannot be reached."""
    client = client or admin_client(settings)
    try:
        meta = client.list_topics(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise BrokerUnavailableError(
            f"cannot reach Kafka at {settings.kafka_bootstrap} ({exc.args[0].str() if exc.args else exc}); "
            "is the stack running? Start it with `make stack-up` and load its settings with `. .stack/env`"
        ) from exc
    return {name: len(t.partitions) for name, t in meta.topics.items()}


def ensure_topics(settings: Settings, specs: tuple[TopicSpec, ...] | None = None) -> list[str]:
    """Create the project topics that are missing; returns the names created."""
    client = admin_client(settings)
    have = existing_topics(settings, client)
    specs = specs or topic_specs(raw_retention_ms=int(settings.raw_retention_hours * 3_600_000))
    wanted = [s for s in specs if settings.topic(s.name) not in have]
    if not wanted:
        return []
    futures = client.create_topics(
        [
            NewTopic(settings.topic(s.name), s.partitions, settings.topic_replication, config=dict(s.config))
            for s in wanted
        ],
        operation_timeout=TIMEOUT_S,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise ConfigError(f"could not create topic {name}: {exc}") from exc
    _wait_for_leaders(client, created)
    log.debug("created %d topics", len(created))
    return sorted(created)


def align_raw_retention(settings: Settings) -> list[str]:
    """Set ``retention.ms`` of the raw topics to ``raw_retention_hours``; returns the topics changed."""
    client = admin_client(settings)
    wanted = str(int(settings.raw_retention_hours * 3_600_000))
    have = existing_topics(settings, client)
    raw = [name for t in ("interactions.raw", "screens.raw") if (name := settings.topic(t)) in have]
    current = {name: cfg.get("retention.ms") for name, cfg in topic_configs(client, raw).items()}
    changes = [
        ConfigResource(
            ResourceType.TOPIC,
            name,
            incremental_configs=[ConfigEntry("retention.ms", wanted, incremental_operation=AlterConfigOpType.SET)],
        )
        for name, retention in current.items()
        if str(retention) != wanted
    ]
    if not changes:
        return []
    for resource, future in client.incremental_alter_configs(changes).items():
        try:
            future.result()
        except KafkaException as exc:
            raise ConfigError(f"could not set the retention of {resource.name}: {exc}") from exc
    return sorted(r.name for r in changes)


def _wait_for_leaders(client: AdminClient, topics: list[str], timeout_s: float = TIMEOUT_S) -> None:
    """Return once every partition of ``topics`` has a leader: a new topic is not usable before."""
    deadline = time.monotonic() + timeout_s
    while True:
        meta = client.list_topics(timeout=TIMEOUT_S).topics
        if all(
            t in meta and meta[t].partitions and all(p.leader >= 0 for p in meta[t].partitions.values()) for t in topics
        ):
            return
        if time.monotonic() > deadline:
            raise BrokerUnavailableError(f"topics {', '.join(topics)} have no leader after {timeout_s:.0f}s")
        time.sleep(0.2)


# a broker that has just started may not lead its partitions yet; librdkafka does not always flag these retriable
_SETTLING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.REQUEST_TIMED_OUT}


def watermarks(consumer: Consumer, tp: TopicPartition, settle_s: float = 30.0) -> tuple[int, int]:
    """Low and high offsets of a partition, retrying for up to ``settle_s`` the transient errors of a cluster
    that is settling (a restarted broker taking its partitions' leadership back)."""
    deadline = time.monotonic() + settle_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_S)
            return int(low), int(high)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            transient = isinstance(error, KafkaError) and (error.retriable() or error.code() in _SETTLING)
            if not transient or time.monotonic() > deadline:
                raise BrokerUnavailableError(
                    f"cannot read the offsets of {tp.topic}[{tp.partition}]: {error.str() if error else exc}"
                ) from exc
            time.sleep(0.3)


def describe_topics(settings: Settings, names: list[str]) -> list[TopicInfo]:
    """Partition counts, retention, cleanup policy and end offsets of ``names``."""
    client = admin_client(settings)
    have = existing_topics(settings, client)
    present = [n for n in names if n in have]
    configs = topic_configs(client, present)
    ends = _end_offsets(settings, {n: have[n] for n in present})
    out = []
    for name in names:
        if name not in have:
            out.append(TopicInfo(name, exists=False))
            continue
        cfg = configs.get(name, {})
        retention = cfg.get("retention.ms")
        max_bytes = cfg.get("max.message.bytes")
        out.append(
            TopicInfo(
                name=name,
                exists=True,
                partitions=have[name],
                retention_ms=int(retention) if retention else None,
                cleanup_policy=cfg.get("cleanup.policy", ""),
                max_message_bytes=int(max_bytes) if max_bytes else None,
                end_offsets=ends.get(name, 0),
            )
        )
    return out


def topic_configs(client: AdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """The configs of existing topics, by name."""
    if not names:
        return {}
    futures = client.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, n) for n in names])
    return {resource.name: {k: v.value for k, v in future.result().items()} for resource, future in futures.items()}


def _end_offsets(settings: Settings, partitions: dict[str, int]) -> dict[str, int]:
    consumer = Consumer(settings.kafka({"group.id": "teachstream-admin", "enable.auto.commit": False}, quiet=True))
    try:
        totals: dict[str, int] = {}
        for name, count in partitions.items():
            total = 0
            for p in range(count):
                _, high = watermarks(consumer, TopicPartition(name, p))
                total += max(high, 0)
            totals[name] = total
        return totals
    finally:
        consumer.close()
