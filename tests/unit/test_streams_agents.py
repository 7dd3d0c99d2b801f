"""The agents themselves, driven by faust's ``agent.test_context()``: no Kafka, no schema registry.

Each test builds the worker's faust app (``streams.app.create_app``, tables in memory), adds
one agent (interactions: clean and sessionize; or screens) writing to in-memory faust channels
instead of topics, puts raw bytes into it as Kafka would deliver them, and reads what came
out (a channel delivers to its clones, so the test listens on clones made before it starts). Consent comes from a
:class:`schemas.privacy.PrivacyState` held by a feed without followers.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import AgentT
from faust.types.tuples import Message
from PIL import Image

from schemas.codec import Codec
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState, ErasureRequest, Policy, Tick
from schemas.events import (
    InteractionEvent,
    KeyEvent,
    Monitor,
    MouseButton,
    ScreenFrame,
    TypingPause,
    VisibleWindow,
    WindowContext,
)
from schemas.kill_switch import KillSwitches
from schemas.privacy import PrivacyState
from schemas.records import from_avro, to_avro
from streams import cleaning
from streams.app import create_app
from streams.core.positions import InOrder
from streams.core.store import SessionStore
from streams.memory import YOUNG_THRESHOLD, collect_less_often
from streams.privacy import PrivacyGate
from streams.sessionizer import Sessionizer
from streams.settings import StreamsSettings
from streams.tables import JsonTable

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CODEC = Codec()
MAIL = VisibleWindow("thunderbird", "Reply to jane.doe@example.com - Mail", 0, 0, 960, 540, focused=True)
VAULT = VisibleWindow("KeePassXC", "Passwords - KeePassXC", 0, 0, 960, 540, focused=True)


class StateFeed:
    """A privacy feed without followers: it answers from a state the test fills, and is always caught up."""

    def __init__(self, state: PrivacyState, pending: list[ConsentRecord] | None = None) -> None:
        self.state, self.pending, self.reads = state, pending or [], 0
        self.unreadable = 0  # how many reads from now on cannot reach the end of the topics

    def start(self) -> StateFeed:
        return self

    def stop(self) -> None:
        pass

    def wait_caught_up(self, timeout_s: float) -> bool:
        self.reads += 1
        if self.unreadable:
            self.unreadable -= 1
            return False
        while self.pending:  # records that were on their way when the gate asked
            self.state.apply(self.pending.pop(0))
        return True

    def covers(self, user_id: str, scope: CaptureScope | None, moment: datetime) -> bool:
        return self.state.covers(user_id, scope, moment)

    def erased(self, user_id: str, moment: datetime) -> bool:
        return self.state.erased(user_id, moment)


def consent(*users: str) -> PrivacyState:
    state = PrivacyState()
    for user in users:
        state.apply(ConsentRecord(user, ConsentState.GRANTED, "p-1", T0 - timedelta(hours=1), user))
    return state


@dataclass
class Stage:
    """One agent on a faust app, and listeners on what it sends on: clean records, trajectories, dead letters."""

    agent: AgentT[Any]
    counters: Counter[str]
    clean: faust.ChannelT[Any]
    trajectories: faust.ChannelT[Any]
    deadletter: faust.ChannelT[Any]
    offsets: dict[str, int] = field(default_factory=dict)  # the last offset given to a record of each topic

    async def put(self, value: bytes, key: bytes = b"d-1", topic: str | None = None) -> None:
        """Hand ``value`` to the agent as record of partition 0 (of ``topic``, if given) and wait until it
        is processed."""
        if topic is None:
            await self.agent.put(value=value, key=key, partition=0)  # faust's own offsets, of topic "<internal>"
            return
        offset = self.offsets[topic] = self.offsets.get(topic, -1) + 1  # each topic's offsets in a row, as in Kafka
        generation = self.agent.app.consumer_generation_id  # faust drops records of an older generation
        message = Message(topic, 0, offset, time.time(), 0, None, key, value, b"", generation_id=generation)
        channel = self.agent.stream().channel
        await channel.put(await channel.decode(message))
        async with self.agent.new_value_processed:  # type: ignore[attr-defined]
            await self.agent.new_value_processed.wait()  # type: ignore[attr-defined]

    @staticmethod
    async def drain(listener: faust.ChannelT[Any]) -> list[faust.EventT[Any]]:
        events = []
        while not listener.empty():
            events.append(await listener.get())
        return events

    async def forwarded(self) -> list[faust.EventT[Any]]:
        return await self.drain(self.clean)

    async def sessions(self) -> list[faust.EventT[Any]]:
        return await self.drain(self.trajectories)

    async def dead_letters(self) -> list[dict[str, Any]]:
        return [CODEC.decode_named(e.value, "DeadLetter") for e in await self.drain(self.deadletter)]


Wire = Callable[
    [
        faust.App,
        StreamsSettings,
        Counter[str],
        PrivacyGate,
        faust.ChannelT[Any],
        faust.ChannelT[Any],
        faust.ChannelT[Any],
    ],
    AgentT[Any],
]


def screens(
    app: faust.App, settings: StreamsSettings, counters: Counter[str], gate: PrivacyGate, *out: faust.ChannelT[Any]
) -> AgentT[Any]:
    clean, _, deadletter = out
    outlets = cleaning.Outlets("screens.clean", clean, deadletter, 6, CODEC, counters)
    return cleaning.register_screens(app, settings, CODEC, counters, gate, outlets, writes=Changelogs())


class Changelogs:
    """Where the agent's table changes would be produced: kept in a list (the integration tests use Kafka)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, int]] = []

    def produce(self, topic: str, value: bytes | None, key: bytes | None, partition: int) -> None:
        self.records.append((topic, value, key, partition))

    async def flush(self) -> None:
        pass


def interactions(
    app: faust.App, settings: StreamsSettings, counters: Counter[str], gate: PrivacyGate, *out: faust.ChannelT[Any]
) -> AgentT[Any]:
    clean, trajectories, deadletter = out
    outlets = cleaning.Outlets("interactions.clean", clean, deadletter, 6, CODEC, counters)
    writes = Changelogs()
    table = JsonTable(app.Table("interactions", partitions=6), writes)
    sessions = Sessionizer(app, settings, CODEC, counters, gate, table, trajectories, deadletter)
    return cleaning.register_interactions(
        app, settings, CODEC, counters, gate, outlets, sessions=sessions, writes=writes
    )


Scenario = Callable[[Stage], Awaitable[None]]


def drive(tmp_path: Path, wire: Wire, state: PrivacyState, scenario: Scenario) -> None:
    """Run ``scenario`` against the agent ``wire`` adds, consent answered from ``state``."""

    async def main() -> None:
        settings = StreamsSettings(
            streams_data_dir=str(tmp_path), topic_prefix="unit-", schema_registry_url=None, redact_names=False
        )
        app = create_app(settings, wire=lambda _app, _settings: None)
        counters: Counter[str] = Counter()
        channels = app.channel(), app.channel(), app.channel()  # clean, trajectories, dead letters
        agent = wire(app, settings, counters, PrivacyGate(StateFeed(state)), *channels)
        listeners = [c.clone(is_iterator=True) for c in channels]  # a channel feeds its clones
        async with agent.test_context() as running:
            await scenario(Stage(running, counters, *listeners))

    run(main())


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 60))


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, "JPEG")
    return out.getvalue()


JPEG = _jpeg(960, 540)


def frame(user: str, *windows: VisibleWindow, seq: int = 1) -> bytes:
    f = ScreenFrame("d-1", user, seq, T0, f"d-1-{seq}", "click", JPEG, 960, 540, Monitor(0, 0, 0, 1920, 1080), windows)
    return CODEC.encode("ScreenFrame", to_avro(f))


def typed(text: str, user: str = "u-1") -> list[InteractionEvent]:
    ctx, out = WindowContext("thunderbird", "Reply to jane.doe@example.com - Mail", 1), []
    for i, ch in enumerate(text):
        key, t = {"\n": "enter", " ": "space"}.get(ch, ch), T0 + timedelta(milliseconds=100 * i)
        out.append(InteractionEvent("d-1", user, 2 * i + 1, t, KeyEvent(True, key, None if ch == "\n" else ch), ctx))
        out.append(InteractionEvent("d-1", user, 2 * i + 2, t + timedelta(milliseconds=40), KeyEvent(False, key), ctx))
    return out


def encoded(record: Any) -> bytes:
    return CODEC.encode(record.AVRO_NAME, to_avro(record))


# -- the screens clean agent ------------------------------------------------------------------


def test_screens_agent_forwards_a_consented_frame_with_redacted_titles_and_drops_a_denied_focus_frame(
    tmp_path: Path,
) -> None:
    async def scenario(stage: Stage) -> None:
        await stage.put(frame("u-1", MAIL, seq=1))
        await stage.put(frame("u-1", VAULT, seq=2))
        (sent,) = await stage.forwarded()
        forwarded = from_avro(ScreenFrame, CODEC.decode_named(sent.value, "ScreenFrame"))
        assert sent.key == b"d-1" and forwarded.seq == 1 and forwarded.image == JPEG
        assert [w.title for w in forwarded.windows] == ["Reply to <EMAIL> - Mail"]
        assert await stage.dead_letters() == []
        assert stage.counters["filter.denied_frames"] == 1 and stage.counters["screens.clean.forwarded"] == 1

    drive(tmp_path, screens, consent("u-1"), scenario)


def test_screens_agent_drops_frames_consent_did_not_cover(tmp_path: Path) -> None:
    state = consent("u-1")
    state.apply(ErasureRequest("r-1", "u-2", "hr", T0 + timedelta(hours=1)))

    async def scenario(stage: Stage) -> None:
        await stage.put(frame("u-3", MAIL))  # no consent record at all
        await stage.put(frame("u-2", MAIL))  # erased
        assert await stage.forwarded() == [] and await stage.dead_letters() == []
        assert stage.counters["consent.dropped_frames"] == 2

    drive(tmp_path, screens, state, scenario)


def test_garbage_and_wrong_records_become_dead_letters_saying_where_and_why(tmp_path: Path) -> None:
    async def scenario(stage: Stage) -> None:
        await stage.put(b"garbage", key=b"broken")
        await stage.put(encoded(typed("a")[0]))  # offset 1: an interaction on the screens topic
        assert await stage.forwarded() == []
        first, second = await stage.dead_letters()
        assert first["stage"] == "screens.clean" and first["error_type"] == "BadFrameError"
        assert first["reason"].startswith("unit-screens.raw[0]@0: not an Avro record")
        assert first["original"] == b"" and first["key"] == b"broken"  # screens.raw bytes never go to dead letters
        assert first["topic"] == "unit-screens.raw" and first["partition"] == 0 and first["offset"] == 0
        assert second["error_type"] == "WrongRecordTypeError"
        assert second["reason"] == "unit-screens.raw[0]@1: expected a ScreenFrame, got a InteractionEvent"
        assert stage.counters["screens.clean.dead_lettered"] == 2

    drive(tmp_path, screens, consent("u-1"), scenario)


# -- the interactions clean agent -------------------------------------------------------------


def test_interactions_agent_forwards_key_events_redacted_once_the_segment_closes(tmp_path: Path) -> None:
    events = typed("to bob@example.org\n")

    async def scenario(stage: Stage) -> None:
        for e in events[:-2]:
            await stage.put(encoded(e))
        assert await stage.forwarded() == []  # typing is held until its segment closes
        for e in events[-2:]:
            await stage.put(encoded(e))
        sent = await stage.forwarded()
        out = [from_avro(InteractionEvent, CODEC.decode_named(s.value, "InteractionEvent")) for s in sent]
        assert [e.seq for e in out] == [e.seq for e in events] and {s.key for s in sent} == {b"d-1"}
        pressed = [e.payload for e in out if isinstance(e.payload, KeyEvent) and e.payload.pressed]
        text = "".join(p.char or "" if p.redaction is None else f"<{p.redaction}>" for p in pressed)
        assert text == "to " + "<EMAIL>" * len("bob@example.org")
        assert all(e.context and e.context.title == "Reply to <EMAIL> - Mail" for e in out)
        assert stage.counters["interactions.clean.forwarded"] == len(events)

    drive(tmp_path, interactions, consent("u-1"), scenario)


def test_interactions_agent_drops_what_consent_does_not_cover_and_dead_letters_a_frame(tmp_path: Path) -> None:
    async def scenario(stage: Stage) -> None:
        for e in typed("hi\n", user="u-9"):
            await stage.put(encoded(e))
        await stage.put(frame("u-1", MAIL), topic="unit-interactions.raw")
        assert await stage.forwarded() == []
        (letter,) = await stage.dead_letters()
        assert letter["stage"] == "interactions.clean" and letter["error_type"] == "WrongRecordTypeError"
        assert letter["reason"] == "unit-interactions.raw[0]@0: expected an InteractionEvent, got a ScreenFrame"
        assert stage.counters["consent.dropped_events"] == 6

    drive(tmp_path, interactions, consent("u-1"), scenario)


def test_interactions_agent_passes_the_clock_to_its_clean_partition(tmp_path: Path) -> None:
    async def scenario(stage: Stage) -> None:
        await stage.put(encoded(Tick(0, T0, "unit")))
        ticks = [from_avro(Tick, CODEC.decode_named(s.value, "Tick")) for s in await stage.forwarded()]
        assert ticks == [Tick(0, T0, "unit")]

    drive(tmp_path, interactions, consent(), scenario)


def test_interactions_agent_sends_a_closed_session_with_its_frame_and_dead_letters_garbage_saying_where(
    tmp_path: Path,
) -> None:
    events = typed("hi\n")

    async def scenario(stage: Stage) -> None:
        await stage.put(frame("u-1", MAIL), topic="unit-screens.clean")
        for e in events:
            await stage.put(encoded(e))
        await stage.put(b"garbage", topic="unit-screens.clean")  # offset 1
        (letter,) = await stage.dead_letters()
        assert letter["stage"] == "sessionize" and letter["error_type"] == "BadFrameError"
        assert letter["reason"].startswith("unit-screens.clean[0]@1: not an Avro record")
        assert len(await stage.forwarded()) == len(events)
        assert await stage.sessions() == []  # the session is open until the clock passes its gap
        assert stage.counters["sessionize.opened"] == 1  # its first event, and no more for the others
        await stage.put(encoded(Tick(0, T0 + timedelta(hours=1), "unit")))
        (sent,) = await stage.sessions()
        trajectory = CODEC.decode_named(sent.value, "Trajectory")
        assert trajectory["device_id"] == "d-1" and trajectory["event_count"] == len(events)
        assert trajectory["end_reason"] == "gap" and sent.key == trajectory["session_id"].encode()
        assert {s["frame_id"] for s in trajectory["steps"]} == {"d-1-1"}  # the frame from screens.clean
        assert stage.counters["sessionize.trajectories"] == 1 and stage.counters["sessionize.dead_lettered"] == 1
        assert stage.counters["sessionize.opened"] == 1  # none open after it

    drive(tmp_path, interactions, consent("u-1"), scenario)


def test_a_late_event_released_by_another_record_is_dead_lettered_as_itself(tmp_path: Path) -> None:
    """Typing the clean stage held goes on when another record ends its segment (here a TypingPause marker); if
    the sessions turn it away as late, its dead letter holds that key event, not the marker that released it."""
    ctx = WindowContext("code", "main.py", 1)
    click = InteractionEvent("d-1", "u-1", 1, T0 + timedelta(seconds=10), MouseButton("left", True, 5, 5), ctx)
    key = InteractionEvent("d-1", "u-1", 2, T0 + timedelta(seconds=5), KeyEvent(True, "a", "a"), ctx)
    pause = InteractionEvent("d-1", "u-1", 3, T0 + timedelta(seconds=6), TypingPause(5000), ctx)

    async def scenario(stage: Stage) -> None:
        await stage.put(encoded(click))
        await stage.put(encoded(Tick(0, T0 + timedelta(hours=1), "unit")))
        assert len(await stage.sessions()) == 1  # the click's session is sent: it ends at T0 + 10 s
        await stage.put(encoded(key))  # held: its segment is open
        assert await stage.dead_letters() == []
        await stage.put(encoded(pause))  # ends the segment: the key goes on, too late for its session
        (letter,) = await stage.dead_letters()
        assert letter["error_type"] == "LateEvent" and "released by this record" in letter["reason"]
        original = from_avro(InteractionEvent, CODEC.decode_named(letter["original"], "InteractionEvent"))
        assert original.seq == 2 and isinstance(original.payload, KeyEvent)

    drive(tmp_path, interactions, consent("u-1"), scenario)


def test_interactions_agent_skips_what_it_handled_before_a_crash(tmp_path: Path) -> None:
    """A record at or below the partition's handled mark is not handled again (a replay after a crash)."""

    async def scenario(stage: Stage) -> None:
        await stage.put(b"garbage")  # offset 0: dead-lettered, which marks it handled
        assert len(await stage.dead_letters()) == 1
        stage.agent.sent_offset = 0  # type: ignore[attr-defined]  # Kafka delivers it again
        await stage.put(b"garbage")
        assert await stage.dead_letters() == []

    drive(tmp_path, interactions, consent("u-1"), scenario)


def test_the_interactions_agent_has_kafka_take_its_clean_records_before_the_table_changes_that_say_they_went() -> None:
    """Kafka keeps the order of records only within a partition: a crash must never leave a held event deleted
    (or a close marked) in the changelog while the clean record it went as is lost."""
    steps: list[str] = []

    class Writes:
        def produce(self, topic: str, value: bytes | None, key: bytes | None, partition: int) -> None:
            steps.append(f"produce {topic}")

        async def flush(self) -> None:
            steps.append("flush")

    writes = Writes()
    topic = SimpleNamespace(get_topic_name=lambda: "interactions-changelog")
    faust_table = SimpleNamespace(data={}, key_serializer="json", value_serializer="json", changelog_topic=topic)
    table = JsonTable(faust_table, writes)
    out = SimpleNamespace(codec=CODEC, counters=Counter())
    sessions = SimpleNamespace(store=SessionStore(StreamsSettings().session_config(), CODEC, table))
    stage = cleaning.Interactions(None, out, sessions, None, None, table, writes, None)  # type: ignore[arg-type]
    writes.produce("interactions.clean", b"event", b"d-1", 0)  # what the records of a batch released
    table["T|000|d-1"] = b"7"  # and what they changed in the table
    run(stage.flush())
    assert steps == ["produce interactions.clean", "flush", "produce interactions-changelog", "flush"]


def test_the_interactions_agent_marks_every_partition_handled_at_each_flush() -> None:
    """A worker taking a partition over reads again only what the table does not reflect: a stream tick read
    again would close a segment held after it, earlier than the first owner did (splitting a password from its
    cue), so the table's mark of what was handled goes with each flush, after the changes it covers."""
    records: list[tuple[int, str, bytes | None]] = []

    class Writes:
        def produce(self, topic: str, value: bytes | None, key: bytes | None, partition: int) -> None:
            records.append((partition, json.loads(key or b""), value))

        async def flush(self) -> None:
            pass

    writes = Writes()
    topic = SimpleNamespace(get_topic_name=lambda: "interactions-changelog")
    faust_table = SimpleNamespace(data={}, key_serializer="json", value_serializer="json", changelog_topic=topic)
    table = JsonTable(faust_table, writes)
    store = SessionStore(StreamsSettings().session_config(), CODEC, table, mark_every=200)
    stage = cleaning.Interactions(
        None,  # type: ignore[arg-type]
        SimpleNamespace(codec=CODEC, counters=Counter()),  # type: ignore[arg-type]
        SimpleNamespace(store=store),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,
        table,
        writes,
        None,  # type: ignore[arg-type]
    )
    for partition, offset in [(2, 10), (2, 11), (5, 40), (2, 12), (5, 41)]:
        table.partition = partition
        table[f"H|{partition:03d}|d-1|{offset}"] = b"held"
        store.handled(f"raw|{partition}", offset)  # the first of each partition is marked at once
    table.partition = 0  # the last record's partition is not where every mark goes
    run(stage.flush())
    marks = [(p, k, v) for p, k, v in records if k.startswith("P|")]
    assert marks[-2:] == [(2, "P|raw|2", b'"MTI="'), (5, "P|raw|5", b'"NDE="')]  # 12 and 41, base64 in JSON
    assert records[-2:] == marks[-2:]  # after the changes they cover
    assert store.unmarked() == []


# -- the gate ---------------------------------------------------------------------------------


def test_the_gate_reads_the_feed_to_its_end_before_saying_no_at_most_once_a_second() -> None:
    late = ConsentRecord("u-2", ConsentState.GRANTED, "p-1", T0 - timedelta(hours=1), "u-2", (CaptureScope.KEYS,))
    feed = StateFeed(consent("u-1"))
    gate = PrivacyGate(feed)

    async def main() -> None:
        await gate.ready()
        assert feed.reads == 1 and gate.allows("u-1", CaptureScope.SCREENS, T0)
        feed.pending.append(late)
        assert await gate.admits("u-2", CaptureScope.KEYS, T0)  # its consent was on its way
        assert feed.reads == 2
        assert not await gate.admits("u-2", CaptureScope.SCREENS, T0)  # not granted: a read said no
        assert feed.reads == 3
        assert not await gate.admits("u-2", CaptureScope.SCREENS, T0)  # asked again within a second: no read
        assert feed.reads == 3
        assert not await gate.admits("u-3", CaptureScope.KEYS, T0) and feed.reads == 4

    run(main())


def test_records_of_one_person_arriving_together_all_wait_for_the_same_read_of_the_feed() -> None:
    """An event and a frame of someone whose consent is still on its way: both pass (the second one used to be
    dropped, asked again within a second while the first one's read was under way)."""
    late = ConsentRecord("u-2", ConsentState.GRANTED, "p-1", T0 - timedelta(hours=1), "u-2")
    feed = StateFeed(consent("u-1"))
    gate = PrivacyGate(feed)

    async def main() -> None:
        await gate.ready()
        feed.pending.append(late)
        event, frame = await asyncio.gather(
            gate.admits("u-2", CaptureScope.KEYS, T0), gate.admits("u-2", CaptureScope.SCREENS, T0)
        )
        assert event and frame and feed.reads == 2

    run(main())


def test_a_record_waits_while_the_control_topics_cannot_be_read_to_their_end() -> None:
    """After a cluster restart the control topics could not be read to their end for a while: the gate answered
    from what it had read and dropped the first records of a person whose consent it had not read yet (make
    chaos, s3-outage after cluster-restart). It now holds them until a complete read answers."""
    late = ConsentRecord("u-2", ConsentState.GRANTED, "p-1", T0 - timedelta(hours=1), "u-2")
    feed = StateFeed(consent("u-1"))
    gate = PrivacyGate(feed)

    async def main() -> None:
        await gate.ready()
        feed.pending.append(late)
        feed.unreadable = 2
        assert await gate.admits("u-2", CaptureScope.KEYS, T0)
        assert feed.reads == 4  # at start, two that could not finish, the one that read the consent

    run(main())


@pytest.mark.parametrize("moment", [T0, T0 + timedelta(minutes=1)])
def test_the_gate_answers_erasure_from_the_one_state(moment: datetime) -> None:
    state = consent("u-1")
    state.apply(ErasureRequest("r-1", "u-1", "hr", T0))
    gate = PrivacyGate(StateFeed(state))
    assert gate.erased("u-1", moment) is (moment <= T0)
    assert gate.allows("u-1", CaptureScope.KEYS, moment) is (moment > T0)


class SwitchFeed:
    """A kill-switch feed without a follower: it answers from switches the test fills."""

    def __init__(self, switches: KillSwitches) -> None:
        self.switches = switches

    def start(self) -> SwitchFeed:
        return self

    def stop(self) -> None:
        pass

    def wait_caught_up(self, timeout_s: float) -> bool:
        return True

    def on_at(self, moment: datetime) -> str | None:
        return self.switches.on_at(moment)


def test_the_gate_drops_what_was_recorded_while_the_kill_switch_was_on_and_counts_it() -> None:
    switches = KillSwitches()
    switches.apply(Policy("fleet", "v2", T0, kill_switch=True, kill_reason="incident 42"))
    switches.apply(Policy("fleet", "v3", T0 + timedelta(hours=1)))
    gate, counters = PrivacyGate(StateFeed(consent("u-1")), SwitchFeed(switches)), Counter[str]()

    async def main() -> None:
        await gate.ready()
        assert await gate.passes("u-1", CaptureScope.KEYS, T0 - timedelta(seconds=1), counters, "events")
        assert not await gate.passes("u-1", CaptureScope.KEYS, T0 + timedelta(minutes=5), counters, "events")
        assert not await gate.passes("u-1", CaptureScope.SCREENS, T0 + timedelta(minutes=59), counters, "frames")
        assert await gate.passes("u-1", CaptureScope.KEYS, T0 + timedelta(hours=1), counters, "events")
        assert not await gate.passes("u-9", CaptureScope.KEYS, T0 + timedelta(hours=2), counters, "events")

    run(main())
    assert counters == {"kill_switch.dropped_events": 1, "kill_switch.dropped_frames": 1, "consent.dropped_events": 1}


def test_agents_starting_together_start_each_feed_once() -> None:
    class Counting(SwitchFeed):
        starts = 0

        def start(self) -> SwitchFeed:
            self.starts += 1
            return self

    class CountingState(StateFeed):
        starts = 0

        def start(self) -> StateFeed:
            self.starts += 1
            return self

    feed, switches = CountingState(consent("u-1")), Counting(KillSwitches())
    gate = PrivacyGate(feed, switches)

    async def main() -> None:
        await asyncio.gather(gate.ready(), gate.ready(), gate.ready())  # the three agents of one worker

    run(main())
    assert (feed.starts, switches.starts, feed.reads) == (1, 1, 1)


def test_a_seek_back_that_no_record_answers_is_asked_again_by_the_timer() -> None:
    seeks: list[tuple[str, int, int]] = []

    async def seek(topic: str, partition: int, offset: int) -> None:
        seeks.append((topic, partition, offset))

    @dataclass
    class Msg:
        topic: str
        partition: int
        offset: int

    async def earliest(topic: str, partition: int) -> int:
        return 0  # the topic holds every record

    async def scenario() -> None:
        ordered = cleaning.Ordered(seek, "frame", earliest)
        ordered.order = InOrder(retry_s=1.0)
        assert not await ordered.admit(Msg("screens.raw", 2, 10), mark=8)  # taken over: read again from 9
        assert not await ordered.admit(Msg("screens.raw", 2, 10))  # faust's own seek came after ours; then silence
        await ordered.retry()  # not due yet
        assert len(seeks) == 1
        await asyncio.sleep(1.05)
        await ordered.retry()
        assert await ordered.admit(Msg("screens.raw", 2, 9))
        await ordered.retry()  # answered: nothing more to ask

    asyncio.run(scenario())
    assert seeks == [("screens.raw", 2, 9), ("screens.raw", 2, 9)]


def test_a_seek_back_to_records_the_topic_no_longer_holds_goes_on_from_its_first_record_kept() -> None:
    seeks: list[tuple[str, int, int]] = []

    async def seek(topic: str, partition: int, offset: int) -> None:
        seeks.append((topic, partition, offset))

    async def earliest(topic: str, partition: int) -> int:
        return 12  # the retention deleted 9 to 11 while the partition was not read

    @dataclass
    class Msg:
        topic: str
        partition: int
        offset: int

    async def scenario() -> None:
        ordered = cleaning.Ordered(seek, "frame", earliest)
        ordered.order = InOrder(retry_s=0.0)
        assert not await ordered.admit(Msg("screens.raw", 2, 14), mark=8)
        await ordered.retry()
        assert ordered.order.expected(("screens.raw", 2)) == 12
        assert await ordered.admit(Msg("screens.raw", 2, 12))
        await ordered.retry()  # nothing pending

    asyncio.run(scenario())
    assert seeks == [("screens.raw", 2, 9), ("screens.raw", 2, 12)]


def test_a_worker_s_process_collects_its_young_garbage_less_often_and_never_more_often(tmp_path: Path) -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        settings = StreamsSettings(streams_data_dir=str(tmp_path), topic_prefix="unit-", schema_registry_url=None)
        create_app(settings, wire=lambda _app, _settings: None)
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        gc.set_threshold(2 * YOUNG_THRESHOLD, 10, 10)
        collect_less_often()
        assert gc.get_threshold() == (2 * YOUNG_THRESHOLD, 10, 10)
    finally:
        gc.set_threshold(*saved)
