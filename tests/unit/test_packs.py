"""Packed snapshots: a session's frames in one object, read back exactly, refused when changed."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from teachstream.dataset import LocalStorage, PinnedDataset
from teachstream.packs import PackError, is_pack, pack, pack_key, unpack
from teachstream.snapshots import SessionErasedError
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


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        (lambda whole: b"not a tar at all" * 40, "is not a pack: it does not begin with its index.json"),
        (lambda whole: _plain_tar(), "is not a pack: it does not begin with its index.json"),
        (lambda whole: whole[:2000], "is damaged: it ends before its last member"),
        (lambda whole: _index(whole, b'{"format"', b'["format"'), "is not a pack: its index cannot be read"),
        (lambda whole: _index(whole, b"pack/1", b"pack/9"), "is a 'teachstream-pack/9' pack"),
    ],
)
def test_bytes_that_are_not_a_whole_pack_are_refused_by_name(damage: Callable[[bytes], bytes], says: str) -> None:
    whole = pack({"frames/user=u/device=d/a.jpg": b"x" * 5000})
    with pytest.raises(PackError, match=re.escape(f"packs/s-1.tar {says}")):
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


def test_a_pack_changed_or_deleted_after_the_snapshot_gets_its_session_refused(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(2, 6, seed=4, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    first, second = sorted(tmp_path.glob("frames/user=u-ann/packs/*.tar"))
    first.write_bytes(first.read_bytes() + b"\0" * 512)
    second.unlink()
    findings = sorted(f.kind for f in ds.snapshot("t").findings())
    assert findings == ["changed", "changed"]
    refused = r"may not be used: .*packs/.*\.tar (changed|was rewritten or deleted)"  # when read, or found since
    with pytest.raises(SessionErasedError, match=refused):
        next(ds.snapshot("t").iter_steps(frames="bytes"))


def test_a_packed_session_whose_steps_object_went_is_refused_though_its_pack_is_there(tmp_path: Path) -> None:
    ds = write_local(tmp_path, list(sample_sessions(2, 6, seed=5, start=START, users=("u-ann",))))
    ds.create_snapshot("t", ds.sessions(), {}, packed=True)
    gone = ds.sessions()[1]
    (tmp_path / gone.steps_key).unlink()  # as a retention rule would: the originals expire, the pack is younger
    pinned = ds.snapshot("t")
    with pytest.raises(SessionErasedError, match=f"session {gone.session_id} .* was rewritten or deleted"):
        list(pinned.iter_steps(frames="bytes"))
    assert len(list(pinned.iter_steps([ds.sessions()[0]], frames="bytes"))) == 6  # the other is still served
