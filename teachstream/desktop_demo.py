"""The real capture agent on a private virtual display, driven by a scripted person (edge).

``run_desktop_demo`` starts Xvfb with openbox on a free display number, records consent in
a temporary state directory, runs ``teachstream agent`` against the given settings' Kafka,
opens two xterms and has xdotool act as a person: focus, click, type a sentence with PII,
switch windows, scroll, type a shell command with a password. Then the person opens Chromium
with the teachstream extension (its native messaging host installed for a throwaway profile)
on two local pages: the team wiki at ``wiki.example-corp.test``, a work site the demo's policy
allows, where they type a note; and their bank at ``www.mybank.test``, on no list, where what
they type is withheld. It then stops the agent with
SIGTERM (the agent delivers what it spooled before it exits), stops the display and returns
the agent's device pseudonym, so the caller can find its events and sessions.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from producers.control_socket import request
from runtime.settings import Settings
from schemas.errors import ConfigError, ServiceUnavailableError
from schemas.pseudonym import device_pseudonym

TOOLS = ("Xvfb", "openbox", "xdotool", "xterm", "chromium")
X_SOCKETS = Path("/tmp/.X11-unix")  # noqa: S108  (where every X server puts its socket)
HOST = "demo-desktop"
SENTENCE = "send the invoice to jane.doe@example.com, card 4111 1111 1111 1111"
COMMAND = "deploy --user jane --password hunter2"
WIKI, BANK = "wiki.example-corp.test", "www.mybank.test"
NOTE = "standup moved to 3pm, ask jane.doe@example.com "
BANKING = "transfer 2400 to account 12345678 "
PAGE = """<!doctype html><title>{title}</title>
<style>body {{ background: {bg}; }} textarea {{ position: fixed; top: 40px; left: 40px; width: 80%; height: 300px;
font: 22px sans-serif; }} h1 {{ font: 20px sans-serif; margin: 4px 40px; }}</style>
<h1>{title}</h1><textarea autofocus></textarea>
"""
EXTENSION = Path(__file__).resolve().parents[1] / "deploy" / "browser-extension"


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def run_desktop_demo(settings: Settings, seconds: float = 15, agent_env: Mapping[str, str] | None = None) -> str:
    """Run the scripted desktop session for about ``seconds``; returns the device pseudonym.
    ``agent_env``: settings of the agent on top of the demo's (a secure stack's agent user)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise ConfigError(
            f"the desktop demo needs {', '.join(missing)}: run `make setup` (deploy/local/system-packages.sh)"
        )
    with tempfile.TemporaryDirectory(prefix="teachstream-desktop-") as tmp, _display() as display:
        env = {**_agent_env(settings, display, Path(tmp)), **(agent_env or {})}
        _teachstream(env, "consent", "accept")
        profile = Path(tmp) / "chromium"
        _teachstream(env, "agent", "browser-install", "--browser", "chromium", "--user-data-dir", str(profile))
        log = Path(tmp) / "agent.log"
        with log.open("wb") as out:
            agent = subprocess.Popen(
                [sys.executable, "-m", "teachstream.cli", "agent"], env=env, stdout=out, stderr=out
            )
        windows: list[subprocess.Popen[bytes]] = []
        try:
            _wait_capturing(env, agent, log)
            _person(env, seconds, windows)
            with _site(Path(tmp) / "site") as port:
                _browse(env, profile, port, seconds, windows)
        finally:
            say("stopping the agent (SIGTERM: it delivers what it spooled first)")
            _stop(agent, 30)
            for window in windows:
                _stop(window, 5)
        if agent.returncode not in (0, -15):
            raise ConfigError(f"the capture agent failed (exit {agent.returncode}): {log.read_text()[-500:]}")
    return device_pseudonym(settings.pseudonym_key.get_secret_value().encode(), HOST)


def _person(env: dict[str, str], seconds: float, windows: list[subprocess.Popen[bytes]]) -> None:
    pace = max(seconds, 5.0) / 15  # the script below takes about 15 s at pace 1
    notes = _xterm(env, "notes - demo", "#1e3a5f", "80x20+60+60", windows)
    shell = _xterm(env, "shell - demo", "#3a1e1e", "80x20+760+360", windows)
    say("the person focuses the 'notes' window and clicks into it")
    _xdotool(env, "windowactivate", "--sync", notes)
    _xdotool(env, "mousemove", "--sync", "300", "200", "click", "1")
    time.sleep(pace)
    say("types a sentence with an email address and a card number, then Enter")
    _xdotool(env, "type", "--delay", str(int(80 * pace)), SENTENCE)
    _xdotool(env, "key", "Return")
    time.sleep(pace)
    say("switches to the 'shell' window and scrolls")
    _xdotool(env, "windowactivate", "--sync", shell)
    _xdotool(env, "mousemove", "--sync", "1000", "560", "click", "1")
    for button in ("5", "5", "5", "4"):
        _xdotool(env, "click", button)
        time.sleep(0.2 * pace)
    say("types a shell command with --password on the command line, then Enter")
    _xdotool(env, "type", "--delay", str(int(80 * pace)), COMMAND)
    _xdotool(env, "key", "Return")
    say("moves the pointer around for a moment")
    for i in range(int(20 * pace)):
        _xdotool(env, "mousemove", str(400 + 30 * i), str(300 + 10 * i))
        time.sleep(0.1)
    time.sleep(pace)


@contextmanager
def _site(root: Path) -> Iterator[int]:
    """The wiki's and the bank's pages on 127.0.0.1 (Chromium resolves both hosts there); the port."""
    root.mkdir()
    (root / "wiki.html").write_text(PAGE.format(title="Team wiki", bg="#e8f0e8"))
    (root / "bank.html").write_text(PAGE.format(title="My bank", bg="#f0e8e8"))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, name="demo-site", daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _browse(
    env: dict[str, str], profile: Path, port: int, seconds: float, windows: list[subprocess.Popen[bytes]]
) -> None:
    pace = max(seconds, 5.0) / 15
    say("opens Chromium, with the teachstream extension, on the team wiki (a work site) and their bank")
    args = [
        "chromium",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--password-store=basic",
        "--test-type",  # no info bar about the flags below
        "--window-position=40,40",
        "--window-size=1100,700",
        f"--host-resolver-rules=MAP {WIKI} 127.0.0.1, MAP {BANK} 127.0.0.1",
        f"--load-extension={EXTENSION}",
        *(["--no-sandbox"] if os.geteuid() == 0 else []),
        f"http://{WIKI}:{port}/wiki.html",
        f"http://{BANK}:{port}/bank.html",
    ]
    windows.append(subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    _wait_status(env, "The extension answers now from: chromium", 60)
    say(f"types a note on {WIKI} (allowed: captured, with the site's host)")
    _xdotool(env, "key", "ctrl+1")
    _wait_status(env, "Capturing", 30)
    _xdotool(env, "getactivewindow", "mousemove", "--window", "%1", "500", "300", "click", "1")
    _xdotool(env, "type", "--delay", str(int(80 * pace)), NOTE)
    time.sleep(pace)
    say(f"switches to the tab of {BANK} (on no list: withheld) and types a transfer")
    _xdotool(env, "key", "ctrl+2")
    _wait_status(env, "Not capturing the focused window", 30)
    _xdotool(env, "getactivewindow", "mousemove", "--window", "%1", "500", "300", "click", "1")
    _xdotool(env, "type", "--delay", str(int(80 * pace)), BANKING)
    say("back to the wiki")
    _xdotool(env, "key", "ctrl+1")
    _wait_status(env, "Capturing", 30)
    time.sleep(pace)


def _wait_status(env: dict[str, str], needle: str, timeout_s: float) -> None:
    state = Path(env["TEACHSTREAM_AGENT_STATE_DIR"])
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ServiceUnavailableError):
            if needle in str(request(state, {"cmd": "status"}).get("text", "")):
                return
        time.sleep(0.1)
    raise ConfigError(f"the agent's status did not say {needle!r} within {timeout_s:.0f} s")


def _agent_env(settings: Settings, display: str, state: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DISPLAY": display,
        "TEACHSTREAM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "TEACHSTREAM_TOPIC_PREFIX": settings.topic_prefix,
        "TEACHSTREAM_PSEUDONYM_KEY": settings.pseudonym_key.get_secret_value(),
        "TEACHSTREAM_AGENT_STATE_DIR": str(state / "state"),
        "TEACHSTREAM_AGENT_HOST": HOST,
        "TEACHSTREAM_AGENT_ALLOW_HOSTS": '[".example-corp.test"]',  # sites on no list stay uncaptured
        "TEACHSTREAM_LOG_LEVEL": "WARNING",
    }
    if settings.schema_registry_url:
        env["TEACHSTREAM_SCHEMA_REGISTRY_URL"] = settings.schema_registry_url
    return env


def _teachstream(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "teachstream.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(f"`teachstream {' '.join(args)}` failed: {(done.stderr or done.stdout).strip()}")
    return done.stdout


def _wait_capturing(env: dict[str, str], agent: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            raise ConfigError(f"the capture agent exited at start: {log.read_text()[-500:]}")
        status = subprocess.run(
            [sys.executable, "-m", "teachstream.cli", "agent", "status"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        if status.startswith("Capturing"):
            say(f"the agent runs: {status.strip().splitlines()[0]}")
            return
        time.sleep(0.3)
    raise ConfigError("the capture agent did not start capturing within 30 s; see its log")


def _xterm(env: dict[str, str], title: str, bg: str, geometry: str, windows: list[subprocess.Popen[bytes]]) -> str:
    """An xterm titled ``title`` (kept in ``windows`` to stop it later); its window id."""
    windows.append(
        subprocess.Popen(
            ["xterm", "-T", title, "-bg", bg, "-fg", "white", "-geometry", geometry],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--name", f"^{title}$"], env=env, capture_output=True, text=True, check=False
        ).stdout.split()
        if found:
            return found[0]
        time.sleep(0.1)
    raise ConfigError(f"the xterm {title!r} did not appear on the virtual display")


def _xdotool(env: dict[str, str], *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env, check=True, capture_output=True, timeout=60)


def _stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    proc.terminate()
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def _display(width: int = 1280, height: int = 800) -> Iterator[str]:
    """Xvfb with openbox on a free display number; everything on it is stopped at the end."""
    number = 90
    while (X_SOCKETS / f"X{number}").exists() or (X_SOCKETS.parent / f".X{number}-lock").exists():
        number += 1
    name = f":{number}"
    quiet = subprocess.DEVNULL
    xvfb = subprocess.Popen(
        ["Xvfb", name, "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"], stdout=quiet, stderr=quiet
    )
    procs = [xvfb]
    try:
        deadline = time.monotonic() + 10
        while not (X_SOCKETS / f"X{number}").exists():
            if xvfb.poll() is not None or time.monotonic() > deadline:
                raise ConfigError(f"Xvfb did not start on display {name}")
            time.sleep(0.05)
        env = {**os.environ, "DISPLAY": name}
        procs.append(subprocess.Popen(["openbox"], env=env, stdout=quiet, stderr=quiet))
        time.sleep(0.5)
        subprocess.run(["xsetroot", "-solid", "#202020"], env=env, check=False, stdout=quiet, stderr=quiet)
        say(f"virtual display {name} ({width}x{height}) with openbox is up")
        yield name
    finally:
        for proc in reversed(procs):
            _stop(proc, 5)
