"""Erasure: time from ``teachstream erase`` to the audit record, against deleting the same objects directly.

1. Two people's synthetic sessions (half each) are landed by the sink.
2. An erasure request for one of them is published while the sink runs; the time runs from the
   request to the audit record (the sink deletes, rewrites manifests, verifies, then audits).
3. The baseline, in the same run: the same number of objects deleted with plain ``delete_objects``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.sink_bench import _cleanup, _publish
from runtime.control_topics import publish
from runtime.settings import load
from schemas.control_records import ErasureRequest
from schemas.dataset import audit_key
from schemas.pseudonym import user_pseudonym
from sinks.s3 import delete_keys, get_or_none, list_keys, s3_client
from sinks.settings import SinkSettings
from sinks.worker import SinkWorker
from teachstream.admin import ensure_topics
from tests.samples import sample_sessions


@dataclass(frozen=True)
class ErasureResult:
    sessions: int
    objects: int
    request_to_audit_s: float
    baseline_s: float


def run(count: int = 100) -> ErasureResult:
    name = f"bench-erase-{uuid.uuid4().hex[:6]}"
    settings = load(SinkSettings, topic_prefix=f"{name}.", s3_prefix=f"bench/{name}/", sink_group=name)
    ensure_topics(settings)
    key = settings.pseudonym_key.get_secret_value().encode()
    alice, bob = user_pseudonym(key, "alice"), user_pseudonym(key, "bob")
    sessions = list(sample_sessions(count, 10, seed=3, start=datetime(2026, 11, 26, 8, tzinfo=UTC), users=(alice, bob)))
    _publish(settings, sessions)
    s3 = s3_client(settings)
    worker = SinkWorker(settings)
    request_id = uuid.uuid4().hex
    audit = audit_key(settings.s3_prefix, request_id)
    result: list[float] = []

    def drive() -> None:
        while worker.running and worker.stats.sessions < count:
            time.sleep(0.05)
        t0 = time.perf_counter()
        publish(settings, "control.erasure", alice, ErasureRequest(request_id, alice, "bench", datetime.now(UTC)))
        while get_or_none(s3, settings.s3_bucket, audit) is None:
            time.sleep(0.05)
        result.append(time.perf_counter() - t0)
        worker.stop()

    threading.Thread(target=drive, daemon=True).start()
    try:
        worker.run()
        erased = int(json.loads(get_or_none(s3, settings.s3_bucket, audit) or b"{}").get("objects_deleted", 0))
        # the baseline: as many objects, listed and deleted with plain delete_objects
        scratch = f"bench/{name}-baseline/"
        keys = [f"{scratch}{i:06d}" for i in range(erased)]
        for k in keys:
            s3.put_object(Bucket=settings.s3_bucket, Key=k, Body=b"x")
        t0 = time.perf_counter()
        delete_keys(s3, settings.s3_bucket, list(list_keys(s3, settings.s3_bucket, scratch)))
        baseline = time.perf_counter() - t0
    finally:
        _cleanup(settings, f"bench/{name}")
    return ErasureResult(count // 2, erased, result[0] if result else float("nan"), baseline)


def markdown(r: ErasureResult) -> str:
    return "\n".join(
        [
            "## Erasure: request to audit record",
            "",
            f"One person's {r.sessions} sessions (10 steps, 5 frames each) among another person's as many, landed",
            "by a running sink. `teachstream erase` publishes the request; the sink lists the person's prefixes,",
            "deletes their objects, rewrites the manifests that listed them, looks again 2 s later for anything",
            "that landed meanwhile, and writes the audit record. The baseline, in the same run, lists and deletes",
            "the same number of objects with plain `delete_objects` and nothing else.",
            "",
            "| | seconds | objects |",
            "| --- | ---: | ---: |",
            f"| plain list + `delete_objects` (baseline) | {r.baseline_s:.2f} | {r.objects} |",
            f"| erasure request to audit record | {r.request_to_audit_s:.2f} | {r.objects} |",
            "",
            "The erasure includes the 2 s verification wait, on purpose: uploads that were in flight when the",
            "request arrived are caught by the second pass.",
            "",
        ]
    )


if __name__ == "__main__":
    print(markdown(run()))
