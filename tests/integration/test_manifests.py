"""Every Kubernetes manifest passes the schema of its kind (Kubernetes', Strimzi's, the Prometheus
Operator's, KEDA's), checked by deploy/local/kubevalidate.sh; a broken one does not."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

VALIDATE = ROOT / "deploy" / "local" / "kubevalidate.sh"


def _run(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VALIDATE), *map(str, files)], capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.timeout(1200)  # the first run installs the schema packages from npm
def test_every_manifest_is_valid_and_a_broken_one_is_not(tmp_path: Path) -> None:
    manifests = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
    done = _run(*manifests)
    assert done.returncode == 0, done.stdout + done.stderr
    count = sum(text.count("\nkind: ") + text.startswith("kind: ") for text in (m.read_text() for m in manifests))
    assert f"{count} resources valid, 0 invalid" in done.stdout
    users = (ROOT / "deploy" / "kubernetes" / "users.yaml").read_text()
    broken = tmp_path / "users.yaml"
    broken.write_text(users.replace("- Write", "- Scribble", 1).replace("patternType: prefix", "patternType: glob", 1))
    refused = _run(broken)
    assert refused.returncode == 1
    assert "operations/0 must be equal to one of the allowed values" in refused.stdout
    assert "patternType must be equal to one of the allowed values" in refused.stdout
