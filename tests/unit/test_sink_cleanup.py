"""The sink's clean-up tasks: privacy changes handed over from the feed's thread, run by the loop, retried."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, cast

from botocore.exceptions import EndpointConnectionError

from schemas.control_records import ConsentRecord, ConsentState, ErasureRequest
from schemas.privacy import Erasure, Withdrawal
from sinks.cleanup import Cleanup
from sinks.janitor import Janitor, Removed
from sinks.manifests import Manifests
from sinks.stats import SinkStats

T = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
REQUEST = ErasureRequest("r-1", "u-1", "hr", T)


class FakeJanitor:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.failures = 0
        self.erased_before = False

    def erase(self, request: ErasureRequest, already: Removed | None = None) -> Removed | None:
        self.calls.append(("erase", request.request_id, already))
        if self.failures:
            self.failures -= 1
            raise EndpointConnectionError(endpoint_url="http://s3")
        return None if self.erased_before else Removed(objects=3, sessions=1) + (already or Removed())

    def withdraw(self, user_id: str, since: datetime) -> Removed | None:
        self.calls.append(("withdraw", user_id, since))
        return Removed(objects=1)


class FakeManifests:
    def __init__(self) -> None:
        self.card_stale = False
        self.forgotten: list[str] = []

    def forget(self, user_id: str) -> Removed:
        self.forgotten.append(user_id)
        return Removed(sessions=2, manifests=1)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def cleanup() -> tuple[Cleanup, FakeJanitor, FakeManifests, SinkStats, Clock]:
    janitor, manifests, stats, clock = FakeJanitor(), FakeManifests(), SinkStats(), Clock()
    tasks = Cleanup(cast(Janitor, janitor), cast(Manifests, manifests), stats, clock)
    return tasks, janitor, manifests, stats, clock


def test_an_erasure_from_the_feed_thread_is_run_by_the_loop_after_forgetting_the_owned_manifests() -> None:
    tasks, janitor, manifests, stats, _ = cleanup()
    feed = threading.Thread(target=tasks.hand_over, args=(REQUEST, Erasure(REQUEST)))
    feed.start()
    feed.join()
    assert janitor.calls == [] and manifests.forgotten == []  # nothing happens on the feed's thread
    tasks.run()
    assert manifests.forgotten == ["u-1"]
    assert janitor.calls == [("erase", "r-1", Removed(sessions=2, manifests=1))]
    assert stats.erasures == 1 and manifests.card_stale and tasks.tasks == []


def test_a_withdrawal_becomes_a_withdrawal_clean_up() -> None:
    tasks, janitor, manifests, stats, _ = cleanup()
    record = ConsentRecord("u-1", ConsentState.WITHDRAWN, "v1", T, "device")
    tasks.hand_over(record, Withdrawal("u-1", T))
    tasks.run()
    assert janitor.calls == [("withdraw", "u-1", T)] and manifests.forgotten == []
    assert stats.erasures == 0 and manifests.card_stale


def test_records_that_change_nothing_make_no_task() -> None:
    tasks, janitor, _, _, _ = cleanup()
    tasks.hand_over(REQUEST, None)
    tasks.run()
    assert janitor.calls == [] and tasks.tasks == []


def test_an_erasure_another_worker_finished_is_not_counted() -> None:
    tasks, janitor, manifests, stats, _ = cleanup()
    janitor.erased_before = True
    tasks.hand_over(REQUEST, Erasure(REQUEST))
    tasks.run()
    assert stats.erasures == 0 and not manifests.card_stale and tasks.tasks == []


def test_a_failed_task_is_tried_again_ten_seconds_later() -> None:
    tasks, janitor, _, stats, clock = cleanup()
    janitor.failures = 1
    tasks.hand_over(REQUEST, Erasure(REQUEST))
    tasks.run()
    assert len(tasks.tasks) == 1 and stats.erasures == 0
    clock.now = 9.0
    tasks.run()
    assert len(janitor.calls) == 1
    clock.now = 10.0
    tasks.run()
    assert len(janitor.calls) == 2 and stats.erasures == 1 and tasks.tasks == []
