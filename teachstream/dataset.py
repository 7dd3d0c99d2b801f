"""Read a teachstream dataset: sessions, steps and frames, from S3 or a local copy.

::

    from teachstream import dataset
    ds = dataset.open("s3://teachstream/dataset/v1/")       # or a local directory
    sessions = ds.sessions(date="2026-11-26", app="firefox")
    table = ds.to_table(sessions)                            # pyarrow, one row per step
    for step in ds.iter_steps(sessions):                     # dicts; step["frame"] is a PIL image
        ...

Only sessions listed in a manifest are part of the dataset: a session the sink is still
writing is never returned. S3 settings come from the arguments, else from
``TEACHSTREAM_S3_ENDPOINT`` / ``AWS_ENDPOINT_URL`` and the usual AWS variables.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import itertools
import json
import logging
import os
import shutil
import ssl
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import EllipsisType
from typing import Any, Literal, Protocol
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dataset import CARD_NAME, DATASET_DIR, Manifest, SessionEntry
from schemas.errors import ConfigError, StorageUnavailableError, TeachstreamError
from teachstream.packs import ARROW_SUFFIX, PACK_DIR, PackError, is_pack, pack, pack_key, unpack
from teachstream.quality import FLAGS, Thresholds, flags
from teachstream.snapshots import (
    SNAPSHOT_DIR,
    Audit,
    Finding,
    Pinned,
    SessionErasedError,
    Snapshot,
    SnapshotError,
    check,
    latest_key,
    names_gone_people,
    pin,
    refreshed,
    refusal,
    snapshot_prefix,
    version_of,
)

__all__ = [
    "Dataset",
    "ObjectChangedError",
    "PinnedDataset",
    "SessionErasedError",
    "SessionNotFoundError",
    "SnapshotError",
    "open",
    "torch_shard",
]

log = logging.getLogger(__name__)

_FETCHERS = 8  # frames fetched at once by iter_steps
_PREFETCH = 4  # sessions iter_steps fetches ahead of the one being read

FrameForm = Literal["image", "lazy", "bytes"]
_LEAN_TIMEOUT_S = 10.0  # the fast read path gives up and leaves the read to boto3 (which retries)
_PART = ".part"  # a local object being written


class ObjectChangedError(TeachstreamError):
    """An object no longer has the ETag it was read for (a snapshot's pinned version)."""


class SessionNotFoundError(TeachstreamError, KeyError):
    """No complete session has that id."""

    def __str__(self) -> str:
        return str(self.args[0])


class Storage(Protocol):
    """Where a dataset root lives; keys are relative to the root."""

    def read(self, key: str, etag: str | None = None) -> bytes:
        """The object's bytes; with ``etag``, :class:`ObjectChangedError` unless the object still has it."""
        ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def list_dirs(self, prefix: str) -> Sequence[str]:
        """The 'directories' right under ``prefix`` (each ending in ``/``)."""
        ...

    def modified(self, prefix: str) -> dict[str, datetime]:
        """Key -> when it was last written, of every object under ``prefix``."""
        ...

    def describe(self) -> str: ...

    def etags(self, prefix: str) -> dict[str, str]:
        """Key -> ETag (quotes removed) of every object under ``prefix``."""
        ...

    def etag(self, key: str) -> str | None:
        """The object's ETag (quotes removed), or None if there is none."""
        ...

    def write_new(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None) -> bool:
        """Create an object only if there is none under ``key``; False if there was.

        ``metadata``: the object's user metadata (S3 only; the janitor reads a frame's ``time``)."""
        ...

    def delete(self, key: str) -> None: ...

    def beside(self, name: str) -> Storage:
        """The storage of ``name/`` next to the dataset directory (the deployment's ``audit/``)."""
        ...


@dataclass(frozen=True)
class LocalStorage:
    root: Path

    def read(self, key: str, etag: str | None = None) -> bytes:
        data = (self.root / key).read_bytes()
        if etag is not None and hashlib.md5(data, usedforsecurity=False).hexdigest() != etag:
            raise ObjectChangedError(f"{self.root / key} changed")
        return data

    def etags(self, prefix: str) -> dict[str, str]:
        return {
            key: hashlib.md5((self.root / key).read_bytes(), usedforsecurity=False).hexdigest()
            for key in self.list(prefix)
        }

    def etag(self, key: str) -> str | None:
        path = self.root / key
        return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest() if path.is_file() else None

    def write_new(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None) -> bool:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}{_PART}")
        try:
            with part.open("xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.link(part, path)  # whole or not at all, and only if there is none
        except FileExistsError:
            return False
        finally:
            part.unlink(missing_ok=True)
        return True

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def beside(self, name: str) -> Storage:
        return LocalStorage(self.root.parent.parent / name)

    def list_dirs(self, prefix: str) -> Sequence[str]:
        base = self.root / prefix
        return sorted(f"{prefix}{p.name}/" for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def modified(self, prefix: str) -> dict[str, datetime]:
        return {k: datetime.fromtimestamp((self.root / k).stat().st_mtime, UTC) for k in self.list(prefix)}

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file() and not path.name.endswith(_PART):  # not a file being written
                    yield path.relative_to(self.root).as_posix()

    def describe(self) -> str:
        return str(self.root)


class S3Storage:
    """A dataset root in an S3 bucket.

    Reads go through :class:`_LeanGet` (a presigned URL on a kept-alive connection, a quarter of
    ``get_object``'s CPU); anything it cannot do plainly is done again with ``get_object``, which
    retries and explains errors."""

    def __init__(self, bucket: str, root: str, client: Any) -> None:
        self.bucket, self.root, self.client = bucket, root, client
        self._lean = _LeanGet(client, bucket)

    def read(self, key: str, etag: str | None = None) -> bytes:
        body = self._lean.get(self.root + key, etag)
        if body is not None:
            return body
        from botocore.exceptions import ClientError

        with self._translated(key):
            try:
                condition = {"IfMatch": f'"{etag}"'} if etag is not None else {}
                data: bytes = self.client.get_object(Bucket=self.bucket, Key=self.root + key, **condition)[
                    "Body"
                ].read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                    raise ObjectChangedError(f"{self.describe()}{key} changed") from None
                raise
        return data

    def _listed(self, prefix: str) -> dict[str, Any]:
        """Key (relative to the root) -> its listing entry, of every object under ``prefix``."""
        with self._translated(prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            return {
                item["Key"][len(self.root) :]: item
                for page in paginator.paginate(Bucket=self.bucket, Prefix=self.root + prefix)
                for item in page.get("Contents", [])
            }

    def list(self, prefix: str) -> Iterator[str]:
        return iter(self._listed(prefix))

    def modified(self, prefix: str) -> dict[str, datetime]:
        return {key: item["LastModified"] for key, item in self._listed(prefix).items()}

    def list_dirs(self, prefix: str) -> Sequence[str]:
        with self._translated(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.root + prefix, Delimiter="/"
            )
            return [item["Prefix"][len(self.root) :] for page in pages for item in page.get("CommonPrefixes", [])]

    def etags(self, prefix: str) -> dict[str, str]:
        return {key: item["ETag"].strip('"') for key, item in self._listed(prefix).items()}

    def etag(self, key: str) -> str | None:
        if (found := self._lean.etag(self.root + key)) is not ...:
            return found
        try:
            with self._translated(key):
                return str(self.client.head_object(Bucket=self.bucket, Key=self.root + key)["ETag"]).strip('"')
        except FileNotFoundError:
            return None

    def write_new(self, key: str, data: bytes, metadata: Mapping[str, str] | None = None) -> bool:
        from botocore.exceptions import ClientError

        try:
            with self._translated(key):
                try:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=self.root + key,
                        Body=data,
                        IfNoneMatch="*",
                        Metadata=dict(metadata or {}),
                    )
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                        return False
                    raise
        except FileNotFoundError:  # 404 on a write: the bucket is missing
            raise StorageUnavailableError(f"cannot write {self.describe()}{key}: no bucket {self.bucket}") from None
        return True

    def delete(self, key: str) -> None:
        with self._translated(key):
            self.client.delete_object(Bucket=self.bucket, Key=self.root + key)

    def beside(self, name: str) -> Storage:
        base = self.root[: -len(DATASET_DIR)] if self.root.endswith(DATASET_DIR) else self.root
        return S3Storage(self.bucket, f"{base}{name}/", self.client)

    @contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"404", "NoSuchKey"}:
                raise FileNotFoundError(f"{self.describe()}{key} does not exist") from exc
            raise StorageUnavailableError(f"S3 refused {self.describe()}{key}: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailableError(f"cannot read {self.describe()}{key}: {exc}") from exc

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.root}"


class _LeanGet:
    """GET an object through a presigned URL on this thread's kept-alive HTTP connection.

    ``get`` returns None when it cannot say (an error status, a connection or TLS failure); the
    caller then asks boto3. After a TLS failure or a timeout (a proxy only boto3 knows of, say) it
    stays off for this storage."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client, self.bucket = client, bucket
        self.local = threading.local()
        self.on = urlparse(client.meta.endpoint_url or "").scheme in ("http", "https")

    def get(self, key: str, etag: str | None = None) -> bytes | None:
        answer = self._request("GET", "get_object", key)
        if answer is None or answer[0] != 200:
            return None
        if etag is not None and answer[1] != etag:
            raise ObjectChangedError(f"{key} changed")
        return answer[2]

    def etag(self, key: str) -> str | EllipsisType | None:
        """The object's ETag, None if there is no such object, ``...`` if this path cannot say."""
        answer = self._request("HEAD", "head_object", key)
        if answer is None or answer[0] not in (200, 404) or (answer[0] == 200 and not _strong(answer[1])):
            return ...
        return answer[1] if answer[0] == 200 else None

    def _request(self, method: str, operation: str, key: str) -> tuple[int, str, bytes] | None:
        """Status, ETag (quotes removed) and body of a presigned request; None if it could not be made."""
        if not self.on:
            return None
        url = urlparse(
            self.client.generate_presigned_url(operation, Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=300)
        )
        for attempt in range(2):  # a kept-alive connection the server closed is opened again once
            conn = self._connection(url.scheme, url.netloc)
            try:
                conn.request(method, f"{url.path}?{url.query}")
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self.local.conn = None
                if isinstance(exc, ssl.SSLError | TimeoutError):  # a CA or a proxy only boto3 knows of
                    self.on = False
                if attempt or isinstance(exc, ssl.SSLError | ConnectionRefusedError):
                    return None
                continue
            return response.status, (response.getheader("ETag") or "").strip('"'), body
        return None

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self.local, "conn", None)
        if conn is not None and getattr(self.local, "pid", None) != os.getpid():
            conn = None  # a forked process (a DataLoader worker) never shares its parent's socket
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    netloc, timeout=_LEAN_TIMEOUT_S, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(netloc, timeout=_LEAN_TIMEOUT_S)
            self.local.conn, self.local.pid = conn, os.getpid()
        return conn


def _strong(etag: str) -> bool:
    """Whether an ETag (quotes removed) names one version exactly: not empty, not weak (``W/``)."""
    return bool(etag) and not etag.startswith("W/")


def open(uri: str, *, endpoint_url: str | None = None, client: Any = None) -> Dataset:
    """The dataset at an ``s3://bucket/prefix`` URI or a local directory.

    The URI may point at the dataset root (``…/dataset/v1/``) or at the deployment prefix above it.
    """
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        root = parsed.path.lstrip("/")
        root = root if not root or root.endswith("/") else root + "/"
        if not root.endswith(DATASET_DIR):
            root += DATASET_DIR
        if client is None:
            client = _s3_client(endpoint_url)
        return Dataset(S3Storage(parsed.netloc, root, client))
    if parsed.scheme not in ("", "file"):
        raise ConfigError(f"cannot open {uri}: use s3://bucket/prefix or a local directory")
    path = Path(parsed.path if parsed.scheme == "file" else uri)
    if (path / DATASET_DIR / "manifests").is_dir():
        path = path / DATASET_DIR
    if not path.is_dir():
        raise ConfigError(f"no dataset at {path}: the directory does not exist")
    return Dataset(LocalStorage(path))


def _s3_client(endpoint_url: str | None) -> Any:
    import boto3
    from botocore.config import Config

    endpoint = endpoint_url or os.environ.get("TEACHSTREAM_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    )


class Dataset:
    """The complete sessions of one dataset root and everything stored with them."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._sessions: list[SessionEntry] | None = None

    def __repr__(self) -> str:
        return f"Dataset({self.storage.describe()})"

    # sessions

    def sessions(
        self,
        date: str | date | tuple[str | date, str | date] | None = None,
        app: str | None = None,
        device: str | None = None,
        user: str | None = None,
    ) -> list[SessionEntry]:
        """Complete sessions in start order, filtered by day (one, or an inclusive range), app, device or person."""
        low, high = _day_range(date)
        return [
            s
            for s in self._all_sessions(low, high)
            if (app is None or app in s.apps)
            and (device is None or s.device_id == device)
            and (user is None or s.user_id == user)
        ]

    def session(self, session_id: str) -> SessionEntry:
        for s in self._all_sessions(None, None):
            if s.session_id == session_id:
                return s
        raise SessionNotFoundError(f"no complete session {session_id} in {self.storage.describe()}")

    def refresh(self) -> None:
        """Forget the manifests read so far (the sink keeps adding sessions)."""
        self._sessions = None

    def _all_sessions(self, low: str | None, high: str | None) -> list[SessionEntry]:
        if self._sessions is None:
            keys = [k for k in self.storage.list("manifests/") if k.endswith(".json")]
            manifests = [Manifest.from_bytes(self.storage.read(k)) for k in keys]
            entries = [e for m in manifests for e in m.sessions.values()]
            self._sessions = sorted(entries, key=lambda e: (e.start_time, e.session_id))
        return [s for s in self._sessions if (low is None or s.dt >= low) and (high is None or s.dt <= high)]

    # steps and frames

    def steps_table(self, session: SessionEntry | str) -> pa.Table:
        entry = self.session(session) if isinstance(session, str) else session
        return _steps_table(self._read(entry.steps_key))

    def steps(self, session: SessionEntry | str) -> list[dict[str, Any]]:
        """The session's steps as dicts, in order (columns: see the dataset card)."""
        rows: list[dict[str, Any]] = self.steps_table(session).to_pylist()
        return rows

    def frame_bytes(self, frame_key: str) -> bytes:
        return self._read(frame_key)

    def _read(self, key: str) -> bytes:
        """A steps object or frame (a snapshot reads the version it pinned)."""
        return self.storage.read(key)

    def frame(self, step: dict[str, Any]) -> Any:
        """The step's frame as a PIL image, or None if the step has none."""
        key = step.get("frame_key")
        return self._image(key) if key else None

    def _image(self, key: str) -> Any:
        return _decoded(self.frame_bytes(key))

    def _lazy_image(self, key: str) -> Any:
        return _opened(self.frame_bytes(key))

    def to_table(self, sessions: Iterable[SessionEntry] | None = None) -> pa.Table:
        """Every step of the sessions (default: all) as one pyarrow table."""
        chosen = self.sessions() if sessions is None else list(sessions)
        if not chosen:
            from schemas.step_columns import STEP_SCHEMA

            return STEP_SCHEMA.empty_table()
        return pa.concat_tables([self.steps_table(s) for s in chosen])

    def iter_steps(
        self,
        sessions: Iterable[SessionEntry] | None = None,
        frames: bool | FrameForm = True,
        shard: tuple[int, int] = (0, 1),
        prefetch: int = _PREFETCH,
    ) -> Iterator[dict[str, Any]]:
        """Steps as dicts, session by session, with the frame each step saw in ``step["frame"]``.

        ``frames``: ``True`` or ``"image"``, a decoded PIL image; ``"lazy"``, a PIL image whose pixels
        are decoded when first used (in a DataLoader worker, say); ``"bytes"``, the JPEG as stored
        (for a GPU decoder); ``False``, none. Steps sharing a frame share the object. The steps and
        frames of the next ``prefetch`` sessions are fetched while the current one is consumed.

        ``shard=(i, n)`` yields only every n-th session from the i-th, so that n readers (torch
        DataLoader workers, hosts) split a dataset without overlap; see :func:`torch_shard`.
        """
        index, count = shard
        if not 0 <= index < count:
            raise ValueError(f"shard {index} of {count} does not exist")
        form: FrameForm | None = "image" if frames is True else (frames or None)
        if form not in (None, "image", "lazy", "bytes"):
            raise ValueError(f"frames={frames!r}: use True, False, 'image', 'lazy' or 'bytes'")
        chosen = self.sessions() if sessions is None else list(sessions)
        todo = iter(chosen[index::count])
        fetchers, loaders = ThreadPoolExecutor(_FETCHERS), ThreadPoolExecutor(max(1, prefetch))
        ahead: deque[Future[tuple[list[dict[str, Any]], dict[str, Future[Any]]]]] = deque()
        try:
            for entry in itertools.islice(todo, max(1, prefetch)):
                ahead.append(loaders.submit(self._load, entry, form, fetchers))
            while ahead:
                steps, pending = ahead.popleft().result()
                if (following := next(todo, None)) is not None:
                    ahead.append(loaders.submit(self._load, following, form, fetchers))
                loaded = {key: future.result() for key, future in pending.items()}
                if form is not None:
                    for step in steps:
                        step["frame"] = loaded.get(step["frame_key"])
                yield from steps
        finally:
            loaders.shutdown(wait=True, cancel_futures=True)
            fetchers.shutdown(wait=True, cancel_futures=True)

    def _load(
        self, entry: SessionEntry, form: FrameForm | None, fetchers: ThreadPoolExecutor
    ) -> tuple[list[dict[str, Any]], dict[str, Future[Any]]]:
        """A session's steps, and its frames on their way (in ``form``)."""
        steps = self.steps(entry)
        if form is None:
            return steps, {}
        fetch = {"image": self._image, "lazy": self._lazy_image, "bytes": self.frame_bytes}[form]
        keys = sorted({s["frame_key"] for s in steps if s["frame_key"]})
        return steps, {key: fetchers.submit(fetch, key) for key in keys}

    def to_hf(self, sessions: Iterable[SessionEntry] | None = None) -> Any:
        """A Hugging Face ``datasets.Dataset`` of the steps (frames stay as keys; load them with :meth:`frame`)."""
        try:
            import datasets
        except ImportError as exc:
            raise ConfigError("to_hf needs the `datasets` package: pip install datasets") from exc
        return datasets.Dataset(self.to_table(sessions))

    # quality

    def flags(self, session: SessionEntry, limits: Thresholds | None = None) -> tuple[str, ...]:
        """The session's quality flags (see :mod:`teachstream.quality`); empty if it looks useful."""
        rows = self.steps_table(session).select(["action", "text", "frame_key"]).to_pylist()
        return flags(session, rows, limits or Thresholds())

    def without_flagged(
        self, sessions: Iterable[SessionEntry], drop: Iterable[str] = FLAGS, limits: Thresholds | None = None
    ) -> list[SessionEntry]:
        """The sessions that have none of the quality flags in ``drop`` (default: any flag)."""
        unwanted = set(drop)
        return [s for s in sessions if not unwanted.intersection(self.flags(s, limits))]

    # snapshots

    def snapshot(self, name: str, version: int | None = None) -> PinnedDataset:
        """Exactly the sessions snapshot ``name`` (its latest version, or ``version``) pinned.

        Reading a pinned session that was erased, cut by a withdrawal or removed since raises
        :class:`~teachstream.snapshots.SessionErasedError` before any of its data is returned."""
        key = latest_key(self.storage.list(snapshot_prefix(name)), name, version)
        return PinnedDataset(self.storage, Snapshot.from_bytes(key, self.storage.read(key)), key)

    def snapshot_keys(self, name: str | None = None) -> list[str]:
        """Every stored snapshot version (of ``name``), oldest version first."""
        prefix = snapshot_prefix(name) if name else SNAPSHOT_DIR
        return sorted(
            (k for k in self.storage.list(prefix) if version_of(k) > 0), key=lambda k: (k.split("/")[1], version_of(k))
        )

    def create_snapshot(
        self, name: str, sessions: Sequence[SessionEntry], filters: dict[str, Any], packed: bool = False
    ) -> str:
        """Pin ``sessions`` as snapshot ``name`` (a new name); returns the key written.

        ``packed``: also store each session's frames in one object (see :mod:`teachstream.packs`),
        which the snapshot pins too, so that reading it costs one request per session, not per frame.
        The packs are a second copy of the frames; erasure and withdrawal remove them with the person's."""
        if any(True for _ in self.storage.list(snapshot_prefix(name))):
            raise SnapshotError(f"snapshot {name!r} exists; `snapshot refresh {name}` makes its next version")
        etags = self.storage.etags("steps/") | self.storage.etags("frames/")
        snap = pin(name, sessions, etags, datetime.now(UTC), filters)
        if not packed:
            return self._write_snapshot(snap)
        stored: list[str] = []  # the packs this call wrote: deleted again if the snapshot is not made
        try:
            with ThreadPoolExecutor(_FETCHERS) as pool:
                snap = replace(snap, sessions=tuple(pool.map(lambda p: self._packed(p, stored), snap.sessions)))
            return self._write_snapshot(snap)
        except BaseException:
            for key in stored:
                with contextlib.suppress(Exception):  # S3 away: `snapshot prune` deletes it within the hour
                    self.storage.delete(key)
            raise

    def _packed(self, pinned: Pinned, stored: list[str]) -> Pinned:
        """The pinned session with the pack of its steps and frames (stored now unless it is already there).

        Once the pack is stored, the originals must still be as pinned: an erasure or a withdrawal that
        ran meanwhile deleted or rewrote them before its last look for the person's objects, which may
        have come before the pack was there. Then the pack is deleted again and the snapshot not made."""
        entry = pinned.entry
        if not entry.frame_keys:
            return pinned
        key = pack_key(entry, pinned.etags)
        if (etag := self.storage.etag(key)) is None:
            objects = {k: self.storage.read(k, tag) for k, tag in pinned.etags.items()}
            objects[entry.steps_key + ARROW_SUFFIX] = _arrow_stream(_steps_table(objects[entry.steps_key]))
            if self.storage.write_new(key, pack(objects), {"time": entry.end_time, "session": entry.session_id}):
                stored.append(key)
            etag = self.storage.etag(key)
        elif not self._holds(key, etag, {*pinned.etags, entry.steps_key + ARROW_SUFFIX}):
            raise SnapshotError(f"{key} does not hold what its name says; delete it and create the snapshot again")
        changed = [k for k, tag in pinned.etags.items() if self.storage.etag(k) != tag]
        if etag is None or changed:
            self.storage.delete(key)
            why = f"{changed[0]} changed or went" if changed else f"{key} went"
            raise SnapshotError(
                f"session {entry.session_id} changed while it was packed ({why}: is its person being erased, "
                "or withdrawing?); nothing was written. Try again in a minute"
            )
        return Pinned(entry, {**pinned.etags, key: etag})

    def _holds(self, key: str, etag: str, members: set[str]) -> bool:
        """Whether the stored pack ``key`` is whole and holds exactly ``members``."""
        try:
            return set(unpack(self.storage.read(key, etag), key)) == members
        except PackError:
            return False

    def prune_packs(self, retention_days: int = 0, grace: timedelta = timedelta(hours=1)) -> list[str]:
        """Delete the packs that no snapshot version lists (once ``grace`` old: a snapshot being made lists
        its packs only at the end), those whose session's steps object is no longer as pinned (cut,
        erased, or expired), and, with ``retention_days``, those whose session began longer ago than that
        (a pack is younger than its originals, and S3 counts an object's days from its own creation).

        Returns the keys deleted. Run it daily (deploy/kubernetes/pipeline.yaml has a CronJob)."""
        listed: dict[str, Pinned] = {}
        for key in self.snapshot_keys():
            for p in Snapshot.from_bytes(key, self.storage.read(key)).sessions:
                listed.update((k, p) for k in p.etags if is_pack(k))
        now = datetime.now(UTC)
        expired = now - timedelta(days=retention_days) if retention_days else None

        def goes(key: str, modified: datetime) -> bool:
            if (o := listed.get(key)) is None:
                return modified < now - grace
            old = expired is not None and o.entry.start < expired
            return old or self.storage.etag(o.entry.steps_key) != o.etags[o.entry.steps_key]

        gone = [
            key
            for person in self.storage.list_dirs("frames/")
            for key, modified in self.storage.modified(person + PACK_DIR).items()
            if is_pack(key) and goes(key, modified)
        ]
        for key in gone:
            self.storage.delete(key)
        return gone

    def check_snapshot(self, name: str, version: int | None = None) -> tuple[PinnedDataset, list[Finding]]:
        """The snapshot and its sessions that were erased, cut or removed since it was made."""
        pinned = self.snapshot(name, version)
        return pinned, pinned.findings()

    def refresh_snapshot(self, name: str) -> tuple[str, list[Finding], list[str]]:
        """Write the next version of snapshot ``name`` without the sessions :meth:`check_snapshot` names.

        Then every earlier version that still lists an erased or withdrawn person's sessions is deleted
        (an erasure outranks a snapshot's immutability), each checked on its own, so a version a refresh
        during an erasure left behind goes at the next one. Returns the new key, the findings and the
        keys deleted."""
        pinned = self.snapshot(name)
        current, etags, audits = self._current()
        findings = check(pinned.pinned, current, etags, audits)
        key = self._write_snapshot(refreshed(pinned.pinned, findings, pinned.key, datetime.now(UTC)))
        deleted = []
        for old in self.snapshot_keys(name):
            if old != key and names_gone_people(
                Snapshot.from_bytes(old, self.storage.read(old)), current, etags, audits
            ):
                self.storage.delete(old)
                deleted.append(old)
        return key, findings, deleted

    def _write_snapshot(self, snap: Snapshot) -> str:
        key = snap.key()
        if not self.storage.write_new(key, snap.body()):
            raise SnapshotError(f"{key} was written by someone else at the same time; run the command again")
        return key

    def _current(self, with_etags: bool = True) -> tuple[dict[str, SessionEntry], dict[str, str] | None, list[Audit]]:
        """The sessions listed now, the ETag of every stored object (unless not ``with_etags``: a listing of
        the whole dataset), and the sink's audit records."""
        self.refresh()
        current = {s.session_id: s for s in self._all_sessions(None, None)}
        etags = self.storage.etags("steps/") | self.storage.etags("frames/") if with_etags else None
        audit = self.storage.beside("audit")
        audits = [
            Audit.from_json(kind, json.loads(audit.read(key)))
            for kind in ("erasure", "withdrawal")
            for key in audit.list(f"{kind}/")
            if key.endswith(".json")
        ]
        return current, etags, audits

    def card(self) -> str:
        """The dataset card (README.md at the root) as the sink last wrote it."""
        return self.storage.read(CARD_NAME).decode()

    def guard(self, sessions: Iterable[SessionEntry], objects: bool = False) -> None:
        """Raise before anything is read if one of ``sessions`` may not be served (only a snapshot refuses).

        ``objects``: also compare every pinned object's ETag now (a listing of the whole dataset)."""

    def export(self, target: Path, sessions: Sequence[SessionEntry]) -> int:
        """Copy the sessions, their frames and manifests listing only them to a local directory; returns files."""
        self.guard(sessions, objects=True)
        written = 0
        by_manifest: dict[tuple[str, int], dict[str, SessionEntry]] = {}
        for entry in sessions:
            by_manifest.setdefault((entry.dt, entry.partition), {})[entry.session_id] = entry
            for key in (entry.steps_key, *entry.frame_keys):
                path = target / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(self._read(key))
                written += 1
        shutil.rmtree(target / "manifests", ignore_errors=True)
        for (dt, partition), entries in by_manifest.items():
            manifest = Manifest(dt, partition, entries)
            path = target / manifest.key()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(manifest.to_bytes())
            written += 1
        return written


class PinnedDataset(Dataset):
    """The sessions of one snapshot version, refusing those that may no longer be served."""

    def __init__(self, storage: Storage, pinned: Snapshot, key: str) -> None:
        super().__init__(storage)
        self.pinned, self.key = pinned, key
        self._refused: dict[str, Finding] | None = None
        self._owner = {k: p.entry for p in pinned.sessions for k in p.etags}
        self._etags = {k: tag for p in pinned.sessions for k, tag in p.etags.items()}
        self._packs = {p.entry.session_id: k for p in pinned.sessions for k in p.etags if is_pack(k)}

    def _read(self, key: str) -> bytes:
        """Only the pinned version of an object: a session whose object changed since is refused."""
        try:
            return self.storage.read(key, self._etags.get(key))
        except ObjectChangedError:
            entry = self._owner[key]
            raise refusal(self.pinned, Finding(entry.session_id, entry.user_id, "changed", f"{key} changed")) from None
        except FileNotFoundError:
            owner = self._owner.get(key)
            if owner is None:
                raise
            gone = {f.session_id: f for f in self.findings()}.get(owner.session_id)  # looked up again: why
            raise refusal(
                self.pinned, gone or Finding(owner.session_id, owner.user_id, "removed", f"{key} is gone")
            ) from None

    def __repr__(self) -> str:
        return f"PinnedDataset({self.storage.describe()}{self.key}, {len(self.pinned.sessions)} sessions)"

    def findings(self) -> list[Finding]:
        """The pinned sessions erased, cut by a withdrawal or removed since the snapshot (looked up now)."""
        current, etags, audits = Dataset(self.storage)._current()
        found = check(self.pinned, current, etags, audits)
        self._refused = {f.session_id: f for f in found}
        return found

    def refresh(self) -> None:
        self._refused = None

    def _all_sessions(self, low: str | None, high: str | None) -> list[SessionEntry]:
        entries = sorted(self.pinned.entries, key=lambda e: (e.start_time, e.session_id))
        return [s for s in entries if (low is None or s.dt >= low) and (high is None or s.dt <= high)]

    def guard(self, sessions: Iterable[SessionEntry], objects: bool = False) -> None:
        """Raise :class:`SessionErasedError` for the first of ``sessions`` that may not be served.

        Without ``objects`` the first guard checks the erasure and withdrawal records and the manifests,
        not the ETag of every object (a listing of the whole dataset): each object is read at its pinned
        ETag, so one changed since is refused when it is read. ``objects``: compare every ETag now too
        (an export, which should not stop half-written)."""
        refused = self._refused
        if objects:
            refused = {f.session_id: f for f in self.findings()}
        elif refused is None:
            current, _, audits = Dataset(self.storage)._current(with_etags=False)
            refused = self._refused = {f.session_id: f for f in check(self.pinned, current, None, audits)}
        for entry in sessions:
            if (finding := refused.get(entry.session_id)) is not None:
                raise refusal(self.pinned, finding)

    def steps_table(self, session: SessionEntry | str) -> pa.Table:
        entry = self.session(session) if isinstance(session, str) else session
        self.guard([entry])
        return super().steps_table(entry)

    def iter_steps(
        self,
        sessions: Iterable[SessionEntry] | None = None,
        frames: bool | FrameForm = True,
        shard: tuple[int, int] = (0, 1),
        prefetch: int = _PREFETCH,
    ) -> Iterator[dict[str, Any]]:
        chosen = self.sessions() if sessions is None else list(sessions)
        self.guard(chosen)  # before the first step: no step of an erased or withdrawn person's session
        return super().iter_steps(chosen, frames, shard, prefetch)

    def _load(
        self, entry: SessionEntry, form: FrameForm | None, fetchers: ThreadPoolExecutor
    ) -> tuple[list[dict[str, Any]], dict[str, Future[Any]]]:
        """A packed session's steps and frames come in one request."""
        key = self._packs.get(entry.session_id)
        if key is None or form is None:
            return super()._load(entry, form, fetchers)
        if self.storage.etag(entry.steps_key) != self._etags[entry.steps_key]:
            self._read(entry.steps_key)  # gone or changed (retention, say): refused, saying why
        try:
            members = unpack(self.storage.read(key, self._etags[key]), f"{self.storage.describe()}{key}")
            steps = _with_all_columns(
                pa.ipc.open_stream(members[entry.steps_key + ARROW_SUFFIX]).read_all()
            ).to_pylist()
            frames = {k: members[k] for k in {s["frame_key"] for s in steps if s["frame_key"]}}
        except (FileNotFoundError, ObjectChangedError, PackError, KeyError, pa.ArrowException) as exc:
            # the originals, as pinned, are still there (their steps object was just checked)
            log.warning("reading session %s from its objects: its pack cannot be used (%s)", entry.session_id, exc)
            return super()._load(entry, form, fetchers)
        if form == "image":  # decoded in parallel: Pillow lets go of the GIL while it decodes
            return steps, {k: fetchers.submit(_decoded, body) for k, body in frames.items()}
        convert: Callable[[bytes], Any] = _opened if form == "lazy" else _same
        return steps, {k: _done(convert(body)) for k, body in frames.items()}


def _steps_table(body: bytes) -> pa.Table:
    return _with_all_columns(pq.ParquetFile(io.BytesIO(body)).read(use_threads=False))  # threads: 20% more CPU


def _arrow_stream(table: pa.Table) -> bytes:
    """The table as an Arrow IPC stream: read back 40 times faster than a small Parquet file."""
    out = pa.BufferOutputStream()
    with pa.ipc.new_stream(out, table.schema) as writer:
        writer.write_table(table)
    data: bytes = out.getvalue().to_pybytes()
    return data


def _opened(data: bytes) -> Any:
    """A PIL image of a frame's bytes, decoded when first used."""
    from PIL import Image

    return Image.open(io.BytesIO(data))


def _decoded(data: bytes) -> Any:
    image = _opened(data)
    image.load()
    return image


def _same(data: bytes) -> bytes:
    return data


def _done(value: Any) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def torch_shard() -> tuple[int, int]:
    """(worker, workers) of the current torch DataLoader worker, for ``iter_steps(shard=...)``.

    Inside ``torch.utils.data.IterableDataset.__iter__``::

        return ds.iter_steps(shard=dataset.torch_shard())
    """
    try:
        from torch.utils.data import get_worker_info  # type: ignore[import-not-found]
    except ImportError:
        return (0, 1)
    info = get_worker_info()
    return (0, 1) if info is None else (int(info.id), int(info.num_workers))


def _day_range(value: str | date | tuple[str | date, str | date] | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, tuple):
        return str(value[0]), str(value[1])
    return str(value), str(value)


def _with_all_columns(table: pa.Table) -> pa.Table:
    """A steps table written before a column was added gets that column as nulls, so tables concatenate."""
    from schemas.step_columns import STEP_SCHEMA

    have = set(table.column_names)
    for name in STEP_SCHEMA.names:
        if name not in have:
            table = table.append_column(STEP_SCHEMA.field(name), pa.nulls(table.num_rows, STEP_SCHEMA.field(name).type))
    return table
