"""The hostile-input campaign, short: every kind of broken or absurd record beside valid traffic, on the real stack."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from bench.hostile import IGNORED, Identity, burst_seen, campaign, ignored_count, publish, tally
from schemas.control_records import DeadLetter
from schemas.records import from_avro
from tests.integration.conftest import Isolated, wait_for
from tests.integration.test_metrics import free_port

LOCAL_SESSIONS = {  # sessions close 6 s after a device's last event
    "TEACHSTREAM_SESSION_GAP_S": "6",
    "TEACHSTREAM_SESSION_GRACE_S": "1",
    "TEACHSTREAM_TICK_INTERVAL_S": "1",
    "TEACHSTREAM_TICK_LAG_S": "0",
}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def test_every_hostile_record_is_dead_lettered_or_ignored_and_valid_traffic_lands(
    isolated: Isolated, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **LOCAL_SESSIONS,
        "TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"),
        "TEACHSTREAM_METRICS_PORT": str(port),
    }
    streams = isolated.start("streams", log=tmp_path / "streams.log", extra_env=env)
    sink = isolated.start("sink", log=tmp_path / "sink.log", extra_env=LOCAL_SESSIONS)
    who = Identity("u-hostile", "d-hostile")
    isolated.grant(who.user_id)
    wait_for(lambda: "Worker]: Ready" in (tmp_path / "streams.log").read_text(), 120, "the stream worker")
    rss_before = _rss_mb(streams.pid)

    ledger = tmp_path / "ledger.jsonl"
    args = ["--devices", "2", "--duration", "15", "--tag", isolated.name, "--ledger", str(ledger), "--fast"]
    sim = isolated.cli("simulate", *args)
    assert sim.returncode == 0, sim.stderr
    records = campaign(isolated.codec, who, datetime.now(UTC), burst=5000)
    placed = publish(isolated.producer(), isolated.topic, records)
    assert len(placed) == len(records)

    def letters() -> list[DeadLetter]:
        messages = isolated.read_all("deadletter", expect=10**9, timeout_s=2)
        return [from_avro(DeadLetter, isolated.codec.decode(m.value()).value) for m in messages]

    def burst() -> int:  # the burst's keys are valid: they must reach interactions.clean
        clean = isolated.read_all("interactions.clean", expect=10**9, timeout_s=2)
        return burst_seen(who.device_id, ((m.key(), m.value()) for m in clean), isolated.codec)

    def accounted() -> bool:
        found = ((d.topic, d.partition, d.offset, d.reason) for d in letters())
        return tally(placed, found, ignored_count(f"http://127.0.0.1:{port}/metrics"), isolated.topic, burst()).ok

    wait_for(accounted, 300, "every hostile record in the dead letters, ignored, or (the burst) in interactions.clean")
    dead = letters()
    found = ((d.topic, d.partition, d.offset, d.reason) for d in dead)
    result = tally(placed, found, 10**6, isolated.topic, burst())
    report = "\n".join(result.lines())
    reasons = dict(result.reasons)
    assert "before 2020" in reasons["timestamp in 1970", "interactions.raw"], report
    assert "ahead of this worker's clock" in reasons["timestamp in 2100", "interactions.raw"], report
    assert "ahead of this worker's clock" in reasons["tick from 2100", "interactions.raw"], report
    assert (
        "decompression bomb" in reasons["decompression bomb", "screens.raw"]
        or "beyond the limit" in reasons["decompression bomb", "screens.raw"]
    ), report
    assert "control character" in reasons["control characters", "interactions.raw"], report
    assert reasons["consent dated 2100", "control.consent"] == IGNORED
    for letter in dead:  # a dead letter of screens.raw never holds the pixels
        if letter.topic == isolated.topic("screens.raw") and letter.original:
            assert b"not a jpeg" not in letter.original and b"IDAT" not in letter.original

    check = isolated.cli("ledger-check", str(ledger), "--wait", "240", timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr  # the valid traffic around them landed complete
    assert streams.poll() is None and sink.poll() is None, "a worker stopped"
    time.sleep(1)
    assert _rss_mb(streams.pid) < rss_before + 400, (rss_before, _rss_mb(streams.pid))  # no bomb was decoded
    # a forged consent dated 2100 did not override the real one: erasure and consent still follow the real records
    assert "ignoring the ConsentRecord" in (tmp_path / "streams.log").read_text()
