"""What the sink keeps of a person who withdrew or asked for erasure (pure core)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from schemas.consent import erased
from schemas.control_records import ErasureRequest
from schemas.dataset import Manifest, audit_key
from sinks.core.privacy import audit_record, before_withdrawal, drop_user
from sinks.core.sessions import session_entry
from tests.unit.test_sink_core import FRAMES, T0, trajectory


def test_a_session_before_the_withdrawal_is_kept_whole() -> None:
    t = trajectory()
    assert before_withdrawal(t, None) is t
    assert before_withdrawal(t, t.end_time + timedelta(seconds=1)) is t


def test_steps_from_the_withdrawal_on_are_cut() -> None:
    t = trajectory()  # steps at T0, T0+1 s, T0+4 s
    cut = before_withdrawal(t, T0 + timedelta(seconds=2))
    assert cut is not None and [s.index for s in cut.steps] == [0, 1]
    assert cut.end_time <= T0 + timedelta(seconds=2) and cut.end_reason == "consent_withdrawn"
    assert before_withdrawal(t, T0) is None  # nothing before it: nothing is stored


def test_erasure_covers_what_happened_up_to_the_request() -> None:
    request = ErasureRequest("r-1", "u-1", "hr", T0)
    assert erased(request, T0) and erased(request, T0 - timedelta(days=3))
    assert not erased(request, T0 + timedelta(seconds=1)) and not erased(None, T0)


def test_drop_user_removes_only_that_person() -> None:
    a = session_entry(trajectory("u-1", session="a"), FRAMES, 1, 0, 1)
    b = session_entry(trajectory("u-2", session="b"), FRAMES, 1, 0, 2)
    m = Manifest("2026-11-26", 0, {"a": a, "b": b})
    assert drop_user(m, "u-1") == 1 and list(m.sessions) == ["b"] and drop_user(m, "u-1") == 0


def test_the_audit_record_says_who_when_and_how_much() -> None:
    request = ErasureRequest("r-1", "u-1", "hr-alice", datetime(2026, 11, 26, 9, tzinfo=UTC), "asked by email")
    body = json.loads(audit_record(request, request.requested_at + timedelta(seconds=2.5), 40, 4, 2, 2))
    assert body["requested_by"] == "hr-alice" and body["duration_ms"] == 2500 and body["objects_deleted"] == 40
    assert audit_key("p/", "r-1") == "p/audit/erasure/r-1.json"
