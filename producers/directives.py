"""The agent's view of ``control.consent`` and ``control.policy``, kept current by two followers (edge).

Each :class:`ControlFollower` reads its topic from the beginning on its own thread. Consent
records of the agent's own person go into a :class:`ConsentLedger`; policies go through
:func:`producers.core.policy.newer`. Every change calls ``on_change`` (the agent's waker),
so a withdrawal recorded by an admin reaches the capture loop within a poll of the broker.
While Kafka is unreachable the followers retry quietly and the ledger stays as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from producers.core.policy import newer, validate_patterns
from producers.settings import AgentSettings
from runtime.control_topics import ControlFollower
from schemas.consent import ConsentLedger
from schemas.control_records import ConsentRecord, Policy
from schemas.records import from_avro

log = logging.getLogger(__name__)


class Directives:
    def __init__(self, settings: AgentSettings, user_id: str, on_change: Callable[[], None]) -> None:
        self.user_id, self.policy_id, self.on_change = user_id, settings.agent_policy_id, on_change
        self._ledger = ConsentLedger()
        self._policy: Policy | None = None
        self._lock = threading.Lock()
        self._followers = [
            ControlFollower(settings, "control.consent", self._on_consent),
            ControlFollower(settings, "control.policy", self._on_policy),
        ]

    def start(self) -> Directives:
        for follower in self._followers:
            follower.start()
        return self

    def stop(self) -> None:
        for follower in self._followers:
            follower.stop()

    def consent(self) -> ConsentRecord | None:
        """The ledger's newest record for this person."""
        with self._lock:
            return self._ledger.latest(self.user_id)

    def policy(self) -> Policy | None:
        """The newest published policy this agent follows, or None (the configured one applies)."""
        with self._lock:
            return self._policy

    def _on_consent(self, name: str, value: dict[str, Any]) -> None:
        if name != "ConsentRecord" or value.get("user_id") != self.user_id:
            return
        record = from_avro(ConsentRecord, value)
        with self._lock:
            self._ledger.add(record)
        self.on_change()

    def _on_policy(self, name: str, value: dict[str, Any]) -> None:
        if name != "Policy":
            return
        policy = from_avro(Policy, value)
        try:
            validate_patterns(tuple(policy.deny_title_patterns))
        except ValueError as exc:
            log.warning("ignoring policy %s %s from control.policy: %s", policy.policy_id, policy.version, exc)
            return
        with self._lock:
            self._policy = newer(self._policy, policy, self.policy_id)
        self.on_change()
