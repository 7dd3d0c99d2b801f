"""Object naming and per-partition batching of the sink."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from fastavro import reader
from hypothesis import given
from hypothesis import strategies as st

from schemas.registry import default_registry
from sinks.core.batching import Batcher, BatchLimits
from sinks.core.formats import AvroContainerFormat
from sinks.core.naming import batch_key


def test_batch_key_is_deterministic_and_sorts_by_offset() -> None:
    a = batch_key("p/", "interactions.clean", 3, 99, "avro")
    assert a == "p/stream/v1/topic=interactions.clean/partition=003/offset=00000000000000000099.avro"
    assert a == batch_key("p/", "interactions.clean", 3, 99, "avro")
    assert a < batch_key("p/", "interactions.clean", 3, 100, "avro")


def test_batch_key_rejects_negative_offsets() -> None:
    with pytest.raises(ValueError, match="negative"):
        batch_key("", "t", 0, -1, "avro")


def test_batch_closes_on_count_and_keeps_offset_order() -> None:
    batcher = Batcher(BatchLimits(max_records=3, max_bytes=10**9, max_age_s=60))
    assert batcher.add("t", 0, 5, b"a", now=0) is None
    assert batcher.add("t", 1, 7, b"x", now=0) is None
    assert batcher.add("t", 0, 6, b"b", now=0) is None
    full = batcher.add("t", 0, 9, b"c", now=0)
    assert full is not None
    assert (full.first_offset, full.last_offset, full.offsets, full.values) == (5, 9, [5, 6, 9], [b"a", b"b", b"c"])
    assert len(batcher) == 1  # partition 1 is still open


def test_batch_closes_on_bytes_and_age() -> None:
    batcher = Batcher(BatchLimits(max_records=100, max_bytes=4, max_age_s=10))
    assert batcher.add("t", 0, 0, b"12", now=0) is None
    assert batcher.add("t", 0, 1, b"34", now=0) is not None
    batcher.add("t", 1, 0, b"1", now=5)
    assert batcher.due(now=14) == []
    (old,) = batcher.due(now=15)
    assert old.partition == 1
    assert len(batcher) == 0


def test_out_of_order_offsets_are_refused() -> None:
    batcher = Batcher(BatchLimits())
    batcher.add("t", 0, 5, b"a", now=0)
    with pytest.raises(ValueError, match="not after"):
        batcher.add("t", 0, 5, b"a", now=0)


def test_revoked_partition_forgets_its_open_batch() -> None:
    batcher = Batcher(BatchLimits())
    batcher.add("t", 0, 5, b"a", now=0)
    batcher.drop("t", 0)
    assert batcher.drain() == []


@given(st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=20)), max_size=200), st.integers(1, 10))
def test_every_record_lands_in_exactly_one_batch(records: list[tuple[int, bytes]], size: int) -> None:
    batcher = Batcher(BatchLimits(max_records=size, max_bytes=10**9, max_age_s=1))
    next_offset = dict.fromkeys(range(4), 0)
    batches = []
    for i, (partition, value) in enumerate(records):
        full = batcher.add("t", partition, next_offset[partition], value, now=i)
        next_offset[partition] += 1
        if full:
            batches.append(full)
        batches.extend(batcher.due(now=i))
    batches.extend(batcher.drain())
    seen = sorted((b.partition, o) for b in batches for o in b.offsets)
    assert seen == sorted((p, o) for p, n in next_offset.items() for o in range(n))
    for b in batches:  # a batch is named by its first offset, and the next one starts after its last
        assert b.first_offset == b.offsets[0] and b.last_offset == b.offsets[-1]


def test_avro_objects_are_byte_identical_for_the_same_key_and_records() -> None:
    schema = default_registry().latest("Heartbeat")
    records = [{"device_id": "d", "agent_version": "1", "sent_at": datetime(2026, 1, 1, tzinfo=UTC), "state": "x"}]
    fmt = AvroContainerFormat()
    one, two = fmt.serialize(schema, records, "k"), fmt.serialize(schema, records, "k")
    assert one == two and one != fmt.serialize(schema, records, "other")
    assert next(reader(io.BytesIO(one)))["device_id"] == "d"


def test_avro_objects_are_byte_identical_across_processes() -> None:
    """A replay runs in another process, with another hash seed: it must still write the same bytes."""
    import subprocess
    import sys

    code = (
        "import hashlib, datetime as d\n"
        "from sinks.core.formats import AvroContainerFormat\n"
        "from schemas.registry import default_registry\n"
        "t = d.datetime(2026, 1, 1, tzinfo=d.UTC)\n"
        "r = [{'device_id': 'd', 'agent_version': '1', 'sent_at': t, 'state': 'x'}]\n"
        "body = AvroContainerFormat().serialize(default_registry().latest('Heartbeat'), r, 'k')\n"
        "print(hashlib.sha256(body).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], env={"PYTHONHASHSEED": seed}, capture_output=True, text=True, check=True
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1
