"""The real agent on a real Xvfb display with openbox, driven by xdotool, publishing to the real Kafka."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.integration.conftest import Isolated, wait_for
from tests.integration.display import AgentProc, Display, agent_env, decode_all, display, kind, typed
from tests.integration.test_metrics import free_port, scrape

__all__ = ["display"]


METRICS_PORT = free_port()  # the agent's own endpoint, on 127.0.0.1 (off unless set)


@pytest.fixture
def agent(isolated: Isolated, display: Display, tmp_path: Path) -> Iterator[AgentProc]:
    env = agent_env(
        {
            **isolated.env,
            "TEACHSTREAM_TOPIC_PREFIX": isolated.settings.topic_prefix,
            "TEACHSTREAM_METRICS_PORT": str(METRICS_PORT),
            "TEACHSTREAM_METRICS_BIND": "0.0.0.0",  # ignored: the agent's numbers stay on the device
        },
        display,
        tmp_path / "state",
        host=isolated.name,
        screenshot_scale="1.0",
    )
    proc = AgentProc(env, tmp_path / "agent.log")
    proc.start()
    yield proc
    proc.stop()


def test_nothing_is_captured_before_consent(isolated: Isolated, display: Display, agent: AgentProc) -> None:
    display.window("before consent", "blue", 100, 100)
    display.type("secret")
    status = agent.cli("agent", "status").stdout
    assert "no consent" in status
    assert isolated.read_all("interactions.raw", 1, timeout_s=3) == []


def test_typing_clicks_scrolls_and_a_frame_of_the_screen(
    isolated: Isolated, display: Display, agent: AgentProc
) -> None:
    assert agent.cli("consent", "accept").returncode == 0
    wid = display.window("notes", "#ff0000", 100, 80)
    agent.wait_capturing()
    display.type("hello world")
    time.sleep(0.5)
    display.xdotool("mousemove", "700", "500", "click", "1")  # on the desktop: clears the focus
    display.activate(wid)
    display.xdotool("mousemove", "300", "200", "click", "1")
    display.xdotool("click", "5", "click", "5", "click", "4")
    time.sleep(1.5)

    events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 30), "InteractionEvent")
    in_notes = [e for e in events if e["context"] and e["context"]["title"] == "notes"]
    assert typed(in_notes) == "hello world"
    assert all(e["context"]["app"] == "xterm" for e in in_notes)
    clicks = [e["payload"][1] for e in events if kind(e) == "MouseButton" and e["payload"][1]["pressed"]]
    assert [(c["x"], c["y"], c["button"]) for c in clicks] == [(700, 500, "left"), (300, 200, "left")]
    assert [e["payload"][1]["dy"] for e in events if kind(e) == "MouseScroll"] == [1, 1, -1]
    moves = [(e["payload"][1]["x"], e["payload"][1]["y"]) for e in events if kind(e) == "MouseMove"]
    assert moves and moves[-1] == (300, 200), moves  # the sampled pointer (XQueryPointer) where xdotool left it
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))

    frames = decode_all(isolated.codec, isolated.read_all("screens.raw", 2), "ScreenFrame")
    assert {f["trigger"] for f in frames} >= {"focus", "click"}  # a typing frame equal to the last one is skipped
    frame = next(f for f in frames if f["trigger"] == "click")
    img = Image.open(io.BytesIO(frame["image"])).convert("RGB")
    assert img.size == (display.width, display.height) == (frame["width"], frame["height"])
    notes = next(w for w in frame["windows"] if w["title"] == "notes")
    r, g, b = img.getpixel((notes["x"] + notes["width"] - 20, notes["y"] + notes["height"] - 20))
    assert r > 200 and g < 60 and b < 60, (r, g, b)  # the red xterm where X says it is
    r, g, b = img.getpixel((5, display.height - 5))
    assert max(r, g, b) < 60  # the dark desktop

    metrics = scrape(METRICS_PORT)  # what was handed to Kafka, as the agent counts it
    assert metrics[("teachstream_agent_events_sent_total", ())] >= len(events)
    assert metrics[("teachstream_agent_frames_sent_total", ())] >= len(frames)
    assert metrics[("teachstream_agent_state", (("state", "capturing"),))] == 1
    assert metrics[("teachstream_agent_state", (("state", "paused"),))] == 0
    assert metrics[("teachstream_agent_resident_memory_bytes", ())] > 10 * 2**20
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{METRICS_PORT}"], capture_output=True, text=True, check=True)
    assert listening.stdout.split()[3] == f"127.0.0.1:{METRICS_PORT}", listening.stdout  # not 0.0.0.0


def test_the_persons_host_name_typed_as_text_leaves_the_device_redacted(
    isolated: Isolated, display: Display, agent: AgentProc
) -> None:
    assert agent.cli("consent", "accept").returncode == 0
    display.window("notes", "#ff0000", 100, 80)
    agent.wait_capturing()
    display.type(f"ssh {isolated.name} now")
    display.xdotool("mousemove", "700", "500", "click", "1")  # a click ends the word

    def pressed() -> list[dict[str, Any]]:
        events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 40, timeout_s=5), "InteractionEvent")
        in_notes = [e for e in events if e["context"] and e["context"]["title"] == "notes"]
        return [e["payload"][1] for e in in_notes if kind(e) == "KeyEvent" and e["payload"][1]["pressed"]]

    keys: list[dict[str, Any]] = []

    def all_typed() -> bool:
        keys[:] = pressed()
        return len(keys) >= len("ssh  now") + len(isolated.name)

    wait_for(all_typed, 60, "every key typed in the notes window")
    assert "".join(k["char"] or "" for k in keys) == "ssh  now"
    assert [k["redaction"] for k in keys].count("HOST") == len(isolated.name)
    assert isolated.name not in str(keys)


def test_denied_window_gets_no_characters_and_no_frames(isolated: Isolated, display: Display, agent: AgentProc) -> None:
    agent.cli("consent", "accept")
    work = display.window("work", "#0000ff", 50, 50)
    agent.wait_capturing()
    display.window("vault.kdbx", "#00ff00", 600, 300, wm_class="KeePassXC")
    assert "deny list" in agent.cli("agent", "status").stdout
    display.type("hunter2")
    display.xdotool("click", "1")
    time.sleep(1.0)
    display.activate(work)
    display.type("ok")
    time.sleep(1.5)

    # focus on work, the marker, focus on work again, "ok" pressed and released: 7 (8 waited the full timeout)
    events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 7), "InteractionEvent")
    assert typed(events) == "ok"
    assert all(
        e["context"] is None or e["context"]["app"] != "keepassxc" or kind(e) == "CaptureSuppressed" for e in events
    )
    (marker,) = [e["payload"][1] for e in events if kind(e) == "CaptureSuppressed"]
    assert marker["reason"] == "denied window" and marker["duration_ms"] >= 1000
    assert all(e["context"]["title"] != "vault.kdbx" for e in events if e["context"])
    frames = decode_all(isolated.codec, isolated.read_all("screens.raw", 1), "ScreenFrame")
    for f in frames:
        focused = [w for w in f["windows"] if w["focused"]]
        assert all(w["app"] != "keepassxc" for w in focused)
        vault = [w for w in f["windows"] if w["app"] == "keepassxc"]
        if vault:  # visible but not focused: blacked out on the device, title withheld
            img = Image.open(io.BytesIO(f["image"])).convert("RGB")
            v = vault[0]
            assert max(img.getpixel((v["x"] + v["width"] // 2, v["y"] + v["height"] // 2))) < 40
            assert v["title"] == "" and "device:denied-window" in f["redactions"]


def test_pause_stops_capture_once_it_answers_and_resume_restarts_it(
    isolated: Isolated, display: Display, agent: AgentProc
) -> None:
    agent.cli("consent", "accept")
    display.window("diary", "#404040", 50, 50)
    agent.wait_capturing()
    display.type("a")
    t0 = time.monotonic()
    paused = agent.cli("agent", "pause", "--minutes", "5")
    # The agent answers only once the pause is applied (it waits up to 1 s for its loop), and what is typed after
    # the answer is checked below to be absent. The bound only catches an agent that hangs: the CLI round trip,
    # Python start-up included, takes about 0.6 s idle and several seconds on a loaded 2-core machine.
    assert time.monotonic() - t0 < 30.0
    assert paused.stdout.startswith("Paused until"), paused.stdout + paused.stderr
    display.type("private")
    display.xdotool("mousemove", "400", "400", "click", "1")
    assert agent.cli("agent", "resume").stdout.startswith("Capturing")
    display.type("b")
    time.sleep(1.5)
    events = decode_all(isolated.codec, isolated.read_all("interactions.raw", 6), "InteractionEvent")
    assert typed(events) == "ab"
    assert not [e for e in events if kind(e) == "MouseButton"]
    (marker,) = [e["payload"][1] for e in events if kind(e) == "CaptureSuppressed"]
    assert marker["reason"] == "paused"


def test_the_agent_command_loads_no_dataset_stream_or_sink_code(display: Display) -> None:
    """Its memory budget is 100 MB on every device: numpy, pyarrow, boto3 and the stream's libraries stay out."""
    heavy = {"numpy", "pyarrow", "boto3", "botocore", "faust", "aiokafka", "spacy", "streams", "sinks"}
    code = (
        "import sys\n"
        "import teachstream.cli, teachstream.agent_cli, producers.agent\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=display.env, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(out.stdout.split())
    assert {"producers", "confluent_kafka", "pynput", "mss"} <= loaded  # the check sees the real imports
    assert loaded.isdisjoint(heavy), sorted(loaded & heavy)


def test_typing_reaches_the_clean_topic_seconds_after_the_person_stops_not_a_minute(
    isolated: Isolated, display: Display, agent: AgentProc, tmp_path: Path
) -> None:
    """The agent's TypingPause closes the typing segment in order after the keys; the stream clock, which trails the
    wall clock (so that records delivered late are not split; five minutes here), is not waited for."""
    env = {"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), "TEACHSTREAM_TICK_LAG_S": "300"}
    isolated.start("streams", log=tmp_path / "streams.log", extra_env=env)
    assert agent.cli("consent", "accept").returncode == 0
    display.window("notes", "#ffffff", 100, 80)
    agent.wait_capturing()
    display.type("no enter here")
    stopped = time.monotonic()

    def events(topic: str) -> list[dict[str, Any]]:
        decoded = (isolated.codec.decode(m.value()) for m in isolated.read_all(topic, expect=10**9, timeout_s=1))
        return sorted((d.value for d in decoded if d.short_name == "InteractionEvent"), key=lambda v: v["seq"])

    wait_for(lambda: "no enter here" in typed(events("interactions.clean")), 120, "the typed keys, cleaned")
    assert time.monotonic() - stopped < 120  # about 7 s expected; the stream clock alone would hold them 300 s
    raw = events("interactions.raw")  # (the stream clock's ticks are on both topics too)
    pauses = [e["payload"][1]["idle_ms"] for e in raw if kind(e) == "TypingPause"]
    assert len(pauses) == 1 and 5000 <= pauses[0] < 10_000, pauses
