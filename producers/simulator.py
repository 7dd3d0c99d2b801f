"""``teachstream simulate``: synthetic devices publishing to the raw topics (edge)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from producers.core.screens import primary_monitor, render_frame
from producers.core.simulation import SCREEN_H, SCREEN_W, FrameRequest, people, simulate
from producers.publisher import Publisher
from runtime.settings import Settings
from schemas.codec import Codec
from schemas.control_records import ConsentRecord, ConsentState
from schemas.events import ScreenFrame, TypingPause
from schemas.records import to_avro

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulationResult:
    devices: int
    events: int
    frames: int
    delivered: int
    device_ids: tuple[str, ...] = ()
    pauses: int = 0  # TypingPause markers among the events: they close segments and go no further than cleaning


def run_simulation(
    settings: Settings,
    devices: int,
    duration_s: float,
    seed: int,
    realtime: bool = True,
    scale: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
) -> SimulationResult:
    codec = Codec.from_url(settings.schema_registry_url)
    rng = random.Random(seed)
    persons = people(devices, settings.pseudonym_key.get_secret_value().encode(), rng)
    start = datetime.now(UTC)
    events_topic, frames_topic = settings.topic("interactions.raw"), settings.topic("screens.raw")
    publisher = Publisher(settings.kafka(), "teachstream-simulator")
    consent_topic = settings.topic("control.consent")
    for person in persons:  # the simulated people agreed to be recorded, as their agents would have published
        granted = ConsentRecord(
            person.user_id, ConsentState.GRANTED, "simulated", start - timedelta(minutes=1), person.user_id
        )
        publisher.publish(consent_topic, person.user_id.encode(), codec.encode("ConsentRecord", to_avro(granted)))
    t0 = clock()
    events = frames = pauses = 0
    for item in simulate(persons, start, duration_s, seed):
        if realtime:
            wait = (item.event_time - start).total_seconds() - (clock() - t0)
            if wait > 0:
                time.sleep(wait)
        key = item.device_id.encode()
        if isinstance(item, FrameRequest):
            publisher.publish(
                frames_topic, key, codec.encode("ScreenFrame", to_avro(_frame(item, scale)), frames_topic)
            )
            frames += 1
        else:
            publisher.publish(events_topic, key, codec.encode("InteractionEvent", to_avro(item), events_topic))
            events += 1
            pauses += isinstance(item.payload, TypingPause)
    publisher.close()
    ids = tuple(p.device_id for p in persons)
    return SimulationResult(devices, events, frames, publisher.stats.delivered, ids, pauses)


def _frame(req: FrameRequest, scale: float) -> ScreenFrame:
    jpeg, (w, h), windows = render_frame(req.context, req.pointer, (SCREEN_W, SCREEN_H), scale)
    return ScreenFrame(
        device_id=req.device_id,
        user_id=req.user_id,
        seq=req.seq,
        event_time=req.event_time,
        frame_id=f"{req.device_id}-{req.seq}",
        trigger=req.trigger,
        image=jpeg,
        width=w,
        height=h,
        monitor=primary_monitor((SCREEN_W, SCREEN_H)),
        windows=windows,
        scale=scale,
    )
