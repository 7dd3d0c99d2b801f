"""The S3 sink worker: frames and closed sessions into the dataset, exactly once (edge).

It reads ``screens.clean`` and ``trajectories``. A frame is stored as its own object as soon as
it arrives. A session is written when every frame its steps refer to is stored (waiting for
them, up to ``sink_frame_wait_seconds``): first its Parquet steps, then its entry in the
manifest of its day and partition, which is what makes it visible. Offsets are committed only
after that, and every key is deterministic, so a crash at any point replays into the same keys
and the same manifest entries: no session is lost, duplicated or seen half-written.

Here: the consume loop, backpressure, commits and rebalances. Around it: ``uploads`` (frames
and steps, the frame cache), ``core.readiness`` (are a session's frames ready), ``manifests``
(and the card), ``cleanup`` and ``janitor`` (erasures, withdrawals), ``dead_letter_outlet``,
``failpoint``; consent and erasures come from the one ``runtime.privacy_feed.PrivacyFeed``.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from runtime.metrics import serve
from runtime.privacy_feed import PrivacyFeed
from schemas.codec import Codec
from schemas.dataset import dataset_root, frame_key
from schemas.errors import CodecError, ConfigError, SchemaRegistryUnavailableError, WrongRecordTypeError
from schemas.events import ScreenFrame
from schemas.records import from_avro
from schemas.topics import SCREEN_MAX_BYTES
from schemas.trajectory import Trajectory
from sinks.cleanup import Cleanup
from sinks.core.privacy import before_withdrawal
from sinks.core.progress import Item, PartitionProgress
from sinks.core.sessions import referenced_frames
from sinks.dead_letter_outlet import DeadLetterOutlet
from sinks.failpoint import Failpoint
from sinks.janitor import Janitor
from sinks.manifests import Manifests
from sinks.s3 import check_bucket, s3_client
from sinks.settings import SinkSettings
from sinks.stats import SinkStats
from sinks.uploads import FrameWork, SessionWork, StorageStopped, Uploads, Work

__all__ = ["SinkStats", "SinkWorker"]

log = logging.getLogger(__name__)

PRIVACY_CATCH_UP_S = 30.0


class SinkWorker:
    """Moves frames and sessions into the dataset under ``<prefix>dataset/v1/``."""

    def __init__(self, settings: SinkSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings, self.clock = settings, clock
        self.codec = Codec.from_url(settings.schema_registry_url)
        self.s3 = s3_client(settings)
        self.bucket = settings.s3_bucket
        self.root = dataset_root(settings.s3_prefix)
        self.stats = SinkStats()
        self.running = True
        self.frames_topic, self.sessions_topic = settings.topic("screens.clean"), settings.topic("trajectories")
        unknown = set(settings.sink_topics) - {"screens.clean", "trajectories"}
        if unknown:
            raise ConfigError(f"the sink lands screens.clean and trajectories, not {', '.join(sorted(unknown))}")
        self.pool = ThreadPoolExecutor(settings.sink_threads, thread_name_prefix="sink-upload")
        self.progress: dict[tuple[str, int], PartitionProgress[Work]] = {}
        self.paused: set[str] = set()
        self.failpoint = Failpoint(settings.sink_failpoint)
        self.last_record = 0.0
        self.assigned_at: float | None = None  # first assignment, for throughput measurements
        self.uploads = Uploads(self.s3, settings, self.root, self.stats, lambda: self.running)
        self.manifests = Manifests(
            self.s3, self.uploads, self.stats, self._withheld, self.failpoint, settings.sink_card_seconds, clock
        )
        janitor = Janitor(self.s3, self.bucket, settings.s3_prefix, self.root)
        self.cleanup = Cleanup(janitor, self.manifests, self.stats, clock)
        self.privacy = PrivacyFeed(settings, on_change=self.cleanup.hand_over)
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
        self.deadletters = DeadLetterOutlet(settings, self.codec)

    def stop(self, *_: object) -> None:
        self.running = False

    # the loop

    def run(self, idle_exit_s: float | None = None) -> SinkStats:
        """Run until stopped (SIGTERM/SIGINT) or, with ``idle_exit_s``, until idle that long with nothing open."""
        check_bucket(self.s3, self.settings)
        if self.settings.metrics_port:
            serve(self.settings.metrics_port, self.settings.metrics_bind, self.stats.counts)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.privacy.start()
        try:
            self.privacy.wait_caught_up(PRIVACY_CATCH_UP_S)  # consent and erasures before anything is stored
            self.cleanup.run()
            self.consumer.subscribe(
                [self.frames_topic, self.sessions_topic], on_assign=self._on_assign, on_revoke=self._on_revoke
            )
            log.info("sink started: screens.clean, trajectories -> s3://%s/%s", self.bucket, self.root)
            self.last_record = started = self.clock()
            while self.running:
                self.cleanup.run()
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
            self.manifests.write_card(force=self.manifests.card_stale)
        finally:
            self.running = False  # uploads still retrying give up; their records are read again next time
            self.consumer.close()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.deadletters.close()
            self.privacy.stop()
        return self.stats

    def _idle(self, idle_exit_s: float, started: float) -> bool:
        """Nothing read for ``idle_exit_s`` while partitions were assigned, and nothing open.

        Idle time counts only once the group has assigned partitions: after a worker died, its
        partitions come back only when the group notices (session timeout), and a batch run that
        gave up before then would leave their records unread. Without any assignment it gives up
        after a minute."""
        if sum(len(p) for p in self.progress.values()):
            return False
        if self.assigned_at is None:
            return self.clock() - started > max(60.0, idle_exit_s)
        return self.clock() - self.last_record > idle_exit_s

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
            self.deadletters.send(topic, partition, offset, msg.value() or b"", exc)
            self.stats.dead_letters += 1
            self.stats.dead_letter_types[type(exc).__name__] += 1
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
            return FrameWork(self.pool.submit(self.uploads.store_frame, frame, key), frame.user_id, frame.event_time)
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
        self.manifests.write()
        offsets = []
        for (topic, partition), progress in self.progress.items():
            offset = progress.committable()
            if offset is not None:
                offsets.append(TopicPartition(topic, partition, offset))
        if offsets:
            if not self.deadletters.delivered():  # a dead letter is on its topic before its offset is committed
                return
            self.failpoint("before_commit")
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                log.warning("commit failed (%s); the records will be read again into the same keys", exc)
        self.manifests.write_card()

    def _frame_done(self, item: Item[Work], work: FrameWork) -> None:
        if not work.future.done():
            return
        try:
            info = work.future.result()
        except StorageStopped:
            return
        item.done = True
        if self._withheld(work.user_id, work.taken):  # withdrawn or erased while it was uploading
            self.uploads.delete(info.key)
            self.stats.withheld += 1
            return
        self.uploads.remember(info)
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
                work.future = self.pool.submit(self.uploads.store_session, work, partition, item.offset, now)
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
            self.stats.s3_retries += 1
            work.retry_at = now + 2.0
            return
        if entry is None:
            work.retry_at = now + 1.0  # frames not stored yet
            return
        work.entry = entry
        self.manifests.add(entry, partition, item)

    # consent and erasure: the one privacy feed

    def _withheld(self, user_id: str, moment: datetime) -> bool:
        """Data of this person and moment must not be stored: erased, or recorded after a withdrawal."""
        return self.privacy.withheld(user_id, moment)

    def _consented(self, trajectory: Trajectory) -> Trajectory | None:
        if self.privacy.erased(trajectory.user_id, trajectory.start_time):
            return None
        return before_withdrawal(trajectory, self.privacy.withdrawn_since(trajectory.user_id))

    # rebalances

    def _on_assign(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        self.last_record = self.clock()  # idle time counts from when there is something to read
        self.assigned_at = self.assigned_at or self.clock()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Commit what is complete, then forget the partitions: their new owner reads the rest again."""
        self._advance()
        for tp in partitions:
            self.progress.pop((tp.topic, tp.partition), None)
            if tp.topic == self.sessions_topic:
                self.manifests.drop_partition(tp.partition)
