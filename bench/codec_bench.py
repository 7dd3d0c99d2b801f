"""Avro encode/decode throughput of our codec against plain fastavro on the same records."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastavro import schemaless_reader, schemaless_writer

from producers.core.simulation import people, simulate
from schemas.codec import Codec
from schemas.events import InteractionEvent
from schemas.records import from_avro, to_avro
from schemas.registry import default_registry


@dataclass(frozen=True)
class Rate:
    name: str
    per_s: float
    bytes_per_record: float


def _events(n: int) -> list[InteractionEvent]:
    persons = people(4, b"bench", random.Random(1))
    items = simulate(persons, datetime(2026, 11, 26, tzinfo=UTC), 3600, 1)
    out = [i for i in items if isinstance(i, InteractionEvent)]
    return (out * (n // max(len(out), 1) + 1))[:n]


def _rate(fn: Callable[[], int], count: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return count / best


def run(n: int = 50_000) -> list[Rate]:
    events = _events(n)
    dicts = [to_avro(e) for e in events]
    codec = Codec()
    schema = default_registry().latest("InteractionEvent").parsed
    encoded = [codec.encode("InteractionEvent", d) for d in dicts]
    plain = []
    for d in dicts:
        buf = io.BytesIO()
        schemaless_writer(buf, schema, d)
        plain.append(buf.getvalue())

    def fastavro_write() -> int:
        for d in dicts:
            schemaless_writer(io.BytesIO(), schema, d)
        return n

    def fastavro_read() -> int:
        for b in plain:
            schemaless_reader(io.BytesIO(b), schema, None, return_record_name=True, return_record_name_override=True)
        return n

    def ours_encode_dicts() -> int:
        for d in dicts:
            codec.encode("InteractionEvent", d)
        return n

    def ours_encode_typed() -> int:
        for e in events:
            codec.encode("InteractionEvent", to_avro(e))
        return n

    def ours_decode() -> int:
        for b in encoded:
            codec.decode(b)
        return n

    def ours_decode_typed() -> int:
        for b in encoded:
            from_avro(InteractionEvent, codec.decode(b).value)
        return n

    size_plain = sum(map(len, plain)) / n
    size_ours = sum(map(len, encoded)) / n
    return [
        Rate("fastavro.schemaless_writer (baseline)", _rate(fastavro_write, n), size_plain),
        Rate("Codec.encode, dicts (single-object framing)", _rate(ours_encode_dicts, n), size_ours),
        Rate("Codec.encode, typed events (to_avro + encode)", _rate(ours_encode_typed, n), size_ours),
        Rate("fastavro.schemaless_reader (baseline)", _rate(fastavro_read, n), size_plain),
        Rate("Codec.decode (fingerprint lookup + resolution)", _rate(ours_decode, n), size_ours),
        Rate("Codec.decode + from_avro to typed events", _rate(ours_decode_typed, n), size_ours),
    ]
