"""The short version of ``make chaos``: a stream worker killed under load on a stack of its own, checked
against the load generator's ledger (``bench/chaos.py --short``: 6 simulated people for 40 s, one Kafka node)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT


@pytest.mark.timeout(900)  # a failing check waits for the pipeline to catch up first; its table says what was lost
def test_a_stream_worker_killed_under_load_loses_and_duplicates_nothing_by_the_ledger(tmp_path: Path) -> None:
    env = {**os.environ, "CHAOS_HOME": str(tmp_path / "chaos"), "CHAOS_PORT_BASE": "64100"}
    for name in [n for n in env if n.startswith("TEACHSTREAM_")]:
        del env[name]  # the chaos stack's own settings, not the local stack's
    run = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--short", "--brokers", "1"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=840,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    (row,) = [line for line in out.splitlines() if line.startswith("| worker-kill |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    lost, duplicated, out_of_order, frames_lost = cells[5:9]
    assert (lost, duplicated, out_of_order, frames_lost, cells[-1]) == ("0", "0", "0", "0", "pass"), row
    assert int(cells[3].replace(",", "")) > 100, row  # events: the load really ran
