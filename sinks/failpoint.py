"""Fault injection for the crash tests: kill this worker at a named point of the loop (edge).

``TEACHSTREAM_SINK_FAILPOINT=before_manifest:N`` (or ``before_commit:N``) kills the worker
with SIGKILL the N-th time it reaches that point; the integration tests then check that the
next worker replays into the same objects.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)


class Failpoint:
    def __init__(self, spec: str | None) -> None:
        self.spec = spec
        self.point, _, count = (spec or "").partition(":")
        self.count = int(count or 1) if spec else 0
        self.hits = 0

    def __call__(self, name: str) -> None:
        """Kill the process now if ``name`` is the point and this is the N-th time here."""
        if self.spec and self.point == name:
            self.hits += 1
            if self.hits >= self.count:
                log.error("failpoint %s reached: killing this worker with SIGKILL", self.spec)
                os.kill(os.getpid(), signal.SIGKILL)
