"""The agent's view of ``control.consent`` and ``control.policy``, kept current by followers (edge).

The person's consent records come through one :class:`PrivacyFeed` of ``control.consent``
that keeps this person only (``only_user``); its :class:`PrivacyState` is the one holder of
the ledger; the same follower (one Kafka client) reads ``control.policy``. Each policy is
checked against the trusted keys as it arrives (``schemas.signed_policy``); the newest
correctly signed one is kept (:func:`producers.core.policy.newer`), and a record that fails
the check is remembered until a correctly signed one arrives after it (the agent halts
meanwhile, see :func:`producers.core.policy.standing`). Every change calls ``on_change`` (the agent's waker),
so a withdrawal recorded by an admin reaches the capture loop within a poll of the broker.
While Kafka is unreachable the followers retry quietly and what they hold stays as it was.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from producers.core.policy import newer, validate_patterns
from producers.settings import AgentSettings
from runtime.privacy_feed import PrivacyFeed
from schemas.capture_policy import validate_hosts
from schemas.control_records import ConsentRecord, ErasureRequest, Policy
from schemas.privacy import Change
from schemas.records import from_avro
from schemas.signed_policy import Validity, check_signature, describe

log = logging.getLogger(__name__)


class Directives:
    def __init__(self, settings: AgentSettings, user_id: str, on_change: Callable[[], None]) -> None:
        self.user_id, self.policy_id, self.on_change = user_id, settings.agent_policy_id, on_change
        self.keys = settings.trusted_policy_keys()
        self._policy: Policy | None = None
        self._rejected: str | None = None
        self._lock = threading.Lock()
        self.privacy = PrivacyFeed(
            settings, user_id, self._on_consent, topics=("control.consent",), also={"control.policy": self.apply_policy}
        )

    def start(self) -> Directives:
        self.privacy.start()
        return self

    def stop(self) -> None:
        self.privacy.stop()

    def consent(self) -> ConsentRecord | None:
        """The ledger's newest record for this person."""
        return self.privacy.latest(self.user_id)

    def policy(self) -> tuple[Policy | None, str | None]:
        """The newest correctly signed policy for this agent (None: none yet), and why the
        newest record that arrived after it was refused (None: it was not)."""
        with self._lock:
            return self._policy, self._rejected

    def _on_consent(self, _record: ConsentRecord | ErasureRequest, _change: Change | None) -> None:
        self.on_change()

    def apply_policy(self, name: str, value: dict[str, Any]) -> None:
        """Take one decoded record of ``control.policy`` (the follower's callback)."""
        if name != "Policy":
            return
        policy = from_avro(Policy, value)
        if self.policy_id is not None and policy.policy_id != self.policy_id:
            return
        if not self.keys:
            log.warning("ignoring policy %s %s: no policy keys configured", policy.policy_id, policy.version)
            return
        verdict = check_signature(policy, self.keys)
        if verdict.valid:
            try:
                validate_patterns(tuple(policy.deny_title_patterns))
            except ValueError as exc:
                verdict = Validity(False, f"{describe(policy)} has a bad title pattern: {exc}")
            try:
                validate_hosts(tuple(policy.allow_hosts) + tuple(policy.deny_hosts))
            except ValueError as exc:
                verdict = Validity(False, f"{describe(policy)} has a bad host pattern: {exc}")
        with self._lock:
            if verdict.valid:
                self._policy, self._rejected = newer(self._policy, policy, self.policy_id), None
            else:
                self._rejected = verdict.reason
        if not verdict.valid:
            log.warning("refused %s", verdict.reason)
        self.on_change()
