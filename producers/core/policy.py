"""The capture policy in force on the agent: configured on the device or published on ``control.policy`` (pure core).

Window decisions live in ``schemas.capture_policy`` (shared with the stream's second line of
defense). A published policy counts only when it is signed by a key the device trusts
(``policy_keys``; see ``schemas.signed_policy``); without trusted keys, published policies are
ignored. A correctly signed policy replaces the device's configured one; of those, the newest
by ``issued_at`` wins (an older one arriving late, or replayed, changes nothing). Capture
halts (:func:`standing`) while the newest record that arrived is not correctly signed, while
the policy in force is expired or issued in the future, and while its kill switch is on; it
resumes with a newer valid policy. The device's built-in denies (password managers, private
windows, sign-in titles) stay under any published policy unless the device turned them off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from schemas.capture_policy import (
    DEFAULT_DENY_APPS,
    DEFAULT_DENY_TITLES,
    CapturePolicy,
    Verdict,
    host_rules,
    validate_patterns,
)
from schemas.control_records import Policy
from schemas.signed_policy import at, describe, in_force

__all__ = [
    "DEFAULT_DENY_APPS",
    "DEFAULT_DENY_TITLES",
    "ActivePolicy",
    "CapturePolicy",
    "Standing",
    "Verdict",
    "newer",
    "published",
    "standing",
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
        CapturePolicy(
            tuple(policy.allow_apps),
            apps,
            titles,
            host_rules(tuple(policy.allow_hosts), tuple(policy.deny_hosts), policy.unknown_hosts),
        ),
        policy.screenshots,
        float(policy.keyframe_seconds),
        policy.jpeg_quality,
        policy.screenshot_scale,
        f"{policy.policy_id} {policy.version}",
        policy.issued_at,
    )


@dataclass(frozen=True)
class Standing:
    """What the published policies mean for capture at a moment: the policy to apply (None:
    the configured one), or why capture is halted; ``note`` says how things stand, in words."""

    policy: Policy | None
    halted: str | None
    note: str


def standing(valid: Policy | None, rejected: str | None, keys_trusted: bool, now: datetime) -> Standing:
    """``valid``: the newest correctly signed policy; ``rejected``: why the newest record that
    arrived after it was refused (None: it was not)."""
    if not keys_trusted:
        return Standing(None, None, "no policy keys configured here: published policies are ignored")
    if rejected is not None:
        return Standing(None, f"the newest published policy was refused: {rejected}", rejected)
    if valid is None:
        return Standing(None, None, f"no published policy yet; the policy {CONFIGURED} applies")
    force = in_force(valid, now)
    if not force.valid:
        return Standing(None, force.reason, force.reason)
    if valid.kill_switch:
        why = f": {valid.kill_reason}" if valid.kill_reason else ""
        return Standing(None, f"kill switch on since {at(valid.issued_at)}{why} ({describe(valid)})", force.reason)
    return Standing(valid, None, force.reason)
