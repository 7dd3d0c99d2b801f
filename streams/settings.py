"""Settings of the stream worker (edge)."""

from __future__ import annotations

from pydantic import Field

from teachstream.settings import Settings


class StreamsSettings(Settings):
    """What ``teachstream streams`` needs on top of the common settings."""

    streams_app_id: str = Field("teachstream-streams", description="faust app id: consumer group and changelog prefix")
    streams_data_dir: str = Field(".stack/streams", description="faust's local state directory")
    streams_web_port: int | None = Field(None, description="faust web port for health checks; None disables it")
