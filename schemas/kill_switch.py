"""When a kill switch was on: the stream's second line of defense for the fleet's kill switch (pure core).

Every correctly signed policy (checked by the caller, ``schemas.signed_policy``) is a change
of its kill switch at its ``issued_at``. :meth:`KillSwitches.on_at` says whether a policy's
switch was on at a moment, so the stream drops events and frames recorded while it was, as
it does for consent. :meth:`KillSwitches.hosts_at` gives the site rules of the newest policy
issued by a moment, so the stream drops what a device sent from a site that policy denies
(a device cannot talk its way past the fleet's rules). Only changes seen are known: a switch
turned on and off before the stream first read ``control.policy`` (a compacted topic keeps the newest record only) no
longer counts; by then what was recorded under it has been dropped or was never captured.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from schemas.capture_policy import HostRules, host_rules
from schemas.control_records import Policy


class KillSwitches:
    def __init__(self) -> None:
        self._changes: dict[str, list[tuple[datetime, bool, str]]] = {}
        self._hosts: list[tuple[datetime, HostRules]] = []  # by issued_at, over every policy id

    def apply(self, policy: Policy) -> None:
        """Record a correctly signed policy's switch (in any order; the same one twice is ignored)."""
        changes = self._changes.setdefault(policy.policy_id, [])
        change = (policy.issued_at, policy.kill_switch, policy.kill_reason)
        if change not in changes:
            bisect.insort(changes, change)
        rules = host_rules(tuple(policy.allow_hosts), tuple(policy.deny_hosts), policy.unknown_hosts)
        if (policy.issued_at, rules) not in self._hosts:
            self._hosts.insert(
                bisect.bisect_right(self._hosts, policy.issued_at, key=_issued), (policy.issued_at, rules)
            )

    def hosts_at(self, moment: datetime) -> HostRules | None:
        """The site rules of the newest signed policy issued by ``moment``, or None (none seen)."""
        index = bisect.bisect_right(self._hosts, moment, key=_issued) - 1  # (per event: no list built)
        return self._hosts[index][1] if index >= 0 else None

    def on_at(self, moment: datetime) -> str | None:
        """The reason of a kill switch that was on at ``moment`` (``""`` if none was given), or None."""
        for changes in self._changes.values():
            index = bisect.bisect_right(changes, (moment, True, "\uffff")) - 1
            if index >= 0 and changes[index][1]:
                return changes[index][2]
        return None


def _issued(change: tuple[datetime, HostRules]) -> datetime:
    return change[0]
