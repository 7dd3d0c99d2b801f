"""The sink and the dataset reader on the real stack: exactly once, complete, loadable, viewable."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from schemas.dataset import Manifest
from schemas.records import from_avro, to_avro
from schemas.trajectory import Trajectory
from sinks.s3 import list_keys, s3_client
from teachstream import dataset
from tests.integration.conftest import STACK, Isolated, wait_for
from tests.integration.test_metrics import free_port, scrape
from tests.integration.test_sessions import FAST_SESSIONS
from tests.samples import SampleSession, sample_sessions

BUCKET = "teachstream"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def publish(isolated: Isolated, sessions: Sequence[SampleSession]) -> None:
    """Frames first, then the sessions, as the stream stages produce them."""
    producer = isolated.producer()
    for s in sessions:
        for f in s.frames:
            value = isolated.codec.encode("ScreenFrame", to_avro(f))
            producer.produce(isolated.topic("screens.clean"), value, key=f.device_id.encode())
        producer.poll(0)
    for s in sessions:
        value = isolated.codec.encode("Trajectory", to_avro(s.trajectory))
        producer.produce(isolated.topic("trajectories"), value, key=s.trajectory.session_id.encode())
    assert producer.flush(60) == 0


def open_dataset(isolated: Isolated) -> dataset.Dataset:
    return dataset.open(f"s3://{BUCKET}/{isolated.settings.s3_prefix}", client=s3_client(isolated.settings))


def assert_exactly(ds: dataset.Dataset, expected: Sequence[Trajectory], user: str | None = None) -> None:
    """The dataset holds these sessions once each (of ``user``, if given), with their steps; frames decode and fit."""
    ds.refresh()
    entries = ds.sessions(user=user)
    assert sorted(e.session_id for e in entries) == sorted(t.session_id for t in expected)
    by_id = {t.session_id: t for t in expected}
    for entry in entries:
        t = by_id[entry.session_id]
        steps = ds.steps(entry)
        assert [(s["index"], s["action"], s["text"]) for s in steps] == [(s.index, s.action, s.text) for s in t.steps]
        assert entry.steps == len(t.steps) and entry.user_id == t.user_id
        for step in steps:
            assert step["frame_id"] and step["frame_key"].endswith(f"/{step['frame_id']}.jpg")
        for key in entry.frame_keys:
            image = Image.open(io.BytesIO(ds.frame_bytes(key)))
            step = next(s for s in steps if s["frame_key"] == key)
            assert image.size == (step["frame_width"], step["frame_height"])


def assert_nothing_partial(isolated: Isolated) -> None:
    """Every session a reader can see has its steps object and all of its frames."""
    ds = open_dataset(isolated)
    s3 = s3_client(isolated.settings)
    stored = set(list_keys(s3, BUCKET, isolated.settings.s3_prefix))
    root = f"{isolated.settings.s3_prefix}dataset/v1/"
    for entry in ds.sessions():
        assert root + entry.steps_key in stored
        assert all(root + k in stored for k in entry.frame_keys)
        assert ds.steps_table(entry).num_rows == entry.steps


def test_sink_lands_complete_sessions_the_reader_cli_and_view_load(isolated: Isolated, tmp_path: Path) -> None:
    sessions = list(sample_sessions(12, 10, seed=3, start=START))
    publish(isolated, sessions)

    sink = isolated.cli("sink", "--until-idle", "3")
    assert sink.returncode == 0, sink.stderr
    assert "12 sessions and 60 frames" in sink.stderr, sink.stderr
    ds = open_dataset(isolated)
    assert_exactly(ds, [s.trajectory for s in sessions])

    table = ds.to_table()
    assert table.num_rows == 120 and set(table.column("action").to_pylist()) >= {"click", "type", "drag"}
    steps = list(ds.iter_steps(ds.sessions()[:2], shard=(1, 2)))
    assert len(steps) == 10 and steps[0]["frame"].size == (960, 540)
    assert len(ds.to_hf()) == 120
    assert len(ds.sessions(device="d-sample0001")) == 3 and ds.sessions(date="2026-11-25") == []
    assert "| sessions | 12 |" in ds.card()

    ls = isolated.cli("dataset", "ls", "--app", "xterm")
    assert ls.returncode == 0 and ls.stdout.count("\n") == len(ds.sessions(app="xterm")) > 0, ls.stderr
    stats = json.loads(isolated.cli("dataset", "stats").stdout)
    assert stats["sessions"] == 12 and stats["steps"] == 120 and stats["placeholders"] == {"EMAIL": 24}
    first = ds.sessions()[0].session_id
    page = tmp_path / "session.html"
    view = isolated.cli("view", first, "-o", str(page))
    assert view.returncode == 0, view.stderr
    assert page.read_text().count("data:image/jpeg;base64,") == 5
    exported = isolated.cli("dataset", "export", "--device", "d-sample0002", "-o", str(tmp_path / "copy"))
    assert exported.returncode == 0, exported.stderr
    local = dataset.open(str(tmp_path / "copy"))
    assert_exactly(local, [s.trajectory for s in sessions if s.trajectory.device_id == "d-sample0002"])
    missing = isolated.cli("view", "no-such-session")
    assert missing.returncode == 1 and "no complete session no-such-session" in missing.stderr

    # a replay (another group) rewrites the same keys with the same bytes
    s3 = s3_client(isolated.settings)
    prefix = f"{isolated.settings.s3_prefix}dataset/v1/"
    before = {k: s3.head_object(Bucket=BUCKET, Key=k)["ETag"] for k in list_keys(s3, BUCKET, prefix + "steps/")}
    replay = isolated.cli("sink", "--until-idle", "3", extra_env={"TEACHSTREAM_SINK_GROUP": f"{isolated.name}-replay"})
    assert replay.returncode == 0, replay.stderr
    after = {k: s3.head_object(Bucket=BUCKET, Key=k)["ETag"] for k in list_keys(s3, BUCKET, prefix + "steps/")}
    assert after == before and len(before) == 12
    assert_exactly(ds, [s.trajectory for s in sessions])


def test_sink_killed_between_upload_and_commit_duplicates_and_loses_nothing(isolated: Isolated) -> None:
    sessions = list(sample_sessions(30, 6, seed=5, start=START))
    publish(isolated, sessions)
    expected = [s.trajectory for s in sessions]

    crashes = 0
    for failpoint in ("before_manifest:1", "before_commit:1", "before_manifest:2", "before_commit:1"):
        run = isolated.cli("sink", "--until-idle", "20", extra_env={"TEACHSTREAM_SINK_FAILPOINT": failpoint})
        # killed at the failpoint, or (once everything is committed) never got there
        assert run.returncode in (-9, 0), (failpoint, run.returncode, run.stderr[-2000:])
        crashes += run.returncode == -9
        assert_nothing_partial(isolated)
    assert crashes >= 3

    done = isolated.cli("sink", "--until-idle", "3")
    assert done.returncode == 0, done.stderr
    assert_exactly(open_dataset(isolated), expected)
    assert_nothing_partial(isolated)
    s3 = s3_client(isolated.settings)
    manifests = [k for k in list_keys(s3, BUCKET, isolated.settings.s3_prefix) if "/manifests/" in k]
    listed = [
        sid
        for key in manifests
        for sid in Manifest.from_bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).sessions
    ]
    assert len(listed) == len(set(listed)) == 30  # no session in two manifests


def test_sink_waits_out_an_s3_outage_and_catches_up(isolated: Isolated, tmp_path: Path) -> None:
    first, second = list(sample_sessions(10, 6, seed=8, start=START)), []
    publish(isolated, first)
    port = free_port()
    sink = isolated.start("sink", log=tmp_path / "sink.log", extra_env={"TEACHSTREAM_METRICS_PORT": str(port)})
    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == 10)[1], 60, "the first sessions")

    subprocess.run([str(STACK), "s3-stop"], check=True)
    try:
        second = list(sample_sessions(10, 6, seed=9, start=START + timedelta(days=1)))
        load = threading.Thread(target=publish, args=(isolated, second))
        load.start()  # under load while S3 is away
        time.sleep(60)
        load.join()
        assert sink.poll() is None, "the sink gave up while S3 was away"
    finally:
        subprocess.run([str(STACK), "s3-start"], check=True)

    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == 20)[1], 120, "the sink to catch up")
    assert_exactly(ds, [s.trajectory for s in first + second])
    log = (tmp_path / "sink.log").read_text()
    assert "retrying" in log and "S3 is back" in log
    metrics = scrape(port)  # what operators see of the outage
    assert metrics[("teachstream_sink_s3_retries_total", ())] > 0
    stored = metrics[("teachstream_sink_objects_total", ())]
    assert metrics[("teachstream_put_seconds_count", (("stage", "sink"),))] == stored > 0
    assert metrics[("teachstream_put_seconds_bucket", (("le", "+Inf"), ("stage", "sink")))] == stored


def test_simulated_devices_through_streams_and_sink_become_the_dataset(isolated: Isolated, tmp_path: Path) -> None:
    isolated.start(
        "streams",
        log=tmp_path / "streams.log",
        extra_env={"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), **FAST_SESSIONS},
    )
    sim = isolated.cli("simulate", "--devices", "3", "--duration", "6", "--seed", "4")
    assert sim.returncode == 0, sim.stderr
    isolated.start("sink", log=tmp_path / "sink.log")

    wait_for(lambda: isolated.end_offsets("trajectories") >= 3, 120, "trajectories")
    time.sleep(8)  # the last sessions close a gap after the last event
    records = isolated.read_all("trajectories", expect=isolated.end_offsets("trajectories"))
    trajectories = [from_avro(Trajectory, isolated.codec.decode(m.value()).value) for m in records]
    assert trajectories and all(t.steps for t in trajectories)
    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == len(trajectories))[1], 60, "the sink")
    assert_exactly(ds, trajectories)
    assert any(s["frame_key"] for e in ds.sessions() for s in ds.steps(e))
