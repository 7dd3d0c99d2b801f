"""The agent package: built from this checkout (``make agent-package``), installed into a clean home,
its ``teachstream`` answers, an upgrade keeps the config, and removal takes the program away."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_the_agent_package_installs_into_a_clean_home_answers_upgrades_and_is_removed(tmp_path: Path) -> None:
    built = run(["deploy/package/build.sh"], {**os.environ, "PY": sys.executable}, timeout=1200)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = ROOT / built.stdout.split("built ")[-1].split(" (")[0]
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    (package,) = (tmp_path / "unpacked").iterdir()
    home = tmp_path / "home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "SHIV_ROOT": str(tmp_path / "shiv")}
    installed = run([str(package / "install.sh")], env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    program = home / ".local/share/teachstream/bin/teachstream"
    config = home / ".config/teachstream/agent.toml"
    assert program.exists() and config.exists()

    version = run([str(program), "--version"], env)
    assert version.returncode == 0 and "0.1.0" in version.stdout, version.stdout + version.stderr
    status = run([str(program), "agent", "status"], {**env, "TEACHSTREAM_CONFIG": str(config)})
    assert status.returncode != 0 and "the capture agent is not running" in status.stderr, status.stderr

    # the browser extension's native host: manifests point at a launcher that runs the installed program
    launcher = home / ".local/state/teachstream/browser-host"
    for manifest in (".config/chromium/NativeMessagingHosts", ".mozilla/native-messaging-hosts"):
        assert json.loads((home / manifest / "io.teachstream.agent.json").read_text())["path"] == str(launcher)
    assert str(program) in launcher.read_text()
    report = json.dumps({"type": "tabs", "windows": []}).encode()
    host = subprocess.run(
        [str(launcher), "chrome-extension://ejicellhnfhfmlaggagjmkebjabdbnin/"],
        input=struct.pack("=I", len(report)) + report,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    (length,) = struct.unpack("=I", host.stdout[:4])
    reply = json.loads(host.stdout[4 : 4 + length])  # the host answers in native messaging framing
    assert host.returncode == 0 and reply["ok"] is False and "not running" in reply["text"], host.stderr

    config.write_text(config.read_text() + "\n# edited by ops\n")
    assert run([str(package / "install.sh")], env).returncode == 0  # an upgrade
    assert config.read_text().endswith("# edited by ops\n")
    removed = run([str(package / "install.sh"), "--remove"], env)
    assert removed.returncode == 0 and not program.exists() and config.exists(), removed.stdout
    assert not (home / ".config/chromium/NativeMessagingHosts/io.teachstream.agent.json").exists()
