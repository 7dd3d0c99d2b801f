"""The real local stack for integration tests.

The session fixture reuses a running stack (``make stack-up``) or starts one without the
pipeline workers and stops it at the end. Every test gets its own topic prefix, consumer
groups and S3 key prefix, so tests never see each other's records.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from runtime.settings import Settings, load
from schemas.codec import Codec
from schemas.control_records import ConsentRecord, ConsentState
from schemas.records import to_avro
from teachstream.admin import describe_topics, ensure_topics

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "local" / "stack.sh"
ENV_FILE = ROOT / ".stack" / "env"


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            if name != "PATH":
                env[name] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture(scope="session")
def stack_env() -> Iterator[dict[str, str]]:
    running = subprocess.run([str(STACK), "status"], capture_output=True, check=False).returncode == 0
    if not running:
        started = subprocess.run([str(STACK), "up"], check=False, env={**os.environ, "STACK_WORKERS": "0"})
        if started.returncode != 0:
            subprocess.run([str(STACK), "down"], check=False)  # what did start must not outlive the run
            pytest.fail("the local stack did not start; see the output above and .stack/logs/")
    env = read_env_file(ENV_FILE)
    yield env
    if not running:
        subprocess.run([str(STACK), "down"], check=True)


@dataclass
class Isolated:
    """One test's own slice of the stack."""

    env: dict[str, str]
    settings: Settings
    name: str
    codec: Codec = field(default_factory=Codec)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def topic(self, base: str) -> str:
        return self.settings.topic(base)

    def producer(self) -> Producer:
        return Producer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap,
                "enable.idempotence": True,
                "message.max.bytes": 17_000_000,
            }
        )

    def grant(self, *users: str) -> None:
        """Publish consent for these pseudonyms (recorded long ago), as their agents would have."""
        producer = self.producer()
        for user in users:
            record = ConsentRecord(user, ConsentState.GRANTED, "test", datetime(2000, 1, 1, tzinfo=UTC), user)
            value = self.codec.encode("ConsentRecord", to_avro(record))
            producer.produce(self.topic("control.consent"), value, key=user.encode())
        assert producer.flush(10) == 0

    def read_all(self, base: str, expect: int, timeout_s: float = 60.0) -> list[Any]:
        """Every record of a topic once at least ``expect`` have arrived (or the timeout passed)."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap,
                "group.id": f"{self.name}-reader-{uuid.uuid4().hex[:6]}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.message.max.bytes": 17 * 1024 * 1024,
            }
        )
        consumer.subscribe([self.topic(base)])
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline and len(records) < expect:
                for msg in consumer.consume(500, 0.5):
                    if msg.error() is None:
                        records.append(msg)
            # and a little more, to catch records that should not be there
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                records.extend(m for m in consumer.consume(500, 0.2) if m.error() is None)
        finally:
            consumer.close()
        return records

    def end_offsets(self, base: str) -> int:
        (info,) = describe_topics(self.settings, [self.topic(base)])
        return info.end_offsets

    def cli(
        self, *args: str, timeout: float = 120, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "teachstream.cli", *args],
            env=self._env(extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, log: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        out = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "teachstream.cli", *args], env=self._env(extra_env), stdout=out, stderr=out
        )
        self.procs.append(proc)
        return proc

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {
            **os.environ,
            **self.env,
            "TEACHSTREAM_TOPIC_PREFIX": self.settings.topic_prefix,
            "TEACHSTREAM_S3_PREFIX": self.settings.s3_prefix,
            "TEACHSTREAM_STREAMS_APP_ID": f"{self.name}-streams",
            "TEACHSTREAM_SINK_GROUP": f"{self.name}-sink",
            **(extra or {}),
        }

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def isolated(
    stack_env: dict[str, str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Isolated]:
    name = f"t{uuid.uuid4().hex[:8]}"
    for key, value in stack_env.items():
        monkeypatch.setenv(key, value)
    settings = load(Settings, topic_prefix=f"{name}.", s3_prefix=f"tests/{name}/")
    ensure_topics(settings)
    iso = Isolated(stack_env, settings, name)
    yield iso
    iso.stop_all()


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
