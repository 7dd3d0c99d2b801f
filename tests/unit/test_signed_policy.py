"""Signed policies: signatures, expiry, key rotation; what they mean for the agent's gate and heartbeat."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from producers.core.gate import Gate, Turn, next_gate
from producers.core.heartbeat import Reading, beat
from producers.core.policy import standing
from producers.core.status import AgentStatus, headline
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, Policy
from schemas.kill_switch import KillSwitches
from schemas.signed_policy import (
    BadKey,
    canonical,
    check,
    key_id,
    new_key,
    parse_public,
    public_raw,
    public_text,
    sign,
    trusted,
)

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
OLD_KEY, NEW_KEY = new_key(), new_key()
KEYS = trusted([public_text(public_raw(OLD_KEY)), public_text(public_raw(NEW_KEY))])


def policy(**kw: object) -> Policy:
    fields: dict[str, object] = {
        "policy_id": "fleet",
        "version": "v7",
        "issued_at": NOW - timedelta(minutes=1),
        "expires_at": NOW + timedelta(days=7),
    }
    fields.update(kw)
    return Policy(**fields)  # type: ignore[arg-type]


def test_a_signed_policy_is_valid_with_either_trusted_key_and_names_its_key() -> None:
    for key in (OLD_KEY, NEW_KEY):  # a rotation: both keys trusted for a while
        signed = sign(policy(deny_apps=("slack",)), key)
        verdict = check(signed, KEYS, NOW)
        assert verdict.valid and key_id(public_raw(key)) in verdict.reason and "2026-12-09" in verdict.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"deny_apps": ()}, "changed after signing"),
        ({"kill_switch": True}, "changed after signing"),
        ({"expires_at": NOW + timedelta(days=700)}, "changed after signing"),
        ({"screenshot_scale": 0.25}, "changed after signing"),
        ({"signature": None}, "not signed"),
    ],
)
def test_any_change_after_signing_is_refused(change: dict[str, object], reason: str) -> None:
    tampered = dataclasses.replace(sign(policy(deny_apps=("slack",)), OLD_KEY), **change)  # type: ignore[arg-type]
    verdict = check(tampered, KEYS, NOW)
    assert not verdict.valid and reason in verdict.reason


def test_unknown_key_expired_and_future_policies_are_refused_with_the_reason() -> None:
    stranger = sign(policy(), new_key())
    assert "not trusted here" in check(stranger, KEYS, NOW).reason
    expired = sign(policy(expires_at=NOW - timedelta(seconds=1)), OLD_KEY)
    assert (
        not check(expired, KEYS, NOW).valid and "expired at 2026-12-02 11:59:59 UTC" in check(expired, KEYS, NOW).reason
    )
    future = sign(policy(issued_at=NOW + timedelta(hours=1)), OLD_KEY)
    assert "future" in check(future, KEYS, NOW).reason
    skewed = sign(policy(issued_at=NOW + timedelta(minutes=2)), OLD_KEY)  # a clock a little behind
    assert check(skewed, KEYS, NOW).valid


def test_canonical_bytes_cover_every_field_but_the_signature() -> None:
    signed = sign(policy(), OLD_KEY)
    assert canonical(signed) == canonical(dataclasses.replace(signed, signature=b"other"))
    assert b'"kill_switch":false' in canonical(signed) and b"signature" not in canonical(signed)


def test_bad_public_keys_are_named() -> None:
    with pytest.raises(BadKey, match="not base64"):
        parse_public("not a key!")
    with pytest.raises(BadKey, match="is 3 bytes"):
        parse_public("AAAA")


def test_standing_halts_for_refused_expired_and_kill_switch_and_applies_a_valid_one() -> None:
    valid = sign(policy(), OLD_KEY)
    assert standing(valid, None, True, NOW).policy == valid and standing(valid, None, True, NOW).halted is None
    refused = standing(valid, "policy 'fleet' version 'v8' is not signed", True, NOW)
    assert refused.policy is None and refused.halted is not None and "not signed" in refused.halted
    assert "expired" in (standing(valid, None, True, NOW + timedelta(days=8)).halted or "")
    killed = standing(sign(policy(kill_switch=True, kill_reason="incident 42"), OLD_KEY), None, True, NOW)
    assert killed.halted is not None and "kill switch on since 2026-12-02 11:59:00 UTC: incident 42" in killed.halted
    ignored = standing(valid, None, False, NOW)
    assert ignored.policy is None and ignored.halted is None and "no policy keys" in ignored.note
    assert standing(None, None, True, NOW).halted is None


def granted(*scopes: CaptureScope) -> ConsentRecord:
    return ConsentRecord("u-1", ConsentState.GRANTED, "device-1", NOW, "u-1", scopes)


def test_the_gate_closes_when_halted_and_opens_only_for_the_scopes_the_policy_allows() -> None:
    consent, t = granted(CaptureScope.KEYS, CaptureScope.SCREENS), NOW.timestamp()
    on = next_gate(consent, None, t, Gate())
    assert on is not None and on.turn is Turn.ON
    halted = next_gate(consent, None, t, on.gate, halted=True)
    assert halted is not None and halted.turn is Turn.HALTED and not halted.gate.capturing and halted.cutoff == t
    keys_only = next_gate(consent, None, t, Gate(), allowed=frozenset({CaptureScope.KEYS, CaptureScope.MOUSE}))
    assert keys_only is not None and keys_only.gate.listening == {CaptureScope.KEYS}
    nothing = next_gate(consent, None, t, Gate(), allowed=frozenset({CaptureScope.MOUSE}))
    assert nothing is None  # consent grants nothing the policy allows: stays off


def test_status_and_heartbeat_say_capture_is_halted_and_why() -> None:
    status = AgentStatus(granted(CaptureScope.KEYS), None, "xterm", "allowed", True, True, halted="kill switch on")
    assert status.state == "halted" and headline(status, NOW.timestamp()).startswith("Not capturing anything: kill")
    first = Reading(100.0, 10, 2, 0, 0, 1.0, 50_000_000, 4096, None)
    second = Reading(130.0, 70, 5, 5, 2, 1.6, 60_000_000, 8192, 120.0)
    heartbeat = beat(dataclasses.replace(status, spooled=4), "0.1.0", second, first)
    assert heartbeat.state == "halted" and not heartbeat.policy_valid and heartbeat.policy_reason == "kill switch on"
    assert (heartbeat.events_sent, heartbeat.frames_sent, heartbeat.dropped, heartbeat.frames_dropped) == (60, 3, 3, 2)
    assert heartbeat.interval_s == 30.0 and heartbeat.cpu_percent == pytest.approx(2.0)
    assert (
        heartbeat.oldest_spooled_s == 10.0
        and heartbeat.spool_bytes == 8192
        and heartbeat.scopes == (CaptureScope.KEYS,)
    )


def test_kill_switches_say_when_a_switch_was_on_in_any_order() -> None:
    switches = KillSwitches()
    off_again = policy(issued_at=NOW + timedelta(minutes=10), version="v9")
    switches.apply(off_again)
    switches.apply(policy(issued_at=NOW, kill_switch=True, kill_reason="incident 42", version="v8"))
    assert switches.on_at(NOW - timedelta(seconds=1)) is None
    assert switches.on_at(NOW) == "incident 42" and switches.on_at(NOW + timedelta(minutes=9)) == "incident 42"
    assert switches.on_at(NOW + timedelta(minutes=10)) is None
    switches.apply(dataclasses.replace(policy(issued_at=NOW + timedelta(hours=1), kill_switch=True), policy_id="other"))
    assert switches.on_at(NOW + timedelta(hours=2)) == ""  # another policy's switch, no reason given
