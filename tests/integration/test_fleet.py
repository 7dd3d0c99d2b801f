"""``teachstream fleet`` on the real stack: heartbeats in agents.heartbeat become one line per device."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runtime.control_topics import publish
from schemas.control_records import Heartbeat
from tests.integration.conftest import Isolated, wait_for
from tests.integration.test_metrics import free_port, scrape

RECENT, SILENT = "d-fleet-recent", "d-fleet-silent"


def heartbeat(device: str, sent_at: datetime, **fields: object) -> Heartbeat:
    return replace(Heartbeat(device, "0.4.0", sent_at, "capturing", "2026-11-26.1"), **fields)  # type: ignore[arg-type]


def test_each_device_once_the_silent_one_stale_filtered_as_json_and_counted(isolated: Isolated) -> None:
    now = datetime.now(UTC)
    beats = [
        heartbeat(RECENT, now - timedelta(seconds=40), state="paused"),
        heartbeat(RECENT, now, spooled=3, spool_bytes=4096, oldest_spooled_s=20.0, cpu_percent=1.5),
        heartbeat(SILENT, now - timedelta(minutes=10), agent_version="0.3.9", policy_version="2026-11-20.1"),
    ]
    for beat in beats:
        publish(isolated.settings, "agents.heartbeat", beat.device_id, beat)
    producer = isolated.producer()
    producer.produce(isolated.topic("agents.heartbeat"), b"not a heartbeat", key=b"d-broken")
    assert producer.flush(10) == 0

    listed = isolated.cli("fleet")
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split()[:3] == ["DEVICE", "SEEN", "STATE"]
    rows = {line.split()[0]: line for line in lines}
    assert set(rows) == {RECENT, SILENT}
    assert rows[RECENT].split()[2] == "capturing" and "3 (4.0KiB, oldest 20s)" in rows[RECENT]
    assert rows[SILENT].split()[1:5] == ["10m", "stale", "0.3.9", "2026-11-20.1"]
    assert rows[SILENT].endswith("stale policy")
    assert "skipped 1 records that could not be read as heartbeats" in listed.stderr
    assert "2 devices" in listed.stderr

    silent = isolated.cli("fleet", "--stale", "5m")
    assert silent.returncode == 0, silent.stderr
    assert [line.split()[0] for line in silent.stdout.splitlines()[1:]] == [SILENT]

    as_json = isolated.cli("fleet", "--json", "--version", "0.4.0")
    assert as_json.returncode == 0, as_json.stderr
    (recent,) = json.loads(as_json.stdout)
    assert (recent["device_id"], recent["spooled"], recent["policy_stale"]) == (RECENT, 3, False)

    summary = isolated.cli("fleet", "summary", "--json", "--stale-after", "5m")
    assert summary.returncode == 0, summary.stderr
    counts = json.loads(summary.stdout)
    assert counts["devices"] == 2 and counts["states"] == {"capturing": 1, "stale": 1}
    assert counts["agent_versions"] == {"0.3.9": 1, "0.4.0": 1} and counts["policy_stale"] == 1

    text = isolated.cli("fleet", "summary", "--stale-after", "5m")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("2 devices; newest policy 2026-11-26.1, 1 not on it\n")
    assert ["stale", "1"] in [line.split() for line in text.stdout.splitlines()]


def test_without_the_topic_it_says_there_are_no_heartbeats_yet(isolated: Isolated) -> None:
    result = isolated.cli("fleet", extra_env={"TEACHSTREAM_TOPIC_PREFIX": f"{isolated.name}-nothing."})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f"teachstream: no heartbeats yet: topic {isolated.name}-nothing.agents.heartbeat does not exist; "
        "create it with `teachstream provision`"
    )


def test_a_duration_that_cannot_be_read_is_refused_before_kafka_is_asked(isolated: Isolated) -> None:
    result = isolated.cli("fleet", "--stale", "5 minutes")
    assert result.returncode == 2
    assert "cannot read '5 minutes' as a duration" in result.stderr


def test_fleet_serve_counts_devices_by_state_and_the_newest_heartbeat_age_as_gauges(
    isolated: Isolated, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    for beat in (heartbeat(RECENT, now), heartbeat(SILENT, now - timedelta(minutes=10), agent_version="0.3.9")):
        publish(isolated.settings, "agents.heartbeat", beat.device_id, beat)
    port = free_port()
    isolated.start("fleet", "serve", "--port", str(port), log=tmp_path / "fleet.log")

    def served() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        try:
            return scrape(port)
        except OSError:
            return {}  # not serving yet

    wait_for(lambda: bool(served()), 60, "the fleet on /metrics")
    metrics = served()
    assert metrics[("teachstream_fleet_devices", (("state", "capturing"),))] == 1
    assert metrics[("teachstream_fleet_devices", (("state", "stale"),))] == 1
    assert metrics[("teachstream_fleet_agent_versions", (("version", "0.3.9"),))] == 1
    assert 0 <= metrics[("teachstream_fleet_newest_heartbeat_age_seconds", ())] < 300
