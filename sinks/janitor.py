"""Removing a person's data from the dataset: erasure, and what was stored after a withdrawal (edge).

Manifests belong to the sink worker that owns their ``trajectories`` partition; the janitor
may run on any worker, so it rewrites a manifest only conditionally (``If-Match`` on the
ETag it read) and reads it again when the owner wrote in between. It looks again after a
pause for anything that was in flight, and records what it did in ``audit/`` beside the
dataset.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pyarrow.parquet as pq
from mypy_boto3_s3 import S3Client

from schemas.control_records import ErasureRequest
from schemas.dataset import Manifest, SessionEntry, audit_key, date_of, user_prefixes, withdrawal_audit_key
from sinks.core.privacy import audit_record, drop_user, withdrawal_record
from sinks.core.sessions import placeholder_labels, to_parquet
from sinks.s3 import (
    delete_keys,
    get_or_none,
    get_with_etag,
    head_metadata,
    list_keys,
    list_prefixes,
    put,
    put_if_absent,
    put_if_match,
)

log = logging.getLogger(__name__)

_PASS_PAUSE_S = 2.0


@dataclass(frozen=True)
class Removed:
    objects: int = 0
    sessions: int = 0
    manifests: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(self.objects + other.objects, self.sessions + other.sessions, self.manifests + other.manifests)

    def __bool__(self) -> bool:
        return bool(self.objects or self.sessions or self.manifests)


class Janitor:
    def __init__(self, s3: S3Client, bucket: str, prefix: str, root: str, sleep: Callable[[float], None] = time.sleep):
        self.s3, self.bucket, self.prefix, self.root, self.sleep = s3, bucket, prefix, root, sleep

    # erasure

    def erase(self, request: ErasureRequest, already: Removed | None = None) -> Removed | None:
        """Everything of the person up to the request; None if another worker did it already.

        ``already``: what the calling worker removed from its own manifests just before (it counts too)."""
        audit = audit_key(self.prefix, request.request_id)
        if head_metadata(self.s3, self.bucket, audit) is not None:
            return None
        total, passes = already or Removed(), 0
        while passes < 5:
            passes += 1
            found = self._erase_pass(request.user_id)
            total += found
            if passes > 1 and not found:
                break
            self.sleep(_PASS_PAUSE_S)  # then look again: uploads in flight when the request came may have landed
        record = audit_record(request, datetime.now(UTC), total.objects, total.sessions, total.manifests, passes)
        self._put_once(audit, record)
        return total

    def _erase_pass(self, user_id: str) -> Removed:
        manifest_keys = self._manifest_keys()
        dates = {d for k in manifest_keys if (d := date_of(k[len(self.root) :]))}
        dates |= {p.rstrip("/").split("dt=")[-1] for p in list_prefixes(self.s3, self.bucket, self.root + "steps/")}
        prefixes = user_prefixes(user_id, sorted(dates))
        keys = [k for prefix in prefixes for k in list_keys(self.s3, self.bucket, self.root + prefix)]
        delete_keys(self.s3, self.bucket, keys)
        removed = Removed(objects=len(keys))
        for key in manifest_keys:
            removed += self._rewrite(key, lambda m: Removed(sessions=drop_user(m, user_id)))
        return removed

    # withdrawal

    def withdraw(self, user_id: str, since: datetime) -> Removed | None:
        """What was stored of the person from ``since`` on: later sessions go, a session across it is cut at it,
        frames taken since go. None if this withdrawal was cleaned up before."""
        audit = withdrawal_audit_key(self.prefix, user_id, since)
        if head_metadata(self.s3, self.bucket, audit) is not None:
            return None
        total, referenced = Removed(), set[str]()

        def note_frames(manifest: Manifest) -> None:
            referenced.update(k for e in manifest.sessions.values() if e.user_id == user_id for k in e.frame_keys)

        def cut(manifest: Manifest) -> Removed:
            removed = self._cut_manifest(manifest, user_id, since)
            note_frames(manifest)
            return removed

        for key in self._manifest_keys():  # each read once: cut where needed, and note the frames still in use
            dt = date_of(key[len(self.root) :])
            if dt is not None and dt >= _day_before(since):
                total += self._rewrite(key, cut)
            elif (read := self._read(key)) is not None:  # earlier days' sessions ended before the withdrawal
                note_frames(read[0])
        total += self._late_frames(user_id, since, referenced)
        self._put_once(audit, withdrawal_record(user_id, since, datetime.now(UTC), total.objects, total.sessions))
        return total

    def _cut_manifest(self, manifest: Manifest, user_id: str, since: datetime) -> Removed:
        removed = Removed()
        for sid, entry in list(manifest.sessions.items()):
            if entry.user_id != user_id or entry.end < since:
                continue
            if entry.start >= since:
                del manifest.sessions[sid]
                gone = [entry.steps_key, *entry.frame_keys]
            else:
                manifest.sessions[sid], gone = self._cut_session(entry, since)
            delete_keys(self.s3, self.bucket, [self.root + k for k in gone])
            removed += Removed(objects=len(gone), sessions=1)
        return removed

    def _cut_session(self, entry: SessionEntry, since: datetime) -> tuple[SessionEntry, list[str]]:
        """The session's steps before ``since``, stored again; the new entry and the keys no longer needed."""
        body = get_or_none(self.s3, self.bucket, self.root + entry.steps_key)
        table = pq.read_table(io.BytesIO(body or b""))
        rows = [r for r in table.to_pylist() if r["start_time"] < since]
        kept = table.schema.empty_table() if not rows else table.from_pylist(rows, schema=table.schema)
        data = to_parquet(kept)
        put(self.s3, self.bucket, self.root + entry.steps_key, data, "application/vnd.apache.parquet", {})
        frames = tuple(sorted({r["frame_key"] for r in rows if r["frame_key"]}))
        end = max((r["end_time"] for r in rows), default=entry.start)
        cut = replace(
            entry,
            end_time=min(end, since).isoformat(),
            end_reason="consent_withdrawn",
            steps=len(rows),
            frames=len(frames),
            frame_keys=frames,
            apps=tuple(sorted({r["app"] for r in rows if r["app"]})),
            bytes=len(data),
            labels=placeholder_labels(r["text"] for r in rows),
        )
        return cut, [k for k in entry.frame_keys if k not in frames]

    def _late_frames(self, user_id: str, since: datetime, referenced: set[str]) -> Removed:
        """Frames of the person taken since the withdrawal that no kept session refers to."""
        late = []
        for key in list_keys(self.s3, self.bucket, f"{self.root}frames/user={user_id}/"):
            if key[len(self.root) :] in referenced:
                continue
            found = head_metadata(self.s3, self.bucket, key)
            taken = found[1].get("time") if found else None
            if taken and datetime.fromisoformat(taken) >= since:
                late.append(key)
        delete_keys(self.s3, self.bucket, late)
        return Removed(objects=len(late))

    # manifests

    def _manifest_keys(self) -> list[str]:
        return [k for k in list_keys(self.s3, self.bucket, self.root + "manifests/") if k.endswith(".json")]

    def _read(self, key: str) -> tuple[Manifest, str] | None:
        """A manifest and its ETag, or None if it is gone."""
        found = get_with_etag(self.s3, self.bucket, key)
        return None if found is None else (Manifest.from_bytes(found[0]), found[1])

    def _rewrite(self, key: str, change: Callable[[Manifest], Removed]) -> Removed:
        """Apply ``change`` and write the manifest back only if nobody wrote it meanwhile (else read again)."""
        for _ in range(10):
            read = self._read(key)
            if read is None:
                return Removed()
            manifest, etag = read
            removed = change(manifest)
            if not removed:
                return removed
            if put_if_match(self.s3, self.bucket, key, manifest.to_bytes(), "application/json", etag):
                return removed + Removed(manifests=1)
            log.info("%s changed while it was cleaned; reading it again", key)
        raise RuntimeError(f"{key} kept changing while it was cleaned; will try again")

    def _put_once(self, key: str, body: bytes) -> None:
        put_if_absent(self.s3, self.bucket, key, body, "application/json")  # False: another worker recorded it first


def _day_before(moment: datetime) -> str:
    return datetime.fromtimestamp(moment.timestamp() - 86_400, UTC).date().isoformat()
