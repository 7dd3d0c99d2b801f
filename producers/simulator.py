"""``teachstream simulate``: synthetic devices publishing to the raw topics (edge)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from confluent_kafka import KafkaError

from producers.core.screens import primary_monitor, render_frame
from producers.core.simulation import BUSY, SCREEN_H, SCREEN_W, FrameRequest, Profile, people, simulate
from producers.publisher import DeliveryHook, Publisher
from runtime.settings import Settings
from schemas.codec import Codec
from schemas.control_records import ConsentRecord, ConsentState
from schemas.errors import BrokerUnavailableError
from schemas.events import ScreenFrame, TypingPause
from schemas.ledger import LedgerRecord
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
    profile: Profile = BUSY,
    ledger: Path | None = None,
    tag: str = "",
    frames: bool = True,
    offline: tuple[float, float] | None = None,
) -> SimulationResult:
    """Publish the simulated activity of ``devices`` people; with ``ledger``, write every record's
    identity and whether the broker acknowledged it to that file (JSON lines, see schemas.ledger). With
    ``offline`` (start, seconds), the devices lose the network for that long: what they capture meanwhile is
    held, as the agent's spool holds it, and published in order when they are back."""
    with ExitStack() as stack:
        out = stack.enter_context(ledger.open("w", encoding="utf-8")) if ledger else None
        return _run(settings, devices, duration_s, seed, realtime, scale, clock, profile, out, tag, frames, offline)


def _run(
    settings: Settings,
    devices: int,
    duration_s: float,
    seed: int,
    realtime: bool,
    scale: float,
    clock: Callable[[], float],
    profile: Profile,
    ledger: TextIO | None,
    tag: str,
    with_frames: bool,
    offline: tuple[float, float] | None,
) -> SimulationResult:
    codec = Codec.from_url(settings.schema_registry_url)
    rng = random.Random(seed)
    persons = people(devices, settings.pseudonym_key.get_secret_value().encode(), rng, tag)
    start = datetime.now(UTC)
    events_topic, frames_topic = settings.topic("interactions.raw"), settings.topic("screens.raw")
    publisher = Publisher(settings.kafka(), "teachstream-simulator")
    consent_topic = settings.topic("control.consent")
    for person in persons:  # the simulated people agreed to be recorded, as their agents would have published
        granted = ConsentRecord(
            person.user_id, ConsentState.GRANTED, "simulated", start - timedelta(minutes=1), person.user_id
        )
        publisher.publish(consent_topic, person.user_id.encode(), codec.encode("ConsentRecord", to_avro(granted)))
    if publisher.flush(60):  # as the agent: nothing is captured before the consent is on its topic
        raise BrokerUnavailableError("the simulated consent records were not acknowledged within 60 s")
    t0 = clock()
    events = frames = pauses = 0
    spool: list[tuple[str, bytes, bytes, DeliveryHook | None]] = []  # held while offline, in order

    def send(topic: str, key: bytes, value: bytes, hook: DeliveryHook | None, at: datetime) -> None:
        if offline is not None and offline[0] <= (at - start).total_seconds() < offline[0] + offline[1]:
            spool.append((topic, key, value, hook))
            return
        for held in spool:  # back online: what was held goes first
            _publish(publisher, *held)
        spool.clear()
        _publish(publisher, topic, key, value, hook)

    for item in simulate(persons, start, duration_s, seed, profile):
        if realtime:
            wait = (item.event_time - start).total_seconds() - (clock() - t0)
            if wait > 0:
                time.sleep(wait)
        key = item.device_id.encode()
        if isinstance(item, FrameRequest) and not with_frames:
            continue
        if isinstance(item, FrameRequest):
            frame = _frame(item, scale)
            record = LedgerRecord("f", item.device_id, item.seq, True, frame_id=frame.frame_id)
            value = codec.encode("ScreenFrame", to_avro(frame), frames_topic)
            send(frames_topic, key, value, _entry(ledger, record), item.event_time)
            frames += 1
        else:
            marker = isinstance(item.payload, TypingPause)
            record = LedgerRecord("e", item.device_id, item.seq, True, marker=marker)
            value = codec.encode("InteractionEvent", to_avro(item), events_topic)
            send(events_topic, key, value, _entry(ledger, record), item.event_time)
            events += 1
            pauses += marker
    if spool and realtime:  # still offline at the end: back online when the outage ends
        time.sleep(max(0.0, offline[1] + offline[0] - (clock() - t0)) if offline else 0.0)
    for held in spool:
        _publish(publisher, *held)
    publisher.close()
    ids = tuple(p.device_id for p in persons)
    return SimulationResult(devices, events, frames, publisher.stats.delivered, ids, pauses)


def _publish(publisher: Publisher, topic: str, key: bytes, value: bytes, hook: DeliveryHook | None) -> None:
    while not publisher.try_publish(topic, key, value, hook):
        publisher.poll(0.1)  # the local queue is full: wait for deliveries
    publisher.poll(0)


def _entry(ledger: TextIO | None, record: LedgerRecord) -> DeliveryHook | None:
    """The delivery hook that writes ``record`` to the ledger with the broker's answer."""
    if ledger is None:
        return None

    def written(err: KafkaError | None) -> None:
        done = record if err is None else LedgerRecord(
            record.kind, record.device_id, record.seq, False, record.marker, record.frame_id, err.str()
        )  # fmt: skip
        ledger.write(done.to_line())

    return written


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
