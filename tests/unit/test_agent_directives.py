"""The agent's directives: this person's consent through the privacy feed, the newest policy it follows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from producers.directives import Directives
from producers.settings import AgentSettings
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, Policy
from schemas.records import to_avro

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)


def rec(user: str, state: ConsentState, minutes: int) -> ConsentRecord:
    moment = T0 + timedelta(minutes=minutes)
    return ConsentRecord(user, state, "device-1", moment, user, (CaptureScope.KEYS,), "device")


def test_the_persons_newest_consent_and_the_newest_policy_are_kept_and_each_wakes_the_agent() -> None:
    wakes: list[None] = []
    directives = Directives(AgentSettings(), "u-1", lambda: wakes.append(None))  # followers not started
    (consent,) = directives.privacy.followers
    assert directives.consent() is None and directives.policy() is None

    granted, withdrawn = rec("u-1", ConsentState.GRANTED, 0), rec("u-1", ConsentState.WITHDRAWN, 5)
    consent.on_record("ConsentRecord", to_avro(withdrawn))
    consent.on_record("ConsentRecord", to_avro(granted))  # older: arrives late, changes nothing
    consent.on_record("ConsentRecord", to_avro(rec("u-2", ConsentState.GRANTED, 9)))  # someone else
    assert directives.consent() == withdrawn
    assert len(wakes) == 2

    old = Policy("fleet", "v1", T0, screenshots=False)
    new = Policy("fleet", "v2", T0 + timedelta(hours=1))
    directives.policies.on_record("Policy", to_avro(new))
    directives.policies.on_record("Policy", to_avro(old))
    directives.policies.on_record(
        "Policy", to_avro(Policy("bad", "v3", T0 + timedelta(hours=2), deny_title_patterns=("(",)))
    )
    assert directives.policy() == new
    assert len(wakes) == 4
