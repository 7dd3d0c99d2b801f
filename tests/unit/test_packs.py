"""Packed snapshots: a session's frames in one object, read back exactly, refused when changed."""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from teachstream import exports, packs
from teachstream.dataset import Dataset, LocalStorage, PinnedDataset, _strong
from teachstream.packs import PackError, is_pack, pack, pack_key, unpack
from teachstream.snapshots import SessionErasedError, SnapshotError
from tests.samples import sample_sessions
from tests.unit.test_dataset_tools import write_local

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_a_pack_gives_back_every_object_byte_for_byte_and_any_tar_reader_lists_it() -> None:
    objects = {"frames/user=u/device=d/b.jpg": b"\xff\xd8" + bytes(range(256)) * 3, "steps/s.parquet": b"PAR1"}
    data = pack(objects)
    assert unpack(data, "p") == objects
    assert pack(dict(reversed(objects.items()))) == data  # key order, not insertion order: the same bytes
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.getnames() == ["index.json", "frames/user=u/device=d/b.jpg", "steps/s.parquet"]
        assert tar.extractfile("steps/s.parquet").read() == b"PAR1"  # type: ignore[union-attr]
    long_key = "frames/user=u/device=d/" + "x" * 150 + ".jpg"  # past ustar's 100 characters: a PAX header
    assert unpack(pack({long_key: b"1", "a": b""}), "p") == {long_key: b"1", "a": b""}


def _plain_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("a.jpg"), io.BytesIO(b""))
    return out.getvalue()


def _index(data: bytes, old: bytes, new: bytes) -> bytes:
    """The pack with its index text changed (the header's size kept)."""
    assert len(old) == len(new)
    return data.replace(old, new, 1)


def _with_index(index: object, raw: bytes | None = None) -> bytes:
    """A tar shaped like a pack (index first, then one 5000-byte member) with this index."""
    text = raw if raw is not None else json.dumps(index).encode()
    return packs._tar({packs.INDEX_NAME: text, "a.jpg": b"x" * 5000})


_GOOD = {"format": "teachstream-pack/1", "members": {"a.jpg": [512, 5000]}}


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda whole: b"not a tar at all" * 40, "is not a pack: it does not begin with its index.json"),
        (lambda whole: _plain_tar(), "is not a pack: it does not begin with its index.json"),
        (lambda whole: whole[:2000], "is damaged: it ends before its member 'frames/user=u/device=d/a.jpg'"),
        (lambda whole: _index(whole, b'{"format"', b'["format"'), "is not a pack: its index cannot be read"),
        (lambda whole: _index(whole, b"pack/1", b"pack/9"), "is a 'teachstream-pack/9' pack"),
        (lambda whole: _with_index([1, 2]), "is not a pack: its index cannot be read (not a JSON object)"),
        (lambda whole: _with_index(7), "is not a pack: its index cannot be read (not a JSON object)"),
        (lambda whole: _with_index(None, b"[" * 100_000), "is not a pack: its index cannot be read"),
        (lambda whole: _with_index({"members": {}}), "is a None pack"),
        (lambda whole: _with_index(_GOOD | {"members": ["a.jpg"]}), "does not give an offset and a size"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": "12"}}), "does not give an offset and a size"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [512, True]}}), "does not give an offset"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [512.0, 5000]}}), "does not give an offset"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [-512, 5000]}}), "does not give an offset"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [512, 10**12]}}), "ends before its member"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [0, 5000]}}), "does not point at the member"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [600, 100]}}), "does not point at the member"),
        (lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [512, 4000]}}), "does not point at the member"),
        (
            lambda whole: _with_index(_GOOD | {"members": {"a.jpg": [512, 5000], "b.jpg": [512, 5000]}}),
            "does not point at the member",  # two members in one place
        ),
    ],
)
def test_bytes_that_are_not_a_whole_pack_are_refused_by_name(damage: Callable[[bytes], bytes], says: str) -> None:
    whole = pack({"frames/user=u/device=d/a.jpg": b"x" * 5000})
    assert unpack(_with_index(_GOOD), "p") == {"a.jpg": b"x" * 5000}  # the shape the damaged ones depart from
    with pytest.raises(PackError, match=f"^packs/s-1\\.tar .*{re.escape(says)}"):
        unpack(damage(whole), "packs/s-1.tar")


def test_the_pack_key_is_under_the_person_and_names_the_frame_versions(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(1, 6, seed=2, start=START, users=("u-ann",))))
    entry = ds.sessions()[0]
    tags = {k: "a" * 32 for k in (entry.steps_key, *entry.frame_keys)}
    key = pack_key(entry, tags)
    assert key.startswith(f"frames/user=u-ann/packs/{entry.session_id}-") and is_pack(key)
    assert pack_key(entry, dict(reversed(tags.items()))) == key
    assert pack_key(entry, tags | {entry.frame_keys[0]: "b" * 32}) != key  # another version, another pack
    assert pack_key(entry, tags | {entry.steps_key: "b" * 32}) != key
    assert not is_pack(entry.frame_keys[0]) and not is_pack(entry.steps_key)


@dataclass(frozen=True)
class Counted(LocalStorage):
    """The local storage, noting every key read."""

    reads: list[str] = field(default_factory=list)

    def read(self, key: str, etag: str | None = None) -> bytes:
        self.reads.append(key)
        return super().read(key, etag)


def test_a_packed_snapshot_reads_what_the_frames_hold_in_every_form_from_one_object_a_session(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(4, 8, seed=3, start=START, users=("u-ann", "u-bob"))))
    plain = ds.create_snapshot("plain", ds.sessions(), {})
    packed = ds.create_snapshot("packed", ds.sessions(), {}, packed=True)
    again = ds.create_snapshot("again", ds.sessions(), {}, packed=True)
    packs = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("frames/user=*/packs/*.tar"))
    assert len(packs) == 4 and plain != packed != again  # the second packed snapshot reused the packs
    assert all(any(p in str(s.etags) for s in ds.snapshot("again").pinned.sessions) for p in packs)

    reads: list[str] = []
    counted = Counted(tmp_path, reads)
    pinned = PinnedDataset(counted, ds.snapshot("packed").pinned, packed)
    expected = {(s["session_id"], s["index"]): s for s in ds.snapshot("plain").iter_steps(frames="bytes")}
    for form in ("bytes", "lazy", "image"):
        reads.clear()
        got = list(pinned.iter_steps(frames=form))
        assert len(got) == len(expected) == 32
        frame_reads = [k for k in reads if k.startswith("frames/")]
        assert sorted(frame_reads) == packs  # one object a session, no frame fetched alone
        assert not [k for k in reads if k.startswith("steps/")]  # the steps came in the pack too
        for step in got:
            plain = expected[(step["session_id"], step["index"])]
            assert step.keys() == plain.keys()  # every column, the same values (from the pack's Arrow copy)
            assert all(step[k] == plain[k] for k in step if k != "frame")
            want = plain["frame"]
            if want is None:
                assert step["frame"] is None
            elif form == "bytes":
                assert step["frame"] == want
            else:
                assert step["frame"].tobytes() == Image.open(io.BytesIO(want)).convert(step["frame"].mode).tobytes()


def test_a_pack_changed_or_deleted_after_the_snapshot_leaves_its_session_to_its_originals(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(2, 6, seed=4, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    expected = [(s["session_id"], s["index"], s["frame"]) for s in ds.iter_steps(frames="bytes")]
    first, second = sorted(tmp_path.glob("frames/user=u-ann/packs/*.tar"))
    first.write_bytes(first.read_bytes() + b"\0" * 512)
    second.unlink()  # pruned while a snapshot was made, say
    assert ds.snapshot("t").findings() == []  # the originals are as pinned: nothing to refuse
    reads: list[str] = []
    pinned = PinnedDataset(Counted(tmp_path, reads), ds.snapshot("t").pinned, ds.snapshot("t").key)
    assert [(s["session_id"], s["index"], s["frame"]) for s in pinned.iter_steps(frames="bytes")] == expected
    assert sum(1 for k in reads if "/device=" in k) == len(ds.sessions()[0].frame_keys) + len(
        ds.sessions()[1].frame_keys
    )
    frame = tmp_path / ds.sessions()[0].frame_keys[0]
    frame.write_bytes(frame.read_bytes() + b"\0")  # and an original changed too: refused when read, as unpacked
    with pytest.raises(SessionErasedError, match="changed"):
        list(ds.snapshot("t").iter_steps(frames="bytes"))


def test_a_packed_session_whose_steps_object_went_is_refused_though_its_pack_is_there(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(2, 6, seed=5, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    gone = ds.sessions()[1]
    (tmp_path / gone.steps_key).unlink()  # as a retention rule would: the originals expire, the pack is younger
    pinned = ds.snapshot("t")
    with pytest.raises(SessionErasedError, match=f"session {gone.session_id} .* was rewritten or deleted"):
        list(pinned.iter_steps(frames="bytes"))
    assert len(list(pinned.iter_steps([ds.sessions()[0]], frames="bytes"))) == 6  # the other is still served


def test_a_second_packed_snapshot_of_the_same_sessions_reuses_their_packs(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(2, 6, seed=7, start=START, users=("u-ann",))))
    ds.create_snapshot("one", ds.sessions(), {}, packed=True)
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.glob("frames/user=u-ann/packs/*.tar")}
    ds.create_snapshot("two", ds.sessions(), {}, packed=True)
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in tmp_path.glob("frames/user=u-ann/packs/*.tar")}
    assert len(before) == 2 and after == before  # not written again
    (tmp_path / sorted(after)[0]).write_bytes(b"truncated")
    with pytest.raises(SnapshotError, match="does not hold what its name says"):
        ds.create_snapshot("three", ds.sessions(), {}, packed=True)


@dataclass(frozen=True)
class ErasedMeanwhile(LocalStorage):
    """The local storage, where ann's originals are deleted (by an erasure) just before or just after a pack is
    stored: the erasure's last look for her objects came before the pack was there."""

    after: bool = False

    def write_new(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None) -> bool:
        if not self.after and "/packs/" in key:
            self._erase()
        written = super().write_new(key, data, metadata)
        if self.after and "user=u-ann/packs/" in key:
            self._erase()
        return written

    def _erase(self) -> None:
        for path in [*self.root.glob("frames/user=u-ann/device=*/*"), *self.root.glob("steps/*/user=u-ann/*")]:
            path.unlink(missing_ok=True)


@pytest.mark.parametrize("after", [False, True])
def test_a_pack_written_while_its_person_is_erased_is_deleted_again_and_no_snapshot_is_made(
    tmp_path: Path, after: bool
) -> None:
    write_local(tmp_path, list(sample_sessions(4, 6, seed=8, start=START, users=("u-ann", "u-bob"))))
    ds = Dataset(ErasedMeanwhile(tmp_path, after=after))
    with pytest.raises(SnapshotError, match=r"changed while it was packed .* nothing was written"):
        ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    assert list(tmp_path.glob("frames/**/*.tar")) == [] and ds.snapshot_keys() == []  # bob's packs too: no orphans
    assert list(tmp_path.glob("**/*.part")) == []


def test_a_lean_head_trusts_only_a_strong_etag() -> None:
    assert _strong("9b2cf535f27731c974343645a3985328") and not _strong("") and not _strong('W/"abc"')


def test_a_packed_session_whose_steps_were_rewritten_is_refused(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(1, 6, seed=9, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    steps = tmp_path / ds.sessions()[0].steps_key
    steps.write_bytes(steps.read_bytes() + b"\0")  # a withdrawal cut it, say
    with pytest.raises(SessionErasedError, match=r"may not be used: steps/.*\.parquet changed"):
        list(ds.snapshot("t").iter_steps(frames="bytes"))


def test_prune_deletes_the_packs_no_snapshot_lists_and_those_whose_originals_went(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(3, 6, seed=10, start=START, users=("u-ann", "u-bob"))))
    everyone, first = ds.create_snapshot("all", ds.sessions(), {}, packed=True), ds.sessions()[:1]
    ds.create_snapshot("first", first, {}, packed=True)
    packs = sorted(tmp_path.glob("frames/user=*/packs/*.tar"))
    assert len(packs) == 3 and ds.prune_packs(grace=timedelta(0)) == []
    (tmp_path / everyone).unlink()  # only "first" is left: two packs are listed by no snapshot
    assert ds.prune_packs() == []  # not yet: they could be a snapshot's being made, listed only at its end
    gone = ds.prune_packs(grace=timedelta(0))
    assert len(gone) == 2 and sorted(tmp_path.glob("frames/user=*/packs/*.tar")) == [
        p for p in packs if p.relative_to(tmp_path).as_posix() not in gone
    ]
    (tmp_path / first[0].steps_key).unlink()  # expired by retention, say: its pack is younger
    assert len(ds.prune_packs()) == 1 and list(tmp_path.glob("frames/user=*/packs/*.tar")) == []


def test_prune_deletes_the_packs_of_sessions_older_than_the_retention(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(2, 6, seed=12, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    age = (datetime.now(UTC) - START).days  # the sample sessions began on 2026-11-26
    assert ds.prune_packs(retention_days=age + 2) == []
    assert len(ds.prune_packs(retention_days=max(age - 1, 1))) == 2  # their originals are kept (no rule here)
    assert all(p.is_file() for s in ds.sessions() for p in (tmp_path / s.steps_key, tmp_path / s.frame_keys[0]))


def test_an_export_of_a_snapshot_with_a_changed_object_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    ds = write_local(root, list(sample_sessions(2, 6, seed=11, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {})
    frame = root / ds.sessions()[1].frame_keys[0]
    frame.write_bytes(frame.read_bytes() + b"\0")
    with pytest.raises(SessionErasedError, match="was rewritten or deleted"):
        exports.export(ds.snapshot("t"), ds.snapshot("t").sessions(), "agentnet", tmp_path / "out")
    assert not (tmp_path / "out").exists()
