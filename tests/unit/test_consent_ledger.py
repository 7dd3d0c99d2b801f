"""The consent ledger: coverage at event time, scopes, withdrawals, ties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.consent import ConsentLedger, scope_of
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState
from schemas.events import InteractionEvent, KeyEvent, MouseMove, WindowContext, WindowFocus

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)
KEYS, MOUSE, SCREENS = CaptureScope.KEYS, CaptureScope.MOUSE, CaptureScope.SCREENS


def rec(state: ConsentState, minutes: float, *scopes: CaptureScope, user: str = "u-1") -> ConsentRecord:
    return ConsentRecord(user, state, "p-1", T0 + timedelta(minutes=minutes), user, scopes)


def test_no_record_means_no_consent() -> None:
    ledger = ConsentLedger()
    assert not ledger.covers("u-1", KEYS, T0) and not ledger.covers("u-1", None, T0)
    assert ledger.withdrawn_since("u-1") is None


def test_coverage_follows_the_record_in_force_at_event_time() -> None:
    ledger = ConsentLedger()
    ledger.add(rec(ConsentState.WITHDRAWN, 30))  # read first, recorded later
    ledger.add(rec(ConsentState.GRANTED, 0, KEYS, MOUSE))
    assert not ledger.covers("u-1", KEYS, T0 - timedelta(seconds=1))
    assert ledger.covers("u-1", KEYS, T0 + timedelta(minutes=10))
    assert not ledger.covers("u-1", SCREENS, T0 + timedelta(minutes=10))  # not granted
    assert ledger.covers("u-1", None, T0 + timedelta(minutes=10))  # focus changes: any grant
    assert not ledger.covers("u-1", KEYS, T0 + timedelta(minutes=30))
    assert ledger.withdrawn_since("u-1") == T0 + timedelta(minutes=30)
    assert not ledger.covers("u-2", KEYS, T0 + timedelta(minutes=10))


def test_a_grant_without_scopes_grants_everything_and_a_new_grant_ends_a_withdrawal() -> None:
    ledger = ConsentLedger()
    ledger.add(rec(ConsentState.GRANTED, 0))
    ledger.add(rec(ConsentState.WITHDRAWN, 5))
    ledger.add(rec(ConsentState.GRANTED, 10, SCREENS))
    assert ledger.covers("u-1", SCREENS, T0 + timedelta(minutes=1)) and ledger.covers("u-1", KEYS, T0)
    assert not ledger.covers("u-1", KEYS, T0 + timedelta(minutes=11))
    assert ledger.withdrawn_since("u-1") is None and ledger.users() == ["u-1"]


def test_the_later_read_record_wins_a_tie() -> None:
    ledger = ConsentLedger()
    ledger.add(rec(ConsentState.GRANTED, 0))
    ledger.add(rec(ConsentState.WITHDRAWN, 0))
    assert not ledger.covers("u-1", KEYS, T0)


def test_each_event_needs_its_scope() -> None:
    ctx = WindowContext("xterm", "t", 1)

    def event(payload: object) -> InteractionEvent:
        return InteractionEvent("d", "u", 1, T0, payload, ctx)  # type: ignore[arg-type]

    assert scope_of(event(KeyEvent(True, "a", "a"))) is KEYS
    assert scope_of(event(MouseMove(1, 2))) is MOUSE
    assert scope_of(event(WindowFocus())) is None
