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

import io
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from schemas.dataset import CARD_NAME, DATASET_DIR, Manifest, SessionEntry
from schemas.errors import ConfigError, StorageUnavailableError, TeachstreamError

_FETCHERS = 8  # frames fetched at once by iter_steps


class SessionNotFoundError(TeachstreamError, KeyError):
    """No complete session has that id."""

    def __str__(self) -> str:
        return str(self.args[0])


class Storage(Protocol):
    """Where a dataset root lives; keys are relative to the root."""

    def read(self, key: str) -> bytes: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class LocalStorage:
    root: Path

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def list(self, prefix: str) -> Iterator[str]:
        base = self.root / prefix
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    yield path.relative_to(self.root).as_posix()

    def describe(self) -> str:
        return str(self.root)


class S3Storage:
    def __init__(self, bucket: str, root: str, client: Any) -> None:
        self.bucket, self.root, self.client = bucket, root, client

    def read(self, key: str) -> bytes:
        with self._translated(key):
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.root + key)["Body"].read()
        return body

    def list(self, prefix: str) -> Iterator[str]:
        with self._translated(prefix):
            paginator = self.client.get_paginator("list_objects_v2")
            keys = [
                item["Key"][len(self.root) :]
                for page in paginator.paginate(Bucket=self.bucket, Prefix=self.root + prefix)
                for item in page.get("Contents", [])
            ]
        return iter(keys)

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
        table = pq.read_table(io.BytesIO(self.storage.read(entry.steps_key)))
        return _with_all_columns(table)

    def steps(self, session: SessionEntry | str) -> list[dict[str, Any]]:
        """The session's steps as dicts, in order (columns: see the dataset card)."""
        rows: list[dict[str, Any]] = self.steps_table(session).to_pylist()
        return rows

    def frame_bytes(self, frame_key: str) -> bytes:
        return self.storage.read(frame_key)

    def frame(self, step: dict[str, Any]) -> Any:
        """The step's frame as a PIL image, or None if the step has none."""
        key = step.get("frame_key")
        return self._image(key) if key else None

    def _image(self, key: str) -> Any:
        from PIL import Image

        image = Image.open(io.BytesIO(self.frame_bytes(key)))
        image.load()
        return image

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
        frames: bool = True,
        shard: tuple[int, int] = (0, 1),
    ) -> Iterator[dict[str, Any]]:
        """Steps as dicts, session by session; ``frame`` holds the decoded image when ``frames``.

        ``shard=(i, n)`` yields only every n-th session from the i-th, so that n readers (torch
        DataLoader workers, hosts) split a dataset without overlap; see :func:`torch_shard`.
        """
        index, count = shard
        if not 0 <= index < count:
            raise ValueError(f"shard {index} of {count} does not exist")
        chosen = self.sessions() if sessions is None else list(sessions)
        with ThreadPoolExecutor(_FETCHERS) as pool:
            for entry in chosen[index::count]:
                steps = self.steps(entry)
                if frames:  # fetched in parallel, decoded once: steps sharing a frame share the image
                    keys = sorted({s["frame_key"] for s in steps if s["frame_key"]})
                    images = dict(zip(keys, pool.map(self._image, keys), strict=True))
                    for step in steps:
                        step["frame"] = images.get(step["frame_key"])
                yield from steps

    def to_hf(self, sessions: Iterable[SessionEntry] | None = None) -> Any:
        """A Hugging Face ``datasets.Dataset`` of the steps (frames stay as keys; load them with :meth:`frame`)."""
        try:
            import datasets
        except ImportError as exc:
            raise ConfigError("to_hf needs the `datasets` package: pip install datasets") from exc
        return datasets.Dataset(self.to_table(sessions))

    def card(self) -> str:
        """The dataset card (README.md at the root) as the sink last wrote it."""
        return self.storage.read(CARD_NAME).decode()

    def export(self, target: Path, sessions: Sequence[SessionEntry]) -> int:
        """Copy the sessions, their frames and manifests listing only them to a local directory; returns files."""
        written = 0
        by_manifest: dict[tuple[str, int], dict[str, SessionEntry]] = {}
        for entry in sessions:
            by_manifest.setdefault((entry.dt, entry.partition), {})[entry.session_id] = entry
            for key in (entry.steps_key, *entry.frame_keys):
                path = target / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(self.storage.read(key))
                written += 1
        shutil.rmtree(target / "manifests", ignore_errors=True)
        for (dt, partition), entries in by_manifest.items():
            manifest = Manifest(dt, partition, entries)
            path = target / manifest.key()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(manifest.to_bytes())
            written += 1
        return written


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

    for name in STEP_SCHEMA.names:
        if name not in table.column_names:
            table = table.append_column(STEP_SCHEMA.field(name), pa.nulls(table.num_rows, STEP_SCHEMA.field(name).type))
    return table
