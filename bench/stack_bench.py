"""Start time of the local stack: cold (empty download and build caches) and warm (all cached)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "deploy" / "local" / "stack.sh"


@dataclass(frozen=True)
class StartTime:
    name: str
    seconds: float
    note: str


def _up_down(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(STACK), "up"], env=env, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    subprocess.run([str(STACK), "down"], env=env, check=True, stdout=subprocess.DEVNULL)
    return elapsed


def run(cold: bool = True) -> list[StartTime]:
    """Stack start times in a scratch stack on its own ports (the developer's stack is not touched)."""
    work = Path(tempfile.mkdtemp(prefix="ts-bench-stack-"))
    base_env = {**os.environ, "STACK_WORKERS": "0", "TS_PORT_BASE": "61000", "TS_STACK": str(work / "stack")}
    results = []
    try:
        if cold:
            cache = work / "cache"
            env = {
                **base_env,
                "TS_CACHE": str(cache),
                "MAVEN_OPTS": f"-Dmaven.repo.local={cache / 'm2'}",
                "GOMODCACHE": str(cache / "gomod"),
                "GOCACHE": str(cache / "gobuild"),
                "GOPATH": str(cache / "gopath"),
            }
            results.append(
                StartTime(
                    "cold: empty caches, fresh data dir",
                    _up_down(env),
                    "downloads jars/modules, builds, formats storage, creates topics and bucket",
                )
            )
            shutil.rmtree(work / "stack")
            results.append(StartTime("warm: cached, fresh data dir", _up_down(env), "formats storage, creates topics"))
            results.append(StartTime("warm: cached, existing data (restart)", _up_down(env), "topics already there"))
            shutil.rmtree(cache, ignore_errors=True)
        else:
            results.append(
                StartTime("warm: cached, fresh data dir", _up_down(base_env), "formats storage, creates topics")
            )
            results.append(
                StartTime("warm: cached, existing data (restart)", _up_down(base_env), "topics already there")
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results
