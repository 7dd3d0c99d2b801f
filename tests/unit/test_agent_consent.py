"""The agent's consent and policy decisions: which decision is in force, what it admits, which policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from producers.core.consent import admits, granted_scopes, in_force, parse_scopes, scope_words
from producers.core.inputs import RawButton, RawKey, RawMove, RawScroll
from producers.core.policy import newer, published
from producers.core.recorder import DENIED, Recorder
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, Policy
from schemas.events import WindowContext

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
KEYS, MOUSE, SCREENS = CaptureScope.KEYS, CaptureScope.MOUSE, CaptureScope.SCREENS


def rec(
    state: ConsentState, minutes: int, source: str = "device", user: str = "u-1", *scopes: CaptureScope
) -> ConsentRecord:
    return ConsentRecord(user, state, "device-1", T0 + timedelta(minutes=minutes), user, tuple(scopes), source)


def test_the_newer_decision_wins_whichever_side_it_is_on() -> None:
    local = rec(ConsentState.GRANTED, 0)
    hr = rec(ConsentState.WITHDRAWN, 5, "admin")
    assert in_force("u-1", local, hr) is hr
    assert in_force("u-1", rec(ConsentState.GRANTED, 10), hr).state is ConsentState.GRANTED
    assert in_force("u-1", local, None) is local and in_force("u-1", None, hr) is hr
    assert in_force("u-1", None, None) is None


def test_a_tie_goes_to_the_ledger_and_other_people_never_count() -> None:
    local, ledger = rec(ConsentState.GRANTED, 0), rec(ConsentState.GRANTED, 0, "admin")
    assert in_force("u-1", local, ledger) is ledger
    assert in_force("u-1", rec(ConsentState.GRANTED, 0, "device", "u-2"), None) is None


def test_scopes_gate_keys_and_mouse_separately() -> None:
    keys_only = granted_scopes(rec(ConsentState.GRANTED, 0, "device", "u-1", KEYS))
    assert admits(RawKey(0, True, "a", "a"), keys_only)
    assert not any(
        admits(r, keys_only) for r in (RawButton(0, "left", True, 1, 1), RawScroll(0, 1, 1, 0, 1), RawMove(0, 1, 1))
    )
    assert granted_scopes(rec(ConsentState.GRANTED, 0)) == frozenset(CaptureScope)  # no scopes named: all
    assert granted_scopes(rec(ConsentState.WITHDRAWN, 0)) == frozenset()
    assert granted_scopes(None) == frozenset()


def test_scope_words_and_parsing() -> None:
    assert scope_words(frozenset(CaptureScope)) == "keys, mouse and screenshots"
    assert scope_words((KEYS, SCREENS)) == "keys and screenshots"
    assert scope_words(frozenset()) == "nothing"
    assert parse_scopes("screens, KEYS") == (KEYS, SCREENS)
    with pytest.raises(ValueError, match="unknown scope 'audio'"):
        parse_scopes("keys,audio")


def policy(version: str, minutes: int, policy_id: str = "default", **kw: object) -> Policy:
    return Policy(policy_id, version, T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def test_the_newest_published_policy_wins() -> None:
    v1, v2 = policy("v1", 0), policy("v2", 5)
    assert newer(None, v1, None) is v1
    assert newer(v2, v1, None) is v2  # an older one arriving late changes nothing
    assert newer(v1, v2, None) is v2
    assert newer(v1, policy("v9", 9, "other-team"), "default") is v1


def test_a_published_policy_keeps_the_device_floor() -> None:
    active = published(policy("v2", 0, deny_apps=("slack",), screenshots=False, keyframe_seconds=30), True)
    assert not active.capture.decide_window("slack", "general").allowed
    assert not active.capture.decide_window("KeePassXC", "vault").allowed  # built-in deny stays
    assert (active.screenshots, active.keyframe_seconds, active.version) == (False, 30.0, "default v2")
    bare = published(policy("v3", 0), False)
    assert bare.capture.decide_window("keepassxc", "vault").allowed


def test_a_new_policy_judges_the_focused_window_again() -> None:
    r = Recorder()
    r.focus(0.0, WindowContext("slack", "general", 1))
    assert r.suppressed is None
    r.set_policy(1.0, published(policy("v2", 0, deny_apps=("slack",)), True).capture, 30.0)
    assert r.suppressed == DENIED and r.frames.keyframe_s == 30.0
