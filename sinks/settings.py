"""Settings of the S3 sink worker (edge)."""

from __future__ import annotations

from pydantic import Field

from runtime.settings import Settings


class SinkSettings(Settings):
    """What ``teachstream sink`` needs on top of the common settings."""

    sink_group: str = Field("teachstream-sink", description="Kafka consumer group of the sink workers")
    sink_topics: tuple[str, ...] = Field(
        ("screens.clean", "trajectories"), description="project topics the sink lands in the dataset"
    )
    sink_threads: int = Field(8, gt=0, description="parallel uploads")
    sink_max_open_records: int = Field(2000, gt=0, description="records read but not stored before reads pause")
    sink_frame_wait_seconds: float = Field(
        300.0, gt=0, description="how long a session waits for its frames before it is stored without the missing ones"
    )
    sink_frame_cache: int = Field(20000, gt=0, description="stored frames remembered to skip a lookup")
    sink_card_seconds: float = Field(60.0, gt=0, description="the dataset card is rewritten at most this often")
    sink_failpoint: str | None = Field(
        None,
        description="fault injection for crash tests: before_manifest:N or before_commit:N kills the worker "
        "with SIGKILL the N-th time it gets there",
    )
