"""Uploads into the dataset: frames, a session's steps, and the cache of frames stored lately (edge).

The worker's loop hands records to a thread pool; the methods here run in its threads. A frame
is stored as it arrives, with its geometry as object metadata. A session's steps are stored
once :func:`sinks.core.readiness.frames_ready` says its frames are ready (or the wait is over);
its manifest entry is written later, by :mod:`sinks.manifests`. Uploads wait out S3 outages
until the worker stops, then raise :class:`StorageStopped`: the record is read again next time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime

from mypy_boto3_s3 import S3Client

from runtime.metrics import PUT_SECONDS, seconds
from schemas.dataset import SessionEntry, decode_boxes, encode_boxes
from schemas.events import ScreenFrame
from schemas.trajectory import Trajectory
from sinks.core.readiness import frames_ready
from sinks.core.sessions import FrameInfo, referenced_frames, session_entry, steps_table, to_parquet
from sinks.s3 import delete_key, head_metadata, put_until_stored
from sinks.settings import SinkSettings
from sinks.stats import SinkStats

log = logging.getLogger(__name__)

_FRAME_META = ("width", "height", "scale", "left", "top")


@dataclass
class FrameWork:
    """A frame being uploaded."""

    future: Future[FrameInfo]
    user_id: str
    taken: datetime


@dataclass
class SessionWork:
    """A session on its way: waiting for its frames, uploading its steps, or waiting for its manifest."""

    trajectory: Trajectory
    future: Future[SessionEntry | None] | None = None
    retry_at: float = 0.0
    waiting_since: float | None = None
    entry: SessionEntry | None = None


Work = FrameWork | SessionWork | None  # None: dead-lettered or withheld, nothing to wait for


class StorageStopped(Exception):
    """The worker is stopping while S3 still refuses an upload."""


class Uploads:
    """Puts objects under ``root`` in the bucket, counting them in ``stats``; retries while ``keep_trying()``."""

    def __init__(
        self, s3: S3Client, settings: SinkSettings, root: str, stats: SinkStats, keep_trying: Callable[[], bool]
    ) -> None:
        self.s3, self.bucket, self.root, self.stats = s3, settings.s3_bucket, root, stats
        self.keep_trying = keep_trying
        self.frame_cache = settings.sink_frame_cache
        self.frame_wait_s = settings.sink_frame_wait_seconds
        self.stats_lock = threading.Lock()
        self._put_seconds = seconds(PUT_SECONDS, "time to store one object in S3, retries included", "sink")
        self.landed: dict[str, FrameInfo] = {}  # frame key -> info, for frames this worker stored lately

    def put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        started = time.monotonic()
        stored = put_until_stored(
            self.s3, self.bucket, self.root + key, body, content_type, self.keep_trying, metadata, on_retry=self._retry
        )
        if not stored:
            raise StorageStopped(key)
        self._put_seconds.observe(time.monotonic() - started)
        with self.stats_lock:
            self.stats.objects += 1
            self.stats.bytes += len(body)

    def _retry(self) -> None:
        with self.stats_lock:
            self.stats.s3_retries += 1

    def delete(self, key: str) -> None:
        delete_key(self.s3, self.bucket, self.root + key)

    # frames

    def store_frame(self, frame: ScreenFrame, key: str) -> FrameInfo:
        info = FrameInfo(
            key,
            frame.width,
            frame.height,
            frame.scale,
            frame.monitor.left,
            frame.monitor.top,
            len(frame.image),
            frame.removed,
        )
        metadata = {name: str(getattr(info, name)) for name in _FRAME_META} | {"time": frame.event_time.isoformat()}
        if frame.removed:
            metadata["removed"], more = encode_boxes(frame.removed)
            if more:
                metadata["removed-more"] = str(more)
        self.put(key, frame.image, f"image/{frame.image_format}", metadata)
        return info

    def remember(self, info: FrameInfo) -> None:
        """Note a stored frame (in the loop's thread), so a session referring to it needs no lookup."""
        self.landed[info.key] = info
        if len(self.landed) > self.frame_cache:
            self.landed.pop(next(iter(self.landed)))

    def find_frame(self, key: str) -> FrameInfo | None:
        known = self.landed.get(key)
        if known is not None:
            return known
        found = head_metadata(self.s3, self.bucket, self.root + key)
        if found is None:
            return None
        size, meta = found
        try:
            return FrameInfo(
                key,
                int(meta["width"]),
                int(meta["height"]),
                float(meta["scale"]),
                int(meta["left"]),
                int(meta["top"]),
                size,
                decode_boxes(meta.get("removed", "")),
            )
        except (KeyError, ValueError):
            log.warning("frame %s has no geometry metadata; its steps keep the frame without a position", key)
            return FrameInfo(key, 0, 0, 1.0, 0, 0, size)

    # sessions

    def store_session(self, work: SessionWork, partition: int, offset: int, now: float) -> SessionEntry | None:
        """Store the steps once every frame is there (or the wait is over); None while frames are still missing."""
        trajectory = work.trajectory
        referenced = referenced_frames(trajectory)
        landed = {key: info for key in referenced.values() if (info := self.find_frame(key)) is not None}
        check = frames_ready(referenced, landed, work.waiting_since, now, self.frame_wait_s)
        work.waiting_since = check.waiting_since
        if not check.store:
            return None
        if check.missing:
            log.warning(
                "session %s: %d frames never arrived in %.0fs (%s…); storing its steps without them",
                trajectory.session_id,
                len(check.missing),
                self.frame_wait_s,
                check.missing[0],
            )
            with self.stats_lock:
                self.stats.frames_missing += len(check.missing)
        body = to_parquet(steps_table(trajectory, check.frames))
        entry = session_entry(trajectory, check.frames, len(body), partition, offset)
        self.put(entry.steps_key, body, "application/vnd.apache.parquet")
        self.stats.keys.append(entry.steps_key)
        return entry
