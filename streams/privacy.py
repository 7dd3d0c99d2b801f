"""The stream's second line of defense: consent at event time, and erasure requests (edge).

The agent captures only what a person's consent covers; the stream checks again, against the
consent ledger read from ``control.consent``, and drops (and counts) every event and frame
that consent did not cover when it happened, and everything of a person whose erasure was
requested. A record the ledger does not cover may only mean that the consent record is still
on its way, so before dropping, the gate reads the ledger up to its end (at most once a second).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime
from typing import Any

from runtime.control_topics import ControlFollower
from runtime.settings import Settings
from schemas.consent import ConsentLedger, erased, supersedes
from schemas.control_records import CaptureScope, ConsentRecord, ErasureRequest
from schemas.records import from_avro

log = logging.getLogger(__name__)


class PrivacyGate:
    """Answers: may this person's data of this moment and kind go on?"""

    def __init__(self, settings: Settings) -> None:
        self.ledger = ConsentLedger()
        self.erasures: dict[str, ErasureRequest] = {}
        self._lock = threading.Lock()
        self._followers = [
            ControlFollower(settings, "control.consent", self._record),
            ControlFollower(settings, "control.erasure", self._record),
        ]
        self._ready: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None
        self._last_refresh: dict[str, float] = {}

    def _record(self, name: str, value: dict[str, Any]) -> None:
        with self._lock:
            if name == "ConsentRecord":
                self.ledger.add(from_avro(ConsentRecord, value))
            elif name == "ErasureRequest":
                request = from_avro(ErasureRequest, value)
                if supersedes(request, self.erasures.get(request.user_id)):
                    self.erasures[request.user_id] = request
                    log.info("erasure of %s requested: dropping their data and open sessions", request.user_id)

    async def ready(self) -> None:
        """Start following the control topics and wait until what they hold now is read (every caller waits)."""
        if self._ready is None:
            for follower in self._followers:
                follower.start()
            self._ready = asyncio.ensure_future(self._caught_up(30.0))
        await asyncio.shield(self._ready)

    async def _caught_up(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        for follower in self._followers:
            if not await loop.run_in_executor(None, follower.wait_caught_up, timeout_s):
                log.warning("could not read %s to its end yet; what it does not cover yet is dropped", follower.topic)

    def erased(self, user_id: str, moment: datetime) -> bool:
        with self._lock:
            request = self.erasures.get(user_id)
        return erased(request, moment)

    def allows(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        if self.erased(user_id, moment):
            return False
        with self._lock:
            return self.ledger.covers(user_id, scope, moment)

    async def admits(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        """``allows``, after reading the ledger to its end if it says no (once a second per person at most)."""
        if self.allows(user_id, scope, moment):
            return True
        now = time.monotonic()
        if now - self._last_refresh.get(user_id, 0.0) >= 1.0:
            self._last_refresh[user_id] = now
            if self._refresh is None or self._refresh.done():  # callers share one read of the ledger
                self._refresh = asyncio.ensure_future(self._caught_up(5.0))
            await asyncio.shield(self._refresh)
            return self.allows(user_id, scope, moment)
        return False

    def stop(self) -> None:
        for follower in self._followers:
            follower.stop()
