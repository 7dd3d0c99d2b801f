"""The alert rules pass Prometheus's own checker (promtool, built into the cache once)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1800)  # the first run builds promtool
def test_promtool_accepts_the_alert_rules() -> None:
    script = ROOT / "deploy" / "local" / "promtool.sh"
    fetched = subprocess.run([str(script), "fetch"], capture_output=True, text=True, timeout=1800, check=False)
    assert fetched.returncode == 0, fetched.stderr[-3000:]
    promtool = subprocess.run([str(script), "path"], capture_output=True, text=True, check=True).stdout.strip()
    checked = subprocess.run(
        [promtool, "check", "rules", str(ROOT / "deploy" / "prometheus" / "alerts.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    count = sum(len(group["rules"]) for group in rules["groups"])
    assert f"SUCCESS: {count} rules found" in checked.stdout  # every rule was read
