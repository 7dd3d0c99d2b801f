"""Consent recorded on the device: a small JSON file in the agent's state directory (edge).

The agent captures nothing unless the newest record says GRANTED. A later issue links this
file to the central ``control.consent`` ledger; the record already has its shape.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from schemas.control import ConsentRecord, ConsentState

FILE = "consent.json"
POLICY_VERSION = "device-1"


def record(state_dir: Path, state: ConsentState, user_id: str, now: datetime | None = None) -> ConsentRecord:
    """Write the person's decision (atomically) and return it."""
    rec = ConsentRecord(user_id, state, POLICY_VERSION, now or datetime.now(UTC), recorded_by=user_id)
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = {
        "user_id": rec.user_id,
        "state": rec.state.value,
        "policy_version": rec.policy_version,
        "recorded_at": rec.recorded_at.isoformat(),
        "recorded_by": rec.recorded_by,
        "source": rec.source,
    }
    tmp = state_dir / f"{FILE}.tmp"
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(state_dir / FILE)
    return rec


def load(state_dir: Path) -> ConsentRecord | None:
    """The recorded decision, or None if there is none (or the file is unreadable: no consent)."""
    try:
        body = json.loads((state_dir / FILE).read_text())
        return ConsentRecord(
            body["user_id"],
            ConsentState(body["state"]),
            body["policy_version"],
            datetime.fromisoformat(body["recorded_at"]),
            body["recorded_by"],
            source=body.get("source", "device"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def granted(state_dir: Path, user_id: str) -> bool:
    rec = load(state_dir)
    return rec is not None and rec.state is ConsentState.GRANTED and rec.user_id == user_id
