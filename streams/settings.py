"""Settings of the stream worker (edge)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field

from runtime.settings import Settings
from streams.core.sessions import SessionConfig


class StreamsSettings(Settings):
    """What ``teachstream streams`` needs on top of the common settings."""

    streams_app_id: str = Field("teachstream-streams", description="faust app id: consumer group and changelog prefix")
    streams_data_dir: str = Field(".stack/streams", description="faust's local state directory")
    streams_web_port: int | None = Field(None, description="faust web port for health checks; None disables it")
    session_gap_s: float = Field(300.0, gt=0, description="inactivity that ends a session")
    session_max_s: float = Field(3600.0, gt=0, description="longest session; longer activity is split")
    session_grace_s: float = Field(30.0, ge=0, description="how late an event may arrive and still join its session")
    session_max_events: int = Field(20_000, gt=0, description="events after which a session is split")
    tick_interval_s: float = Field(5.0, gt=0, description="how often the stream clock is written to every partition")
    streams_batch: int = Field(
        2000, gt=0, description="records the interactions agent handles per batch (one flush, table writes coalesced)"
    )
    streams_batch_wait_s: float = Field(
        0.05, gt=0, description="how long the interactions agent waits to fill a batch before it handles what came"
    )
    redact_names: bool = Field(True, description="detect person names (the name book and context rules)")
    typing_margin: int = Field(
        0,
        ge=0,
        description="0 (the default): hold every open typing segment whole until it closes; N: let a plain word "
        "leave it early once N more words follow it (3 is what BENCHMARKS.md measures; faster, costs CPU, see the "
        "README's redaction section)",
    )
    names_ner: bool = Field(False, description="also run spaCy's English NER for names (the `ner` extra; 5x slower)")
    tick_lag_s: float = Field(60.0, ge=0, description="how far the stream clock trails the wall clock")
    streams_stage: Literal["all", "interactions", "screens"] = Field(
        "all",
        description="which stages this worker runs: all; interactions (cleaning, sessions, the clock); or screens "
        "(frame redaction, as its own consumer group <app id>-screens, sized apart)",
    )
    screens_stored_scale: float = Field(
        0.5, gt=0.05, le=1.0, description="scale of the frames that go on, after redaction at the scale they came in"
    )
    screens_deadline_s: float = Field(
        30.0, gt=0, description="a frame not redacted within this many seconds is dead-lettered, never forwarded"
    )
    screens_quality: int = Field(70, ge=10, le=95, description="JPEG quality of the redacted frames")

    def app_id(self) -> str:
        """The faust app id (consumer group): a screens-only worker is a group of its own."""
        return f"{self.streams_app_id}-screens" if self.streams_stage == "screens" else self.streams_app_id

    def session_config(self) -> SessionConfig:
        return SessionConfig(
            gap=timedelta(seconds=self.session_gap_s),
            max_length=timedelta(seconds=self.session_max_s),
            grace=timedelta(seconds=self.session_grace_s),
            max_events=self.session_max_events,
            events_move_clock=False,  # the clean stage holds typing back: its ticks move the clock
        )
