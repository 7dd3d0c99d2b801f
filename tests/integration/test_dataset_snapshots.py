"""What ML teams do with the dataset on the real stack: snapshots that honour erasure, exports, statistics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import datasets
import pytest
from PIL import Image

from schemas.control_records import ConsentState
from schemas.trajectory import Trajectory
from sinks.s3 import list_keys, s3_client
from teachstream import dataset
from teachstream.dataset import PinnedDataset, S3Storage
from teachstream.snapshots import SessionErasedError
from tests.integration.conftest import Isolated, wait_for
from tests.integration.test_dataset import BUCKET, open_dataset, publish
from tests.integration.test_privacy import consent, pseudonym
from tests.samples import sample_sessions

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_snapshot_outlives_an_erasure_lawfully_and_exports_load(isolated: Isolated, tmp_path: Path) -> None:
    alice, bob = pseudonym(isolated, "alice"), pseudonym(isolated, "bob")
    sessions = list(sample_sessions(6, 8, seed=6, start=START, users=(alice, bob)))
    publish(isolated, sessions)
    isolated.start("sink", log=tmp_path / "sink.log")
    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == 6)[1], 60, "the sessions")
    ids = {s.session_id: s.user_id for s in ds.sessions()}
    with pytest.raises(FileNotFoundError, match=r"frames/none\.jpg does not exist"):
        ds.frame_bytes("frames/none.jpg")  # the lean GET path hands a 404 to boto3, which says so

    created = isolated.cli("dataset", "snapshot", "create", "train-1", "--drop-flagged", "withheld,no_frames")
    assert created.returncode == 0 and "snapshot train-1 v1: 6 sessions, 48 steps" in created.stdout, created.stderr
    again = isolated.cli("dataset", "snapshot", "create", "train-1")
    assert again.returncode == 1 and "exists" in again.stderr
    stats = isolated.cli("dataset", "stats", "--snapshot", "train-1", "--html", str(tmp_path / "report.html"))
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["steps"] == 48 and (tmp_path / "report.html").read_text().count("<img") == 7
    hf = isolated.cli("dataset", "export", "--snapshot", "train-1", "--format", "hf", "-o", str(tmp_path / "hf"))
    assert hf.returncode == 0 and "exported 6 sessions, 48 steps" in hf.stdout, hf.stderr
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(loaded) == 48 and isinstance(loaded[0]["image"], Image.Image)

    pinned = ds.snapshot("train-1")
    some = pinned.sessions()[0]
    s3, key = s3_client(isolated.settings), f"{isolated.settings.s3_prefix}dataset/v1/{some.frame_keys[0]}"
    original = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=original + b"\0")
    with pytest.raises(SessionErasedError, match="changed"):  # the pinned version only, checked by its ETag
        pinned.frame_bytes(some.frame_keys[0])
    boto_only = dataset.Dataset(S3Storage(BUCKET, pinned.storage.root, s3))  # type: ignore[attr-defined]
    boto_only.storage._lean.on = False  # type: ignore[attr-defined]  # the get_object path: If-Match
    with pytest.raises(SessionErasedError, match="changed"):
        PinnedDataset(boto_only.storage, pinned.pinned, pinned.key).frame_bytes(some.frame_keys[0])
    s3.put_object(Bucket=BUCKET, Key=key, Body=original)
    assert pinned.frame_bytes(some.frame_keys[0]) == original

    erase = isolated.cli("erase", "--user", "alice", "--by", "hr-test", "--reason", "asked by email", "--wait", "90")
    assert erase.returncode == 0, erase.stderr

    check = isolated.cli("dataset", "snapshot", "check", "train-1")
    erased = sorted(sid for sid, user in ids.items() if user == alice)
    assert check.returncode == 1 and "3 may no longer be used" in check.stderr, check.stderr
    assert sorted(line.split()[0] for line in check.stdout.splitlines()) == erased
    assert all("erased on" in line for line in check.stdout.splitlines())

    pinned = ds.snapshot("train-1")
    with pytest.raises(SessionErasedError, match=f"session {erased[0]} of snapshot 'train-1' v1 may not be used"):
        next(pinned.iter_steps())
    for fmt in ("agentnet", "teachstream"):
        out = tmp_path / f"refused-{fmt}"
        refused = isolated.cli("dataset", "export", "--snapshot", "train-1", "--format", fmt, "-o", str(out))
        assert refused.returncode == 1 and "snapshot refresh train-1" in refused.stderr, refused.stderr
        assert not out.exists()  # refused before anything was written

    refresh = isolated.cli("dataset", "snapshot", "refresh", "train-1")
    assert refresh.returncode == 0 and "v0002-" in refresh.stdout and "3 sessions dropped (erased)" in refresh.stdout
    assert "deleted snapshots/train-1/v0001-" in refresh.stdout  # it named the erased person
    assert isolated.cli("dataset", "snapshot", "check", "train-1").returncode == 0
    latest = ds.snapshot("train-1")
    assert sorted(s.session_id for s in latest.sessions()) == sorted(sid for sid, u in ids.items() if u == bob)
    assert len(list(latest.iter_steps())) == 24
    listed = isolated.cli("dataset", "snapshot", "list").stdout.split()
    assert len(listed) == 1 and listed[0].startswith("snapshots/train-1/v0002-")
    assert alice not in json.dumps([e.__dict__ for e in latest.sessions()], default=list)

    agentnet = isolated.cli(
        "dataset", "export", "--snapshot", "train-1", "--format", "agentnet", "-o", str(tmp_path / "a")
    )
    assert agentnet.returncode == 0, agentnet.stderr
    records = [json.loads(line) for line in (tmp_path / "a/agentnet.jsonl").read_text().splitlines()]
    assert sorted(r["task_id"] for r in records) == sorted(s.session_id for s in latest.sessions())
    assert all((tmp_path / "a/images" / step["image"]).is_file() for r in records for step in r["traj"])


def test_a_packed_snapshot_reads_one_object_a_session_and_its_packs_go_with_a_withdrawal_and_an_erasure(
    isolated: Isolated, tmp_path: Path
) -> None:
    alice, bob = pseudonym(isolated, "alice"), pseudonym(isolated, "bob")
    sessions = list(sample_sessions(8, 10, seed=6, start=START, users=(alice, bob)))  # 10 min apart, 30 s long
    publish(isolated, sessions)
    isolated.start("sink", log=tmp_path / "sink.log")
    ds = open_dataset(isolated)
    wait_for(lambda: (ds.refresh(), len(ds.sessions()) == 8)[1], 60, "the sessions")
    created = isolated.cli("dataset", "snapshot", "create", "packed", "--pack")
    assert created.returncode == 0 and "8 sessions, 80 steps, frames packed per session (8 packs)" in created.stdout

    s3, root = s3_client(isolated.settings), f"{isolated.settings.s3_prefix}dataset/v1/"

    def packs(user: str) -> list[str]:
        return sorted(k[len(root) :] for k in list_keys(s3, BUCKET, f"{root}frames/user={user}/packs/"))

    assert len(packs(alice)) == len(packs(bob)) == 4
    pinned = ds.snapshot("packed")
    fetched: list[str] = []
    read = pinned.storage.read
    pinned.storage.read = lambda key, etag=None: (fetched.append(key), read(key, etag))[1]  # type: ignore[method-assign]
    steps = list(pinned.iter_steps(frames="bytes"))
    assert sorted(k for k in fetched if k.startswith("frames/")) == sorted(packs(alice) + packs(bob))
    assert len(steps) == 80 and all(s["frame"] == ds.frame_bytes(s["frame_key"]) for s in steps if s["frame_key"])

    across = next(s.trajectory for s in sessions if s.trajectory.user_id == alice and s.trajectory.start_time > START)
    withdrawn = across.start_time + timedelta(seconds=10)  # inside one of alice's sessions
    earlier = {t.session_id for s in sessions if (t := s.trajectory).user_id == alice and t.end_time < withdrawn}

    def later(user: str, since: datetime) -> list[Trajectory]:
        return [s.trajectory for s in sessions if s.trajectory.user_id == user and s.trajectory.end_time >= since]

    consent(isolated, alice, ConsentState.WITHDRAWN, withdrawn)
    audits = f"{isolated.settings.s3_prefix}audit/withdrawal/"
    wait_for(lambda: any(True for _ in list_keys(s3, BUCKET, audits)), 60, "the withdrawal's clean-up")
    assert {k.split("/")[-1].rsplit("-", 1)[0] for k in packs(alice)} == earlier  # later packs held later frames
    check = isolated.cli("dataset", "snapshot", "check", "packed")
    named = {line.split()[0] for line in check.stdout.splitlines() if "consent withdrawn" in line}
    assert check.returncode == 1 and named == {t.session_id for t in later(alice, withdrawn)}, check.stdout
    with pytest.raises(SessionErasedError, match="consent withdrawn"):
        next(ds.snapshot("packed").iter_steps(frames="bytes"))

    erase = isolated.cli("erase", "--user", "alice", "--by", "hr-test", "--reason", "asked by email", "--wait", "90")
    assert erase.returncode == 0, erase.stderr
    assert packs(alice) == [] and len(packs(bob)) == 4
    refresh = isolated.cli("dataset", "snapshot", "refresh", "packed")
    assert refresh.returncode == 0 and "4 sessions dropped" in refresh.stdout, refresh.stdout + refresh.stderr
    assert "packs deleted: 0" in refresh.stdout  # alice's went with her erasure; bob's are listed
    latest = ds.snapshot("packed")
    assert {s.user_id for s in latest.sessions()} == {bob}
    fetched.clear()  # the storage, with its read noted, is the one every snapshot of ds reads through
    framed = sum(1 for s in latest.iter_steps(frames="image") if s["frame"] is not None)
    assert sorted(k for k in fetched if k.startswith(("frames/", "steps/"))) == packs(bob)
    assert framed == sum(1 for s in ds.iter_steps(ds.sessions(user=bob), frames="image") if s["frame"] is not None)

    expired = latest.sessions()[-1]  # its originals go, as a retention rule deletes them; its pack stays
    assert latest.storage._lean.etag(root + expired.steps_key) not in (None, ...)  # type: ignore[attr-defined]
    s3.delete_object(Bucket=BUCKET, Key=root + expired.steps_key)
    assert latest.storage._lean.etag(root + expired.steps_key) is None  # type: ignore[attr-defined]
    with pytest.raises(SessionErasedError, match=f"session {expired.session_id} .* was rewritten or deleted"):
        list(ds.snapshot("packed").iter_steps(frames="bytes"))
    prune = isolated.cli("dataset", "snapshot", "prune")
    assert prune.returncode == 0 and "packs deleted: 1" in prune.stdout, prune.stdout + prune.stderr
    assert len(packs(bob)) == 3 and not any(expired.session_id in k for k in packs(bob))
