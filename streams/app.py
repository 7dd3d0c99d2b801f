"""The faust application: builds the app from settings and wires the stages to topics (edge)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer as AiokafkaProducer
from faust.types import ProducerT

from schemas.topics import SCREEN_MAX_BYTES
from streams.memory import collect_less_often
from streams.settings import StreamsSettings

log = logging.getLogger(__name__)


def credentials(settings: StreamsSettings) -> faust.types.auth.CredentialsT | None:
    """Faust's view of the Kafka security settings (aiokafka: TLS through an ``ssl`` context)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    context = None
    if settings.kafka_tls():
        context = ssl.create_default_context(cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None)
    if not settings.kafka_sasl():
        return faust.SSLCredentials(context)
    security = settings.kafka_security()  # checks that a user and a password are set
    return faust.SASLCredentials(
        username=security["sasl.username"],
        password=security["sasl.password"],
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )


class IdempotentProducer(AiokafkaProducer):
    """Faust's producer with idempotence on (faust turns it on only for exactly-once transactions): a send that
    aiokafka retries after a lost answer (a broker bounce) is not written twice."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class App(faust.App):
    """A faust app whose producer (dead letters, trajectories, clean frames, ticks) is idempotent."""

    def _new_producer(self) -> ProducerT:
        return IdempotentProducer(self.transport, loop=self.loop, beacon=self.beacon)


def create_app(
    settings: StreamsSettings, wire: Callable[[faust.App, StreamsSettings], None] | None = None
) -> faust.App:
    """A faust app with raw bytes on every topic; the codec is ours, not faust's. ``wire`` adds
    the agents (default: every stage of the worker; the benchmark passes a forward-only agent). The process
    collects its garbage less often (``streams.memory``)."""
    collect_less_often()
    web: dict[str, Any] = (
        {"web_enabled": True, "web_port": settings.streams_web_port, "web_bind": "127.0.0.1"}
        if settings.streams_web_port
        else {"web_enabled": False}
    )
    app = App(
        settings.app_id(),
        broker=[f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(",")],
        broker_credentials=credentials(settings),
        datadir=settings.streams_data_dir,
        key_serializer="raw",
        value_serializer="raw",
        topic_allow_declare=True,  # for the table changelogs; the project's topics are provisioned with their configs
        topic_partitions=6,
        topic_replication_factor=settings.topic_replication,  # the table changelogs faust creates
        # no standby copies of the tables: a partition's new owner reads its changelog. With standbys,
        # faust-streaming 0.15.3 standby recovery can seek to a negative offset on a rebalance and crash the
        # worker ("Offset must be a positive integer"), seen by `make chaos` when a second worker joined
        table_standby_replicas=0,
        producer_max_request_size=SCREEN_MAX_BYTES + 65536,
        consumer_max_fetch_size=SCREEN_MAX_BYTES + 65536,
        producer_acks=-1,
        producer_compression_type="zstd",
        producer_linger=0.02,  # batch sends: one request per record would cap a worker at ~1,000 records/s
        producer_max_batch_size=256 * 1024,
        broker_commit_every=500,
        broker_session_timeout=10.0,  # a dead worker's partitions move on within seconds
        broker_heartbeat_interval=2.0,
        broker_commit_interval=1.0,
        **web,
    )
    if wire is None:
        from streams import agents

        wire = agents.register
    wire(app, settings)
    return app
