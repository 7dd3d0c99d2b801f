"""The sink's fail points: the crash tests kill the worker the N-th time it reaches a named point."""

from __future__ import annotations

import signal

import pytest

from sinks import failpoint
from sinks.failpoint import Failpoint


@pytest.fixture
def kills(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr(failpoint.os, "kill", lambda _pid, sig: sent.append(sig))
    return sent


def test_the_worker_is_killed_the_nth_time_it_reaches_the_point(kills: list[int]) -> None:
    point = Failpoint("before_manifest:2")
    point("before_commit")
    point("before_manifest")
    assert kills == []
    point("before_manifest")
    assert kills == [signal.SIGKILL]


def test_without_a_count_the_first_time_kills_and_without_a_spec_nothing_does(kills: list[int]) -> None:
    Failpoint(None)("before_commit")
    Failpoint("")("before_commit")
    assert kills == []
    Failpoint("before_commit")("before_commit")
    assert kills == [signal.SIGKILL]
