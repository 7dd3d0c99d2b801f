"""The capture policy in force on the agent: configured on the device or published on ``control.policy`` (pure core).

Window decisions live in ``schemas.capture_policy`` (shared with the stream's second line of
defense). A policy published by the admin replaces the device's configured one; of the
published ones, the newest by ``issued_at`` wins. The device's built-in denies (password
managers, private windows, sign-in titles) stay under any published policy unless the
device turned them off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.capture_policy import DEFAULT_DENY_APPS, DEFAULT_DENY_TITLES, CapturePolicy, Verdict, validate_patterns
from schemas.control_records import Policy

__all__ = [
    "DEFAULT_DENY_APPS",
    "DEFAULT_DENY_TITLES",
    "ActivePolicy",
    "CapturePolicy",
    "Verdict",
    "newer",
    "published",
    "validate_patterns",
]
CONFIGURED = "configured on this device"


@dataclass(frozen=True)
class ActivePolicy:
    """Everything the agent obeys: which windows, whether screenshots, how often a keyframe."""

    capture: CapturePolicy
    screenshots: bool
    keyframe_seconds: float
    jpeg_quality: int
    screenshot_scale: float
    version: str = CONFIGURED
    issued_at: datetime | None = None


def newer(current: Policy | None, incoming: Policy, policy_id: str | None) -> Policy | None:
    """The published policy to follow after ``incoming`` arrives (``policy_id``: only that one, if set)."""
    if policy_id is not None and incoming.policy_id != policy_id:
        return current
    if current is None or incoming.issued_at >= current.issued_at:
        return incoming
    return current


def published(policy: Policy, default_denies: bool) -> ActivePolicy:
    """A published policy as the agent applies it (after ``validate_patterns`` accepted its titles)."""
    apps = (DEFAULT_DENY_APPS if default_denies else ()) + tuple(policy.deny_apps)
    titles = (DEFAULT_DENY_TITLES if default_denies else ()) + tuple(policy.deny_title_patterns)
    return ActivePolicy(
        CapturePolicy(tuple(policy.allow_apps), apps, titles),
        policy.screenshots,
        float(policy.keyframe_seconds),
        policy.jpeg_quality,
        policy.screenshot_scale,
        f"{policy.policy_id} {policy.version}",
        policy.issued_at,
    )
