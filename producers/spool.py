"""A bounded on-disk spool of records waiting for Kafka: append-only segment files (edge).

Every record the agent produces is appended here first and leaves only when Kafka has
acknowledged it, so nothing is lost while the broker is unreachable, when the client's
queue is full, or when the agent is killed. Appends are group-committed: they collect in
the writer's buffer and reach the OS in one write per :meth:`Spool.flush` (the agent calls
it after every batch of input it handles; :meth:`Spool.read` flushes first too), and
:meth:`Spool.sync` fsyncs.
Records replay in the order they were appended. When the spool is full the oldest
segment is dropped and its unsent records are counted, per topic, in ``dropped_by_topic``
(each segment counts the records it holds and those handed out, per topic; records are
handed out in order, so the difference is what was never sent).

Layout of the directory: ``<id>.seg`` files of records ``[u32 length][u32 crc32][body]``
with body ``[u8 len][topic][u16 len][key][value]``; ``cursor`` holds the segment id and
offset below which everything was delivered. A torn record at a segment's end (a crash
mid-write) is cut off when the spool is opened.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)
_HEAD = struct.Struct("<II")
_CURSOR = struct.Struct("<QQ")
Position = tuple[int, int]  # (segment id, byte offset after the record)


@dataclass(frozen=True)
class Spooled:
    end: Position
    topic: str
    key: bytes
    value: bytes


@dataclass
class _Segment:
    size: int = 0
    records: int = 0
    read: int = 0  # records handed to the sender
    topics: Counter[str] = field(default_factory=Counter)  # records per topic
    read_topics: Counter[str] = field(default_factory=Counter)  # records handed to the sender, per topic

    def add(self, topic: str, read: bool) -> None:
        self.records += 1
        self.topics[topic] += 1
        if read:
            self.taken(topic)

    def taken(self, topic: str) -> None:
        self.read += 1
        self.read_topics[topic] += 1


class Spool:
    def __init__(self, directory: Path, max_bytes: int, segment_bytes: int | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes or max(64 * 1024, min(16 * 1024 * 1024, max_bytes // 8))
        self.dropped_by_topic: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._segs: dict[int, _Segment] = {}
        self._cursor: Position = (0, 0)
        self._read: Position = (0, 0)
        self._reader: tuple[int, BinaryIO] | None = None
        self._recover()
        self._active = max(self._segs, default=0) + 1
        self._segs[self._active] = _Segment()
        self._writer = (self.dir / f"{self._active:016d}.seg").open("ab")

    # -- writing ------------------------------------------------------------------------
    def append(self, topic: str, key: bytes, value: bytes) -> None:
        t = topic.encode()
        body = bytes([len(t)]) + t + struct.pack("<H", len(key)) + key + value
        record = _HEAD.pack(len(body), zlib.crc32(body)) + body
        with self._lock:
            if len(record) > self.max_bytes:
                self.dropped_by_topic[topic] += 1
                log.warning(
                    "dropped a %d-byte record larger than the whole spool (%d bytes)", len(record), self.max_bytes
                )
                return
            if self._segs[self._active].size >= self.segment_bytes:
                self._roll()
            while self._total() + len(record) > self.max_bytes:
                if len(self._segs) == 1:
                    self._roll()
                self._drop_oldest()
            self._writer.write(record)
            seg = self._segs[self._active]
            seg.size += len(record)
            seg.add(topic, read=False)

    def flush(self) -> None:
        """Hand the buffered appends to the OS in one write (they then survive the agent being killed)."""
        with self._lock:
            self._writer.flush()

    def sync(self) -> None:
        """fsync the segment being written (survives a power loss too)."""
        with self._lock:
            self._writer.flush()
            os.fsync(self._writer.fileno())

    # -- reading ------------------------------------------------------------------------
    def read(self, max_records: int, max_bytes: int) -> list[Spooled]:
        """The next records not yet handed out, in order (at least one if any is waiting)."""
        out: list[Spooled] = []
        size = 0
        with self._lock:
            self._writer.flush()  # the reader's file handle sees only what reached the OS
            while len(out) < max_records and size < max_bytes:
                seg_id, offset = self._read
                seg = self._segs.get(seg_id)
                if seg is None or offset >= seg.size:
                    later = [s for s in self._segs if s > seg_id]
                    if (seg is not None and seg_id == self._active) or not later:
                        break
                    self._read = (min(later), 0)
                    continue
                rec = self._read_at(seg_id, offset)
                self._read = rec.end
                seg.taken(rec.topic)
                out.append(rec)
                size += len(rec.value)
        return out

    def commit(self, end: Position) -> None:
        """Everything before ``end`` was delivered: forget it (whole segments are deleted)."""
        with self._lock:
            self._cursor = max(self._cursor, end)
            for seg_id in [s for s in self._segs if s < self._cursor[0]]:
                self._delete(seg_id)

    def save_cursor(self) -> None:
        with self._lock:
            tmp = self.dir / "cursor.tmp"
            tmp.write_bytes(_CURSOR.pack(*self._cursor))
            tmp.replace(self.dir / "cursor")

    @property
    def dropped(self) -> int:
        """Records dropped since the spool was opened (full, or larger than the whole spool)."""
        with self._lock:
            return self.dropped_by_topic.total()

    @property
    def unread(self) -> int:
        """Records waiting in the spool that were not yet handed to the sender."""
        with self._lock:
            return sum(s.records - s.read for s in self._segs.values())

    @property
    def size(self) -> int:
        with self._lock:
            return self._total()

    def close(self) -> None:
        self.save_cursor()
        with self._lock:
            self._writer.close()
            if self._reader is not None:
                self._reader[1].close()

    # -- internals (called with the lock held) ------------------------------------------
    def _total(self) -> int:
        return sum(s.size for s in self._segs.values())

    def _roll(self) -> None:
        self._writer.close()  # (flushes)
        self._active += 1
        self._segs[self._active] = _Segment()
        self._writer = (self.dir / f"{self._active:016d}.seg").open("ab")

    def _drop_oldest(self) -> None:
        oldest = min(self._segs)
        seg = self._segs[oldest]
        lost = seg.topics - seg.read_topics
        self.dropped_by_topic.update(lost)
        log.warning("spool full (%d bytes): dropped %d unsent records, the oldest", self.max_bytes, lost.total())
        self._delete(oldest)
        nxt = min(self._segs)
        if self._read[0] <= oldest:
            self._read = (nxt, 0)
        if self._cursor[0] <= oldest:
            self._cursor = (nxt, 0)

    def _delete(self, seg_id: int) -> None:
        if seg_id == self._active:
            return
        self._segs.pop(seg_id, None)
        if self._reader is not None and self._reader[0] == seg_id:
            self._reader[1].close()
            self._reader = None
        (self.dir / f"{seg_id:016d}.seg").unlink(missing_ok=True)

    def _read_at(self, seg_id: int, offset: int) -> Spooled:
        if self._reader is None or self._reader[0] != seg_id:
            if self._reader is not None:
                self._reader[1].close()
            self._reader = (seg_id, (self.dir / f"{seg_id:016d}.seg").open("rb"))
        f = self._reader[1]
        f.seek(offset)
        length, _crc = _HEAD.unpack(f.read(_HEAD.size))
        return _parse(f.read(length), (seg_id, offset + _HEAD.size + length))

    def _recover(self) -> None:
        try:
            self._cursor = _CURSOR.unpack((self.dir / "cursor").read_bytes())
        except (OSError, struct.error):
            self._cursor = (0, 0)
        for path in sorted(self.dir.glob("*.seg")):
            seg_id = int(path.stem)
            if seg_id < self._cursor[0]:
                path.unlink()
                continue
            self._segs[seg_id] = _scan(path, self._cursor[1] if seg_id == self._cursor[0] else 0)
        first = min(self._segs, default=None)
        if first is not None and first > self._cursor[0]:
            self._cursor = (first, 0)
        self._read = self._cursor


def _parse(body: bytes, end: Position) -> Spooled:
    tlen = body[0]
    topic = body[1 : 1 + tlen].decode()
    (klen,) = struct.unpack_from("<H", body, 1 + tlen)
    kstart = 3 + tlen
    return Spooled(end, topic, body[kstart : kstart + klen], body[kstart + klen :])


def _scan(path: Path, skip_to: int) -> _Segment:
    """Count a segment's valid records, cut off a torn tail; records before ``skip_to`` count as read."""
    data = path.read_bytes()
    seg = _Segment()
    pos = 0
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size : pos + _HEAD.size + length]
        if len(body) < length or zlib.crc32(body) != crc:
            break
        pos += _HEAD.size + length
        seg.add(body[1 : 1 + body[0]].decode(), read=pos <= skip_to)
    if pos < len(data):
        log.warning("spool segment %s: cut off %d bytes of a torn record", path.name, len(data) - pos)
        with path.open("r+b") as f:
            f.truncate(pos)
    seg.size = pos
    return seg
