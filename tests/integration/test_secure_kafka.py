"""A secure broker (``KAFKA_SECURE=1``: TLS, SASL/SCRAM, ACLs) of its own: each component may do
what it needs and nothing else, and the pipeline runs through it as its own users."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from runtime.settings import Settings
from tests.integration.conftest import ROOT, wait_for
from tests.integration.test_metrics import free_port

KAFKA = ROOT / "deploy" / "local" / "kafka.sh"
TS = [sys.executable, "-m", "teachstream.cli"]


class SecureKafka:
    def __init__(self, stack: Path) -> None:
        self.stack = stack
        self.port, self.controller = free_port(), free_port()
        self.service = {
            **os.environ,
            "TS_STACK": str(stack),
            "KAFKA_SECURE": "1",
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller),
        }

    def password(self, user: str) -> str:
        for line in (self.stack / "secure" / "passwords").read_text().splitlines():
            if line.startswith(f"{user}="):
                return line.split("=", 1)[1]
        raise KeyError(user)

    def env(self, user: str, password: str | None = None) -> dict[str, str]:
        """What a process running as ``user`` gets (no S3: these tests are about Kafka)."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TEACHSTREAM_", "AWS_"))}
        return {
            **base,
            "TEACHSTREAM_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.port}",
            "TEACHSTREAM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "TEACHSTREAM_KAFKA_CA_FILE": str(self.stack / "secure" / "ca.crt"),
            "TEACHSTREAM_KAFKA_USERNAME": user,
            "TEACHSTREAM_KAFKA_PASSWORD": password if password is not None else self.password(user),
        }

    def settings(self, user: str, password: str | None = None) -> Settings:
        env = self.env(user, password)
        return Settings.model_validate(
            {
                "kafka_bootstrap": env["TEACHSTREAM_KAFKA_BOOTSTRAP"],
                "kafka_security_protocol": "SASL_SSL",
                "kafka_ca_file": env["TEACHSTREAM_KAFKA_CA_FILE"],
                "kafka_username": user,
                "kafka_password": env["TEACHSTREAM_KAFKA_PASSWORD"],
            }
        )

    def cli(self, user: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*TS, *args], env=self.env(user), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafka]:
    kafka = SecureKafka(tmp_path_factory.mktemp("secure-stack"))
    started = subprocess.run([str(KAFKA), "start"], env=kafka.service, cwd=ROOT, check=False, timeout=600)
    try:
        assert started.returncode == 0, "the secure broker did not start"
        for args in (["provision"], ["acl", "apply"]):
            done = kafka.cli("admin", *args)
            assert done.returncode == 0, done.stderr
        yield kafka
    finally:
        subprocess.run([str(KAFKA), "stop"], env=kafka.service, cwd=ROOT, check=False, timeout=120)


def _produce(settings: Settings, topic: str) -> str | None:
    """The error of producing one record to ``topic``, or None."""
    producer = Producer(settings.kafka({"enable.idempotence": True, "acks": "all", "message.timeout.ms": 30000}))
    errors: list[KafkaError | None] = []
    producer.produce(topic, b"not an event", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(60)
    assert errors, f"no delivery report for {topic} within 60 s"
    return errors[0].str() if errors[0] is not None else None


def _fetch_error(settings: Settings, topic: str) -> str | None:
    """The error of reading ``topic`` from its start (its partition 0), or None if it may be read."""
    consumer = Consumer(
        settings.kafka(
            {"group.id": "teachstream-follow-test", "enable.auto.commit": False, "enable.partition.eof": True}
        )
    )
    try:
        error = consumer.list_topics(topic, timeout=30).topics[topic].error  # not even allowed to see it
        if error is not None:
            return str(error.str())
        consumer.assign([TopicPartition(topic, 0, 0)])
        for _ in range(30):
            msg = consumer.poll(1.0)
            failed = msg.error() if msg is not None else None
            if failed is not None and failed.code() != KafkaError._PARTITION_EOF:
                return str(failed.str())
            if msg is not None:  # a record, or the end of an empty partition: fetched
                return None
        raise AssertionError(f"neither a record nor an error from {topic} within 30 s")
    finally:
        consumer.close()


def _connection_error(settings: Settings) -> KafkaError:
    """The first error a client reports when it connects with ``settings``."""
    errors: list[KafkaError] = []
    producer = Producer(settings.kafka({"error_cb": errors.append}, quiet=True))
    for _ in range(60):
        if errors:
            return errors[0]
        producer.poll(0.5)
    raise AssertionError("the client connected without an error")


def test_each_component_may_do_only_what_it_needs(secure: SecureKafka) -> None:
    agent, sink = secure.settings("agent"), secure.settings("sink")
    assert _produce(agent, "interactions.raw") is None
    assert _produce(agent, "agents.heartbeat") is None
    for topic in ("trajectories", "interactions.clean", "control.policy", "control.erasure"):
        assert "authorization failed" in (_produce(agent, topic) or ""), topic
    for topic in ("interactions.raw", "interactions.clean", "trajectories"):
        assert "authorization failed" in (_fetch_error(agent, topic) or ""), topic
    assert "authorization failed" in (_produce(sink, "interactions.raw") or "")
    assert "authorization failed" in (_fetch_error(sink, "interactions.raw") or "")
    assert _fetch_error(sink, "trajectories") is None


def test_a_wrong_password_an_unknown_ca_or_plaintext_is_refused(secure: SecureKafka) -> None:
    assert _connection_error(secure.settings("agent", password="guess")).code() == KafkaError._AUTHENTICATION
    untrusted = secure.settings("agent").model_copy(update={"kafka_ca_file": None})  # the system's CAs only
    assert _connection_error(untrusted).code() == KafkaError._SSL
    plaintext = Settings.model_validate({"kafka_bootstrap": f"127.0.0.1:{secure.port}"})
    assert _connection_error(plaintext).code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)


def test_the_pipeline_runs_through_the_secure_broker_as_its_own_users(secure: SecureKafka, tmp_path: Path) -> None:
    log = tmp_path / "streams.log"
    env = {**secure.env("streams"), "TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "streams")}
    with log.open("wb") as out:
        worker = subprocess.Popen([*TS, "streams"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "Worker]: Ready" in log.read_text(errors="replace"), 180, "the streams worker to be ready")
        done = secure.cli("agent", "simulate", "--devices", "2", "--duration", "5", "--fast")
        assert done.returncode == 0, done.stderr
        ops = secure.settings("ops")

        def landed(topic: str) -> int:
            consumer = Consumer(ops.kafka({"group.id": "teachstream-test-ends"}, quiet=True))
            try:
                return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), 10)[1] for p in range(6))
            finally:
                consumer.close()

        wait_for(lambda: landed("interactions.clean") > 0 and landed("screens.clean") > 0, 300, "clean records")
        assert "uthorization" not in log.read_text(errors="replace")
        lag = secure.cli("ops", "lag")
        assert lag.returncode == 0 and "teachstream-streams" in lag.stdout, lag.stderr
    finally:
        worker.terminate()
        worker.wait(60)
