"""The shared runtime's pure parts: the control follower's reaction to a failing callback, the one dead-letter
builder and its reason format, the one decode-with-retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runtime.control_topics import ControlFollower
from runtime.settings import Settings
from schemas.codec import Codec
from schemas.control_records import ConsentRecord, ConsentState
from schemas.dead_letters import REASON_MAX, dead_letter
from schemas.errors import BadFrameError, ControlRecordError
from schemas.records import to_avro

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


class Msg:
    """A consumed record as confluent-kafka hands it over (offset, partition, value, no error)."""

    def __init__(self, value: bytes, offset: int, topic: str = "control.consent") -> None:
        self._value, self._offset, self._topic = value, offset, topic

    def value(self) -> bytes:
        return self._value

    def offset(self) -> int:
        return self._offset

    def partition(self) -> int:
        return 0

    def topic(self) -> str:
        return Settings().topic(self._topic)

    def error(self) -> None:
        return None


def _consent() -> bytes:
    record = ConsentRecord("u-1", ConsentState.WITHDRAWN, "p-1", NOW, "u-1")
    return Codec().encode("ConsentRecord", to_avro(record))


def test_a_callback_failure_stops_the_follower_at_that_record_and_says_which_one() -> None:
    failures: list[ControlRecordError] = []
    taken: list[str] = []

    def apply(name: str, _value: dict[str, Any]) -> None:
        taken.append(name)
        raise RuntimeError("disk full")

    follower = ControlFollower(Settings(), {"control.consent": apply}, on_failure=failures.append)
    assert follower._take(Msg(b"garbage", 3))  # unreadable: skipped, the follower goes on
    assert not follower._take(Msg(_consent(), 4))  # the callback failed: the follower stops here
    assert taken == ["ConsentRecord"]
    assert follower.failure is not None and failures == [follower.failure]
    assert "ConsentRecord at control.consent[0]@4" in str(follower.failure) and "disk full" in str(follower.failure)
    assert follower._positions[Settings().topic("control.consent"), 0] == 4  # stays before the failed record


def test_one_follower_hands_each_record_to_the_callback_of_its_topic_and_tracks_each_topics_position() -> None:
    taken: list[tuple[str, str]] = []
    follower = ControlFollower(
        Settings(),
        {
            "control.consent": lambda name, _v: taken.append(("consent", name)),
            "control.policy": lambda name, _v: taken.append(("policy", name)),
        },
    )
    assert follower._take(Msg(_consent(), 7, "control.policy"))  # a consent record on the policy topic
    assert follower._take(Msg(_consent(), 2, "control.consent"))
    assert follower._take(Msg(_consent(), 9, "control.erasure"))  # a topic it does not follow: ignored
    assert taken == [("policy", "ConsentRecord"), ("consent", "ConsentRecord")]
    assert follower._positions[Settings().topic("control.policy"), 0] == 8
    assert follower._positions[Settings().topic("control.consent"), 0] == 3


def test_every_dead_letter_says_where_the_record_was_and_why() -> None:
    letter = dead_letter("sessionize", "interactions.clean", 2, 41, b"\x00", BadFrameError("truncated"), NOW, b"k")
    assert letter.reason == "interactions.clean[2]@41: truncated"
    assert (letter.stage, letter.error_type, letter.key, letter.original) == (
        "sessionize",
        "BadFrameError",
        b"k",
        b"\0",
    )
    late = dead_letter("sessionize", "t", 0, 1, b"", "late by 40 s", NOW, error_type="LateEvent")
    assert late.error_type == "LateEvent" and late.reason == "t[0]@1: late by 40 s"
    assert len(dead_letter("s", "t", 0, 0, b"", "x" * 10_000, NOW).reason) == REASON_MAX


def test_decoding_with_retry_gives_up_only_when_told() -> None:
    codec = Codec()
    data = _consent()
    assert codec.decode_patiently(data, lambda: False).short_name == "ConsentRecord"
    attempts = codec.attempts(data)
    with pytest.raises(StopIteration) as done:
        next(attempts)
    assert done.value.value.short_name == "ConsentRecord"
