"""The agent's directives: this person's consent through the privacy feed, the newest policy it follows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from producers.directives import Directives
from producers.settings import AgentSettings
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, Policy
from schemas.records import to_avro
from schemas.signed_policy import new_key, public_raw, public_text, sign

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def rec(user: str, state: ConsentState, minutes: int) -> ConsentRecord:
    moment = T0 + timedelta(minutes=minutes)
    return ConsentRecord(user, state, "device-1", moment, user, (CaptureScope.KEYS,), "device")


KEY = new_key()


def signed(policy: Policy) -> Policy:
    return sign(policy, KEY)


def directives_trusting_the_key(wakes: list[None]) -> Directives:
    settings = AgentSettings(policy_keys=(public_text(public_raw(KEY)),))
    return Directives(settings, "u-1", lambda: wakes.append(None))  # followers not started


def test_the_persons_newest_consent_is_kept_and_wakes_the_agent() -> None:
    wakes: list[None] = []
    directives = directives_trusting_the_key(wakes)
    consent = directives.privacy.follower.routes["control.consent"]
    assert directives.consent() is None and directives.policy() == (None, None)

    granted, withdrawn = rec("u-1", ConsentState.GRANTED, 0), rec("u-1", ConsentState.WITHDRAWN, 5)
    consent("ConsentRecord", to_avro(withdrawn))
    consent("ConsentRecord", to_avro(granted))  # older: arrives late, changes nothing
    consent("ConsentRecord", to_avro(rec("u-2", ConsentState.GRANTED, 9)))  # someone else
    assert directives.consent() == withdrawn
    assert len(wakes) == 2


def test_the_newest_signed_policy_is_kept_and_a_refused_one_is_remembered_until_a_valid_one_arrives() -> None:
    wakes: list[None] = []
    directives = directives_trusting_the_key(wakes)
    old = signed(Policy("fleet", "v1", T0, screenshots=False))
    new = signed(Policy("fleet", "v2", T0 + timedelta(hours=1)))
    directives.apply_policy("Policy", to_avro(new))
    directives.apply_policy("Policy", to_avro(old))  # older: arrives late (or replayed), changes nothing
    assert directives.policy() == (new, None)

    tampered = dataclasses.replace(signed(Policy("fleet", "v3", T0 + timedelta(hours=2))), deny_apps=())
    tampered = dataclasses.replace(tampered, allow_apps=("*",))
    for refused, why in (
        (Policy("fleet", "v3", T0 + timedelta(hours=2)), "is not signed"),
        (tampered, "changed after signing"),
        (sign(Policy("fleet", "v3", T0 + timedelta(hours=2)), new_key()), "which is not trusted here"),
        (signed(Policy("fleet", "v3", T0 + timedelta(hours=2), deny_title_patterns=("(",))), "bad title pattern"),
    ):
        directives.apply_policy("Policy", to_avro(refused))
        policy, rejected = directives.policy()
        assert policy == new and rejected is not None and why in rejected, rejected
    newest = signed(Policy("fleet", "v4", T0 + timedelta(hours=3)))
    directives.apply_policy("Policy", to_avro(newest))
    assert directives.policy() == (newest, None)
    assert len(wakes) == 7


def test_without_trusted_keys_published_policies_are_ignored() -> None:
    wakes: list[None] = []
    directives = Directives(AgentSettings(), "u-1", lambda: wakes.append(None))
    directives.apply_policy("Policy", to_avro(signed(Policy("fleet", "v1", T0))))
    assert directives.policy() == (None, None) and not wakes
