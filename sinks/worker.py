"""The S3 sink worker: frames and closed sessions into the dataset, exactly once (edge).

It reads ``screens.clean`` and ``trajectories``. A frame is stored as its own object as soon as
it arrives. A session is written when every frame its steps refer to is stored (waiting for
them, up to ``sink_frame_wait_seconds``): first its Parquet steps, then its entry in the
manifest of its day and partition, which is what makes it visible. Offsets are committed only
after that, and every key is deterministic, so a crash at any point replays into the same keys
and the same manifest entries: no session is lost, duplicated or seen half-written.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from runtime.control_topics import ControlFollower
from schemas.codec import Codec
from schemas.consent import ConsentLedger, erased, supersedes
from schemas.control_records import ConsentRecord, DeadLetter, ErasureRequest
from schemas.dataset import CARD_NAME, Manifest, SessionEntry, dataset_root, frame_key
from schemas.errors import (
    CodecError,
    ConfigError,
    SchemaRegistryUnavailableError,
    StorageUnavailableError,
    WrongRecordTypeError,
)
from schemas.events import ScreenFrame
from schemas.records import from_avro, to_avro
from schemas.step_columns import STEP_DOCS, STEP_SCHEMA
from schemas.topics import SCREEN_MAX_BYTES
from schemas.trajectory import Trajectory
from sinks.core.card import render_card
from sinks.core.privacy import before_withdrawal, drop_user
from sinks.core.progress import Item, PartitionProgress
from sinks.core.sessions import (
    FrameInfo,
    referenced_frames,
    session_entry,
    steps_table,
    to_parquet,
)
from sinks.janitor import Janitor, Removed
from sinks.s3 import (
    check_bucket,
    get_or_none,
    head_metadata,
    list_keys,
    put_until_stored,
    s3_client,
)
from sinks.settings import SinkSettings

log = logging.getLogger(__name__)

_FRAME_META = ("width", "height", "scale", "left", "top")


@dataclass
class SinkStats:
    records: int = 0
    frames: int = 0
    sessions: int = 0
    objects: int = 0
    bytes: int = 0
    dead_letters: int = 0
    frames_missing: int = 0
    withheld: int = 0  # frames and sessions not stored: consent withdrawn or erased
    erasures: int = 0
    keys: deque[str] = field(default_factory=lambda: deque(maxlen=1000))  # the latest steps objects


@dataclass
class FrameWork:
    future: Future[FrameInfo]
    user_id: str
    taken: datetime


@dataclass
class SessionWork:
    trajectory: Trajectory
    future: Future[SessionEntry | None] | None = None
    retry_at: float = 0.0
    waiting_since: float | None = None
    entry: SessionEntry | None = None


Work = FrameWork | SessionWork | None  # None: dead-lettered, nothing to wait for


@dataclass
class Task:
    """Clean-up after an erasure request or a withdrawal, retried until it is done."""

    what: str
    user_id: str
    request: ErasureRequest | None = None
    since: datetime | None = None
    already: Removed | None = None
    due: float = 0.0


class StorageStopped(Exception):
    """The worker is stopping while S3 still refuses an upload."""


class SinkWorker:
    """Moves frames and sessions into the dataset under ``<prefix>dataset/v1/``."""

    def __init__(self, settings: SinkSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self.codec = Codec.from_url(settings.schema_registry_url)
        self.s3 = s3_client(settings)
        self.bucket = settings.s3_bucket
        self.root = dataset_root(settings.s3_prefix)
        self.stats = SinkStats()
        self.stats_lock = threading.Lock()
        self.running = True
        self.frames_topic = settings.topic("screens.clean")
        self.sessions_topic = settings.topic("trajectories")
        unknown = set(settings.sink_topics) - {"screens.clean", "trajectories"}
        if unknown:
            raise ConfigError(f"the sink lands screens.clean and trajectories, not {', '.join(sorted(unknown))}")
        self.pool = ThreadPoolExecutor(settings.sink_threads, thread_name_prefix="sink-upload")
        self.progress: dict[tuple[str, int], PartitionProgress[Work]] = {}
        self.landed: dict[str, FrameInfo] = {}  # frame key -> info, for frames this worker stored lately
        self.manifests: dict[tuple[str, int], Manifest] = {}
        self.dirty: dict[tuple[str, int], list[Item[Work]]] = {}
        self.paused: set[str] = set()
        self.card_due = 0.0
        self.card_stale = False
        self.failpoint_hits = 0
        self.unflushed_letters = False
        self.ledger = ConsentLedger()
        self.erasures: dict[str, ErasureRequest] = {}
        self.control: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
        self.followers: list[ControlFollower] = []
        self.tasks: list[Task] = []
        self.janitor = Janitor(self.s3, self.bucket, settings.s3_prefix, self.root)
        self.last_record = 0.0
        self.assigned_at: float | None = None  # first assignment, for throughput measurements
        self.consumer = Consumer(
            settings.kafka(
                {
                    "group.id": settings.sink_group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "max.poll.interval.ms": 600_000,
                    # a worker that died is replaced after 10 s instead of librdkafka's 45 s
                    "session.timeout.ms": 10_000,
                    "heartbeat.interval.ms": 3_000,
                    "fetch.message.max.bytes": SCREEN_MAX_BYTES + 65536,
                }
            )
        )
        self.deadletters = Producer(settings.kafka({"enable.idempotence": True, "acks": "all"}))

    def stop(self, *_: object) -> None:
        self.running = False

    # the loop

    def run(self, idle_exit_s: float | None = None) -> SinkStats:
        """Run until stopped (SIGTERM/SIGINT) or, with ``idle_exit_s``, until idle that long with nothing open."""
        check_bucket(self.s3, self.settings)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self._follow_control()
        self.consumer.subscribe(
            [self.frames_topic, self.sessions_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        log.info("sink started: screens.clean, trajectories -> s3://%s/%s", self.bucket, self.root)
        self.last_record = started = self.clock()
        try:
            while self.running:
                self._apply_control()
                self._backpressure()
                for msg in self.consumer.consume(num_messages=200, timeout=0.2):
                    if not self.running:
                        break  # stopping: what is not taken is read again next time
                    if self._take(msg):
                        self.last_record = self.clock()
                self._advance()
                if idle_exit_s is not None and self._idle(idle_exit_s, started):
                    break
            self._advance()
            self._write_card(force=self.card_stale)
        finally:
            self.running = False  # uploads still retrying give up; their records are read again next time
            self.consumer.close()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.deadletters.flush(10)
            for follower in self.followers:
                follower.stop()
        return self.stats

    def _idle(self, idle_exit_s: float, started: float) -> bool:
        """Nothing read for ``idle_exit_s`` while partitions were assigned, and nothing open.

        Idle time counts only once the group has assigned partitions: after a worker died, its
        partitions come back only when the group notices (session timeout), and a batch run that
        gave up before then would leave their records unread. Without any assignment it gives up
        after a minute."""
        if self._open_records():
            return False
        if self.assigned_at is None:
            return self.clock() - started > max(60.0, idle_exit_s)
        return self.clock() - self.last_record > idle_exit_s

    def _open_records(self) -> int:
        return sum(len(p) for p in self.progress.values())

    def _backpressure(self) -> None:
        """Stop fetching a topic while too many of its records wait for S3, and fetch again once they drain.

        Frames and sessions count apart: sessions waiting for their frames never stop the frames."""
        limit = self.settings.sink_max_open_records
        for topic in (self.frames_topic, self.sessions_topic):
            full = sum(len(p) for (t, _), p in self.progress.items() if t == topic) >= limit
            parts = [tp for tp in self.consumer.assignment() if tp.topic == topic]
            if full != (topic in self.paused) and parts:
                (self.consumer.pause if full else self.consumer.resume)(parts)
                self.paused ^= {topic}
                if full:
                    log.warning(
                        "sink: %d records of %s wait for S3; pausing its reads until they are stored", limit, topic
                    )

    def _take(self, msg: Message) -> bool:
        error = msg.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                log.warning("Kafka reported %s while consuming; continuing", error.str())
            return False
        topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
        progress = self.progress.setdefault((topic, partition), PartitionProgress())
        self.stats.records += 1
        try:
            work = self._work(topic, msg.value() or b"")
        except SchemaRegistryUnavailableError:
            return False  # stopping while the registry is away: this record and the rest are read again
        except (CodecError, ValueError) as exc:
            self._dead_letter(topic, partition, offset, msg.value() or b"", exc)
            work = None
        item = progress.add(offset, work)
        item.done = work is None
        return True

    def _work(self, topic: str, value: bytes) -> Work:
        decoded = self.codec.decode_patiently(value, lambda: self.running)
        if topic == self.frames_topic:
            if decoded.short_name != "ScreenFrame":
                raise WrongRecordTypeError(f"expected a ScreenFrame, got a {decoded.short_name}")
            frame = from_avro(ScreenFrame, decoded.value)
            if self._withheld(frame.user_id, frame.event_time):
                self.stats.withheld += 1
                return None
            key = frame_key(frame.user_id, frame.device_id, frame.frame_id, frame.image_format)
            return FrameWork(self.pool.submit(self._store_frame, frame, key), frame.user_id, frame.event_time)
        if decoded.short_name != "Trajectory":
            raise WrongRecordTypeError(f"expected a Trajectory, got a {decoded.short_name}")
        trajectory = from_avro(Trajectory, decoded.value)
        referenced_frames(trajectory)  # raises ValueError now if an id cannot be part of a key
        return SessionWork(trajectory)

    def _advance(self) -> None:
        """Collect finished uploads, start due sessions, write manifests, commit what is complete."""
        now = self.clock()
        for (_, partition), progress in self.progress.items():
            for item in progress.pending():
                if isinstance(item.work, FrameWork):
                    self._frame_done(item, item.work)
                elif isinstance(item.work, SessionWork):
                    self._session_step(item, item.work, partition, now)
        self._write_manifests()
        offsets = []
        for (topic, partition), progress in self.progress.items():
            offset = progress.committable()
            if offset is not None:
                offsets.append(TopicPartition(topic, partition, offset))
        if offsets:
            if self.unflushed_letters and self.deadletters.flush(30) == 0:
                self.unflushed_letters = False  # a dead letter is on its topic before its offset is committed
            elif self.unflushed_letters:
                log.warning("dead letters not yet delivered; not committing")
                return
            self._failpoint("before_commit")
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                log.warning("commit failed (%s); the records will be read again into the same keys", exc)
        self._write_card()

    def _frame_done(self, item: Item[Work], work: FrameWork) -> None:
        if not work.future.done():
            return
        try:
            info = work.future.result()
        except StorageStopped:
            return
        item.done = True
        if self._withheld(work.user_id, work.taken):  # withdrawn or erased while it was uploading
            self.s3.delete_object(Bucket=self.bucket, Key=self.root + info.key)
            self.stats.withheld += 1
            return
        self.landed[info.key] = info
        if len(self.landed) > self.settings.sink_frame_cache:
            self.landed.pop(next(iter(self.landed)))
        self.stats.frames += 1

    def _session_step(self, item: Item[Work], work: SessionWork, partition: int, now: float) -> None:
        if work.entry is not None:
            return  # stored, waiting for its manifest
        if work.future is None:
            if now >= work.retry_at and self.running:
                kept = self._consented(work.trajectory)
                if kept is None:
                    self.stats.withheld += 1
                    item.done = True
                    return
                work.trajectory = kept
                work.future = self.pool.submit(self._store_session, work, partition, item.offset, now)
            return
        if not work.future.done():
            return
        future, work.future = work.future, None
        try:
            entry = future.result()
        except StorageStopped:
            return
        except (BotoCoreError, ClientError) as exc:
            log.warning("S3 failed while storing session %s (%s); retrying", work.trajectory.session_id, exc)
            work.retry_at = now + 2.0
            return
        if entry is None:
            work.retry_at = now + 1.0  # frames not stored yet
            return
        work.entry = entry
        self.dirty.setdefault((entry.dt, partition), []).append(item)

    # uploads (in the pool's threads)

    def _put(self, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None) -> None:
        if not put_until_stored(
            self.s3, self.bucket, self.root + key, body, content_type, lambda: self.running, metadata
        ):
            raise StorageStopped(key)
        with self.stats_lock:
            self.stats.objects += 1
            self.stats.bytes += len(body)

    def _store_frame(self, frame: ScreenFrame, key: str) -> FrameInfo:
        info = FrameInfo(
            key, frame.width, frame.height, frame.scale, frame.monitor.left, frame.monitor.top, len(frame.image)
        )
        metadata = {name: str(getattr(info, name)) for name in _FRAME_META} | {"time": frame.event_time.isoformat()}
        self._put(key, frame.image, f"image/{frame.image_format}", metadata)
        return info

    def _find_frame(self, key: str) -> FrameInfo | None:
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
            )
        except (KeyError, ValueError):
            log.warning("frame %s has no geometry metadata; its steps keep the frame without a position", key)
            return FrameInfo(key, 0, 0, 1.0, 0, 0, size)

    def _store_session(self, work: SessionWork, partition: int, offset: int, now: float) -> SessionEntry | None:
        """Store the steps once every frame is there; None while frames are still missing."""
        trajectory = work.trajectory
        frames: dict[str, FrameInfo] = {}
        missing = []
        for frame_id, key in referenced_frames(trajectory).items():
            info = self._find_frame(key)
            if info is None:
                missing.append(frame_id)
            else:
                frames[frame_id] = info
        if missing:
            work.waiting_since = work.waiting_since or now
            if now - work.waiting_since < self.settings.sink_frame_wait_seconds:
                return None
            log.warning(
                "session %s: %d frames never arrived in %.0fs (%s…); storing its steps without them",
                trajectory.session_id,
                len(missing),
                self.settings.sink_frame_wait_seconds,
                missing[0],
            )
            with self.stats_lock:
                self.stats.frames_missing += len(missing)
        body = to_parquet(steps_table(trajectory, frames))
        entry = session_entry(trajectory, frames, len(body), partition, offset)
        self._put(entry.steps_key, body, "application/vnd.apache.parquet")
        self.stats.keys.append(entry.steps_key)
        return entry

    # manifests and the card (in the loop's thread)

    def _manifest(self, dt: str, partition: int) -> Manifest:
        manifest = self.manifests.get((dt, partition))
        if manifest is None:
            fresh = Manifest(dt, partition, {})
            body = get_or_none(self.s3, self.bucket, self.root + fresh.key())
            manifest = Manifest.from_bytes(body) if body is not None else fresh
            self.manifests[(dt, partition)] = manifest
        return manifest

    def _write_manifests(self) -> None:
        for (dt, partition), items in list(self.dirty.items()):
            try:
                manifest = self._manifest(dt, partition)
            except (BotoCoreError, ClientError) as exc:
                log.warning("cannot read the manifest of %s partition %d (%s); retrying", dt, partition, exc)
                return
            for item in items:
                assert isinstance(item.work, SessionWork) and item.work.entry is not None
                entry = item.work.entry
                if self._withheld(entry.user_id, entry.start):  # withdrawn or erased while it was stored
                    self.s3.delete_object(Bucket=self.bucket, Key=self.root + entry.steps_key)
                    self.stats.withheld += 1
                else:
                    manifest.sessions[entry.session_id] = entry
            self._failpoint("before_manifest")
            try:
                self._put(manifest.key(), manifest.to_bytes(), "application/json")
            except StorageStopped:
                return
            del self.dirty[(dt, partition)]
            for item in items:
                item.done = True
                self.stats.sessions += 1
            self.card_stale = True

    def _write_card(self, force: bool = False) -> None:
        if not (self.card_stale and (force or self.clock() >= self.card_due)):
            return
        try:
            entries = [
                entry
                for key in list_keys(self.s3, self.bucket, self.root + "manifests/")
                if key.endswith(".json")
                for entry in Manifest.from_bytes(
                    self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                ).sessions.values()
            ]
            columns = {f.name: (str(f.type), STEP_DOCS.get(f.name, "")) for f in STEP_SCHEMA}
            card = render_card(entries, columns, datetime.now(UTC))
            self._put(CARD_NAME, card.encode(), "text/markdown; charset=utf-8")
        except (BotoCoreError, ClientError, StorageStopped) as exc:
            log.warning("could not update the dataset card (%s); will try again", exc)
        self.card_stale = False
        self.card_due = self.clock() + self.settings.sink_card_seconds

    # consent and erasure

    def _follow_control(self) -> None:
        """Read the consent ledger and the erasure requests before anything is stored."""
        for topic in ("control.consent", "control.erasure"):
            follower = ControlFollower(self.settings, topic, lambda name, value: self.control.put((name, value)))
            self.followers.append(follower.start())
        for follower in self.followers:
            if not follower.wait_caught_up(30):
                log.warning("could not read all of %s yet; consent and erasures apply as they arrive", follower.topic)
        self._apply_control()

    def _apply_control(self) -> None:
        while True:
            try:
                name, value = self.control.get_nowait()
            except queue.Empty:
                break
            if name == "ConsentRecord":
                record = from_avro(ConsentRecord, dict(value))
                before = self.ledger.withdrawn_since(record.user_id)
                self.ledger.add(record)
                since = self.ledger.withdrawn_since(record.user_id)
                if since is not None and since != before:
                    self.tasks.append(Task(f"withdrawal of {record.user_id}", record.user_id, since=since))
            elif name == "ErasureRequest":
                request = from_avro(ErasureRequest, dict(value))
                if supersedes(request, self.erasures.get(request.user_id)):
                    self.erasures[request.user_id] = request
                    forgotten = self._forget(request.user_id)
                    what = f"erasure {request.request_id}"
                    self.tasks.append(Task(what, request.user_id, request=request, already=forgotten))
        self._run_tasks()

    def _forget(self, user_id: str) -> Removed:
        """Take the person out of the manifests this worker owns, now: the janitor may run on another worker."""
        removed = Removed()
        for manifest in self.manifests.values():
            if n := drop_user(manifest, user_id):
                self._put(manifest.key(), manifest.to_bytes(), "application/json")
                removed += Removed(sessions=n, manifests=1)
        return removed
        # sessions stored but not yet listed are checked against the erasure when their manifest is written

    def _run_tasks(self) -> None:
        now = self.clock()
        for task in [t for t in self.tasks if t.due <= now]:
            try:
                if task.request is not None:
                    done = self.janitor.erase(task.request, task.already)
                    self.stats.erasures += done is not None
                else:
                    assert task.since is not None
                    done = self.janitor.withdraw(task.user_id, task.since)
                if done:
                    log.info("%s: %d objects deleted, %d sessions changed", task.what, done.objects, done.sessions)
                    self.card_stale = True
                self.tasks.remove(task)
            except (BotoCoreError, ClientError, StorageUnavailableError, RuntimeError) as exc:
                log.warning("%s could not finish (%s); trying again in 10 s", task.what, exc)
                task.due = now + 10.0

    def _withheld(self, user_id: str, moment: datetime) -> bool:
        """Data of this person and moment must not be stored: erased, or recorded after a withdrawal."""
        if erased(self.erasures.get(user_id), moment):
            return True
        withdrawn = self.ledger.withdrawn_since(user_id)
        return withdrawn is not None and moment >= withdrawn

    def _consented(self, trajectory: Trajectory) -> Trajectory | None:
        if erased(self.erasures.get(trajectory.user_id), trajectory.start_time):
            return None
        return before_withdrawal(trajectory, self.ledger.withdrawn_since(trajectory.user_id))

    # failures and rebalances

    def _failpoint(self, name: str) -> None:
        point, _, count = (self.settings.sink_failpoint or "").partition(":")
        if point == name:
            self.failpoint_hits += 1
            if self.failpoint_hits >= int(count or 1):
                log.error("failpoint %s reached: killing this worker with SIGKILL", self.settings.sink_failpoint)
                os.kill(os.getpid(), signal.SIGKILL)

    def _dead_letter(self, topic: str, partition: int, offset: int, value: bytes, exc: Exception) -> None:
        letter = DeadLetter(
            stage="sink.decode" if isinstance(exc, CodecError) else "sink.session",
            reason=f"{topic}[{partition}]@{offset}: {exc}",
            error_type=type(exc).__name__,
            topic=topic,
            partition=partition,
            offset=offset,
            original=value,
            failed_at=datetime.now(UTC),
        )
        self.deadletters.produce(self.settings.topic("deadletter"), self.codec.encode("DeadLetter", to_avro(letter)))
        self.deadletters.poll(0)
        self.unflushed_letters = True
        self.stats.dead_letters += 1

    def _on_assign(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        self.last_record = self.clock()  # idle time counts from when there is something to read
        self.assigned_at = self.assigned_at or self.clock()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what is complete, then forget the partitions: their new owner reads the rest again."""
        self._advance()
        for tp in partitions:
            self.progress.pop((tp.topic, tp.partition), None)
            if tp.topic == self.sessions_topic:
                for key in [k for k in self.manifests if k[1] == tp.partition]:
                    del self.manifests[key]
                for key in [k for k in self.dirty if k[1] == tp.partition]:
                    del self.dirty[key]
