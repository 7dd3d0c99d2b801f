"""Consent recorded on the device: a small JSON file in the agent's state directory (edge).

The file works offline; every decision written here is also meant for the central
``control.consent`` ledger. ``consent.published`` remembers the ``recorded_at`` of the last
local decision the ledger has (published by the CLI, or by the agent once Kafka answers),
so the agent knows what it still has to send.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from schemas.control_records import CaptureScope, ConsentRecord, ConsentState

FILE, PUBLISHED = "consent.json", "consent.published"


def record(
    state_dir: Path,
    state: ConsentState,
    user_id: str,
    policy_version: str,
    scopes: tuple[CaptureScope, ...] = (),
    now: datetime | None = None,
) -> ConsentRecord:
    """Write the person's decision (atomically) and return it."""
    rec = ConsentRecord(user_id, state, policy_version, now or datetime.now(UTC), user_id, scopes, "device")
    body = {
        "user_id": rec.user_id,
        "state": rec.state.value,
        "policy_version": rec.policy_version,
        "recorded_at": rec.recorded_at.isoformat(),
        "recorded_by": rec.recorded_by,
        "scopes": [s.value for s in rec.scopes],
        "source": rec.source,
    }
    _write(state_dir, FILE, json.dumps(body, indent=2) + "\n")
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
            tuple(CaptureScope(s) for s in body.get("scopes", ())),
            body.get("source", "device"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_published(state_dir: Path, rec: ConsentRecord) -> bool:
    try:
        return (state_dir / PUBLISHED).read_text().strip() == rec.recorded_at.isoformat()
    except OSError:
        return False


def mark_published(state_dir: Path, rec: ConsentRecord) -> None:
    _write(state_dir, PUBLISHED, rec.recorded_at.isoformat() + "\n")


def _write(state_dir: Path, name: str, text: str) -> None:
    """Atomically, through a temporary file of this writer's own: the agent and ``teachstream consent`` may both
    mark the same record published at once, and a shared temporary name made one of them fail."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp_name = tempfile.mkstemp(dir=state_dir, prefix=f".{name}.", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp_name, state_dir / name)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
