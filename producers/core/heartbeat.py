"""The agent's heartbeat: what it is doing, and its counts since the previous beat (pure core).

Every ``agent_heartbeat_seconds`` (30 s) the agent reads its counters into a :class:`Reading`
and :func:`beat` turns the difference with the previous reading into a ``Heartbeat`` for
``agents.heartbeat``: its state, the policy in force and whether it is valid, the scopes
consent grants, the spool, what was sent and dropped since the previous beat, and its own CPU
(share of one core since the previous beat) and resident memory. Like every record it carries
the device's pseudonym only. ``frames_dropped`` counts the frames the spool dropped (full,
or a frame larger than the whole spool); ``dropped`` every other record it dropped and every
input the listeners' queue dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from producers.core.status import AgentStatus
from schemas.control_records import Heartbeat


@dataclass(frozen=True)
class Reading:
    """The agent's counters at one moment (``at``: POSIX seconds; ``cpu_s``: process CPU time)."""

    at: float
    events: int
    frames: int
    dropped: int  # every record and input dropped, frames included
    frames_dropped: int
    cpu_s: float
    rss_bytes: int
    spool_bytes: int
    waiting_since: float | None  # POSIX seconds since records have been waiting to be sent


def beat(status: AgentStatus, version: str, now: Reading, previous: Reading | None) -> Heartbeat:
    """The heartbeat for ``now``, with counts since ``previous`` (since start for the first)."""
    before = previous or Reading(now.at, 0, 0, 0, 0, now.cpu_s, 0, 0, None)
    interval = now.at - before.at
    cpu = 100.0 * (now.cpu_s - before.cpu_s) / interval if interval > 0 else 0.0
    return Heartbeat(
        device_id=status.device_id,
        agent_version=version,
        sent_at=datetime.fromtimestamp(now.at, UTC),
        state=status.state,
        policy_version=status.policy_version,
        events_sent=now.events - before.events,
        frames_sent=now.frames - before.frames,
        spooled=status.spooled,
        dropped=(now.dropped - now.frames_dropped) - (before.dropped - before.frames_dropped),
        frames_dropped=now.frames_dropped - before.frames_dropped,
        interval_s=round(interval, 3),
        policy_valid=status.halted is None,
        policy_reason=status.halted or status.policy_note,
        scopes=tuple(sorted(status.scopes, key=lambda s: s.value)),
        paused=status.paused_until is not None,
        spool_bytes=now.spool_bytes,
        oldest_spooled_s=None if now.waiting_since is None else round(now.at - now.waiting_since, 3),
        cpu_percent=round(cpu, 3),
        rss_bytes=now.rss_bytes,
    )
