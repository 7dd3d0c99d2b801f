"""Faust tables seen as plain mappings of text keys to bytes, for the pure stages (edge)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from faust.serializers import codecs
from faust.utils import json as faust_json

from streams.writes import Writes


class JsonTable(MutableMapping[str, bytes]):
    """A faust table (JSON changelog) seen as a mapping of text keys to bytes (stored as base64).

    Faust keeps the table in memory and restores it from its changelog; the changelog records of writes
    made here go through ``writes``. A write lands in partition :attr:`partition` of the changelog, which
    the agent sets to the partition of the record it handles. Writes wait until :meth:`flush`, which the
    agent calls (and then flushes ``writes``) before the records that made them are acknowledged: a key
    written and deleted between two flushes never reaches the changelog, and a key written several times
    goes once, with its last value. A crash in the middle of a flush leaves the changelog with a first part of
    it, so the flush goes in this order:

    - writes, in the order of their last write: a key written after others says what they hold (a close mark
      of the clean stage, ``streams.core.cleaner``, after the sessions' writes of what the close released);
    - then the marks of the records handled (keys ``P|``): a takeover starts after them, so what the records
      they mark wrote must be there first, even a write made after the mark (held typing released later,
      whose own held keys went and came within the flush and never reached the changelog);
    - then deletes: a crash among them leaves keys that should have gone (a replay handles them again),
      never a key missing that should be there."""

    MARKS = "P|"

    def __init__(self, table: Any, writes: Writes) -> None:
        self.table, self.writes = table, writes
        self.partition = 0
        self._topic: str | None = None
        self._key, self._value = _serializer(table.key_serializer), _serializer(table.value_serializer)
        self._pending: dict[str, tuple[int, str | None, bool]] = {}  # key -> partition, value, in the changelog

    def __getitem__(self, key: str) -> bytes:
        return base64.b64decode(self.table.data[key])

    def __setitem__(self, key: str, value: bytes) -> None:
        persisted = self._persisted(key)
        encoded = base64.b64encode(value).decode()
        self.table.data[key] = encoded
        self._pending.pop(key, None)  # after every key written before this write
        self._pending[key] = (self.partition, encoded, persisted)

    def __delitem__(self, key: str) -> None:
        persisted = self._persisted(key)
        del self.table.data[key]
        self._pending[key] = (self.partition, None, persisted)

    def __contains__(self, key: object) -> bool:
        return key in self.table.data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.table.data.keys()))

    def __len__(self) -> int:
        return len(self.table.data)

    def flush(self) -> int:
        """Hand the pending writes to ``writes`` (a delete only if the key was in the changelog); how many."""
        if self._topic is None:
            self._topic = self.table.changelog_topic.get_topic_name()
        pending = self._pending.items()
        writes = [(k, p, v) for k, (p, v, _) in pending if v is not None]
        writes.sort(key=lambda w: w[0].startswith(self.MARKS))  # stable: the marks last, the rest as written
        deletes = [(k, p, None) for k, (p, v, persisted) in pending if v is None and persisted]
        for key, partition, value in writes + deletes:
            data = None if value is None else self._value(value)
            self.writes.produce(self._topic, data, self._key(key), partition)
        self._pending.clear()
        return len(writes) + len(deletes)

    def _persisted(self, key: str) -> bool:
        """Whether the changelog holds ``key`` now: it did before this flush's first write to it."""
        pending = self._pending.get(key)
        return key in self.table.data if pending is None else pending[2]


def _serializer(name: Any) -> Callable[[str], bytes]:
    """How faust's codec ``name`` writes a text. For ``json`` (faust's default for tables) while faust writes
    JSON with the standard library (no orjson or simplejson installed), the standard library's encoder: the
    same bytes for a text, without faust's per-call encoder object. orjson would write other bytes for
    non-ASCII text, and compaction would keep both forms of a key."""
    if name == "json" and getattr(faust_json, "orjson", None) is None and getattr(faust_json, "json", None) is json:
        return lambda text: json.dumps(text).encode()
    return lambda text: codecs.dumps(name, text)
