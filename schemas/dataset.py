"""The dataset's layout in object storage: the contract between the sink and its readers (pure core).

Under a dataset root (``<prefix>dataset/v1/``)::

    README.md                                            dataset card
    steps/dt=YYYY-MM-DD/user=<u>/<session_id>.parquet    one row per step of one session
    frames/user=<u>/device=<d>/<frame_id>.jpg            the frames steps refer to
    frames/user=<u>/packs/<session_id>-<hash>.tar        a packed snapshot's copy of a session's frames
    manifests/dt=YYYY-MM-DD/partition=NNN.json           the complete sessions of one day and partition
    snapshots/<name>/vNNNN-<hash>.json                   pinned session lists (teachstream.snapshots)

A session is visible only once its manifest lists it, and the sink writes the manifest
after the session's steps and every frame they refer to are stored: readers never see a
partial session. ``dt`` is the UTC date of the session's start. Everything of one person
sits under ``user=<u>`` path segments, so erasing a person deletes a few prefixes and
rewrites the manifests that list them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from schemas.events import RemovedBox

LAYOUT_VERSION = "v1"
DATASET_DIR = f"dataset/{LAYOUT_VERSION}/"
CARD_NAME = "README.md"
_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def _safe(kind: str, value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"{kind} {value!r} cannot be part of an object key (letters, digits, '.', '_', '-' only)")
    return value


def dataset_root(prefix: str) -> str:
    """The dataset root under a deployment's S3 prefix (``""`` or ending in ``/``)."""
    return f"{prefix}{DATASET_DIR}"


def day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def steps_key(dt: str, user_id: str, session_id: str) -> str:
    return f"steps/dt={dt}/user={_safe('user', user_id)}/{_safe('session id', session_id)}.parquet"


def frame_key(user_id: str, device_id: str, frame_id: str, image_format: str = "jpeg") -> str:
    ext = "jpg" if image_format == "jpeg" else _safe("image format", image_format)
    return (
        f"frames/user={_safe('user', user_id)}/device={_safe('device', device_id)}/{_safe('frame id', frame_id)}.{ext}"
    )


def manifest_key(dt: str, partition: int) -> str:
    if partition < 0:
        raise ValueError("partition must not be negative")
    return f"manifests/dt={dt}/partition={partition:03d}.json"


def user_prefixes(user_id: str, dates: Iterable[str]) -> list[str]:
    """Every prefix holding objects of one person, given the days the dataset has."""
    user = _safe("user", user_id)
    return [f"frames/user={user}/", *(f"steps/dt={dt}/user={user}/" for dt in dates)]


def date_of(key: str) -> str | None:
    """The ``dt=`` value in a key, if any."""
    match = re.search(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})/", key)
    return match.group(1) if match else None


@dataclass(frozen=True)
class SessionEntry:
    """One complete session as its manifest lists it."""

    session_id: str
    device_id: str
    user_id: str
    dt: str
    start_time: str  # ISO 8601, UTC
    end_time: str
    end_reason: str
    steps: int
    frames: int
    events: int
    redactions: int
    apps: tuple[str, ...]
    steps_key: str
    frame_keys: tuple[str, ...]
    bytes: int  # steps object and frames
    partition: int
    offset: int
    labels: dict[str, int] = field(default_factory=dict)  # redaction placeholders in typed text, by label
    frame_labels: dict[str, int] = field(default_factory=dict)  # boxes covered in the session's frames, by label
    seqs: tuple[tuple[int, int], ...] = ()  # the events' device sequence numbers, as inclusive ranges

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.start_time)

    @property
    def end(self) -> datetime:
        return datetime.fromisoformat(self.end_time)

    @property
    def date(self) -> date:
        return date.fromisoformat(self.dt)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionEntry:
        fields = dict(data)
        fields["apps"] = tuple(fields.get("apps", ()))
        fields["frame_keys"] = tuple(fields.get("frame_keys", ()))
        fields["seqs"] = tuple((int(a), int(b)) for a, b in fields.get("seqs", ()))
        return cls(**fields)


@dataclass
class Manifest:
    """The complete sessions of one day and one ``trajectories`` partition, keyed by session id."""

    dt: str
    partition: int
    sessions: dict[str, SessionEntry]

    def key(self) -> str:
        return manifest_key(self.dt, self.partition)

    def to_bytes(self) -> bytes:
        entries = [asdict(self.sessions[s]) for s in sorted(self.sessions)]
        body = {"layout": LAYOUT_VERSION, "dt": self.dt, "partition": self.partition, "sessions": entries}
        return json.dumps(body, indent=1, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        body = json.loads(data)
        if body.get("layout") != LAYOUT_VERSION:
            raise ValueError(f"manifest layout {body.get('layout')!r} is not {LAYOUT_VERSION}")
        sessions = {e["session_id"]: SessionEntry.from_json(e) for e in body["sessions"]}
        return cls(body["dt"], int(body["partition"]), sessions)


def audit_key(prefix: str, request_id: str) -> str:
    return f"{prefix}audit/erasure/{request_id}.json"


def withdrawal_audit_key(prefix: str, user_id: str, since: datetime) -> str:
    micros = round(since.timestamp() * 1_000_000)
    return f"{prefix}audit/withdrawal/{user_id}-{micros}.json"


BOXES_MAX_CHARS = 1500  # S3 allows 2 KB of user metadata in all


def encode_boxes(boxes: Sequence[RemovedBox]) -> tuple[str, int]:
    """The covered boxes of a frame for its object's metadata (``LABEL:x,y,w,h;…``), as many as fit, and how
    many did not fit."""
    parts: list[str] = []
    size = 0
    for i, b in enumerate(boxes):
        part = f"{b.label}:{b.x},{b.y},{b.width},{b.height}"
        if size + len(part) + 1 > BOXES_MAX_CHARS:
            return ";".join(parts), len(boxes) - i
        parts.append(part)
        size += len(part) + 1
    return ";".join(parts), 0


def decode_boxes(text: str) -> tuple[RemovedBox, ...]:
    """The boxes written by :func:`encode_boxes`; malformed parts are skipped."""
    boxes = []
    for part in filter(None, text.split(";")):
        label, _, rect = part.partition(":")
        numbers = rect.split(",")
        if label and len(numbers) == 4 and all(n.lstrip("-").isdigit() for n in numbers):
            x, y, w, h = (int(n) for n in numbers)
            boxes.append(RemovedBox(label, x, y, w, h))
    return tuple(boxes)
