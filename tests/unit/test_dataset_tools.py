"""Snapshots, quality flags, statistics and training-format exports on a dataset in a local directory."""

from __future__ import annotations

import ast
import functools
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from schemas.dataset import Manifest, SessionEntry, frame_key
from sinks.core.sessions import FrameInfo, session_entry, steps_table, to_parquet
from teachstream import dataset, exports, quality, report
from teachstream.snapshots import Audit, SessionErasedError, Snapshot, SnapshotError, check, pin, refreshed
from tests.samples import SampleSession, sample_sessions

START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def write_local(root: Path, sessions: list[SampleSession]) -> dataset.Dataset:
    """The sink's layout in a directory: frames, Parquet steps, one manifest."""
    entries: dict[str, SessionEntry] = {}
    for n, s in enumerate(sessions):
        t = s.trajectory
        frames = {}
        for f in s.frames:
            key = frame_key(f.user_id, f.device_id, f.frame_id)
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(f.image)
            frames[f.frame_id] = FrameInfo(key, f.width, f.height, f.scale, 0, 0, len(f.image))
        data = to_parquet(steps_table(t, frames))
        entry = session_entry(t, frames, len(data), 0, n)
        (root / entry.steps_key).parent.mkdir(parents=True, exist_ok=True)
        (root / entry.steps_key).write_bytes(data)
        entries[t.session_id] = entry
    manifest = Manifest("2026-11-26", 0, entries)
    (root / manifest.key()).parent.mkdir(parents=True, exist_ok=True)
    (root / manifest.key()).write_bytes(manifest.to_bytes())
    return dataset.open(str(root))


def erase_locally(root: Path, ds: dataset.Dataset, user: str, audit_too: bool = True) -> None:
    """What the sink's janitor does on an erasure: objects, manifest entries, then (last) the audit record."""
    manifest = Manifest.from_bytes((root / "manifests/dt=2026-11-26/partition=000.json").read_bytes())
    for sid, entry in list(manifest.sessions.items()):
        if entry.user_id == user:
            for key in (entry.steps_key, *entry.frame_keys):
                (root / key).unlink()
            del manifest.sessions[sid]
    (root / manifest.key()).write_bytes(manifest.to_bytes())
    ds.refresh()
    if not audit_too:
        return
    audit = root.parent.parent / "audit/erasure/req-1.json"
    audit.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).isoformat()
    audit.write_text(json.dumps({"request_id": "req-1", "user_id": user, "requested_at": now, "completed_at": now}))
    ds.refresh()


@functools.cache
def samples() -> list[SampleSession]:
    return list(sample_sessions(6, 10, seed=2, start=START, users=("u-ann", "u-bob", "u-cyd")))


@pytest.fixture
def local(tmp_path: Path) -> tuple[Path, dataset.Dataset]:
    root = tmp_path / "prefix" / "dataset" / "v1"
    root.mkdir(parents=True)
    return root, write_local(root, samples())


# -- snapshots --------------------------------------------------------------------------------


def test_a_snapshot_pins_its_sessions_and_an_erased_person_is_refused_then_dropped(
    local: tuple[Path, dataset.Dataset],
) -> None:
    root, ds = local
    key = ds.create_snapshot("train-1", ds.sessions(user="u-ann") + ds.sessions(user="u-bob"), {"note": "x"})
    assert key.startswith("snapshots/train-1/v0001-") and (root / key).is_file()
    with pytest.raises(SnapshotError, match="exists"):
        ds.create_snapshot("train-1", ds.sessions(), {})

    pinned = ds.snapshot("train-1")
    assert len(pinned.sessions()) == 4 and {s.user_id for s in pinned.sessions()} == {"u-ann", "u-bob"}
    assert len(list(pinned.iter_steps(frames=False))) == 40 and pinned.findings() == []

    bob = pinned.sessions(user="u-bob")[0]
    frame = root / bob.frame_keys[0]
    original = frame.read_bytes()
    frame.write_bytes(original + b"\0")  # changed after the check that found nothing: the read itself refuses
    with pytest.raises(SessionErasedError, match=f"session {bob.session_id} .* changed"):
        pinned.frame_bytes(bob.frame_keys[0])
    frame.write_bytes(original)
    assert pinned.frame_bytes(bob.frame_keys[0]) == original

    erase_locally(root, ds, "u-ann")
    pinned, findings = ds.check_snapshot("train-1")
    assert sorted(f.session_id for f in findings) == sorted(s.session_id for s in pinned.sessions(user="u-ann"))
    assert {f.kind for f in findings} == {"erased"} and "req-1" in findings[0].detail
    with pytest.raises(SessionErasedError, match="snapshot refresh train-1"):
        next(pinned.iter_steps())
    kept = pinned.sessions(user="u-bob")[0]
    assert len(pinned.steps(kept)) == 10  # the others are still served one by one

    new_key, dropped, deleted = ds.refresh_snapshot("train-1")
    assert new_key.startswith("snapshots/train-1/v0002-") and len(dropped) == 2
    latest = ds.snapshot("train-1")
    assert {s.user_id for s in latest.sessions()} == {"u-bob"} and latest.findings() == []
    assert latest.pinned.parent == key and latest.pinned.dropped == 2
    assert "u-ann" not in (root / new_key).read_text()
    assert deleted == [key] and ds.snapshot_keys() == [new_key]  # v1 named the erased person: it is gone
    with pytest.raises(SnapshotError, match="no version 1 of snapshot 'train-1'"):
        ds.snapshot("train-1", version=1)
    _, again, deleted = ds.refresh_snapshot("train-1")  # nothing more to drop, nothing to delete
    assert again == [] and deleted == [] and len(ds.snapshot_keys("train-1")) == 2


def test_a_refresh_during_an_erasure_leaves_no_version_naming_the_person(
    local: tuple[Path, dataset.Dataset],
) -> None:
    root, ds = local
    first = ds.create_snapshot("ann-only", ds.sessions(user="u-ann"), {"user": "u-ann"})
    pinned = ds.snapshot("ann-only")
    assert pinned.findings() == []
    erase_locally(root, ds, "u-ann", audit_too=False)  # the janitor has deleted, not yet written its audit
    with pytest.raises(SessionErasedError, match="no manifest lists it"):  # a read after the check says why
        pinned.frame_bytes(pinned.sessions()[0].frame_keys[0])
    second, found, deleted = ds.refresh_snapshot("ann-only")
    assert {f.kind for f in found} == {"removed"} and deleted == []  # no audit yet: v1 is not known to name her
    erase_locally(root, ds, "u-ann")  # now the audit record is there
    third, found, deleted = ds.refresh_snapshot("ann-only")
    assert found == [] and deleted == [first]  # v1, checked on its own, goes at this refresh
    assert ds.snapshot_keys("ann-only") == [second, third]
    with pytest.raises(SessionErasedError, match="erased on"):
        pinned.frame_bytes(pinned.sessions()[1].frame_keys[0])


def test_a_refresh_after_an_erasure_keeps_no_pseudonym_in_the_filters(local: tuple[Path, dataset.Dataset]) -> None:
    root, ds = local
    ds.create_snapshot("mine", ds.sessions(user="u-ann"), {"user": "u-ann", "app": "xterm"})
    erase_locally(root, ds, "u-ann")
    key, _, _ = ds.refresh_snapshot("mine")
    assert ds.snapshot("mine").pinned.filters == {"user": "(erased)", "app": "xterm"}
    assert "u-ann" not in (root / key).read_text()


def test_a_snapshot_changed_after_it_was_written_is_refused(local: tuple[Path, dataset.Dataset]) -> None:
    root, ds = local
    key = ds.create_snapshot("s", ds.sessions(), {})
    (root / key).write_bytes((root / key).read_bytes().replace(b"u-ann", b"u-zed"))
    with pytest.raises(SnapshotError, match="does not match its hash"):
        ds.snapshot("s")
    with pytest.raises(SnapshotError, match="no snapshot 'other'"):
        ds.snapshot("other")
    with pytest.raises(SnapshotError, match="snapshot name"):
        ds.create_snapshot("../escape", [], {})


def _entry(user: str, start: datetime, minutes: int = 10) -> SessionEntry:
    return SessionEntry(
        f"s-{user}-{start:%H%M}", "d-1", user, "2026-11-26", start.isoformat(),
        (start + timedelta(minutes=minutes)).isoformat(), "gap", 5, 1, 20, 0, ("xterm",),
        f"steps/{user}-{start:%H%M}.parquet", (f"frames/{user}-{start:%H%M}.jpg",), 100, 0, 0,
    )  # fmt: skip


def test_check_tells_erased_withdrawn_removed_and_changed_apart() -> None:
    t = START
    erased, cut, gone, edited, fine, later = (
        _entry("u-a", t), _entry("u-w", t), _entry("u-r", t), _entry("u-c", t), _entry("u-f", t),
        _entry("u-a", t + timedelta(hours=5)),
    )  # fmt: skip
    entries = [erased, cut, gone, edited, fine, later]
    etags = {k: "e1" for e in entries for k in (e.steps_key, *e.frame_keys)}
    snap = pin("s", entries, etags, t + timedelta(hours=6), {})
    audits = [
        Audit("erasure", "u-a", t + timedelta(hours=1), t + timedelta(hours=1, minutes=1), "r-9"),
        Audit("withdrawal", "u-w", t + timedelta(minutes=5), t + timedelta(minutes=6)),
    ]
    current = {e.session_id: e for e in entries if e is not gone}
    now = dict(etags) | {edited.steps_key: "e2"}
    found = {f.session_id: f.kind for f in check(snap, current, now, audits)}
    assert found == {
        erased.session_id: "erased",
        cut.session_id: "withdrawn",
        gone.session_id: "removed",
        edited.session_id: "changed",
    }  # `later` started after the erasure request: not erased; `fine` is untouched
    nxt = refreshed(snap, check(snap, current, now, audits), "k1", t + timedelta(hours=7))
    assert [p.entry for p in nxt.sessions] == [fine, later] and nxt.version == 2
    assert Snapshot.from_bytes(nxt.key(), nxt.body()) == nxt
    with pytest.raises(SnapshotError, match="not stored"):
        pin("s", [erased], {}, t, {})


# -- quality ----------------------------------------------------------------------------------


def test_quality_flags() -> None:
    entry = _entry("u-a", START, minutes=1)
    useful = [{"action": "click", "frame_key": "f"}, {"action": "type", "text": "hello there <EMAIL>"}] * 3
    assert quality.flags(entry, useful) == ()
    assert quality.flags(entry, []) == ("withheld", "no_frames", "short")
    assert quality.flags(entry, useful[:2]) == ("short",)
    long_idle = replace(entry, end_time=(START + timedelta(minutes=30)).isoformat())
    assert quality.flags(long_idle, useful) == ("idle",)
    secret = [{"action": "type", "text": "<EMAIL> <CARD>, <PHONE> ok", "frame_key": "f"}] * 3
    assert quality.flags(entry, secret) == ("redacted",)
    assert quality.redacted_share(["mail <EMAIL>", "x<CARD>"]) == pytest.approx(2 / 4)
    assert quality.parse_drop(["short,idle", "redacted"]) == {"short", "idle", "redacted"}
    assert quality.parse_drop(["all"]) == set(quality.FLAGS)
    with pytest.raises(ValueError, match="unknown quality flag 'dull'"):
        quality.parse_drop(["dull"])


def test_stats_and_html_report(local: tuple[Path, dataset.Dataset]) -> None:
    _, ds = local
    found = report.collect(ds, ds.sessions())
    summary = found.summary()
    assert summary["sessions"] == 6 and summary["steps"] == 60 and summary["placeholders"] == {"EMAIL": 12}
    assert summary["actions"] == {"click": 12, "type": 12, "scroll": 12, "hotkey": 12, "drag": 12}
    assert summary["steps_per_session"]["median"] == 10 and summary["steps_per_frame"]["max"] == 2
    assert sum(summary["apps"].values()) == 60 and summary["flagged"]["no_frames"] == 0
    page = report.html(found, "t")
    assert page.count("data:image/png;base64,") == 7 and "Steps per session" in page


# -- exports ----------------------------------------------------------------------------------


def step(**fields: Any) -> dict[str, Any]:
    base = {"frame_width": 960, "frame_height": 540, "frame_scale": 0.5, "frame_left": 0, "frame_top": 0}
    return base | {"x": 960, "y": 270, "button": "left"} | fields


def test_actions_become_pyautogui_calls_in_screenshot_pixels_and_normalized() -> None:
    assert exports.pyautogui_code(step(action="click"), normalized=False) == "pyautogui.click(x=480, y=135)"
    assert exports.pyautogui_code(step(action="click"), normalized=True) == "pyautogui.click(x=0.5, y=0.25)"
    assert exports.pyautogui_code(step(action="double_click"), False) == "pyautogui.doubleClick(x=480, y=135)"
    assert exports.pyautogui_code(step(action="right_click"), False) == "pyautogui.rightClick(x=480, y=135)"
    assert exports.pyautogui_code(step(action="click", button="middle"), False) == "pyautogui.middleClick(x=480, y=135)"
    assert exports.pyautogui_code(step(action="scroll", dy=3, dx=0), False) == (  # captured dy > 0: down
        "pyautogui.moveTo(x=480, y=135)\npyautogui.scroll(-3)"
    )
    assert exports.pyautogui_code(step(action="scroll", dy=-2, dx=1), False).endswith("scroll(2)\npyautogui.hscroll(1)")
    assert exports.describe(step(action="scroll", dy=3, app="xterm")) == "Scroll down in xterm"
    drag = step(action="drag", path=[{"x": 960, "y": 270}, {"x": 1920, "y": 1080}])
    assert exports.pyautogui_code(drag, False) == (
        "pyautogui.moveTo(x=480, y=135)\npyautogui.dragTo(x=959, y=539, button='left')"
    )
    typed = step(action="type", text="mail <EMAIL> it's done")
    assert exports.pyautogui_code(typed, False) == 'pyautogui.write(message="mail <EMAIL> it\'s done")'
    assert exports.pyautogui_code(step(action="hotkey", keys=["ctrl_l", "shift", "page_up"]), False) == (
        "pyautogui.hotkey('ctrl', 'shift', 'pageup')"
    )
    assert exports.pyautogui_code(step(action="key", keys=["enter"]), False) == "pyautogui.press('enter')"
    assert exports.key_name("cmd") == "win" and exports.key_name("a") == "a" and exports.key_name("f_1") == "f1"
    no_frame = step(action="click", frame_width=None)
    assert exports.pyautogui_code(no_frame, False) == "computer.wait()"
    for s in (drag, typed, step(action="scroll", dy=2, dx=1)):
        ast.parse(exports.pyautogui_code(s, normalized=True))  # valid Python, as the formats expect


def test_agentnet_export_reads_back_by_its_description(local: tuple[Path, dataset.Dataset], tmp_path: Path) -> None:
    _, ds = local
    done = exports.export(ds, ds.sessions(), "agentnet", tmp_path / "an")
    assert (done.sessions, done.steps, done.left_out) == (6, 60, 0)
    records = [json.loads(line) for line in (tmp_path / "an/agentnet.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in records] == [s.session_id for s in ds.sessions()]
    for record in records:
        for item in record["traj"]:  # AgentNet: the image before the action, code with 0-1 coordinates
            with Image.open(tmp_path / "an/images" / item["image"]) as image:
                assert image.size == (960, 540)
            call = ast.parse(item["value"]["code"].splitlines()[-1]).body[0]
            assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
            for kw in call.value.keywords:
                if kw.arg in ("x", "y"):
                    assert 0 <= ast.literal_eval(kw.value) <= 1
    typed = [i["value"]["code"] for r in records for i in r["traj"] if "write" in i["value"]["code"]]
    assert len(typed) == 12 and all("<EMAIL>" in c for c in typed)


def test_osworld_export_reads_back_by_its_description(local: tuple[Path, dataset.Dataset], tmp_path: Path) -> None:
    _, ds = local
    exports.export(ds, ds.sessions(), "osworld", tmp_path / "ow")
    first = ds.sessions()[0]
    lines = [json.loads(x) for x in (tmp_path / "ow" / first.session_id / "traj.jsonl").read_text().splitlines()]
    assert [x["step_num"] for x in lines] == list(range(1, 11)) and [x["done"] for x in lines][-2:] == [False, True]
    steps = ds.steps(first)
    for line, s in zip(lines, steps, strict=True):
        assert (tmp_path / "ow" / first.session_id / line["screenshot_file"]).is_file()
        assert line["screenshot_file"] == f"step_{line['step_num']}_{line['action_timestamp']}.jpg"
        assert line["action"] == exports.pyautogui_code(s, normalized=False)
    after = (tmp_path / "ow" / first.session_id / lines[0]["screenshot_file"]).read_bytes()
    assert after == ds.frame_bytes(steps[1]["frame_key"])  # OSWorld keeps the screen after the action
    assert (tmp_path / "ow" / first.session_id / "initial_state.jpg").read_bytes() == ds.frame_bytes(
        steps[0]["frame_key"]
    )


def test_hf_export_loads_offline_with_images(
    local: tuple[Path, dataset.Dataset], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datasets

    _, ds = local
    exports.export(ds, ds.sessions()[:2], "hf", tmp_path / "hf")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(loaded) == 20 and loaded.features["image"] == datasets.Image()
    row = loaded[3]
    assert row["image"].size == (960, 540) and row["code"] == exports.pyautogui_code(
        ds.steps(ds.sessions()[0])[3], False
    )
    exports.export(ds, [], "hf", tmp_path / "empty")
    assert len(datasets.load_from_disk(str(tmp_path / "empty"))) == 0
    image = Image.open(io.BytesIO(ds.frame_bytes(ds.steps(ds.sessions()[0])[3]["frame_key"])))
    assert row["image"].tobytes() == image.tobytes()


def test_iter_steps_hands_frames_decoded_lazy_or_as_bytes_in_order(local: tuple[Path, dataset.Dataset]) -> None:
    _, ds = local
    expected = [(s["session_id"], s["index"]) for e in ds.sessions() for s in ds.steps(e)]
    for form in ("image", "lazy", "bytes"):
        steps = list(ds.iter_steps(frames=form, prefetch=2))
        assert [(s["session_id"], s["index"]) for s in steps] == expected
        first = steps[0]["frame"]
        if form == "bytes":
            assert first == ds.frame_bytes(steps[0]["frame_key"])
        else:
            assert first.size == (960, 540) and (first._im is None) == (form == "lazy")
            assert first.convert("L").getpixel((5, 5)) is not None
        assert steps[1]["frame"] is first  # steps sharing a frame share the object
    assert all("frame" not in s for s in ds.iter_steps(frames=False))
    with pytest.raises(ValueError, match="frames='png'"):
        next(ds.iter_steps(frames="png"))  # type: ignore[arg-type]
    assert len(list(ds.iter_steps(shard=(1, 3), prefetch=1))) == 20
