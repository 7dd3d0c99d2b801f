"""Trajectories in the formats computer-use training code reads: AgentNet, OSWorld, Hugging Face.

::

    from teachstream import dataset, exports
    ds = dataset.open("s3://teachstream/dataset/v1/")
    exports.export(ds, ds.sessions(), "agentnet", Path("out"))

Every format gets, per step, the action as a pyautogui call, the screenshot the person saw before
the action (the most recent frame taken before it), the app and the window title. Coordinates
are in the pixels of that screenshot (the agent stores frames scaled down) and, normalized, in
0-1 of its width and height. Typed text keeps its redaction placeholders (``<EMAIL>``) as they
are. A step taken before the session's first frame has no screenshot and is left out; the
summary counts them.

``agentnet``  OpenCUA's AgentNet: ``agentnet.jsonl``, one trajectory per line
              (``task_id``, ``instruction``, ``traj``: ``index``, ``image``, ``value.code`` with
              normalized coordinates), images in ``images/``
``osworld``   OSWorld's results layout: ``<session>/traj.jsonl`` (``step_num``,
              ``action_timestamp``, ``action`` in pixels, ``reward``, ``done``, ``info``,
              ``screenshot_file``), the screenshot after each action as OSWorld keeps it, and
              ``initial_state.jpg``
``hf``        a Hugging Face ``datasets`` dataset saved with ``save_to_disk``, one row per step
              with an ``Image`` feature; ``datasets.load_from_disk(DIR)`` loads it offline
"""

from __future__ import annotations

import itertools
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.dataset import SessionEntry
from schemas.errors import ConfigError

if TYPE_CHECKING:
    from teachstream.dataset import Dataset

FORMATS = ("agentnet", "osworld", "hf")
_HF_BATCH = 256

_KEY_NAMES = {"cmd": "win", "super": "win", "esc": "esc", "page_up": "pageup", "page_down": "pagedown"}


# -- actions as pyautogui calls (pure) ---------------------------------------------------


def key_name(key: str) -> str:
    """A captured key name as pyautogui writes it (``ctrl_l`` -> ``ctrl``, ``page_up`` -> ``pageup``)."""
    base = key.removesuffix("_l").removesuffix("_r") if key.endswith(("_l", "_r")) and len(key) > 2 else key
    base = _KEY_NAMES.get(base, base)
    return base.replace("_", "") if len(base) > 1 else base


@dataclass(frozen=True)
class Point:
    """A position in the step's screenshot: pixels and 0-1 of its size."""

    x: int
    y: int
    nx: float
    ny: float


def point(step: Mapping[str, Any], x: int | None = None, y: int | None = None) -> Point | None:
    """Where a screen position (default: the step's) falls in its screenshot; None without one."""
    width, height = step.get("frame_width"), step.get("frame_height")
    x = step.get("x") if x is None else x
    y = step.get("y") if y is None else y
    if not width or not height or x is None or y is None:
        return None
    scale = step.get("frame_scale") or 1.0
    left, top = step.get("frame_left") or 0, step.get("frame_top") or 0
    px = min(max(round((x - left) * scale), 0), width - 1)
    py = min(max(round((y - top) * scale), 0), height - 1)
    return Point(px, py, round(px / width, 4), round(py / height, 4))


def _xy(p: Point, normalized: bool) -> str:
    return f"x={p.nx}, y={p.ny}" if normalized else f"x={p.x}, y={p.y}"


def pyautogui_code(step: Mapping[str, Any], normalized: bool) -> str:
    """The step as pyautogui calls, one per line, in screenshot pixels or normalized 0-1 coordinates."""
    action = step["action"]
    if action == "type":
        return f"pyautogui.write(message={step['text']!r})"
    if action == "hotkey":
        return f"pyautogui.hotkey({', '.join(repr(key_name(k)) for k in step['keys'])})"
    if action == "key":
        return f"pyautogui.press({key_name(step['keys'][0])!r})"
    at = point(step)
    if at is None:
        return "computer.wait()"  # a pointer action with no screenshot to place it on
    if action == "scroll":
        lines = [f"pyautogui.moveTo({_xy(at, normalized)})"]
        if step.get("dy"):  # captured dy > 0 scrolls down; pyautogui's scroll(n > 0) scrolls up
            lines.append(f"pyautogui.scroll({-step['dy']})")
        if step.get("dx"):
            lines.append(f"pyautogui.hscroll({step['dx']})")
        return "\n".join(lines)
    if action == "drag":
        path = step.get("path") or []
        end = point(step, path[-1]["x"], path[-1]["y"]) if path else at
        assert end is not None
        button = step.get("button") or "left"
        return f"pyautogui.moveTo({_xy(at, normalized)})\npyautogui.dragTo({_xy(end, normalized)}, button={button!r})"
    if action == "double_click":
        return f"pyautogui.doubleClick({_xy(at, normalized)})"
    if action == "right_click":
        return f"pyautogui.rightClick({_xy(at, normalized)})"
    if step.get("button") == "middle":
        return f"pyautogui.middleClick({_xy(at, normalized)})"
    return f"pyautogui.click({_xy(at, normalized)})"


def describe(step: Mapping[str, Any]) -> str:
    """The step in words, for AgentNet's ``action`` field."""
    action, where = step["action"], f" in {step['app']}" if step.get("app") else ""
    if action == "type":
        return f"Type {step['text']!r}{where}"
    if action in ("hotkey", "key"):
        return f"Press {'+'.join(key_name(k) for k in step['keys'])}{where}"
    if action == "scroll":
        return f"Scroll {'down' if (step.get('dy') or 0) > 0 else 'up'}{where}"
    return f"{action.replace('_', ' ').capitalize()}{where}"


# -- writers (edge) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    sessions: int
    steps: int
    images: int
    left_out: int  # steps before the session's first frame


def export(ds: Dataset, sessions: Sequence[SessionEntry], fmt: str, target: Path) -> Exported:
    """Write ``sessions`` to ``target`` in format ``fmt`` (one of :data:`FORMATS`)."""
    writers = {"agentnet": _agentnet, "osworld": _osworld, "hf": _hf}
    if fmt not in writers:
        raise ConfigError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    ds.guard(sessions, objects=True)  # a snapshot with a session it may not serve is refused before anything
    target.mkdir(parents=True, exist_ok=True)
    return writers[fmt](ds, sessions, target)


def _framed(ds: Dataset, entry: SessionEntry) -> tuple[list[dict[str, Any]], int]:
    steps = ds.steps(entry)
    kept = [s for s in steps if s["frame_key"]]
    return kept, len(steps) - len(kept)


def _image_name(frame_key: str) -> str:
    return frame_key.rsplit("/", 1)[-1]


def _agentnet(ds: Dataset, sessions: Sequence[SessionEntry], target: Path) -> Exported:
    images = target / "images"
    images.mkdir(exist_ok=True)
    count = steps_out = left_out = 0
    written: set[str] = set()
    with (target / "agentnet.jsonl").open("w", encoding="utf-8") as out:
        for entry in sessions:
            steps, skipped = _framed(ds, entry)
            left_out += skipped
            traj: list[dict[str, Any]] = []
            for s in steps:
                name = _image_name(s["frame_key"])
                if name not in written:
                    (images / name).write_bytes(ds.frame_bytes(s["frame_key"]))
                    written.add(name)
                at = point(s)
                value = {
                    "code": pyautogui_code(s, normalized=True),
                    "code_pixels": pyautogui_code(s, normalized=False),
                    "action": describe(s),
                    "thought": "",
                    "app": s["app"],
                    "title": s["title"],
                    "start_time": s["start_time"].isoformat(),
                    "screen": {"width": s["frame_width"], "height": s["frame_height"]},
                    "pixel": {"x": at.x, "y": at.y} if at else None,
                    "normalized": {"x": at.nx, "y": at.ny} if at else None,
                }
                traj.append({"index": len(traj), "image": name, "value": value})
            record = {
                "task_id": entry.session_id,
                "instruction": "",  # a recording of work has no task statement
                "traj": traj,
                "device_id": entry.device_id,
                "user_id": entry.user_id,
                "apps": list(entry.apps),
                "start_time": entry.start_time,
                "end_time": entry.end_time,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
            steps_out += len(traj)
    return Exported(count, steps_out, len(written), left_out)


class _FrameCache:
    """A session's frames, each fetched once."""

    def __init__(self, ds: Dataset) -> None:
        self.ds, self.frames = ds, dict[str, bytes]()

    def __call__(self, key: str) -> bytes:
        if key not in self.frames:
            self.frames[key] = self.ds.frame_bytes(key)
        return self.frames[key]


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d@%H%M%S%f")


def _osworld(ds: Dataset, sessions: Sequence[SessionEntry], target: Path) -> Exported:
    count = steps_out = left_out = images = 0
    for entry in sessions:
        steps, skipped = _framed(ds, entry)
        left_out += skipped
        if not steps:
            continue
        folder = target / entry.session_id
        folder.mkdir(exist_ok=True)
        image = _FrameCache(ds)
        (folder / "initial_state.jpg").write_bytes(image(steps[0]["frame_key"]))
        lines = []
        for n, s in enumerate(steps, start=1):
            after = steps[n]["frame_key"] if n < len(steps) else s["frame_key"]  # what the next step saw
            ts = _timestamp(s["end_time"])
            screenshot = f"step_{n}_{ts}.jpg"
            (folder / screenshot).write_bytes(image(after))
            images += 1
            lines.append(
                {
                    "step_num": n,
                    "action_timestamp": ts,
                    "action": pyautogui_code(s, normalized=False),
                    "response": "",
                    "reward": 0,
                    "done": n == len(steps),
                    "info": {},
                    "screenshot_file": screenshot,
                    "app": s["app"],
                    "title": s["title"],
                }
            )
        with (folder / "traj.jsonl").open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        (folder / "task.json").write_text(
            json.dumps({"id": entry.session_id, "instruction": "", "apps": list(entry.apps)}, indent=1) + "\n"
        )
        count += 1
        steps_out += len(steps)
    return Exported(count, steps_out, images, left_out)


def _hf(ds: Dataset, sessions: Sequence[SessionEntry], target: Path) -> Exported:
    try:
        import datasets
    except ImportError as exc:
        raise ConfigError("the hf export needs the `datasets` package: pip install datasets") from exc
    features = datasets.Features(
        {
            "session_id": datasets.Value("string"),
            "index": datasets.Value("int32"),
            "action": datasets.Value("string"),
            "code": datasets.Value("string"),
            "code_normalized": datasets.Value("string"),
            "x": datasets.Value("int32"),
            "y": datasets.Value("int32"),
            "nx": datasets.Value("float32"),
            "ny": datasets.Value("float32"),
            "text": datasets.Value("string"),
            "keys": datasets.Sequence(datasets.Value("string")),
            "app": datasets.Value("string"),
            "title": datasets.Value("string"),
            "start_time": datasets.Value("string"),
            "image": datasets.Image(),
        }
    )
    counts = {"steps": 0, "left_out": 0}
    images: set[str] = set()

    def rows() -> Iterator[dict[str, Any]]:
        for entry in sessions:
            steps, skipped = _framed(ds, entry)
            counts["left_out"] += skipped
            for s in steps:
                at = point(s)
                images.add(s["frame_key"])
                counts["steps"] += 1
                yield {
                    "session_id": s["session_id"],
                    "index": s["index"],
                    "action": s["action"],
                    "code": pyautogui_code(s, normalized=False),
                    "code_normalized": pyautogui_code(s, normalized=True),
                    "x": at.x if at else None,
                    "y": at.y if at else None,
                    "nx": at.nx if at else None,
                    "ny": at.ny if at else None,
                    "text": s["text"],
                    "keys": list(s["keys"] or []),
                    "app": s["app"],
                    "title": s["title"],
                    "start_time": s["start_time"].isoformat(),
                    "image": {"bytes": ds.frame_bytes(s["frame_key"]), "path": _image_name(s["frame_key"])},
                }

    import pyarrow as pa
    import pyarrow.parquet as pq

    scratch = Path(tempfile.mkdtemp(prefix="teachstream-hf-"))
    try:  # rows go to a Parquet file in batches, so a large export never sits in memory at once
        shard = scratch / "steps.parquet"
        with pq.ParquetWriter(shard, features.arrow_schema) as out:
            source = rows()
            while batch := [features.encode_example(row) for row in itertools.islice(source, _HF_BATCH)]:
                out.write_table(pa.Table.from_pylist(batch, schema=features.arrow_schema))
        if counts["steps"]:
            built = datasets.Dataset.from_parquet(str(shard), features=features, cache_dir=str(scratch / "cache"))
        else:  # datasets reads no rows from an empty Parquet file
            built = datasets.Dataset.from_dict({name: [] for name in features}, features=features)
        assert isinstance(built, datasets.Dataset)
        built.save_to_disk(str(target), num_shards=None if len(built) else 1)  # its size estimate divides by rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Exported(len(sessions), counts["steps"], len(images), counts["left_out"])
