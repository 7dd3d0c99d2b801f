"""Turns the recorder's outputs into numbered, encoded records in the spool (edge).

Events and frames of a device share one sequence (:class:`SeqAllocator`), whose
reservations are fsynced to ``<state>/seq`` before use, so numbers keep increasing across
restarts. Ids leave the device only as keyed-hash pseudonyms, and window titles only after
the person's user name, host name and emails were replaced (:class:`Identities`); the same
names typed as text leave as redacted key events (:class:`TypedIdentities`, which may hold a
few key events back while a word could still become one of them).

Events are numbered at once but encoded and appended to the spool in batches, by
:meth:`Outbox.flush` (the agent calls it every 0.2 s, and before every frame, so the spool
stays in sequence order): encoding a few events in a row costs far less than one event per
wake-up of a cold pipeline thread.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path

from producers.core.identity import Identities, TypedIdentities
from producers.core.sequence import SeqAllocator
from producers.screen import Shot
from producers.spool import Spool
from schemas.codec import Codec
from schemas.events import InteractionEvent, Payload, ScreenFrame, VisibleWindow, WindowContext
from schemas.records import to_avro

EVENTS, FRAMES = "interactions.raw", "screens.raw"


class Outbox:
    def __init__(
        self, state_dir: Path, spool: Spool, codec: Codec, device_id: str, user_id: str, identities: Identities
    ) -> None:
        self.spool, self.codec, self.identities = spool, codec, identities
        self.device_id, self.user_id = device_id, user_id
        self._key = device_id.encode()
        self._seq_file = state_dir / "seq"
        try:
            persisted = int(self._seq_file.read_text().strip() or 0)
        except (OSError, ValueError):
            persisted = 0
        self.seq = SeqAllocator.resume(persisted)
        self.events = self.frames = 0
        self._queued: list[InteractionEvent] = []
        self.typed = TypedIdentities(identities)

    @property
    def queued(self) -> int:
        """Events numbered but not yet in the spool."""
        return len(self._queued)

    def event(self, t: float, payload: Payload, context: WindowContext | None) -> int:
        seq = self._next()
        event = InteractionEvent(
            self.device_id,
            self.user_id,
            seq,
            _utc(t),
            payload,
            self.identities.context(context),
            time.localtime(t).tm_gmtoff // 60,
        )
        self._queued += self.typed.push(event)
        self.events += 1
        return seq

    def flush(self, held: bool = False) -> int:
        """Encode the queued events into the spool; returns how many.

        Events held while they may be a typed identity go too once held long enough, or when
        ``held`` (before a frame, whose number is higher, and at shutdown).
        """
        self._queued += self.typed.release(None if held else _utc(time.time()))
        queued, self._queued = self._queued, []
        encode = self.codec.encode
        for event in queued:
            self.spool.append(EVENTS, self._key, encode("InteractionEvent", to_avro(event), EVENTS))
        return len(queued)

    def frame(
        self,
        t: float,
        trigger: str,
        shot: Shot,
        scale: float,
        windows: list[VisibleWindow],
        redactions: tuple[str, ...],
    ) -> int:
        self.flush(held=True)
        seq = self._next()
        frame = ScreenFrame(
            self.device_id,
            self.user_id,
            seq,
            _utc(t),
            f"{self.device_id}-{seq}",
            trigger,
            shot.jpeg,
            shot.width,
            shot.height,
            shot.monitor,
            tuple(self.identities.window(w) for w in windows),
            scale=scale,
            redactions=redactions,
        )
        self.spool.append(FRAMES, self._key, self.codec.encode("ScreenFrame", to_avro(frame), FRAMES))
        self.frames += 1
        return seq

    def _next(self) -> int:
        seq, reserve = self.seq.take()
        if reserve is not None:
            tmp = self._seq_file.with_suffix(".tmp")
            with tmp.open("w") as f:
                f.write(f"{reserve}\n")
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(self._seq_file)
        return seq


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
