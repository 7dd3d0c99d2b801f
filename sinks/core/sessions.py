"""A closed session as dataset objects: its Parquet steps and its manifest entry (pure core)."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dataset import SessionEntry, day, frame_key, steps_key
from schemas.events import RemovedBox
from schemas.step_columns import STEP_SCHEMA
from schemas.trajectory import Trajectory

_PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*)>")


@dataclass(frozen=True)
class FrameInfo:
    """A stored frame: its object and the geometry needed to place a step on it."""

    key: str
    width: int
    height: int
    scale: float
    left: int
    top: int
    size: int
    removed: tuple[RemovedBox, ...] = ()  # what the screen redaction covered


def referenced_frames(trajectory: Trajectory) -> dict[str, str]:
    """frame_id -> frame key of every frame the session's steps refer to."""
    return {
        s.frame_id: frame_key(trajectory.user_id, trajectory.device_id, s.frame_id)
        for s in trajectory.steps
        if s.frame_id
    }


def steps_table(trajectory: Trajectory, frames: Mapping[str, FrameInfo]) -> pa.Table:
    """One row per step; frames missing from ``frames`` leave the frame columns null."""
    rows = []
    for s in trajectory.steps:
        f = frames.get(s.frame_id) if s.frame_id else None
        rows.append(
            {
                "session_id": trajectory.session_id,
                "device_id": trajectory.device_id,
                "user_id": trajectory.user_id,
                "index": s.index,
                "action": s.action,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "app": s.app,
                "title": s.title,
                "x": s.x,
                "y": s.y,
                "nx": s.nx,
                "ny": s.ny,
                "button": s.button,
                "text": s.text,
                "keys": list(s.keys),
                "dx": s.dx,
                "dy": s.dy,
                "path": [{"x": p.x, "y": p.y} for p in s.path],
                "frame_id": s.frame_id,
                "frame_key": f.key if f else None,
                "frame_width": f.width if f else None,
                "frame_height": f.height if f else None,
                "frame_scale": f.scale if f else None,
                "frame_left": f.left if f else None,
                "frame_top": f.top if f else None,
                "frame_removed": [asdict(b) for b in f.removed] if f else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=STEP_SCHEMA)


def to_parquet(table: pa.Table) -> bytes:
    """Parquet with zstd; the same table gives the same bytes."""
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd", write_statistics=True)
    return out.getvalue()


def placeholder_labels(texts: Iterable[str | None]) -> dict[str, int]:
    """How often each redaction placeholder (``<EMAIL>`` …) appears in typed text."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_PLACEHOLDER.findall(text or ""))
    return dict(sorted(counts.items()))


def placeholder_counts(trajectory: Trajectory) -> dict[str, int]:
    return placeholder_labels(s.text for s in trajectory.steps)


def session_entry(
    trajectory: Trajectory, frames: Mapping[str, FrameInfo], size: int, partition: int, offset: int
) -> SessionEntry:
    """The manifest entry of a session whose steps object (``size`` bytes) and ``frames`` are stored."""
    dt = day(trajectory.start_time)
    return SessionEntry(
        session_id=trajectory.session_id,
        device_id=trajectory.device_id,
        user_id=trajectory.user_id,
        dt=dt,
        start_time=trajectory.start_time.isoformat(),
        end_time=trajectory.end_time.isoformat(),
        end_reason=trajectory.end_reason,
        steps=len(trajectory.steps),
        frames=len(frames),
        events=trajectory.event_count,
        redactions=trajectory.redaction_count,
        apps=tuple(sorted({s.app for s in trajectory.steps if s.app})),
        steps_key=steps_key(dt, trajectory.user_id, trajectory.session_id),
        frame_keys=tuple(sorted(f.key for f in frames.values())),
        bytes=size + sum(f.size for f in frames.values()),
        partition=partition,
        offset=offset,
        labels=placeholder_counts(trajectory),
        frame_labels=dict(Counter(b.label for f in frames.values() for b in f.removed)),
        seqs=tuple((r.first, r.last) for r in trajectory.seq_ranges),
    )
