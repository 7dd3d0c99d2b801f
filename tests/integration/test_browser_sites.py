"""Work sites only, for real: Debian's Chromium with the teachstream extension on Xvfb, its native
messaging host started by the browser, the real agent and Kafka; and the stream dropping a site the
signed policy denies although a device sent it."""

from __future__ import annotations

import functools
import http.server
import io
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from producers.control_socket import request
from runtime.control_topics import publish
from schemas.control_records import ConsentState, Policy
from schemas.events import InteractionEvent, MouseButton, WindowContext
from schemas.records import to_avro
from tests.integration.conftest import Isolated, wait_for
from tests.integration.display import AgentProc, Display, agent_env, decode_all, display, kind
from tests.integration.test_fleet_policy import Fleet, fleet
from tests.integration.test_metrics import free_port
from tests.integration.test_privacy import consent

__all__ = ["display", "fleet"]

CHROMIUM = shutil.which("chromium")
EXTENSION = Path(__file__).resolve().parents[2] / "deploy" / "browser-extension"
DOCS, BANK = "docs.example-corp.test", "www.bank.test"
PAGE = """<!doctype html><title>{title}</title>
<style>textarea {{ position: fixed; top: 0; left: 0; width: 100%; height: 300px; }}
input {{ position: fixed; top: 320px; bottom: 0; left: 0; width: 100%; }}</style>
<textarea autofocus></textarea><input type="password">
"""
# where the text area and the password field are in the window, below Chromium's tabs, toolbar and info bar
TEXT, PASSWORD = (600, 200), (600, 680)
SWITCH_BOUND_S = 5.0  # 5x the 1 s a tab switch should take, for a loaded 2-core machine


def serve_pages(root: Path) -> http.server.ThreadingHTTPServer:
    """Both sites' pages written under ``root`` and served on 127.0.0.1 (Chromium resolves the test hosts
    there); stop it with ``shutdown()``."""
    root.mkdir()
    (root / "docs.html").write_text(PAGE.format(title="Team docs"))
    (root / "bank.html").write_text(PAGE.format(title="Statements"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *_: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def site(tmp_path: Path) -> Iterator[int]:
    server = serve_pages(tmp_path / "site")
    yield server.server_address[1]
    server.shutdown()


class Chromium:
    def __init__(self, display: Display, profile: Path, port: int, log: Path) -> None:
        self.display, self.profile, self.port, self.log = display, profile, port, log
        self.procs: list[subprocess.Popen[bytes]] = []

    def url(self, host: str, page: str) -> str:
        return f"http://{host}:{self.port}/{page}"

    def start(self, *urls: str, extension: bool = True, incognito: bool = False) -> None:
        assert CHROMIUM is not None, "Debian's chromium is not installed (make setup installs it)"
        args = [
            CHROMIUM,
            f"--user-data-dir={self.profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--password-store=basic",
            "--window-position=0,0",
            "--window-size=1200,760",
            f"--host-resolver-rules=MAP {DOCS} 127.0.0.1, MAP {BANK} 127.0.0.1",
            *(["--no-sandbox"] if os.geteuid() == 0 else []),
            *([f"--load-extension={EXTENSION}"] if extension else []),
            *(["--incognito"] if incognito else []),
            *urls,
        ]
        out = self.log.open("ab")
        self.procs.append(subprocess.Popen(args, env=self.display.env, stdout=out, stderr=out))

    def click(self, where: tuple[int, int]) -> None:
        """Click at ``where`` in the focused window (a window just opened may take a moment to get the focus)."""
        deadline = time.monotonic() + 20
        while True:
            try:
                self.display.xdotool(
                    "getactivewindow", "mousemove", "--window", "%1", str(where[0]), str(where[1]), "click", "1"
                )
                return
            except subprocess.CalledProcessError:
                assert time.monotonic() < deadline, "no window has the focus"
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


class Status:
    """The running agent's status, asked on its control socket (quicker than the CLI, for timing)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def text(self) -> str:
        return str(request(self.state_dir, {"cmd": "status"}).get("text", ""))

    def until(self, needle: str, timeout_s: float = 30.0) -> float:
        """Seconds until the status says ``needle``; fails after ``timeout_s``."""
        start = time.monotonic()
        while needle not in (text := self.text()):
            assert time.monotonic() - start < timeout_s, f"waited {timeout_s:.0f} s for {needle!r}; status:\n{text}"
            time.sleep(0.02)
        return time.monotonic() - start


CAPTURING, WITHHELD = "Capturing", "Not capturing the focused window"


def test_chromium_with_the_extension_captures_allowed_sites_only(
    isolated: Isolated, display: Display, site: int, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    env = agent_env(
        {**isolated.env, "TEACHSTREAM_TOPIC_PREFIX": isolated.settings.topic_prefix},
        display,
        state,
        host=isolated.name,
        allow_hosts='[".example-corp.test"]',
        deny_hosts='[".bank.test"]',
    )
    agent = AgentProc(env, tmp_path / "agent.log")
    agent.start()
    browser = Chromium(display, tmp_path / "profile", site, tmp_path / "chromium.log")
    plain = Chromium(display, tmp_path / "plain-profile", site, tmp_path / "chromium-plain.log")
    try:
        assert agent.cli("consent", "accept").returncode == 0
        for profile in (browser.profile, plain.profile):
            installed = agent.cli("agent", "browser-install", "--browser", "chromium", "--user-data-dir", str(profile))
            assert installed.returncode == 0, installed.stderr
        status = Status(state)
        switches = run_the_person(browser, plain, status, display)
    finally:
        browser.stop()
        plain.stop()
        agent.stop()

    events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 60, timeout_s=10), "InteractionEvent")
    in_browser = [e for e in events if e["context"] and e["context"]["app"] == "chromium"]
    keys = [e for e in in_browser if kind(e) == "KeyEvent"]
    chars = "".join(e["payload"][1]["char"] or "" for e in keys if e["payload"][1]["pressed"])
    assert "hello docs" in chars and "and again" in chars, chars
    for hidden in (
        "secret",
        "hunter",
        "incognito",
        "plain",
    ):  # the bank, the password, the private window, no extension
        assert hidden not in chars, chars
    assert keys and {e["context"]["host"] for e in keys} == {DOCS}  # every key captured names its site
    assert all(e["context"]["host"] != BANK for e in events if e["context"])
    markers = [e for e in in_browser if kind(e) == "CaptureSuppressed"]
    assert len(markers) >= 4, markers  # bank, password field, private window, no extension
    assert all(m["context"]["title"] == "" and m["context"]["host"] is None for m in markers)
    frames = decode_all(isolated.codec, isolated.read_all("screens.raw", 1, timeout_s=10), "ScreenFrame")
    shown = [w for f in frames for w in f["windows"] if w["focused"] and w["app"] == "chromium"]
    assert shown and {w["host"] for w in shown} == {DOCS}  # no frame of the bank, the private window, or unknown
    for frame in frames:  # the tabs and the address bar (with the address's path) are blacked out on the device
        window = next((w for w in frame["windows"] if w["focused"] and w["app"] == "chromium"), None)
        if window is not None:
            assert "device:address-bar" in frame["redactions"]
            image = Image.open(io.BytesIO(frame["image"])).convert("L")
            middle = window["x"] + window["width"] // 2
            assert image.getpixel((middle, window["y"] + 60)) < 30  # the address bar's row: black
            assert image.getpixel((middle, window["y"] + 700)) > 200  # the page below it: white
    assert all(s < SWITCH_BOUND_S for s in switches), switches
    print(f"tab switch to a new decision: {', '.join(f'{s:.2f} s' for s in switches)}")


def run_the_person(browser: Chromium, plain: Chromium, status: Status, display: Display) -> list[float]:
    """The scripted person: types on the allowed site, the denied one, a password field, a private
    window, then in a browser without the extension; the seconds each tab switch took to change the decision."""
    browser.start(browser.url(DOCS, "docs.html"), browser.url(BANK, "bank.html"))
    status.until("The extension answers now from: chromium-", timeout_s=60)
    display.xdotool("key", "ctrl+1")
    status.until(CAPTURING)
    browser.click(TEXT)
    display.type("hello docs ")
    switches = []
    started = time.monotonic()
    display.xdotool("key", "ctrl+2")  # the bank's tab
    status.until("site www.bank.test is on the deny list")
    switches.append(time.monotonic() - started)
    assert status.text().startswith(WITHHELD)
    browser.click(TEXT)
    display.type("secret bank ")
    started = time.monotonic()
    display.xdotool("key", "ctrl+1")
    status.until(CAPTURING)
    switches.append(time.monotonic() - started)
    browser.click(PASSWORD)
    status.until(f"{WITHHELD}: a password field has focus")
    display.type("hunter2")
    browser.click(TEXT)
    status.until(CAPTURING)
    display.type("and again ")

    browser.start(browser.url(DOCS, "docs.html"), incognito=True)  # a private window, with the same title
    status.until(f"{WITHHELD}: the browser extension does not report this window as focused")
    browser.click(TEXT)
    display.type("incognito words ")
    assert status.text().startswith(WITHHELD)
    browser.stop()
    status.until("No browser extension answers now")

    plain.start(plain.url(DOCS, "docs.html"), extension=False)
    status.until(f"{WITHHELD}: no browser extension answers (not installed")
    plain.click(TEXT)
    display.type("plain words ")
    assert status.text().startswith(WITHHELD)
    display.xdotool("mousemove", "1260", "790", "click", "1")  # on the desktop: the browser loses the focus,
    status.until(CAPTURING)  # and the marker of how long capture was withheld goes out
    return switches


def test_the_stream_drops_a_site_the_signed_policy_denies_although_a_device_sent_it(
    isolated: Isolated, fleet: Fleet, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    policy = Policy(
        "fleet", "sites-1", now - timedelta(minutes=5), expires_at=now + timedelta(days=1),
        allow_hosts=(".example-corp.test",), deny_hosts=("bank.test",),
    )  # fmt: skip
    publish(isolated.settings, "control.policy", "fleet", fleet.signed(policy))
    consent(isolated, "u-forger", ConsentState.GRANTED, now - timedelta(hours=1))
    producer = isolated.producer()
    sent: dict[str, list[int]] = {DOCS: [], BANK: [], "news.example.org": []}
    for seq in range(1, 31):
        host = list(sent)[seq % 3]
        sent[host].append(seq)
        at = now - timedelta(seconds=60) + timedelta(milliseconds=100 * seq)
        event = InteractionEvent(
            "d-forger", "u-forger", seq, at, MouseButton("left", True, 10, 10), WindowContext("chromium", "P", 1, host)
        )
        value = isolated.codec.encode("InteractionEvent", to_avro(event))
        producer.produce(isolated.topic("interactions.raw"), value, key=b"d-forger")
    assert producer.flush(30) == 0
    keys = {"TEACHSTREAM_POLICY_KEYS": fleet.env["TEACHSTREAM_POLICY_KEYS"]}
    isolated.start(
        "streams",
        log=tmp_path / "streams.log",
        extra_env={"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), **keys},
    )

    clean: list[dict[str, Any]] = []

    def arrived() -> bool:
        decoded = (isolated.codec.decode(m.value()) for m in isolated.read_all("interactions.clean", 10**9, 2))
        clean[:] = [
            d.value for d in decoded if d.short_name == "InteractionEvent"
        ]  # (the stream's ticks are there too)
        return len(clean) >= len(sent[DOCS])

    wait_for(arrived, 180, "the allowed site's clicks in interactions.clean")
    assert sorted(e["seq"] for e in clean) == sent[DOCS]  # the denied site and the one on no list: dropped
    assert {e["context"]["host"] for e in clean} == {DOCS}
