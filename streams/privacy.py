"""The stream's second line of defense: consent at event time, and erasure requests (edge).

The agent captures only what a person's consent covers; the stream checks again, against the
one privacy state (:class:`schemas.privacy.PrivacyState`, fed from ``control.consent`` and
``control.erasure`` by :class:`runtime.privacy_feed.PrivacyFeed`), and drops (and counts)
every event and frame that consent did not cover when it happened, and everything of a person
whose erasure was requested. A record the state does not cover may only mean that the
consent record is still on its way, so before dropping, the gate reads the control topics up
to their end (at most once a second per person). It also drops what was recorded while the
fleet's kill switch was on (``runtime.kill_switch_feed``, signed policies only). The gate holds
no state of its own: it only turns the feeds' blocking waits into something the agents can await.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from typing import Protocol

from runtime.privacy_feed import PrivacyFeed
from runtime.settings import Settings
from schemas.capture_policy import HostRules
from schemas.control_records import CaptureScope


class Feed(Protocol):
    """What the gate asks of a :class:`runtime.privacy_feed.PrivacyFeed` (unit tests pass one without followers)."""

    def start(self) -> object: ...
    def stop(self) -> None: ...
    def wait_caught_up(self, timeout_s: float) -> bool: ...
    def covers(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool: ...
    def erased(self, user_id: str, moment: datetime) -> bool: ...
    @property
    def ignored(self) -> Counter[str]: ...


class Switches(Protocol):
    """What the gate asks of a :class:`runtime.kill_switch_feed.KillSwitchFeed`."""

    def start(self) -> object: ...
    def stop(self) -> None: ...
    def wait_caught_up(self, timeout_s: float) -> bool: ...
    def on_at(self, moment: datetime) -> str | None: ...
    def hosts_at(self, moment: datetime) -> HostRules | None: ...


class PrivacyGate:
    """Answers: may this person's data of this moment and kind go on? Was the fleet's kill switch on?"""

    def __init__(self, feed: Feed, switches: Switches | None = None) -> None:
        self.feed, self.switches = feed, switches
        self._ready: asyncio.Future[bool] | None = None
        self._refresh: asyncio.Future[bool] | None = None
        self._said_no: dict[str, float] = {}  # person -> when the last complete read that said no to them began
        self._began = 0.0  # when the read under way (or the last one) began

    @classmethod
    def following(cls, settings: Settings) -> PrivacyGate:
        """A gate on a feed of the control topics named by ``settings`` (started by :meth:`ready`)."""
        from runtime.kill_switch_feed import KillSwitchFeed

        switches = KillSwitchFeed(settings, follow=False)  # served by the privacy feed's follower
        return cls(PrivacyFeed(settings, also=switches.routes), switches)

    async def ready(self) -> None:
        """Start following the control topics and wait until what they hold now is read (every caller waits)."""
        if self._ready is None:  # (no await before the future is set: every caller shares one start)
            self.feed.start()
            if self.switches is not None:
                self.switches.start()
            self._ready = self._caught_up(30.0)
        await asyncio.shield(self._ready)

    def _caught_up(self, timeout_s: float) -> asyncio.Future[bool]:
        """The feeds' waits, off the event loop; a feed warns about a topic it could not read to its end."""

        def wait() -> bool:
            caught_up = self.feed.wait_caught_up(timeout_s)
            return (self.switches is None or self.switches.wait_caught_up(timeout_s)) and caught_up

        return asyncio.get_running_loop().run_in_executor(None, wait)

    def erased(self, user_id: str, moment: datetime) -> bool:
        return self.feed.erased(user_id, moment)

    def killed(self, moment: datetime) -> bool:
        """Whether the fleet's kill switch was on at ``moment`` (a signed policy turned it on)."""
        return self.switches is not None and self.switches.on_at(moment) is not None

    def hosts_at(self, moment: datetime) -> HostRules | None:
        """The site rules of the signed policy in force at ``moment`` (None: no signed policy seen)."""
        return None if self.switches is None else self.switches.hosts_at(moment)

    def allows(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        """Not erased, and covered by consent at ``moment`` (:meth:`schemas.privacy.PrivacyState.covers`)."""
        return self.feed.covers(user_id, scope, moment)

    async def admits(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        """``allows``, after reading the control topics to their end if it says no. The answer for a record
        comes from a complete read that began after the record arrived (a read already under way may predate
        the person's consent); while the topics cannot be read to their end (brokers restarting), the record
        waits. After a complete read said no to a person, their records get no for a second without a read."""
        asked = time.monotonic()
        while not self.allows(user_id, scope, moment):
            if self._refresh is None or self._refresh.done():
                if asked - self._said_no.get(user_id, float("-inf")) < 1.0:
                    return False  # a complete read begun for this person less than a second before said no
                self._refresh, self._began = self._caught_up(5.0), time.monotonic()  # callers share one read
            refresh, began = self._refresh, self._began
            if not await asyncio.shield(refresh):
                await asyncio.sleep(0.5)  # not read to the end (the feed said so in its log): hold, read again
                continue
            if began >= asked:
                allowed = self.allows(user_id, scope, moment)
                if not allowed:
                    self._said_no[user_id] = began
                return allowed
        return True

    async def passes(
        self, user_id: str, scope: CaptureScope | None, moment: datetime, counters: Counter[str], what: str
    ) -> bool:
        """Not recorded under the kill switch, and ``admits``; a drop is counted as
        ``kill_switch.dropped_<what>`` or ``consent.dropped_<what>``."""
        if self.killed(moment):
            counters[f"kill_switch.dropped_{what}"] += 1
            return False
        if not await self.admits(user_id, scope, moment):
            counters[f"consent.dropped_{what}"] += 1  # not covered by consent when it happened
            return False
        return True

    def stop(self) -> None:
        self.feed.stop()
        if self.switches is not None:
            self.switches.stop()
