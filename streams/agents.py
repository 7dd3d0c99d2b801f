"""Wiring of the stream worker: which agents run, and the stream clock (edge).

Agents catch every per-record failure themselves: a faust agent that raises still
acknowledges its message, so an exception would lose the record silently.

* ``streams.cleaning``: one pass over interactions.raw that filters by consent
  (``streams.privacy``) and policy, redacts, and hands what it releases to the sessions of the
  same partition (``streams.sessionizer``), whose frames come from screens.clean in the same
  pass; and the screens stage, raw frames to screens.clean, redacted, in the partition they came from;
* the clock: every few seconds, on the leader, a ``Tick`` into every partition of
  interactions.raw. The clean stage closes idle typing segments with it, and the sessions of
  the partition follow it, held back to the oldest event the clean stage still holds; it also
  goes on to the same partition of interactions.clean for its readers. Silent devices'
  sessions close, and a replay of the log sees the same clock.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from datetime import UTC, datetime, timedelta

import faust

from runtime.metrics import serve
from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.control_records import Tick
from schemas.records import to_avro
from schemas.topics import spec_for
from streams import cleaning
from streams.core.known import KnownPii
from streams.core.redaction import default_person_finder
from streams.core.screen_redactor import ScreenRedactor
from streams.privacy import PrivacyGate
from streams.settings import StreamsSettings

log = logging.getLogger(__name__)
counters: Counter[str] = Counter()


def register(app: faust.App, settings: StreamsSettings) -> None:
    """The stages of ``settings.streams_stage``. With ``all``, the screen redaction of a device also looks for
    what the interaction stage found in its typed text (the raw topics are co-partitioned by device, and faust
    assigns co-partitioned topics to the same worker); a screens-only worker relies on its detectors and the
    frames' titles."""
    codec = Codec.from_url(settings.schema_registry_url)
    gate = PrivacyGate.following(settings)
    stage = settings.streams_stage
    known = KnownPii() if stage == "all" else None
    if stage in ("all", "interactions"):
        cleaning.register_interactions(app, settings, codec, counters, gate, known=known)
        _register_clock(app, settings, codec)
    if stage in ("all", "screens"):
        names = default_person_finder(settings.names_ner) if settings.redact_names else None
        redactor = ScreenRedactor(
            CapturePolicy(), known, names, settings.screens_stored_scale, settings.screens_quality
        )
        cleaning.register_screens(app, settings, codec, counters, gate, redact_pixels=redactor)

    if settings.metrics_port:
        serve(settings.metrics_port, settings.metrics_bind, lambda: counters + gate.feed.ignored)

    async def report() -> None:
        everything = counters + gate.feed.ignored
        if everything:
            log.info("stream counters: %s", ", ".join(f"{k}={v}" for k, v in sorted(everything.items())))

    app.timer(interval=30.0)(report)


def _register_clock(app: faust.App, settings: StreamsSettings, codec: Codec) -> None:
    spec = spec_for("interactions.raw")
    assert spec is not None
    raw = app.topic(settings.topic("interactions.raw"), partitions=spec.partitions)
    lag, name = timedelta(seconds=settings.tick_lag_s), f"{settings.streams_app_id}:{os.getpid()}"

    async def tick() -> None:
        now = datetime.now(UTC) - lag
        for partition in range(spec.partitions):
            value = codec.encode("Tick", to_avro(Tick(partition, now, name)))
            await raw.send(value=value, partition=partition)

    app.timer(interval=settings.tick_interval_s, on_leader=True)(tick)
