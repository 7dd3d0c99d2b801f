"""Prometheus metrics on the real stack: the stream worker's /metrics counts what was sent to it."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from schemas.records import to_avro
from tests.integration.conftest import Isolated, wait_for
from tests.integration.test_redaction import MAIL, keystrokes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_stream_worker_counts_what_it_read_forwarded_redacted_and_dead_lettered(
    isolated: Isolated, tmp_path: Path
) -> None:
    isolated.grant("u-1")
    port = free_port()
    env = {"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), "TEACHSTREAM_METRICS_PORT": str(port)}
    isolated.start("streams", log=tmp_path / "streams.log", extra_env=env)
    typed = keystrokes("d-1", "mail bob.smith@example.org\n", MAIL, datetime.now(UTC) - timedelta(seconds=5), 1)
    producer = isolated.producer()
    for e in typed:
        value = isolated.codec.encode("InteractionEvent", to_avro(e))
        producer.produce(isolated.topic("interactions.raw"), value, key=b"d-1")
    for garbage in (b"\x00", b"not avro", b"\xc3\x01short"):
        producer.produce(isolated.topic("interactions.raw"), garbage, key=b"broken")
    assert producer.flush(30) == 0

    out = ("teachstream_records_out_total", (("stage", "interactions.clean"),))
    letters = ("teachstream_dead_letters_total", (("error", "BadFrameError"), ("stage", "interactions.clean")))

    def counted() -> bool:
        try:
            metrics = scrape(port)
        except OSError:
            return False  # not serving yet
        return metrics.get(out) == len(typed) and metrics.get(letters) == 3

    wait_for(counted, 120, f"{len(typed)} records out and 3 dead letters on /metrics")
    metrics = scrape(port)
    assert metrics[("teachstream_records_in_total", (("topic", "interactions.raw"),))] >= len(typed) + 3
    assert metrics[("teachstream_redactions_total", (("kind", "text"), ("label", "EMAIL")))] >= len(
        "bob.smith@example.org"
    )
    assert metrics[("teachstream_redactions_total", (("kind", "title"), ("label", "EMAIL")))] >= 1
    assert metrics[("teachstream_batch_seconds_count", (("stage", "interactions"),))] >= 1  # batches timed
