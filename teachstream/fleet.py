"""The fleet at a glance: one line per device from the agents' heartbeats (pure core).

Agents send a ``Heartbeat`` to ``agents.heartbeat`` every 30 s. :func:`fleet_rows` keeps
each device's newest beat (by ``sent_at``) and turns it into a :class:`DeviceRow` as of a
moment ``now``: a device not heard from for longer than ``stale_after`` (90 s, three missed
beats) shows the state ``stale`` instead of the one it last reported, and a device whose
policy version is not the newest one the fleet reports is flagged. :func:`select` filters the
rows, :func:`summarize` counts them, and :func:`table`, :func:`rows_json`,
:func:`summary_lines` and :func:`summary_json` write them for people and for scripts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.control_records import Heartbeat

DEFAULT_STALE_AFTER = timedelta(seconds=90)
STALE = "stale"
CONFIGURED = "configured"  # shown for a device on its own configured policy (no published version)
ROW_KEYS = (
    "device_id",
    "state",
    "reported_state",
    "last_seen",
    "age_s",
    "agent_version",
    "policy_version",
    "policy_stale",
    "policy_valid",
    "policy_reason",
    "spooled",
    "spool_bytes",
    "oldest_spooled_s",
    "dropped",
    "frames_dropped",
    "cpu_percent",
    "rss_mib",
)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_HEADER = ("DEVICE", "SEEN", "STATE", "AGENT", "POLICY", "SPOOL", "DROPS", "CPU", "RSS", "NOTES")
_RIGHT = frozenset({1, 6, 7, 8})  # columns of numbers, aligned right


@dataclass(frozen=True)
class DeviceRow:
    """What the fleet view shows about one device, from its newest heartbeat."""

    device_id: str
    sent_at: datetime
    age_s: float  # since the heartbeat was sent
    state: str  # the state the device reported, or "stale" when it has not been heard from for too long
    reported_state: str
    agent_version: str
    policy_version: str | None  # None: the policy configured on the device
    policy_stale: bool  # not the newest policy version the fleet reports
    policy_valid: bool
    policy_reason: str
    spooled: int
    spool_bytes: int
    oldest_spooled_s: float | None
    dropped: int  # events, since the previous beat
    frames_dropped: int
    cpu_percent: float
    rss_bytes: int


@dataclass(frozen=True)
class Summary:
    """Counts over the fleet: by state (stale devices as ``stale``) and by agent version."""

    devices: int
    states: dict[str, int]
    agent_versions: dict[str, int]
    newest_policy: str | None
    policy_stale: int  # devices not on the newest policy
    policy_invalid: int  # devices whose policy halted capture


def parse_duration(text: str) -> timedelta:
    """``90s``, ``5m``, ``2h`` or ``1d`` as a timedelta; a ValueError that says what is expected otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"cannot read {text!r} as a duration: write a number and a unit (s, m, h or d), such as 90s, 5m or 2h"
        )
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


def age(seconds: float) -> str:
    """A duration the short way, rounded down: ``12s``, ``4m``, ``2h``, ``3d``."""
    whole = max(0, int(seconds))
    for unit in ("d", "h", "m"):
        if whole >= _UNITS[unit]:
            return f"{whole // _UNITS[unit]}{unit}"
    return f"{whole}s"


def latest(beats: Iterable[Heartbeat]) -> dict[str, Heartbeat]:
    """Each device's newest heartbeat by ``sent_at`` (of two sent at the same moment, the one read last)."""
    newest: dict[str, Heartbeat] = {}
    for beat in beats:
        remember(newest, beat)
    return newest


def remember(newest: dict[str, Heartbeat], beat: Heartbeat) -> None:
    """Put ``beat`` in ``newest`` (device id -> heartbeat) unless its device has sent a newer one."""
    kept = newest.get(beat.device_id)
    if kept is None or beat.sent_at >= kept.sent_at:
        newest[beat.device_id] = beat


def newest_policy(versions: Iterable[str | None]) -> str | None:
    """The newest published policy version, comparing numbers as numbers (v10 after v9); None if there is none."""
    return max((v for v in versions if v is not None), key=_version_key, default=None)


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|\D+", version))


def fleet_rows(
    beats: Iterable[Heartbeat], now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER
) -> list[DeviceRow]:
    """One row per device as of ``now`` (timezone-aware), ordered by device id."""
    newest = latest(beats)
    policy = newest_policy(beat.policy_version for beat in newest.values())
    return [_row(beat, now, stale_after, policy) for _, beat in sorted(newest.items())]


def _row(beat: Heartbeat, now: datetime, stale_after: timedelta, policy: str | None) -> DeviceRow:
    age_s = max(0.0, (now - beat.sent_at).total_seconds())  # a clock ahead of ours reads as just seen
    return DeviceRow(
        device_id=beat.device_id,
        sent_at=beat.sent_at,
        age_s=age_s,
        state=STALE if age_s > stale_after.total_seconds() else beat.state,
        reported_state=beat.state,
        agent_version=beat.agent_version,
        policy_version=beat.policy_version,
        policy_stale=policy is not None and beat.policy_version != policy,
        policy_valid=beat.policy_valid,
        policy_reason=beat.policy_reason,
        spooled=beat.spooled,
        spool_bytes=beat.spool_bytes,
        oldest_spooled_s=beat.oldest_spooled_s,
        dropped=beat.dropped,
        frames_dropped=beat.frames_dropped,
        cpu_percent=beat.cpu_percent,
        rss_bytes=beat.rss_bytes,
    )


def select(
    rows: Iterable[DeviceRow],
    stale_for: timedelta | None = None,
    version: str | None = None,
    policy: str | None = None,
) -> list[DeviceRow]:
    """The rows not seen for longer than ``stale_for``, of agent ``version``, on ``policy`` (each only when given;
    ``configured`` matches devices on their own configured policy)."""
    return [
        row
        for row in rows
        if (stale_for is None or row.age_s > stale_for.total_seconds())
        and (version is None or row.agent_version == version)
        and (policy is None or _policy_text(row.policy_version) == policy)
    ]


def summarize(rows: Iterable[DeviceRow]) -> Summary:
    """Devices by state and by agent version, most common first, and how many are behind on policy."""
    rows = list(rows)
    return Summary(
        devices=len(rows),
        states=_counts(row.state for row in rows),
        agent_versions=_counts(row.agent_version for row in rows),
        newest_policy=newest_policy(row.policy_version for row in rows),
        policy_stale=sum(row.policy_stale for row in rows),
        policy_invalid=sum(not row.policy_valid for row in rows),
    )


def _counts(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda item: (-item[1], item[0])))


def table(rows: Iterable[DeviceRow]) -> list[str]:
    """A header and one fixed-width line per device."""
    return _aligned([_HEADER, *(_cells(row) for row in rows)], _RIGHT)


def _cells(row: DeviceRow) -> tuple[str, ...]:
    notes = ["stale policy"] if row.policy_stale else []
    if not row.policy_valid:
        notes.append(f"policy invalid: {row.policy_reason or 'no reason given'}")
    spool = "0"
    if row.spooled or row.spool_bytes:
        oldest = "" if row.oldest_spooled_s is None else f", oldest {age(row.oldest_spooled_s)}"
        spool = f"{row.spooled} ({_size(row.spool_bytes)}{oldest})"
    return (
        row.device_id,
        age(row.age_s),
        row.state,
        row.agent_version,
        _policy_text(row.policy_version),
        spool,
        f"{row.dropped}/{row.frames_dropped}",
        f"{row.cpu_percent:.1f}%",
        f"{row.rss_bytes / 2**20:.0f}MiB",
        "; ".join(notes),
    )


def rows_json(rows: Iterable[DeviceRow]) -> list[dict[str, Any]]:
    """The rows for ``--json``: one object per device with the keys of :data:`ROW_KEYS`, in that order."""
    return [
        {
            "device_id": row.device_id,
            "state": row.state,
            "reported_state": row.reported_state,
            "last_seen": row.sent_at.isoformat(),
            "age_s": round(row.age_s, 1),
            "agent_version": row.agent_version,
            "policy_version": row.policy_version,
            "policy_stale": row.policy_stale,
            "policy_valid": row.policy_valid,
            "policy_reason": row.policy_reason,
            "spooled": row.spooled,
            "spool_bytes": row.spool_bytes,
            "oldest_spooled_s": row.oldest_spooled_s,
            "dropped": row.dropped,
            "frames_dropped": row.frames_dropped,
            "cpu_percent": round(row.cpu_percent, 1),
            "rss_mib": round(row.rss_bytes / 2**20, 1),
        }
        for row in rows
    ]


def summary_lines(summary: Summary) -> list[str]:
    """The summary for people: a sentence about devices and policy, then the counts by state and by agent version."""
    head = f"{summary.devices} device{'' if summary.devices == 1 else 's'}"
    if summary.newest_policy is not None:
        head += f"; newest policy {summary.newest_policy}, {summary.policy_stale} not on it"
    if summary.policy_invalid:
        head += f"; {summary.policy_invalid} with an invalid policy"
    states = [("STATE", "DEVICES"), *((k, str(v)) for k, v in summary.states.items())]
    versions = [("AGENT", "DEVICES"), *((k, str(v)) for k, v in summary.agent_versions.items())]
    return [head, "", *_aligned(states, {1}), "", *_aligned(versions, {1})]


def summary_json(summary: Summary) -> dict[str, Any]:
    """The summary for ``--json``."""
    return {
        "devices": summary.devices,
        "states": summary.states,
        "agent_versions": summary.agent_versions,
        "newest_policy": summary.newest_policy,
        "policy_stale": summary.policy_stale,
        "policy_invalid": summary.policy_invalid,
    }


def _policy_text(version: str | None) -> str:
    return CONFIGURED if version is None else version


def _aligned(lines: Sequence[tuple[str, ...]], right: Iterable[int]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    flush_right = set(right)
    return [
        "  ".join(
            cell.rjust(w) if i in flush_right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in lines
    ]


def _size(n: int) -> str:
    size, unit = float(n), "B"
    for bigger in ("KiB", "MiB", "GiB"):
        if size < 1024:
            break
        size, unit = size / 1024, bigger
    return f"{n}B" if unit == "B" else f"{size:.1f}{unit}"
