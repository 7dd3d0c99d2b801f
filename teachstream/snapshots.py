"""Pinned sets of sessions for training runs, kept lawful after erasures and withdrawals (pure core).

A snapshot lists the sessions a filter matched and the ETag of every object they are made of. It
is written once under the dataset root and never changed (only deleted, after an erasure)::

    snapshots/<name>/v0001-<sha256 of the body, 16 hex>.json

Its key holds the hash of its body, so a reader can tell it is the one that was written. When
people are erased or withdraw consent after a snapshot was made, :func:`check` names the
sessions that are gone or cut (from the audit records the sink leaves and from the current
manifests), the reader refuses to serve them, and a refresh writes the next version without them
and deletes the earlier versions that list an erased or withdrawn person's sessions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from schemas.dataset import SessionEntry
from schemas.errors import TeachstreamError
from teachstream.packs import is_pack

SNAPSHOT_DIR = "snapshots/"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_KEY = re.compile(r"^snapshots/(?P<name>[^/]+)/v(?P<version>\d{4,})-(?P<digest>[0-9a-f]{16})\.json$")


class SnapshotError(TeachstreamError):
    """A snapshot that does not exist, is damaged, or cannot be written."""


class SessionErasedError(TeachstreamError):
    """A pinned session that may no longer be served: erased, cut by a withdrawal, or removed."""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SnapshotError(f"snapshot name {name!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    return name


def snapshot_prefix(name: str) -> str:
    return f"{SNAPSHOT_DIR}{check_name(name)}/"


@dataclass(frozen=True)
class Pinned:
    """One session of a snapshot and the ETags of its steps object and frames."""

    entry: SessionEntry
    etags: Mapping[str, str]


@dataclass(frozen=True)
class Snapshot:
    name: str
    version: int
    created_at: str  # ISO 8601, UTC
    filters: Mapping[str, Any]
    sessions: tuple[Pinned, ...]
    parent: str | None = None  # key of the version this one refreshed
    dropped: int = 0  # sessions the refresh left out (not their ids: they may be an erased person's)

    def body(self) -> bytes:
        data = {
            "snapshot": self.name,
            "version": self.version,
            "created_at": self.created_at,
            "filters": dict(self.filters),
            "parent": self.parent,
            "dropped": self.dropped,
            "sessions": [{"entry": asdict(p.entry), "etags": dict(sorted(p.etags.items()))} for p in self.sessions],
        }
        return json.dumps(data, indent=1, sort_keys=True).encode()

    def key(self) -> str:
        digest = hashlib.sha256(self.body()).hexdigest()[:16]
        return f"{snapshot_prefix(self.name)}v{self.version:04d}-{digest}.json"

    @property
    def entries(self) -> list[SessionEntry]:
        return [p.entry for p in self.sessions]

    @classmethod
    def from_bytes(cls, key: str, data: bytes) -> Snapshot:
        """The snapshot stored under ``key``; refuses one whose body does not match the hash in its key."""
        match = _KEY.match(key)
        if match is None:
            raise SnapshotError(f"{key} is not a snapshot key")
        if hashlib.sha256(data).hexdigest()[:16] != match["digest"]:
            raise SnapshotError(f"{key} does not match its hash: it was changed after it was written")
        body = json.loads(data)
        return cls(
            name=body["snapshot"],
            version=int(body["version"]),
            created_at=body["created_at"],
            filters=body.get("filters", {}),
            sessions=tuple(Pinned(SessionEntry.from_json(s["entry"]), s["etags"]) for s in body["sessions"]),
            parent=body.get("parent"),
            dropped=int(body.get("dropped", 0)),
        )


def version_of(key: str) -> int:
    match = _KEY.match(key)
    return int(match["version"]) if match else -1


def latest_key(keys: Iterable[str], name: str, version: int | None = None) -> str:
    """The key of the newest version of snapshot ``name`` (or of ``version``) among the listed keys."""
    found = sorted((k for k in keys if _KEY.match(k) and k.startswith(snapshot_prefix(name))), key=version_of)
    if version is not None:
        found = [k for k in found if version_of(k) == version]
    if not found:
        which = f"version {version} of snapshot" if version is not None else "snapshot"
        raise SnapshotError(f"no {which} {name!r}: `teachstream dataset snapshot list` shows the ones there are")
    return found[-1]


def pin(
    name: str,
    entries: Sequence[SessionEntry],
    etags: Mapping[str, str],
    created_at: datetime,
    filters: Mapping[str, Any],
    version: int = 1,
) -> Snapshot:
    """A snapshot of ``entries`` with the current ETag of each of their objects."""
    pinned = []
    for entry in entries:
        keys = (entry.steps_key, *entry.frame_keys)
        missing = [k for k in keys if k not in etags]
        if missing:
            raise SnapshotError(
                f"session {entry.session_id} is listed but {missing[0]} is not stored (is it being erased?); "
                "try again in a minute"
            )
        pinned.append(Pinned(entry, {k: etags[k] for k in keys}))
    return Snapshot(name, version, created_at.isoformat(), dict(filters), tuple(pinned))


# -- what changed since -----------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """What the sink recorded after removing a person's data (``audit/`` beside the dataset)."""

    kind: str  # "erasure" or "withdrawal"
    user_id: str
    at: datetime  # the erasure request's time, or the withdrawal's
    completed_at: datetime
    request_id: str = ""

    @classmethod
    def from_json(cls, kind: str, data: Mapping[str, Any]) -> Audit:
        at = data["requested_at"] if kind == "erasure" else data["withdrawn_at"]
        return cls(
            kind,
            str(data["user_id"]),
            datetime.fromisoformat(at),
            datetime.fromisoformat(data["completed_at"]),
            str(data.get("request_id", "")),
        )


@dataclass(frozen=True)
class Finding:
    """A pinned session that may not be served any more, and why."""

    session_id: str
    user_id: str
    kind: str  # erased | withdrawn | removed | changed
    detail: str = field(compare=False)


def check(
    snapshot: Snapshot, current: Mapping[str, SessionEntry], etags: Mapping[str, str] | None, audits: Sequence[Audit]
) -> list[Finding]:
    """The snapshot's sessions that were erased, cut or removed since it was made.

    ``current``: the sessions the manifests list now, by id; ``etags``: the current ETag of every stored
    object, or None not to compare them (a reader that reads each object at its pinned ETag refuses a
    changed one when it reads it); ``audits``: the sink's erasure and withdrawal records."""
    findings = []
    for pinned in snapshot.sessions:
        e = pinned.entry
        erased = [a for a in audits if a.kind == "erasure" and a.user_id == e.user_id and e.start < a.at]
        withdrawn = [a for a in audits if a.kind == "withdrawal" and a.user_id == e.user_id and e.end >= a.at]
        changed = [] if etags is None else [k for k, t in pinned.etags.items() if etags.get(k) != t and not is_pack(k)]
        if erased:
            a = erased[0]
            detail = f"erased on {a.completed_at:%Y-%m-%d %H:%M} UTC (erasure request {a.request_id or 'unnamed'})"
            findings.append(Finding(e.session_id, e.user_id, "erased", detail))
        elif withdrawn:
            a = withdrawn[0]
            detail = f"consent withdrawn at {a.at:%Y-%m-%d %H:%M} UTC; what was recorded from then on is deleted"
            findings.append(Finding(e.session_id, e.user_id, "withdrawn", detail))
        elif e.session_id not in current:
            findings.append(Finding(e.session_id, e.user_id, "removed", "no manifest lists it any more"))
        elif changed:
            findings.append(Finding(e.session_id, e.user_id, "changed", f"{changed[0]} was rewritten or deleted"))
    return findings


def refreshed(snapshot: Snapshot, findings: Sequence[Finding], parent_key: str, created_at: datetime) -> Snapshot:
    """The next version: the same sessions without the ones ``findings`` names."""
    gone = {f.session_id for f in findings}
    erased = {f.user_id for f in findings if f.kind == "erased"}
    their = erased | {p.entry.device_id for p in snapshot.sessions if p.entry.user_id in erased}
    filters = {k: "(erased)" if v in their else v for k, v in snapshot.filters.items()}  # no pseudonym kept
    return Snapshot(
        snapshot.name,
        snapshot.version + 1,
        created_at.isoformat(),
        filters,
        tuple(p for p in snapshot.sessions if p.entry.session_id not in gone),
        parent=parent_key,
        dropped=len(gone),
    )


def names_gone_people(
    snapshot: Snapshot, current: Mapping[str, SessionEntry], etags: Mapping[str, str] | None, audits: Sequence[Audit]
) -> bool:
    """Whether the snapshot lists a session of a person erased or withdrawn since (then it must go)."""
    return any(f.kind in ("erased", "withdrawn") for f in check(snapshot, current, etags, audits))


def refusal(snapshot: Snapshot, finding: Finding) -> SessionErasedError:
    return SessionErasedError(
        f"session {finding.session_id} of snapshot {snapshot.name!r} v{snapshot.version} may not be used: "
        f"{finding.detail}. `teachstream dataset snapshot refresh {snapshot.name}` writes a version without it"
    )
