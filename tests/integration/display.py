"""A real X display for agent tests (Xvfb, openbox, xdotool helpers) and the agent run as a process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import Codec


@dataclass
class Display:
    name: str
    width: int
    height: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.name}

    def xdotool(self, *args: str) -> str:
        out = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, check=True, timeout=60)
        return out.stdout.strip()

    def window(
        self,
        title: str,
        bg: str,
        x: int,
        y: int,
        w: int = 80,
        h: int = 20,
        wm_class: str = "XTerm",
        fg: str = "white",
        font: tuple[str, ...] = (),
    ) -> int:
        """An xterm titled ``title`` with background ``bg`` at (x, y), ``w``x``h`` characters; its window id.
        ``font``: extra xterm options, e.g. ``("-fa", "DejaVu Sans Mono", "-fs", "10")``."""
        proc = subprocess.Popen(
            ["xterm", "-T", title, "-class", wm_class, "-bg", bg, "-fg", fg, *font, "-geometry", f"{w}x{h}+{x}+{y}"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = subprocess.run(
                ["xdotool", "search", "--name", f"^{title}$"], env=self.env, capture_output=True, text=True, check=False
            ).stdout.split()
            if found:
                self.activate(int(found[0]))
                return int(found[0])
            time.sleep(0.1)
        raise AssertionError(f"xterm {title!r} did not appear")

    def activate(self, wid: int) -> None:
        self.xdotool("windowactivate", "--sync", str(wid))
        time.sleep(0.3)  # let the agent notice the focus change

    def type(self, text: str, delay_ms: int = 40) -> None:
        self.xdotool("type", "--delay", str(delay_ms), text)

    @contextlib.contextmanager
    def typing(self, text: str, delay_ms: int) -> Iterator[subprocess.Popen[bytes]]:
        """xdotool typing ``text`` in the background while the block runs. On the way out it is killed and
        the letter, digit and space keys of ``text`` are released (shifted keys and punctuation are not: keep
        ``text`` to those): killed between a key's press and release, it would leave that key down, and the
        X server would repeat it into whatever is typed next."""
        typist = subprocess.Popen(["xdotool", "type", "--delay", str(delay_ms), text], env=self.env)
        try:
            yield typist
        finally:
            typist.kill()
            typist.wait()
            keys = sorted({"space" if c == " " else c for c in text if c.isalnum() or c == " "})
            subprocess.run(["xdotool", "keyup", *keys], env=self.env, capture_output=True, check=False, timeout=60)


def start_display(number: int, width: int = 1280, height: int = 800) -> Display:
    for tool in ("Xvfb", "openbox", "xdotool", "xterm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing: apt-get install xvfb openbox xdotool xterm x11-utils")
    name = f":{number}"
    Path(f"/tmp/.X{number}-lock").unlink(missing_ok=True)
    xvfb = subprocess.Popen(
        ["Xvfb", name, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    display = Display(name, width, height, [xvfb])
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline:
            raise AssertionError("Xvfb did not start")
        time.sleep(0.05)
    wm = subprocess.Popen(["openbox"], env=display.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    display.procs.append(wm)
    time.sleep(0.5)
    subprocess.run(["xsetroot", "-solid", "#202020"], env=display.env, check=False)
    return display


def stop_display(display: Display) -> None:
    for proc in reversed(display.procs):
        proc.terminate()
    for proc in display.procs:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def display() -> Iterator[Display]:
    number = 100 + os.getpid() % 400
    while Path(f"/tmp/.X11-unix/X{number}").exists():
        number += 1
    d = start_display(number)
    yield d
    stop_display(d)


# -- the agent as a process ----------------------------------------------------------------
CLI = [sys.executable, "-m", "teachstream.cli"]


@dataclass
class AgentProc:
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False)

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen([*CLI, "agent"], env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.cli("agent", "status").returncode == 0:
                return
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.2)
        raise AssertionError("the agent did not answer on its control socket")

    def wait_capturing(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.cli("agent", "status").stdout.startswith("Capturing"):
                return
            time.sleep(0.2)
        raise AssertionError(f"agent not capturing: {self.cli('agent', 'status').stdout}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)


def agent_env(base: dict[str, str], display: Display, state: Path, **settings: str) -> dict[str, str]:
    env = {**os.environ, **base, "DISPLAY": display.name, "TEACHSTREAM_AGENT_STATE_DIR": str(state)}
    env.update({f"TEACHSTREAM_AGENT_{k.upper()}": v for k, v in settings.items()})
    return env


def decode_all(codec: Codec, messages: list[Any], name: str) -> list[dict[str, Any]]:
    values = [codec.decode_named(m.value(), name) for m in messages]
    return sorted(values, key=lambda v: v["seq"])


def kind(event: dict[str, Any]) -> str:
    name, _ = event["payload"]
    return str(name).rsplit(".", 1)[-1]


def typed(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["payload"][1]["char"] or "" for e in events if kind(e) == "KeyEvent" and e["payload"][1]["pressed"]
    )
