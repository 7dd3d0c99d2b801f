"""How fast a tab switch changes the agent's decision, against a window switch (``BENCH_ONLY=browser``).

The real agent on Xvfb with Debian's Chromium, the teachstream extension and its native
messaging host; two tabs, one on an allowed site and one on a denied site. A switch is a key
press (``ctrl+1`` / ``ctrl+2``, through xdotool); its latency is the time until the agent's
status (asked on its control socket every 10 ms) says the new decision. The baseline, in the
same run: the same measure for a switch between two xterms, one allowed and one denied by its
title, which the agent learns from X alone.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.display import AgentProc, agent_env, start_display, stop_display
from tests.integration.test_browser_sites import BANK, DOCS, TEXT, Chromium, Status, serve_pages

SWITCHES = 20
ALLOWED, WITHHELD = "Capturing", "Not capturing the focused window"


@dataclass(frozen=True)
class Row:
    name: str
    seconds: list[float]

    def mean_ms(self) -> float:
        return statistics.mean(self.seconds) * 1000

    def cell(self, q: float) -> str:
        ordered = sorted(self.seconds)
        return f"{ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000:.0f}"


def _switches(status: Status, press: list[list[str]], xdotool: object) -> list[float]:
    out = []
    for i in range(SWITCHES):
        args = press[i % 2]
        want = WITHHELD if i % 2 == 0 else ALLOWED
        started = time.monotonic()
        xdotool(*args)  # type: ignore[operator]
        status.until(want, timeout_s=30)
        out.append(time.monotonic() - started)
        time.sleep(0.3)
    return out


def run() -> list[Row]:
    from runtime.settings import Settings, load

    settings = load(Settings)
    with tempfile.TemporaryDirectory(prefix="teachstream-browser-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        server = serve_pages(tmp / "site")
        number = 160
        while Path(f"/tmp/.X11-unix/X{number}").exists():
            number += 1
        display = start_display(number)
        base = {
            "TEACHSTREAM_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "TEACHSTREAM_TOPIC_PREFIX": f"bench-browser-{int(time.time())}.",
        }
        env = agent_env(base, display, tmp / "state", allow_hosts='[".example-corp.test"]', deny_hosts='[".bank.test"]')
        agent = AgentProc(env, tmp / "agent.log")
        agent.start()
        browser = Chromium(display, tmp / "profile", server.server_address[1], tmp / "chromium.log")
        try:
            assert agent.cli("consent", "accept").returncode == 0
            done = agent.cli(
                "agent", "browser-install", "--browser", "chromium", "--user-data-dir", str(browser.profile)
            )
            assert done.returncode == 0, done.stderr
            status = Status(tmp / "state")
            allowed = display.window("notes", "#1e3a5f", 700, 100, 40, 10)
            denied = display.window("Sign in - portal", "#3a1e1e", 700, 400, 40, 10)
            windows = _switches(
                status,
                [["windowactivate", "--sync", str(denied)], ["windowactivate", "--sync", str(allowed)]],
                display.xdotool,
            )
            browser.start(browser.url(DOCS, "docs.html"), browser.url(BANK, "bank.html"))
            status.until("The extension answers now from: chromium-", timeout_s=60)
            display.xdotool("key", "ctrl+1")
            status.until(ALLOWED)
            browser.click(TEXT)
            tabs = _switches(status, [["key", "ctrl+2"], ["key", "ctrl+1"]], display.xdotool)
        finally:
            browser.stop()
            agent.stop()
            stop_display(display)
            server.shutdown()
    return [Row("window switch (X focus; baseline)", windows), Row("tab switch (extension report)", tabs)]


def markdown(rows: list[Row]) -> str:
    return "\n".join(
        [
            "## Browser tab switch to the agent's new decision",
            "",
            f"The real agent on Xvfb with Debian's Chromium, the extension and its native messaging host; {SWITCHES}",
            "switches, alternating, between an allowed and a denied site (tabs, `ctrl+1`/`ctrl+2` through xdotool),",
            "timed from the key press until the agent's status (asked every 10 ms on its control socket) says the",
            "new decision. Baseline, same run: switches between an allowed and a denied xterm, which the agent",
            "learns from X alone. Milliseconds, xdotool's own run included.",
            "",
            "| switch | p50 ms | p95 ms | max ms | mean ms |",
            "| --- | ---: | ---: | ---: | ---: |",
            *[f"| {r.name} | {r.cell(0.5)} | {r.cell(0.95)} | {r.cell(1.0)} | {r.mean_ms():.0f} |" for r in rows],
            "",
        ]
    )


if __name__ == "__main__":
    print(markdown(run()))
