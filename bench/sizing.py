"""The README's sizing table, from the measured inputs below (``python -m bench.sizing`` prints it).

Every input is a number measured by a bench (BENCHMARKS.md says which run); the model scales them
linearly: every device captured at once (a peak, not an average), 8 hours a day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HOURS_PER_DAY = 8


@dataclass(frozen=True)
class Person:
    name: str
    events_per_s: float
    frames_per_min: float


@dataclass(frozen=True)
class Rates:
    """What one process or core handles, and what records weigh."""

    stream_worker_events_per_s: float  # one `teachstream streams` worker (pipeline section)
    screens_frames_per_s_per_core: float  # screen redaction section
    sink_bytes_per_s: float  # one `teachstream sink` (sink section)
    event_bytes: float  # an Avro InteractionEvent value
    frame_bytes_sent: float  # a JPEG frame as the agent sends it
    frame_bytes_stored: float  # after redaction, at the stored scale


BUSY = Person("busy", 30.5, 16)  # the agent bench's scripted session
TYPICAL = Person("typical", 8.3, 17)  # `teachstream simulate`'s office person
MEASURED = Rates(
    stream_worker_events_per_s=6_045,
    screens_frames_per_s_per_core=9,
    sink_bytes_per_s=23.4e6,
    event_bytes=123,
    frame_bytes_sent=42 * 1024,
    frame_bytes_stored=11 * 1024,
)


@dataclass(frozen=True)
class Plan:
    devices: int
    person: str
    events_per_s: float
    frames_per_s: float
    stream_workers: int
    screens_cores: int
    sink_workers: int
    kafka_bytes_per_day: float  # raw and clean topics, record values written once (before replication)
    s3_bytes_per_day: float


def plan(devices: int, person: Person, rates: Rates = MEASURED) -> Plan:
    events = devices * person.events_per_s
    frames = devices * person.frames_per_min / 60
    seconds = HOURS_PER_DAY * 3600
    stored = events * rates.event_bytes + frames * rates.frame_bytes_stored
    kafka = 2 * events * rates.event_bytes + frames * (rates.frame_bytes_sent + rates.frame_bytes_stored)
    return Plan(
        devices,
        person.name,
        events,
        frames,
        math.ceil(events / rates.stream_worker_events_per_s),
        math.ceil(frames / rates.screens_frames_per_s_per_core),
        math.ceil(stored / rates.sink_bytes_per_s),
        kafka * seconds,
        stored * seconds,
    )


def markdown(plans: list[Plan]) -> str:
    lines = [
        "| devices | person | events/s | frames/s | stream workers | screens cores | sink workers "
        "| Kafka, raw and clean topics, per day | S3 per day |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in plans:
        lines.append(
            f"| {p.devices:,} | {p.person} | {p.events_per_s:,.0f} | {p.frames_per_s:,.0f} | {p.stream_workers:,} "
            f"| {p.screens_cores:,} | {p.sink_workers:,} | {_tb(p.kafka_bytes_per_day)} | {_tb(p.s3_bytes_per_day)} |"
        )
    return "\n".join(lines)


def _tb(n: float) -> str:
    tb = n / 1e12
    return f"{tb:.2f} TB" if tb < 1 else f"{tb:.1f} TB" if tb < 10 else f"{tb:.0f} TB"


if __name__ == "__main__":
    print(markdown([plan(n, person) for n in (1_000, 10_000, 100_000) for person in (BUSY, TYPICAL)]))
