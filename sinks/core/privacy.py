"""What the sink keeps of a person who withdrew consent or asked for erasure (pure core)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from schemas.control_records import ErasureRequest
from schemas.dataset import Manifest
from schemas.trajectory import Trajectory


def before_withdrawal(trajectory: Trajectory, withdrawn_at: datetime | None) -> Trajectory | None:
    """The session without the steps that started at or after the withdrawal; None if nothing is left."""
    if withdrawn_at is None or trajectory.end_time < withdrawn_at:
        return trajectory
    kept = tuple(s for s in trajectory.steps if s.start_time < withdrawn_at)
    if not kept or trajectory.start_time >= withdrawn_at:
        return None
    end = max(s.end_time for s in kept)
    return replace(trajectory, steps=kept, end_time=min(end, withdrawn_at), end_reason="consent_withdrawn")


def drop_user(manifest: Manifest, user_id: str) -> int:
    """Remove the person's sessions from a manifest; how many were removed."""
    gone = [sid for sid, entry in manifest.sessions.items() if entry.user_id == user_id]
    for sid in gone:
        del manifest.sessions[sid]
    return len(gone)


def audit_record(
    request: ErasureRequest, completed_at: datetime, objects: int, sessions: int, manifests: int, passes: int
) -> bytes:
    """The audit entry of a completed erasure: who asked, when, what was removed, how long it took."""
    body = {
        "request_id": request.request_id,
        "user_id": request.user_id,
        "requested_by": request.requested_by,
        "requested_at": request.requested_at.isoformat(),
        "reason": request.reason,
        "completed_at": completed_at.isoformat(),
        "duration_ms": round((completed_at - request.requested_at).total_seconds() * 1000),
        "objects_deleted": objects,
        "sessions_removed": sessions,
        "manifests_rewritten": manifests,
        "verification_passes": passes,
    }
    return json.dumps(body, indent=1, sort_keys=True).encode()


def withdrawal_record(user_id: str, since: datetime, completed_at: datetime, objects: int, sessions: int) -> bytes:
    """The audit entry of the clean-up after a withdrawal: what was stored from it on and is gone now."""
    body = {
        "user_id": user_id,
        "withdrawn_at": since.isoformat(),
        "completed_at": completed_at.isoformat(),
        "objects_deleted": objects,
        "sessions_changed": sessions,
    }
    return json.dumps(body, indent=1, sort_keys=True).encode()
