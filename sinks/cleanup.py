"""The janitor's tasks: clean-up after an erasure request or a withdrawal, retried until done (edge).

The privacy feed calls :meth:`Cleanup.hand_over` on its follower threads with each new
withdrawal or erasure; it only queues the change. The worker's loop calls :meth:`Cleanup.run`,
which turns queued changes into tasks (an erasure first takes the person out of the manifests
this worker owns) and runs the tasks that are due with the :class:`~sinks.janitor.Janitor`. A
task that fails (S3 away, a manifest that keeps changing) is tried again 10 s later.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from runtime.metrics import ERASURE_SECONDS, SLOW_BUCKETS, seconds
from schemas.control_records import ConsentRecord, ErasureRequest
from schemas.errors import StorageUnavailableError
from schemas.privacy import Change, Erasure, Withdrawal
from sinks.janitor import Janitor, Removed
from sinks.manifests import Manifests
from sinks.stats import SinkStats

log = logging.getLogger(__name__)

RETRY_S = 10.0


ERASURE_HELP = "from an erasure request to the sink having deleted what it names"


@dataclass
class Task:
    """Clean-up after an erasure request or a withdrawal, retried until it is done."""

    what: str
    user_id: str
    request: ErasureRequest | None = None
    since: datetime | None = None
    already: Removed | None = None
    due: float = 0.0


class Cleanup:
    def __init__(self, janitor: Janitor, manifests: Manifests, stats: SinkStats, clock: Callable[[], float]) -> None:
        self.janitor, self.manifests, self.stats, self.clock = janitor, manifests, stats, clock
        self.changes: queue.SimpleQueue[Change] = queue.SimpleQueue()
        self.tasks: list[Task] = []

    def hand_over(self, _record: ConsentRecord | ErasureRequest, change: Change | None) -> None:
        """The privacy feed's ``on_change``, on a follower thread: queue the change for the loop."""
        if change is not None:
            self.changes.put(change)

    def run(self) -> None:
        """In the loop's thread: turn queued changes into tasks, then run the tasks that are due."""
        while True:
            try:
                change = self.changes.get_nowait()
            except queue.Empty:
                break
            self.tasks.append(self._task(change))
        now = self.clock()
        for task in [t for t in self.tasks if t.due <= now]:
            try:
                if task.request is not None:
                    done = self.janitor.erase(task.request, task.already)
                    if done is not None:
                        self.stats.erasures += 1
                        took = (datetime.now(UTC) - task.request.requested_at).total_seconds()  # wall clocks
                        seconds(ERASURE_SECONDS, ERASURE_HELP, "sink", SLOW_BUCKETS).observe(max(0.0, took))
                else:
                    assert task.since is not None
                    done = self.janitor.withdraw(task.user_id, task.since)
                if done:
                    log.info("%s: %d objects deleted, %d sessions changed", task.what, done.objects, done.sessions)
                    self.manifests.card_stale = True
                self.tasks.remove(task)
            except (BotoCoreError, ClientError, StorageUnavailableError, RuntimeError) as exc:
                log.warning("%s could not finish (%s); trying again in %.0f s", task.what, exc, RETRY_S)
                task.due = now + RETRY_S

    def _task(self, change: Change) -> Task:
        if isinstance(change, Withdrawal):
            return Task(f"withdrawal of {change.user_id}", change.user_id, since=change.since)
        assert isinstance(change, Erasure)
        request = change.request
        forgotten = self.manifests.forget(request.user_id)
        return Task(f"erasure {request.request_id}", request.user_id, request=request, already=forgotten)
