"""The person's consent on the device: written atomically, by the agent and the CLI at once."""

from __future__ import annotations

import stat
import threading
from datetime import UTC, datetime
from pathlib import Path

from producers import consent
from schemas.control_records import ConsentState


def test_the_agent_and_the_cli_may_mark_the_same_record_published_at_once(tmp_path: Path) -> None:
    rec = consent.record(tmp_path, ConsentState.GRANTED, "u1", "v1", now=datetime(2026, 12, 3, tzinfo=UTC))
    errors: list[BaseException] = []

    def mark() -> None:
        try:
            for _ in range(200):
                consent.mark_published(tmp_path, rec)
        except BaseException as exc:  # a shared temporary file made one writer fail here
            errors.append(exc)

    writers = [threading.Thread(target=mark) for _ in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    assert errors == []
    assert consent.is_published(tmp_path, rec)
    assert consent.load(tmp_path) == rec
    assert sorted(p.name for p in tmp_path.iterdir()) == [consent.FILE, consent.PUBLISHED]  # no temporary left
    assert stat.S_IMODE((tmp_path / consent.PUBLISHED).stat().st_mode) == 0o600
