"""``teachstream ledger-check``: what a load run published against what landed (edge).

Reads the ledger ``teachstream simulate --ledger`` wrote, the dataset's sessions (through
the dataset reader, as an ML team would), the frames in ``screens.clean`` and the dead
letters, and hands them to :func:`schemas.ledger.check`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runtime.settings import Settings
from schemas.codec import Codec
from schemas.control_records import DeadLetter
from schemas.dataset import dataset_root
from schemas.errors import CodecError
from schemas.ledger import LandedSession, LedgerRecord, LedgerReport, check, read_ledger
from schemas.records import from_avro
from sinks.s3 import s3_client
from teachstream import dataset
from teachstream.tail import read_topic

log = logging.getLogger(__name__)


@dataclass
class DeadLetters:
    events: list[tuple[str, int]] = field(default_factory=list)
    frames: list[tuple[str, str]] = field(default_factory=list)
    unreadable: int = 0  # dead letters whose original names no event or frame (random bytes, a tick, …)


def load_ledger(path: Path) -> list[LedgerRecord]:
    with path.open(encoding="utf-8") as lines:
        return list(read_ledger(lines))


def check_ledger(settings: Settings, ledger: list[LedgerRecord]) -> tuple[LedgerReport, DeadLetters]:
    devices = {r.device_id for r in ledger}
    codec = Codec.from_url(settings.schema_registry_url)
    ds = dataset.open(f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}", client=s3_client(settings))
    sessions = [LandedSession(s.session_id, s.device_id, s.start_time, s.seqs) for s in ds.sessions()]
    dead = dead_letters(settings, codec, devices)
    clean = list(_clean_frames(settings, codec, devices))
    return check(ledger, sessions, dead.events, clean, dead.frames), dead


def dead_letters(settings: Settings, codec: Codec, devices: set[str]) -> DeadLetters:
    """The events and frames of ``devices`` the dead-letter topic holds."""
    out = DeadLetters()
    for msg in read_topic(settings, settings.topic("deadletter")):
        try:
            letter = from_avro(DeadLetter, codec.decode(msg.value() or b"").value)
            original = codec.decode(letter.original)
        except (CodecError, ValueError, TypeError, KeyError):
            out.unreadable += 1
            continue
        value, name = original.value, original.short_name
        if name not in ("InteractionEvent", "ScreenFrame", "Trajectory"):  # a tick, ...: it names no event or frame
            out.unreadable += 1
            continue
        device = str(value.get("device_id", ""))
        if device not in devices:
            continue
        if name == "InteractionEvent":
            out.events.append((device, int(value["seq"])))
        elif name == "ScreenFrame":
            out.frames.append((device, str(value["frame_id"])))
        elif name == "Trajectory":  # a session the sink gave up on holds all its events
            out.events.extend((device, seq) for r in value.get("seq_ranges", ()) for seq in _span(r))
    return out


def _span(r: dict[str, int]) -> range:
    return range(int(r["first"]), int(r["last"]) + 1)


def _clean_frames(settings: Settings, codec: Codec, devices: set[str]) -> Iterator[tuple[str, str]]:
    for msg in read_topic(settings, settings.topic("screens.clean")):
        try:
            decoded = codec.decode(msg.value() or b"")
        except CodecError as exc:  # the screens stage writes only valid frames; say so if not
            log.warning("screens.clean[%s]@%s is not a record: %s", msg.partition(), msg.offset(), exc)
            continue
        if decoded.short_name == "ScreenFrame" and decoded.value.get("device_id") in devices:
            yield str(decoded.value["device_id"]), str(decoded.value["frame_id"])
