"""A faust table seen as a mapping: its changelog records wait for a flush, coalesced per key."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest

from streams.tables import JsonTable
from tests.unit.test_streams_agents import Changelogs


def table(data: dict[str, str] | None = None) -> Any:
    """The parts of a faust table that :class:`JsonTable` uses: its data, serializers and changelog topic."""
    topic = SimpleNamespace(get_topic_name=lambda: "app-sessions-changelog")
    return SimpleNamespace(data=dict(data or {}), key_serializer="json", value_serializer="json", changelog_topic=topic)


def value(raw: bytes) -> bytes:
    return json.dumps(base64.b64encode(raw).decode()).encode()


def test_writes_wait_for_the_flush_and_go_once_with_the_last_value_to_the_partition_of_their_record() -> None:
    writes = Changelogs()
    t = JsonTable(table(), writes)
    t.partition = 3
    t["E|003|d-1|1"] = b"first"
    t["E|003|d-1|1"] = b"second"
    assert t["E|003|d-1|1"] == b"second" and writes.records == []
    assert t.flush() == 1
    assert writes.records == [("app-sessions-changelog", value(b"second"), b'"E|003|d-1|1"', 3)]


def test_a_key_written_and_deleted_between_flushes_never_reaches_the_changelog() -> None:
    writes = Changelogs()
    t = JsonTable(table(), writes)
    t["H|000|d-1|7"] = b"held"
    del t["H|000|d-1|7"]
    assert "H|000|d-1|7" not in t and t.flush() == 0 and writes.records == []


def test_deleting_a_key_the_changelog_holds_writes_a_tombstone_even_after_a_rewrite() -> None:
    writes = Changelogs()
    t = JsonTable(table({"S|d-1": base64.b64encode(b"old").decode()}), writes)
    t["S|d-1"] = b"new"
    del t["S|d-1"]
    assert t.flush() == 1 and writes.records == [("app-sessions-changelog", None, b'"S|d-1"', 0)]


def test_a_flush_writes_before_it_deletes() -> None:
    """Releasing held typing deletes its keys and writes the session's: a crash in between must leave both."""
    writes = Changelogs()
    t = JsonTable(table({"H|000|d-1|1": base64.b64encode(b"held").decode()}), writes)
    del t["H|000|d-1|1"]
    t["E|000|d-1|1"] = b"clean"
    assert t.flush() == 2
    assert [(key, data is None) for _, data, key, _ in writes.records] == [
        (b'"E|000|d-1|1"', False),
        (b'"H|000|d-1|1"', True),
    ]


def test_keys_and_values_are_written_as_faust_s_own_codecs_write_them() -> None:
    """Faust restores the table from these bytes with its codecs: they must be what its codecs write."""
    from faust.serializers import codecs

    keys = ["E|000|d-1|1", 'H|005|dévice "quoted"\\|2', "S|\u2028\x00\x1f|tab\t", "C|001|😀"]
    for serializer in ("json", "raw"):
        writes = Changelogs()
        t = JsonTable(SimpleNamespace(**{**vars(table()), "key_serializer": serializer}), writes)
        for i, key in enumerate(keys):
            t[key] = bytes(range(i * 60, i * 60 + 60))
        t.flush()
        expected = [
            ("app-sessions-changelog", codecs.dumps("json", t.table.data[k]), codecs.dumps(serializer, k), 0)
            for k in keys
        ]
        assert writes.records == expected


def test_with_another_json_library_under_faust_its_codec_writes_the_changelog(monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson writes non-ASCII text as UTF-8, not as escapes: a key must keep one form, faust's."""
    from faust.utils import json as faust_json

    monkeypatch.setattr(faust_json, "orjson", object(), raising=False)
    writes = Changelogs()
    t = JsonTable(table(), writes)
    monkeypatch.setattr("faust.serializers.codecs.dumps", lambda name, text: b"faust:" + text.encode())
    t["S|dévice"] = b"x"
    t.flush()
    value, key = b"faust:" + t.table.data["S|dévice"].encode(), "faust:S|dévice".encode()
    assert writes.records == [("app-sessions-changelog", value, key, 0)]


def test_writes_go_in_the_order_of_their_last_write_and_the_marks_of_records_handled_after_them() -> None:
    """A crash leaves the changelog with a first part of a flush: a key written after others must not be in it
    without them, and a record marked handled must have there what it wrote, even what it wrote after its mark."""
    writes = Changelogs()
    t = JsonTable(table(), writes)
    t["P|raw|0"] = b"1"
    t["E|000|d-1|1"] = b"clean"
    t["T|000|d-1"] = b"closed through 1"
    t["E|000|d-1|2"] = b"clean"
    t["T|000|d-1"] = b"closed through 2"
    t.flush()
    assert [json.loads(key) for _, _, key, _ in writes.records] == [
        "E|000|d-1|1",
        "E|000|d-1|2",
        "T|000|d-1",
        "P|raw|0",
    ]
