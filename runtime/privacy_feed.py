"""One follower of ``control.consent`` and ``control.erasure`` feeding one :class:`PrivacyState` (edge).

The same follower (one Kafka client) may serve other control topics of the process
(``also``: the agent's policies, the stream's kill switch), each with its own callback.

The agent, the stream worker and the sink each hold a feed and ask it the state's questions
(``covers``, ``withheld``, ``erased``, ``withdrawn_since``, ``latest``), which read the state
under a lock. ``on_change(record, change)`` is called, on the followers' threads, after each
record is applied; ``change`` is a new withdrawal or erasure request, or None. A record that
cannot be applied stops the process (see :mod:`runtime.control_topics`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from runtime.control_topics import ControlFollower, OnRecord, stop_process
from runtime.settings import Settings
from schemas.control_records import CaptureScope, ConsentRecord, ErasureRequest
from schemas.errors import ControlRecordError
from schemas.privacy import Change, PrivacyState
from schemas.records import from_avro
from schemas.validation import control_problem

log = logging.getLogger(__name__)
TOPICS = ("control.consent", "control.erasure")
_TYPES: dict[str, type[ConsentRecord] | type[ErasureRequest]] = {
    "ConsentRecord": ConsentRecord,
    "ErasureRequest": ErasureRequest,
}


def screen(name: str, value: dict[str, Any], key: bytes | None) -> str | None:
    """Why a consent or erasure record must be ignored (``schemas.validation.control_problem``), or None."""
    kind = _TYPES.get(name)
    if kind is None:
        return None
    try:
        return control_problem(from_avro(kind, value), key, datetime.now(UTC))
    except (ValueError, TypeError, KeyError) as exc:
        return f"not a valid {name}: {type(exc).__name__}: {exc}"


class PrivacyFeed:
    def __init__(
        self,
        settings: Settings,
        only_user: str | None = None,
        on_change: Callable[[ConsentRecord | ErasureRequest, Change | None], None] | None = None,
        topics: tuple[str, ...] = TOPICS,
        on_failure: Callable[[ControlRecordError], None] = stop_process,
        also: Mapping[str, OnRecord] | None = None,
    ) -> None:
        self.state = PrivacyState(only_user)
        self.on_change = on_change
        self._lock = threading.Lock()
        routes = {**dict.fromkeys(topics, self.apply), **(also or {})}
        self.follower = ControlFollower(settings, routes, on_failure=on_failure, screen=screen)

    def apply(self, name: str, value: dict[str, Any]) -> None:
        """Apply one decoded record of a consent or erasure topic (the follower's callback)."""
        kind = _TYPES.get(name)
        if kind is None:
            log.warning("ignoring a %s on a consent or erasure topic", name)
            return
        record = from_avro(kind, value)
        with self._lock:
            change = self.state.apply(record)
        if isinstance(record, ErasureRequest) and change is not None:
            log.info("erasure of %s requested: their data up to the request is dropped", record.user_id)
        if self.on_change is not None and (self.state.only_user in (None, record.user_id)):
            self.on_change(record, change)

    @property
    def ignored(self) -> Counter[str]:
        """Records of the followed topics not applied, by why (``control.ignored.<why>``)."""
        return self.follower.ignored

    def start(self) -> PrivacyFeed:
        self.follower.start()
        return self

    def stop(self) -> None:
        self.follower.stop()

    def wait_caught_up(self, timeout_s: float) -> bool:
        """True once every record in the topics now has been applied; otherwise warns, naming the topics."""
        if self.follower.wait_caught_up(timeout_s):
            return True
        topics = ", ".join(self.follower.topics)
        log.warning("could not read %s to the end yet; what they do not cover yet is held back", topics)
        return False

    def covers(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        with self._lock:
            return self.state.covers(user_id, scope, moment)

    def withheld(self, user_id: str, moment: datetime) -> bool:
        with self._lock:
            return self.state.withheld(user_id, moment)

    def erased(self, user_id: str, moment: datetime) -> bool:
        with self._lock:
            return self.state.erased(user_id, moment)

    def withdrawn_since(self, user_id: str) -> datetime | None:
        with self._lock:
            return self.state.withdrawn_since(user_id)

    def latest(self, user_id: str) -> ConsentRecord | None:
        with self._lock:
            return self.state.latest(user_id)
