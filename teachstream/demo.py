"""``make demo``: the product end to end on the local stack, explained as it goes (edge).

A person on a virtual display works with the real capture agent, simulated employees'
devices publish to Kafka, a broken client sends garbage; the stream worker (started by
``make stack-up``) filters, redacts, dead-letters and cuts sessions; the sink lands each
session with its frames in the S3 dataset. The demo shows the redaction, the sessions, the
dataset, writes an HTML view of the person's session, pins a training snapshot and exports it
(AgentNet), erases one person and refreshes the snapshot, and ends with a summary. The stack
keeps running afterwards.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from producers.simulator import run_simulation
from runtime.control_topics import publish
from runtime.settings import Settings, load
from schemas.codec import Codec
from schemas.control_records import ErasureRequest
from schemas.dataset import SessionEntry, audit_key, dataset_root, user_prefixes
from schemas.errors import CodecError
from schemas.events import CaptureSuppressed, InteractionEvent, KeyEvent
from schemas.records import from_avro
from schemas.trajectory import Trajectory
from sinks.s3 import get_or_none, s3_client
from sinks.settings import SinkSettings
from teachstream import dataset
from teachstream.admin import existing_topics, watermarks
from teachstream.desktop_demo import run_desktop_demo
from teachstream.exports import export as export_for_training
from teachstream.mydata import export
from teachstream.packs import PACK_DIR, is_pack
from teachstream.snapshots import SessionErasedError
from teachstream.view import render_session

DEVICES, DURATION_S, GARBAGE = 3, 8.0, 25


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


class Offsets:
    """End offsets of topics."""

    def __init__(self, kafka_config: dict[str, Any], partitions: dict[str, int]) -> None:
        self.partitions = partitions
        self.consumer = Consumer({**kafka_config, "enable.auto.commit": False})

    def ends(self, topic: str) -> dict[int, int]:
        return {p: watermarks(self.consumer, TopicPartition(topic, p))[1] for p in range(self.partitions[topic])}

    def total(self, topic: str) -> int:
        return sum(self.ends(topic).values())


def wait(label: str, done: Callable[[], bool], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            say(f"gave up waiting for {label} after {timeout_s:.0f}s; see .stack/logs/")
            sys.exit(1)
        time.sleep(0.5)


def exports(path: Path) -> dict[str, str]:
    """The ``export NAME=VALUE`` lines of a shell settings file (``.stack/env.agent``)."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line[len("export ") :].partition("=")
            out[name] = value
    return out


def _arguments() -> dict[str, str] | None:
    """The desktop agent's own Kafka settings, if ``--agent-env`` names a file of them."""
    parser = argparse.ArgumentParser(description="the whole product on the local stack, in one run")
    parser.add_argument(
        "--agent-env",
        type=Path,
        help="the desktop agent's own settings file (a secure stack's .stack/env.agent: its Kafka user)",
    )
    args = parser.parse_args()
    if args.agent_env is None:
        return None
    return {k: v for k, v in exports(args.agent_env).items() if k.startswith("TEACHSTREAM_KAFKA_")}


def main() -> None:
    agent_env = _arguments()
    settings = load(SinkSettings)
    t = settings.topic
    offsets = Offsets(settings.kafka({"group.id": settings.sink_group}), existing_topics(settings))
    dead_before = offsets.total(t("deadletter"))
    clean_before = {b: offsets.total(t(f"{b}.clean")) for b in ("interactions", "screens")}
    trajectory_start = offsets.ends(t("trajectories"))
    raw_start, clean_start = offsets.ends(t("interactions.raw")), offsets.ends(t("interactions.clean"))

    say("a person works on a virtual X display, with the real capture agent running (consent given)")
    if agent_env and settings.kafka_sasl():
        say(
            f"Kafka speaks TLS with SASL/SCRAM only: the agent runs as its own user "
            f"({agent_env.get('TEACHSTREAM_KAFKA_USERNAME', '?')}), which may write what it captures and nothing else"
        )
    desktop = run_desktop_demo(settings, agent_env=agent_env)

    say(
        f"{DEVICES} simulated employees work for {DURATION_S:.0f}s: they type (emails and card numbers too), "
        "click, scroll and switch apps; their agents publish Avro events and JPEG frames to Kafka"
    )
    result = run_simulation(settings, DEVICES, DURATION_S, seed=int(time.time()) % 1000)
    say(f"published {result.events} events to {t('interactions.raw')} and {result.frames} frames to {t('screens.raw')}")

    say(f"a broken client sends {GARBAGE} undecodable records; they must end in {t('deadletter')}, with reasons")
    producer = Producer(settings.kafka())
    rng = random.Random(1)
    for _ in range(GARBAGE):
        producer.produce(t("interactions.raw"), rng.randbytes(rng.randrange(1, 64)), key=b"broken-client")
    producer.flush(10)

    say("the stream worker decodes every record: valid ones go to the clean topics, bad ones to dead letters")
    wait("dead letters", lambda: offsets.total(t("deadletter")) >= dead_before + GARBAGE)
    cleaned = result.events - result.pauses  # the typing pauses close segments and go no further
    wait("clean events", lambda: offsets.total(t("interactions.clean")) >= clean_before["interactions"] + cleaned)
    wait("clean frames", lambda: offsets.total(t("screens.clean")) >= clean_before["screens"] + result.frames)
    dead = offsets.total(t("deadletter")) - dead_before

    say("the sessionizer cuts each device's events into sessions on event time (here after 20 s without activity)")
    sessions = collect_sessions(settings, trajectory_start, {*result.device_ids, desktop})
    say("what the desktop person typed, as the agent published it and as it left the clean stage:")
    raw = device_events(settings, t("interactions.raw"), raw_start, desktop)
    print(f"  raw:   {typed_text(raw)!r}")
    print(f"  clean: {typed_text(device_events(settings, t('interactions.clean'), clean_start, desktop))!r}")
    browser = show_sites(raw)
    say("the sessions:")
    for trajectory in sessions:
        actions = Counter(step.action for step in trajectory.steps)
        summary = ", ".join(f"{n} {action}" for action, n in actions.most_common())
        who = "desktop person" if trajectory.device_id == desktop else "simulated"
        print(f"  {who:>14} session {trajectory.session_id[:24]}…  {len(trajectory.steps)} steps ({summary})")
    for step in next((s.steps for s in sessions if s.device_id == desktop), ()):
        if step.action == "type":
            print(f"  desktop step {step.index}: type({step.text!r}) in {step.app}")

    entries, page, where = show_dataset(settings, sessions, desktop)
    erased = show_privacy(settings, entries, desktop)
    boxes = sum(sum(e.frame_labels.values()) for e in entries)
    print()
    print(
        f"teachstream demo: {result.events + result.frames} records in ({result.events} interactions and "
        f"{result.frames} screen frames from {DEVICES} simulated devices, plus the desktop person's), "
        f"typed PII redacted before it left the stream and covered in {boxes} boxes of the screenshots, "
        f"{len(entries)} sessions out as a dataset "
        f"({sum(e.steps for e in entries)} steps, {sum(e.frames for e in entries)} frames, "
        f"{sum(e.bytes for e in entries) / 1024:.0f} KiB under {where}), "
        f"{dead} dead letters (the broken client's records); {browser}; "
        f"one person's copy of their data exported and then erased ({erased})."
    )
    print(f"Open {page} in a browser to check a trajectory the way a reviewer would.")
    print("The stack is still running. Look around:  . .stack/env; teachstream dataset ls; teachstream tail deadletter")
    print("Stop it with:  make stack-down")


def show_sites(events: list[InteractionEvent]) -> str:
    """What the agent did in the browser: what it captured on which site, and how long it withheld; in short."""
    say("in Chromium, the extension told the agent which site each tab shows; the agent's decisions:")
    hosts = sorted({e.context.host for e in events if e.context and e.context.host})
    for host in hosts:
        on_site = [e for e in events if e.context and e.context.host == host]
        print(f"  {host}: captured with its host, typed {typed_text(on_site)!r}")
    withheld = [e.payload for e in events if isinstance(e.payload, CaptureSuppressed)]
    seconds = sum(p.duration_ms for p in withheld if isinstance(p, CaptureSuppressed)) / 1000
    print(
        f"  www.mybank.test (on no list, so never captured): no keys, clicks or frames; {len(withheld)} markers say "
        f"capture was withheld for {seconds:.1f}s in all (the bank's tab, and the browser's first moment before its "
        "extension answered), without title or host"
    )
    return f"browser typing kept only on {', '.join(hosts) or 'no site'}, the bank's tab withheld"


def show_dataset(settings: Settings, sessions: list[Trajectory], desktop: str) -> tuple[list[SessionEntry], Path, str]:
    """Wait for the sink to list the sessions, print their objects, write the desktop session's HTML view."""
    say("the sink stores each closed session as Parquet steps with the frames they refer to, then lists it")
    say("in a manifest: readers only ever see complete sessions")
    ds = dataset.open(f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}", client=s3_client(settings))
    wanted = {s.session_id for s in sessions}

    def landed() -> bool:
        ds.refresh()
        return wanted <= {e.session_id for e in ds.sessions()}

    wait("the sink to store the sessions", landed)
    entries = [e for e in ds.sessions() if e.session_id in wanted]
    for entry in entries:
        print(f"  {ds.storage.describe()}{entry.steps_key}  (+{entry.frames} frames, {entry.bytes / 1024:.0f} KiB)")
    mine = next(e for e in entries if e.device_id == desktop)
    page = Path(".stack/demo-session.html").resolve()
    steps = ds.steps(mine)
    frames = {k: ds.frame_bytes(k) for k in {s["frame_key"] for s in steps if s["frame_key"]}}
    page.write_text(render_session(mine, steps, frames), encoding="utf-8")
    say("the stream read every frame of the desktop person (Tesseract) and covered what it showed of the PII,")
    say("and the windows the policy denies, with solid boxes before the frame was stored:")
    covered = ", ".join(f"{label} {n}" for label, n in sorted(mine.frame_labels.items())) or "none"
    print(f"  boxes covered in the desktop person's {mine.frames} frames, by label: {covered}")
    say(f"the desktop person's session, every step drawn on its frame (covered boxes labelled): {page}")
    return entries, page, ds.storage.describe()


def show_privacy(settings: Settings, entries: list[SessionEntry], desktop: str) -> str:
    """One simulated person asks for a copy of their data, then for its erasure; what the erasure did."""
    person = next(e.user_id for e in entries if e.device_id != desktop)
    ds = dataset.open(f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}", client=s3_client(settings))
    say(f"a simulated person ({person}) asks for a copy of their data (teachstream my-data), then for erasure")
    copy = Path(".stack/demo-my-data.zip").resolve()
    count = export(ds, [person], [], copy, datetime.now(UTC))
    print(f"  {copy}: {count} sessions, with index.html saying what is stored and what was redacted")
    snapshot = f"demo-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    say(f"an ML team pins this run's sessions as snapshot {snapshot} and exports them for training (AgentNet)")
    ds.create_snapshot(snapshot, entries, {"demo": True}, packed=True)
    pinned = ds.snapshot(snapshot)
    packs = [k for p in pinned.pinned.sessions for k in p.etags if is_pack(k)]
    print(f"  packed: each session's steps and frames also in one object ({len(packs)} packs), read in one request")
    done = export_for_training(pinned, pinned.sessions(), "agentnet", Path(".stack/demo-agentnet").resolve())
    print(
        f"  {done.sessions} sessions, {done.steps} steps as pyautogui calls with their screenshots: "
        f"{Path('.stack/demo-agentnet/agentnet.jsonl').resolve()}"
    )
    request = ErasureRequest(uuid.uuid4().hex, person, "demo-hr", datetime.now(UTC), "asked in the demo")
    publish(settings, "control.erasure", person, request)
    s3, key = s3_client(settings), audit_key(settings.s3_prefix, request.request_id)
    wait("the erasure's audit record", lambda: get_or_none(s3, settings.s3_bucket, key) is not None)
    audit = json.loads(get_or_none(s3, settings.s3_bucket, key) or b"{}")
    ds.refresh()
    left = len(ds.sessions(user=person))
    print(
        f"  the sink deleted {audit['objects_deleted']} objects and {audit['sessions_removed']} sessions from the "
        f"manifests in {audit['duration_ms'] / 1000:.1f}s; the reader now lists {left} of their sessions, and "
        f"{sum(1 for _ in ds.storage.list(user_prefixes(person, [])[0] + PACK_DIR))} snapshot packs; audit: "
        f"s3://{settings.s3_bucket}/{key}"
    )
    findings = pinned.findings()
    say(f"the snapshot still names that person's sessions: reading it now is refused ({len(findings)} erased)")
    try:
        next(pinned.iter_steps(frames=False))
    except SessionErasedError as exc:
        print(f"  {exc}")
    new_key, _, deleted = ds.refresh_snapshot(snapshot)
    pruned = ds.prune_packs()
    print(f"  refreshed: {new_key} without them; {len(deleted)} earlier version and {len(pruned)} packs deleted")
    return (
        f"{audit['objects_deleted']} objects in {audit['duration_ms'] / 1000:.1f}s; the training snapshot "
        f"made before it was refreshed without their {len(findings)} session{'' if len(findings) == 1 else 's'}"
    )


def device_events(settings: Settings, topic: str, start: dict[int, int], device: str) -> list[InteractionEvent]:
    """The events of one device in ``topic`` from ``start`` on, in order."""
    codec = Codec.from_url(settings.schema_registry_url)
    consumer = Consumer(settings.kafka({"group.id": "teachstream-demo", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    ends = {p: watermarks(consumer, TopicPartition(topic, p))[1] for p in start}
    pending = {p for p in start if ends[p] > start[p]}
    events: list[InteractionEvent] = []
    deadline = time.monotonic() + 60
    try:
        while pending and time.monotonic() < deadline:  # up to the end as it is now: ticks keep coming
            for msg in consumer.consume(500, 0.5):
                if (msg.offset() or 0) >= ends[msg.partition() or 0] - 1:
                    pending.discard(msg.partition() or 0)
                try:
                    decoded = codec.decode(msg.value() or b"") if msg.error() is None else None
                except CodecError:
                    continue  # the broken client's records
                if decoded is not None and decoded.short_name == "InteractionEvent":
                    event = from_avro(InteractionEvent, decoded.value)
                    if event.device_id == device:
                        events.append(event)
    finally:
        consumer.close()
    return sorted(events, key=lambda e: e.seq)


def typed_text(events: list[InteractionEvent]) -> str:
    """The characters typed in ``events`` (not shortcuts); redacted runs show as ``<LABEL>``."""
    out: list[str] = []
    for e in events:
        key = e.payload
        if not isinstance(key, KeyEvent) or not key.pressed or {"ctrl", "alt", "super"} & set(key.modifiers):
            continue  # (a shortcut such as ctrl+1 types nothing)
        chunk = f"<{key.redaction}>" if key.redaction else key.char or ("⏎" if key.key == "enter" else "")
        if chunk and not (chunk.startswith("<") and out and out[-1] == chunk):
            out.append(chunk)
    return "".join(out)


def collect_sessions(
    settings: Settings, start: dict[int, int], devices: set[str], timeout_s: float = 90
) -> list[Trajectory]:
    """Trajectories of ``devices`` written after ``start``, once every device has at least one."""
    codec = Codec.from_url(settings.schema_registry_url)
    consumer = Consumer(settings.kafka({"group.id": "teachstream-demo", "enable.auto.commit": False}))
    consumer.assign([TopicPartition(settings.topic("trajectories"), p, o) for p, o in start.items()])
    found: list[Trajectory] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not devices <= {s.device_id for s in found}:
            for msg in consumer.consume(100, 0.5):
                if msg.error() is None and msg.value():
                    trajectory = from_avro(Trajectory, codec.decode(msg.value() or b"").value)
                    if trajectory.device_id in devices:
                        found.append(trajectory)
    finally:
        consumer.close()
    if not devices <= {s.device_id for s in found}:
        say(f"gave up waiting for sessions after {timeout_s:.0f}s; see .stack/logs/streams.log")
        sys.exit(1)
    return sorted(found, key=lambda s: s.start_time)


if __name__ == "__main__":
    main()
