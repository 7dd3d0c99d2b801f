"""The agent's capture gate: pause against withdrawal, rescoping, and the cut-off of queued input."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from producers.core.gate import Gate, Transition, Turn, admitted, cutoff, next_gate, pause_in_force, wants_capture
from producers.core.inputs import RawButton, RawInput, RawKey, RawMove, RawScroll
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState

KEYS, MOUSE, SCREENS = CaptureScope.KEYS, CaptureScope.MOUSE, CaptureScope.SCREENS
ALL = frozenset({KEYS, MOUSE, SCREENS})
NOW = 1_714_554_000.0  # 2024-05-01 09:00 UTC
OPEN = Gate(True, ALL)


def rec(state: ConsentState, at: float = NOW - 3600, *scopes: CaptureScope) -> ConsentRecord:
    moment = datetime.fromtimestamp(at, UTC)
    return ConsentRecord("u-1", state, "device-1", moment, "u-1", tuple(scopes), "device")


GRANTED = rec(ConsentState.GRANTED, NOW - 3600, KEYS, MOUSE, SCREENS)


def test_a_closed_gate_without_consent_stays_closed() -> None:
    assert next_gate(None, None, NOW, Gate()) is None
    assert next_gate(rec(ConsentState.WITHDRAWN), None, NOW, Gate()) is None


def test_consent_opens_the_gate_for_its_scopes_and_nothing_queued_is_cut() -> None:
    change = next_gate(rec(ConsentState.GRANTED, NOW - 1, KEYS), None, NOW, Gate())
    assert change == Transition(Gate(True, frozenset({KEYS})), Turn.ON, None)


def test_an_open_gate_that_still_matches_is_left_alone() -> None:
    assert next_gate(GRANTED, None, NOW, OPEN) is None


def test_a_pause_closes_the_gate_as_a_pause_and_queued_input_counts_until_now() -> None:
    for paused_until in (math.inf, NOW + 1800):
        change = next_gate(GRANTED, paused_until, NOW, OPEN)
        assert change == Transition(Gate(), Turn.PAUSED, NOW)


def test_a_pause_that_ran_out_is_no_pause() -> None:
    assert pause_in_force(NOW, NOW) is None
    assert pause_in_force(NOW + 0.5, NOW) == NOW + 0.5
    assert pause_in_force(None, NOW) is None
    assert wants_capture(GRANTED, NOW - 1, NOW)
    assert not wants_capture(GRANTED, math.inf, NOW)
    assert next_gate(GRANTED, NOW, NOW, OPEN) is None
    assert next_gate(GRANTED, NOW, NOW, Gate()) == Transition(OPEN, Turn.ON, None)


def test_a_withdrawal_closes_the_gate_and_cuts_queued_input_at_its_moment() -> None:
    withdrawn = rec(ConsentState.WITHDRAWN, NOW - 5)
    assert next_gate(withdrawn, None, NOW, OPEN) == Transition(Gate(), Turn.OFF, NOW - 5)


def test_a_withdrawal_stamped_after_now_cuts_at_now() -> None:
    withdrawn = rec(ConsentState.WITHDRAWN, NOW + 60)  # the admin's clock runs ahead
    assert cutoff(withdrawn, NOW) == NOW
    assert next_gate(withdrawn, None, NOW, OPEN) == Transition(Gate(), Turn.OFF, NOW)


def test_a_grant_that_names_no_scopes_grants_all_of_them() -> None:
    assert next_gate(rec(ConsentState.GRANTED, NOW - 1), None, NOW, OPEN) is None
    assert next_gate(rec(ConsentState.GRANTED, NOW - 1), None, NOW, Gate()) == Transition(OPEN, Turn.ON, None)


def test_narrower_consent_restarts_the_listeners_for_its_scopes() -> None:
    keys_only = rec(ConsentState.GRANTED, NOW - 1, KEYS)
    assert next_gate(keys_only, None, NOW, OPEN) == Transition(Gate(True, frozenset({KEYS})), Turn.RESCOPED, NOW)


def test_a_withdrawal_while_paused_leaves_the_closed_gate_as_it_is() -> None:
    assert next_gate(rec(ConsentState.WITHDRAWN, NOW - 5), math.inf, NOW, Gate()) is None


def test_queued_input_counts_before_the_cutoff_and_only_of_the_kinds_the_old_scopes_allowed() -> None:
    queued: list[RawInput] = [
        RawKey(NOW - 3, True, "a", "a"),
        RawButton(NOW - 2, "left", True, 1, 1),
        RawScroll(NOW - 1.5, 1, 1, 0, 1),
        RawMove(NOW - 1, 2, 2),
        RawKey(NOW - 1, False, "a"),
    ]
    assert admitted(queued, NOW - 1, frozenset({KEYS, MOUSE})) == queued[:3]
    assert admitted(queued, NOW, frozenset({KEYS})) == [queued[0], queued[4]]
    assert admitted(queued, NOW - 3, ALL) == []


scope_sets = st.frozensets(st.sampled_from(list(CaptureScope)))
gates = st.one_of(st.just(Gate()), scope_sets.filter(bool).map(lambda s: Gate(True, s)))
offsets = st.floats(min_value=-7200, max_value=7200, allow_nan=False)


@given(
    st.sampled_from(list(ConsentState)),
    offsets,
    scope_sets,
    st.one_of(st.none(), st.just(math.inf), offsets.map(lambda o: NOW + o)),
    gates,
)
def test_the_gate_settles_in_one_step_and_a_cutoff_is_never_after_now(
    state: ConsentState, at: float, scopes: frozenset[CaptureScope], paused_until: float | None, current: Gate
) -> None:
    consent = rec(state, NOW + at, *scopes)
    change = next_gate(consent, paused_until, NOW, current)
    if change is None:
        return
    assert next_gate(consent, paused_until, NOW, change.gate) is None
    assert change.gate.capturing == bool(change.gate.listening)
    assert (change.cutoff is not None) == current.capturing
    assert change.cutoff is None or change.cutoff <= NOW
    assert (change.turn in (Turn.ON, Turn.RESCOPED)) == change.gate.capturing
