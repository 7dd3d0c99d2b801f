"""The one privacy state: what ``apply`` reports, and the three questions the agent, stream and sink ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, ErasureRequest
from schemas.privacy import Erasure, PrivacyState, Withdrawal

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
KEYS, SCREENS = CaptureScope.KEYS, CaptureScope.SCREENS


def consent(state: ConsentState, minutes: float, *scopes: CaptureScope, user: str = "u-1") -> ConsentRecord:
    return ConsentRecord(user, state, "p-1", T0 + timedelta(minutes=minutes), user, scopes)


def erasure(minutes: float, user: str = "u-1", rid: str = "r-1") -> ErasureRequest:
    return ErasureRequest(rid, user, "hr", T0 + timedelta(minutes=minutes))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_grant_covers_its_scopes_and_changes_nothing_a_holder_must_act_on() -> None:
    state = PrivacyState()
    assert state.apply(consent(ConsentState.GRANTED, 0, KEYS)) is None
    assert state.covers("u-1", KEYS, at(1)) and not state.covers("u-1", SCREENS, at(1))
    assert not state.covers("u-1", KEYS, at(-1))  # before any record: no consent
    assert not state.withheld("u-1", at(1))


def test_a_withdrawal_is_reported_once_and_withholds_what_comes_after_it() -> None:
    state = PrivacyState()
    state.apply(consent(ConsentState.GRANTED, 0, KEYS))
    assert state.apply(consent(ConsentState.WITHDRAWN, 10)) == Withdrawal("u-1", at(10))
    assert state.apply(consent(ConsentState.WITHDRAWN, 10)) is None  # the same moment again: nothing new
    assert state.withheld("u-1", at(10)) and state.withheld("u-1", at(11))
    assert not state.withheld("u-1", at(9))
    assert state.apply(consent(ConsentState.GRANTED, 20, KEYS)) is None
    assert not state.withheld("u-1", at(25)) and state.withdrawn_since("u-1") is None


def test_the_newest_erasure_wins_and_erased_moments_are_never_covered() -> None:
    state = PrivacyState()
    state.apply(consent(ConsentState.GRANTED, 0, KEYS))
    newer, older = erasure(30, rid="r-2"), erasure(10, rid="r-1")
    assert state.apply(newer) == Erasure(newer)
    assert state.apply(older) is None  # an older request covers less
    assert state.erased("u-1", at(30)) and not state.erased("u-1", at(31))
    assert not state.covers("u-1", KEYS, at(5)) and state.covers("u-1", KEYS, at(31))
    assert state.withheld("u-1", at(5)) and not state.withheld("u-1", at(31))
    assert not state.erased("u-2", at(5))


def test_a_state_for_one_person_ignores_everyone_else() -> None:
    state = PrivacyState(only_user="u-1")
    assert state.apply(consent(ConsentState.WITHDRAWN, 0, user="u-2")) is None
    assert state.apply(erasure(0, user="u-2")) is None
    state.apply(consent(ConsentState.GRANTED, 0, KEYS))
    assert state.latest("u-2") is None and state.latest("u-1") is not None
    assert state.erasures == {}
