"""A person's rights on the real stack: withdrawal, erasure, a copy of their data, retention."""

from __future__ import annotations

import json
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.control_records import CaptureScope, ConsentRecord, ConsentState
from schemas.pseudonym import user_pseudonym
from schemas.records import to_avro
from sinks.s3 import list_keys, s3_client
from teachstream.admin import describe_topics
from tests.integration.conftest import Isolated, wait_for
from tests.integration.test_dataset import BUCKET, assert_exactly, open_dataset, publish
from tests.integration.test_metrics import free_port, scrape
from tests.integration.test_sessions import FAST_SESSIONS, scripted_device
from tests.samples import sample_sessions

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def pseudonym(isolated: Isolated, name: str) -> str:
    return user_pseudonym(isolated.settings.pseudonym_key.get_secret_value().encode(), name)


def consent(isolated: Isolated, user: str, state: ConsentState, at: datetime) -> None:
    record = ConsentRecord(user, state, "policy-1", at, user, tuple(CaptureScope))
    producer = isolated.producer()
    producer.produce(
        isolated.topic("control.consent"), isolated.codec.encode("ConsentRecord", to_avro(record)), key=user.encode()
    )
    assert producer.flush(10) == 0


def stored_keys(isolated: Isolated) -> list[str]:
    return list(list_keys(s3_client(isolated.settings), BUCKET, isolated.settings.s3_prefix))


def test_nothing_after_a_withdrawal_is_stored_and_the_other_person_is_complete(isolated: Isolated) -> None:
    alice, bob = pseudonym(isolated, "alice"), pseudonym(isolated, "bob")
    sessions = list(sample_sessions(12, 10, seed=2, start=START, users=(alice, bob)))
    withdrawn = START + timedelta(minutes=55, seconds=15)  # in the middle of alice's 6th-hour session
    consent(isolated, alice, ConsentState.GRANTED, START - timedelta(days=1))
    consent(isolated, bob, ConsentState.GRANTED, START - timedelta(days=1))
    consent(isolated, alice, ConsentState.WITHDRAWN, withdrawn)
    publish(isolated, sessions)

    sink = isolated.cli("sink", "--until-idle", "3")
    assert sink.returncode == 0, sink.stderr
    ds = open_dataset(isolated)
    assert_exactly(ds, [s.trajectory for s in sessions if s.trajectory.user_id == bob], user=bob)  # complete
    kept = ds.sessions(user=alice)
    assert kept and all(e.start < withdrawn for e in kept)
    for entry in kept:
        assert all(step["start_time"] < withdrawn for step in ds.steps(entry))
    late_frames = {
        f.frame_id for s in sessions if s.trajectory.user_id == alice for f in s.frames if f.event_time >= withdrawn
    }
    assert late_frames and not any(fid in key for key in stored_keys(isolated) for fid in late_frames)


def test_erase_removes_every_object_and_manifest_entry_and_leaves_an_audit(isolated: Isolated, tmp_path: Path) -> None:
    alice, bob = pseudonym(isolated, "alice"), pseudonym(isolated, "bob")
    sessions = list(sample_sessions(8, 6, seed=4, start=START, users=(alice, bob)))
    publish(isolated, sessions)
    port = free_port()
    isolated.start("sink", log=tmp_path / "sink.log", extra_env={"TEACHSTREAM_METRICS_PORT": str(port)})
    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == 8)[1], 60, "the sessions")
    assert any(f"user={alice}/" in k for k in stored_keys(isolated))

    export = isolated.cli("my-data", "--user", "alice", "-o", str(tmp_path / "alice.zip"))
    assert export.returncode == 0 and "4 sessions" in export.stdout, export.stderr
    with zipfile.ZipFile(tmp_path / "alice.zip") as z:
        names = z.namelist()
        index = z.read("index.html").decode()
    assert "4 recorded sessions" in index and "teachstream erase" in index
    assert sum(n.startswith("sessions/") for n in names) == 4 and any(n.endswith(".parquet") for n in names)
    assert all(bob not in n for n in names)

    started = time.monotonic()
    erase = isolated.cli("erase", "--user", "alice", "--by", "hr-test", "--reason", "asked by email", "--wait", "90")
    took = time.monotonic() - started
    assert erase.returncode == 0, erase.stderr
    assert f"erased {alice}" in erase.stdout
    keys = stored_keys(isolated)
    assert not any(alice in k for k in keys if "/audit/" not in k)
    ds.refresh()
    assert ds.sessions(user=alice) == [] and len(ds.sessions(user=bob)) == 4
    s3 = s3_client(isolated.settings)
    for key in (k for k in keys if "/manifests/" in k):
        assert alice not in s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    (audit_key,) = [k for k in keys if "/audit/erasure/" in k]
    audit = json.loads(s3.get_object(Bucket=BUCKET, Key=audit_key)["Body"].read())
    assert audit["user_id"] == alice and audit["requested_by"] == "hr-test" and audit["reason"] == "asked by email"
    assert audit["sessions_removed"] == 4 and audit["objects_deleted"] >= 4 + 4 * 3
    print(f"erasure: request to done {audit['duration_ms']} ms (command returned after {took:.1f} s)")
    metrics = scrape(port)
    assert metrics[("teachstream_sink_erasures_total", ())] == 1
    assert metrics[("teachstream_erasure_seconds_count", (("stage", "sink"),))] == 1
    assert 0 < metrics[("teachstream_erasure_seconds_sum", (("stage", "sink"),))] < took + 60

    publish(isolated, sessions)  # a replay of the topics does not bring the person back
    time.sleep(5)
    ds.refresh()
    assert ds.sessions(user=alice) == [] and len(ds.sessions(user=bob)) == 4


def test_provision_applies_the_retention_settings(isolated: Isolated) -> None:
    run = isolated.cli(
        "provision", extra_env={"TEACHSTREAM_RAW_RETENTION_HOURS": "2", "TEACHSTREAM_DATASET_RETENTION_DAYS": "30"}
    )
    assert run.returncode == 0, run.stderr
    assert "expire after 30 days" in run.stdout
    infos = {i.name: i for i in describe_topics(isolated.settings, [isolated.topic("interactions.raw")])}
    assert infos[isolated.topic("interactions.raw")].retention_ms == 2 * 3_600_000
    rules = s3_client(isolated.settings).get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    mine = [r for r in rules if r.get("Filter", {}).get("Prefix") == f"{isolated.settings.s3_prefix}dataset/v1/"]
    assert len(mine) == 1 and mine[0]["Expiration"]["Days"] == 30
    isolated.cli("provision", extra_env={"TEACHSTREAM_DATASET_RETENTION_DAYS": "0"})  # and the rule goes again
    rules = s3_client(isolated.settings).get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert not [r for r in rules if r.get("Filter", {}).get("Prefix") == f"{isolated.settings.s3_prefix}dataset/v1/"]


def test_through_the_stream_a_withdrawn_person_stops_at_the_withdrawal(isolated: Isolated, tmp_path: Path) -> None:
    start = datetime.now(UTC) - timedelta(seconds=60)
    events = {user: scripted_device(f"d-{user}", start, bursts=4) for user in ("a", "b")}  # users u-d-a, u-d-b
    withdrawn = start + timedelta(seconds=15)  # after two of alice's four bursts (at 0, 10, 20, 30 s)
    consent(isolated, "u-d-a", ConsentState.GRANTED, start - timedelta(hours=1))
    consent(isolated, "u-d-b", ConsentState.GRANTED, start - timedelta(hours=1))
    consent(isolated, "u-d-a", ConsentState.WITHDRAWN, withdrawn)
    producer = isolated.producer()
    for e in sorted((e for evs in events.values() for e in evs), key=lambda e: e.event_time):
        value = isolated.codec.encode("InteractionEvent", to_avro(e))
        producer.produce(isolated.topic("interactions.raw"), value, key=e.device_id.encode())
    assert producer.flush(30) == 0
    env = {"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), **FAST_SESSIONS}
    isolated.start("streams", log=tmp_path / "streams.log", extra_env=env)
    isolated.start("sink", log=tmp_path / "sink.log")

    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions(user="u-d-b")) == 4)[1], 120, "bob's four sessions")
    time.sleep(5)
    ds.refresh()
    alice = ds.sessions(user="u-d-a")
    assert len(alice) == 2 and all(e.end < withdrawn for e in alice)
    assert all(step["start_time"] < withdrawn for e in alice for step in ds.steps(e))
    assert all(len(ds.steps(e)) == 2 for e in ds.sessions(user="u-d-b"))  # click + type: complete
    trajectories = isolated.read_all("trajectories", expect=6)
    assert len(trajectories) == 6  # the stream itself dropped alice's later events: no session of them


def test_a_withdrawal_that_arrives_late_removes_what_was_stored_after_it(isolated: Isolated, tmp_path: Path) -> None:
    alice, bob = pseudonym(isolated, "alice"), pseudonym(isolated, "bob")
    sessions = list(sample_sessions(8, 10, seed=6, start=START, users=(alice, bob)))  # 10 min apart, 30 s long
    publish(isolated, sessions)
    isolated.start("sink", log=tmp_path / "sink.log")
    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == 8)[1], 60, "the sessions")

    across = next(s.trajectory for s in sessions if s.trajectory.user_id == alice and s.trajectory.start_time > START)
    withdrawn = across.start_time + timedelta(seconds=10)  # inside one of alice's sessions
    consent(isolated, alice, ConsentState.WITHDRAWN, withdrawn)
    s3 = s3_client(isolated.settings)
    audits = f"{isolated.settings.s3_prefix}audit/withdrawal/"
    wait_for(lambda: any(True for _ in list_keys(s3, BUCKET, audits)), 60, "the withdrawal's clean-up")

    ds.refresh()
    kept = ds.sessions(user=alice)
    assert kept and all(e.start < withdrawn for e in kept)
    cut = next(e for e in kept if e.session_id == across.session_id)
    assert cut.end_reason == "consent_withdrawn" and 0 < cut.steps < len(across.steps)
    assert all(step["start_time"] < withdrawn for e in kept for step in ds.steps(e))
    late = {
        f.frame_id for s in sessions if s.trajectory.user_id == alice for f in s.frames if f.event_time >= withdrawn
    }
    assert late and not any(fid in key for key in stored_keys(isolated) for fid in late)
    assert_exactly(ds, [s.trajectory for s in sessions if s.trajectory.user_id == bob], user=bob)
