"""Settings of the S3 sink worker (edge)."""

from __future__ import annotations

from pydantic import Field

from teachstream.settings import Settings


class SinkSettings(Settings):
    """What ``teachstream sink`` needs on top of the common settings."""

    sink_group: str = Field("teachstream-sink", description="Kafka consumer group of the sink workers")
    sink_topics: tuple[str, ...] = Field(
        ("interactions.clean", "screens.clean"), description="project topics the sink lands in S3"
    )
    sink_batch_records: int = Field(5000, gt=0)
    sink_batch_bytes: int = Field(32 * 1024 * 1024, gt=0)
    sink_batch_seconds: float = Field(10.0, gt=0)
