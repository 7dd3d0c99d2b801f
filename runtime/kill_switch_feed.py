"""The fleet's kill switch as the stream sees it: ``control.policy`` followed, signatures checked (edge).

Each record of ``control.policy`` signed by a trusted key (``policy_keys``) goes into a
:class:`schemas.kill_switch.KillSwitches`; others are logged and ignored. Without trusted
keys the feed does not follow the topic: a kill switch cannot be told from a forgery. A
process that follows other control topics serves the feed from its own follower instead
(``follow=False`` and :attr:`KillSwitchFeed.routes`), so that one Kafka client reads them all.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from runtime.control_topics import ControlFollower, OnRecord
from runtime.settings import Settings
from schemas.capture_policy import HostRules
from schemas.control_records import Policy
from schemas.kill_switch import KillSwitches
from schemas.records import from_avro
from schemas.signed_policy import check_signature

log = logging.getLogger(__name__)


class KillSwitchFeed:
    def __init__(self, settings: Settings, follow: bool = True) -> None:
        self.keys = settings.trusted_policy_keys()
        self.switches = KillSwitches()
        self._lock = threading.Lock()
        self.routes: dict[str, OnRecord] = {"control.policy": self.apply} if self.keys else {}
        self.follower = ControlFollower(settings, self.routes) if self.routes and follow else None

    def apply(self, name: str, value: dict[str, Any]) -> None:
        """Apply one decoded record of ``control.policy`` (the follower's callback)."""
        if name != "Policy":
            return
        policy = from_avro(Policy, value)
        verdict = check_signature(policy, self.keys)
        if not verdict.valid:
            log.warning("kill switch feed: ignoring %s", verdict.reason)
            return
        with self._lock:
            self.switches.apply(policy)

    def start(self) -> KillSwitchFeed:
        if self.follower is not None:
            self.follower.start()
        return self

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    def wait_caught_up(self, timeout_s: float) -> bool:
        return self.follower is None or self.follower.wait_caught_up(timeout_s)

    def on_at(self, moment: datetime) -> str | None:
        with self._lock:
            return self.switches.on_at(moment)

    def hosts_at(self, moment: datetime) -> HostRules | None:
        with self._lock:
            return self.switches.hosts_at(moment)
