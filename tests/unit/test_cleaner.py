"""The clean stage: app filtering, redaction with held events in a table, failing closed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.events import InteractionEvent, KeyEvent, MouseButton, TypingPause, WindowContext
from schemas.records import to_avro
from streams.core.cleaner import Cleaner
from streams.core.redaction import SegmentPolicy
from streams.core.store import SessionStore
from streams.settings import StreamsSettings
from streams.tables import JsonTable
from tests.unit.test_streams_agents import Changelogs
from tests.unit.test_tables import table as fake_table

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CODEC = Codec()
MAIL = WindowContext("firefox", "Reply to jane.doe@example.com - Mail", 1, "mail.example-corp.com")


def typed(text: str, ctx: WindowContext = MAIL, device: str = "d-1") -> list[InteractionEvent]:
    out, seq = [], 0
    for i, ch in enumerate(text):
        key = {"\n": "enter", " ": "space"}.get(ch, ch)
        seq += 1
        t = T0 + timedelta(milliseconds=100 * i)
        out.append(InteractionEvent(device, "u-1", seq, t, KeyEvent(True, key, None if ch == "\n" else ch), ctx))
        seq += 1
        out.append(InteractionEvent(device, "u-1", seq, t + timedelta(milliseconds=40), KeyEvent(False, key), ctx))
    return out


def cleaner(table: dict[str, bytes]) -> Cleaner:
    return Cleaner(CapturePolicy(), SegmentPolicy(), None, CODEC, table)


def run(c: Cleaner, events: list[InteractionEvent]) -> list[InteractionEvent]:
    """Each event as the agent hands it over: what it released goes on, then the table gets its changes."""
    out = []
    for e in events:
        out += c.push(0, e, CODEC.encode("InteractionEvent", to_avro(e))).events
        c.settle(0)
    return out


def text_of(events: list[InteractionEvent]) -> str:
    return "".join(
        (e.payload.char or "") if e.payload.redaction is None else f"<{e.payload.redaction}>"
        for e in events
        if isinstance(e.payload, KeyEvent) and e.payload.pressed
    )


def test_email_is_redacted_in_keys_and_title_and_events_keep_their_order() -> None:
    out = run(cleaner({}), typed("mail bob@example.org now\n"))
    assert "bob@example.org" not in text_of(out) and "<EMAIL>" in text_of(out)
    assert [e.seq for e in out] == sorted(e.seq for e in out) and len(out) == 2 * len("mail bob@example.org now\n")
    assert all("jane.doe" not in (e.context.title if e.context else "") for e in out)


def test_denied_apps_are_dropped_and_counted() -> None:
    c = cleaner({})
    out = run(c, typed("secret\n", ctx=WindowContext("KeePassXC", "Passwords", 2)))
    assert out == [] and c.counts["filter.denied"] == 14


def test_held_events_survive_a_new_worker() -> None:
    table: dict[str, bytes] = {}
    events = typed("call 415 555 0199\n")
    first = run(cleaner(table), events[:10])  # the segment is still open: everything held
    assert first == [] and sum(k.startswith("H|") for k in table) == 10
    second = run(cleaner(table), events)  # the new owner replays from the start of the partition
    assert len(second) == len(events) and [e.seq for e in second] == [e.seq for e in events]
    assert "415 555 0199" not in text_of(second)
    assert not any(k.startswith("H|") for k in table)


def test_the_agents_typing_pause_closes_the_segment_at_once_and_goes_no_further() -> None:
    table: dict[str, bytes] = {}
    c = cleaner(table)
    events = typed("write to bob@example.org")  # no enter: the segment stays open
    assert run(c, events) == [] and sum(k.startswith("H|") for k in table) == len(events)
    pause = InteractionEvent("d-1", "u-1", len(events) + 1, T0 + timedelta(seconds=8), TypingPause(5000), MAIL)
    out = run(c, [pause])
    assert [e.seq for e in out] == [e.seq for e in events]  # the held keys, redacted, and not the marker
    assert "bob@example.org" not in text_of(out) and "<EMAIL>" in text_of(out)
    assert not any(k.startswith("H|") for k in table) and c.counts["segments.closed_by_pause"] == 1
    assert run(c, [pause]) == [] and set(table) == {"T|000|d-1"}  # nothing held, nothing out: the close's mark


def test_redaction_failure_quarantines_the_segment() -> None:
    class Broken:
        def find(self, text: str) -> list[object]:
            raise RuntimeError("model crashed")

    c = Cleaner(CapturePolicy(), SegmentPolicy(), Broken(), CODEC, {})  # type: ignore[arg-type]
    quarantined, passed = [], []
    for e in typed("hello Alice\n"):
        result = c.push(0, e, CODEC.encode("InteractionEvent", to_avro(e)))
        passed += result.events
        quarantined += result.quarantined
    assert passed == []  # fail closed: nothing of a segment that could not be redacted goes on
    assert quarantined and "model crashed" in quarantined[0].reason
    assert c.counts["redaction.quarantined"] >= 1


def test_events_that_go_on_unchanged_come_with_the_bytes_they_came_in_and_redacted_ones_do_not() -> None:
    notes = WindowContext("gedit", "notes.txt", 3)
    c, raws, released, unchanged = cleaner({}), {}, [], {}
    for e in typed("to bob@example.org ok\n", ctx=notes):
        raws[e.seq] = CODEC.encode("InteractionEvent", to_avro(e))
        result = c.push(0, e, raws[e.seq], as_is=True)
        released += result.events
        unchanged.update(result.unchanged)
    redacted = {e.seq for e in released if isinstance(e.payload, KeyEvent) and e.payload.redaction is not None}
    assert redacted and len(released) == 2 * len("to bob@example.org ok\n")
    assert set(unchanged) == {e.seq for e in released} - redacted
    assert all(unchanged[seq] == raws[seq] for seq in unchanged)
    click = InteractionEvent("d-1", "u-1", 1, T0, MouseButton("left", True, 5, 5), notes)
    data = CODEC.encode("InteractionEvent", to_avro(click))
    assert cleaner({}).push(0, click, data, as_is=True).unchanged == {1: data}  # not held: on at once
    assert cleaner({}).push(0, click, data).unchanged == {}  # another schema version: encoded again downstream


class Worker:
    """A clean stage and its sessions over one table, changing it in the interactions agent's order
    (``streams.cleaning``): clean an event, hand what it released to the sessions, mark the closes, mark the
    record handled; the table's changes reach the changelog (kept in order in ``changelog``) at each flush."""

    def __init__(
        self, data: dict[str, str], changelog: Changelogs, mark_every: int, presses: int, margin: int | None
    ) -> None:
        self.table = JsonTable(fake_table(data), changelog)
        policy = SegmentPolicy(max_presses=presses, release_margin=margin)
        self.cleaner = Cleaner(CapturePolicy(), policy, None, CODEC, self.table)
        self.store = SessionStore(StreamsSettings().session_config(), CODEC, self.table, mark_every=mark_every)
        self.out: list[InteractionEvent] = []

    def handle(self, offset: int, event: InteractionEvent) -> None:
        if not self.store.seen("raw|0", offset):
            raw = CODEC.encode("InteractionEvent", to_avro(event))
            self._publish(self.cleaner.push(0, event, raw, offset=offset).events)
            self.store.handled("raw|0", offset)

    def tick(self, offset: int, now: datetime) -> None:
        """A stream tick, the partition's record at ``offset``."""
        if not self.store.seen("raw|0", offset):
            self._publish(self.cleaner.tick(0, now, offset).events)
            self.store.handled("raw|0", offset)

    def flush(self) -> None:
        """The end of a batch: what was handled is marked so, and the table's changes go to the changelog."""
        for partition in self.store.unmarked():
            self.store.mark(partition)
        self.table.flush()

    def idle(self) -> None:
        """The stream clock passes every pause: what is still held closes."""
        self._publish(self.cleaner.tick(0, T0 + timedelta(hours=1)).events)

    def _publish(self, events: list[InteractionEvent]) -> None:
        for e in events:
            self.out.append(e)
            self.store.add_event(0, e, CODEC.encode("InteractionEvent", to_avro(e)))
        self.cleaner.settle(0)


def restored(records: list[tuple[str, bytes | None, bytes | None, int]]) -> dict[str, str]:
    """A table as faust restores it from these changelog records."""
    data: dict[str, str] = {}
    for _, value, key, _ in records:
        assert key is not None
        if value is None:
            data.pop(json.loads(key), None)
        else:
            data[json.loads(key)] = json.loads(value)
    return data


TERMINAL = WindowContext("gnome-terminal", "ops@build: ~", 3)
TWO_CLOSES = typed("my password is hunter2 ok\nyes\n")  # batch 2 holds the enter that closes, and one more segment
CLICK_BETWEEN = [  # a segment, a click that goes on at once (no mark), and the segment held at the crash
    *typed("ok\n"),
    InteractionEvent("d-1", "u-1", 7, T0 + timedelta(seconds=1), MouseButton("left", True, 5, 5), MAIL),
    *(
        replace(e, seq=e.seq + 7, event_time=e.event_time + timedelta(seconds=2))
        for e in typed("my password is hunter2 ok\n")
    ),
]
ANOTHER_WINDOW = typed("my password is hunter2") + [  # a key in another window closes the segment, and is held
    replace(e, seq=e.seq + 100, event_time=e.event_time + timedelta(seconds=3)) for e in typed("ls", TERMINAL)
]


@pytest.mark.parametrize(
    ("events", "mark_every", "presses", "margin"),
    [
        (TWO_CLOSES, 1, 1000, None),
        (TWO_CLOSES, 7, 1000, None),
        (TWO_CLOSES, 200, 1000, None),
        (TWO_CLOSES, 7, 20, None),
        (TWO_CLOSES, 7, 1000, 1),
        (ANOTHER_WINDOW, 1, 1000, None),
        (ANOTHER_WINDOW, 200, 1000, None),
        (ANOTHER_WINDOW, 200, 1000, 1),
        (CLICK_BETWEEN, 200, 1000, None),
    ],
)
def test_a_worker_killed_while_a_close_reaches_the_changelog_leaves_no_segment_end_to_redact_without_its_cue(
    events: list[InteractionEvent], mark_every: int, presses: int, margin: int | None
) -> None:
    """Whatever part of its changelog records Kafka had when the worker died, the next owner neither
    holds the end of the segment without its beginning nor cleans it again apart from it: every event went
    once redacted as a whole, or goes again exactly as it went, and the sessions have it. (With a cap of 20
    presses, the segment closes at the "e" of "hunte", which would go unredacted if read again alone.)"""
    changelog = Changelogs()
    first = Worker({}, changelog, mark_every, presses, margin)
    for offset, event in enumerate(events[:40]):  # "my password is hunte": held, and in the changelog
        first.handle(offset, event)
    first.flush()
    for offset, event in enumerate(events[40:], start=40):  # the rest, and what closes the segment
        first.handle(offset, event)
    first.flush()
    first.idle()  # what is still held goes later (its changes are not in the changelog)
    assert "hunte" not in text_of(first.out) and len(first.out) == len(events)
    went = {e.seq: e for e in first.out}
    cut_points = range(len(changelog.records) + 1)  # a crash in either batch
    assert len(cut_points) > 20  # the close's deletions, among others
    for cut in cut_points:
        second = Worker(restored(changelog.records[:cut]), Changelogs(), mark_every, presses, margin)
        for offset, event in enumerate(events):
            second.handle(offset, event)  # Kafka delivers again what came after the last record marked handled
        second.idle()
        assert "hunte" not in text_of(second.out), cut
        assert all(went[e.seq] == e for e in second.out), cut  # what goes again goes as it went
        assert [e.seq for e in second.out] == sorted(e.seq for e in second.out), cut  # in order
        assert not second.cleaner.held(0)[0]
        assert {int(k.rsplit("|", 1)[1]) for k in second.table if k.startswith("E|")} == set(went), cut
    missed = [json.loads(key) for _, value, key, _ in changelog.records[-5:] if value is None]
    partial = Worker(restored(changelog.records[:-5]), Changelogs(), mark_every, presses, margin)
    partial.idle()  # the last deletions did not come: their keys are dropped, not held again
    held = [k for k in missed if k.startswith("H|")]
    assert all(went[e.seq] == e and e.seq > 100 for e in partial.out)  # only what was held after the close
    assert partial.cleaner.counts["restore.closed_dropped"] == len(held)


def test_a_stream_tick_read_again_by_a_new_owner_does_not_close_a_segment_held_after_it() -> None:
    """A tick closes the segments idle at its time; late events that came after it in the partition are held
    until the next one. Read again by a new owner (after a flush, or a part of one, reached the changelog), it
    must not close their segment early: the password typed next would go without its cue."""
    other = typed("ok\n", device="d-2")
    late = typed("my password is hunter2\n")  # event times a minute before the tick
    changelog = Changelogs()
    first = Worker({}, changelog, 200, 1000, None)
    first.handle(0, other[0])
    first.tick(1, T0 + timedelta(minutes=1))
    for offset, event in enumerate(late[:10], start=2):  # "my pa", held
        first.handle(offset, event)
    first.flush()  # the worker stops here
    assert [e.device_id for e in first.out] == ["d-2"]  # the tick closed what was idle then
    for cut in range(len(changelog.records) + 1):
        second = Worker(restored(changelog.records[:cut]), Changelogs(), 200, 1000, None)
        second.tick(1, T0 + timedelta(minutes=1))  # read again unless a mark says it was handled
        for offset, event in enumerate(late, start=2):
            second.handle(offset, event)
        second.flush()
        assert "hunter2" not in text_of(second.out) and len(second.out) == len(late), cut


def test_a_new_owner_of_the_partition_knows_the_terminal_line_before_asked_for_a_password() -> None:
    """What a device's segmenter carries between segments is in the table: the line after ``sudo ...`` is a
    password, even when another worker reads it."""
    table: dict[str, bytes] = {}
    first = cleaner(table)
    assert "sudo apt update" in text_of(run(first, typed("sudo apt update\n", ctx=TERMINAL)))
    first.settle(0)
    later = [
        replace(e, seq=e.seq + 100, event_time=e.event_time + timedelta(seconds=3))
        for e in typed("tr0ub4dor\n", ctx=TERMINAL)
    ]
    out = run(cleaner(table), later)
    assert "tr0ub4dor" not in text_of(out) and "<PASSWORD>" in text_of(out)


def test_what_a_device_sends_again_after_its_segment_closed_goes_no_further() -> None:
    """The agent sends its last unacknowledged records again after a reconnect: the end of a closed segment,
    read alone, would be redacted without its cue."""
    c = cleaner({})
    events = typed("my password is hunter2\n")
    assert "hunter2" not in text_of(run(c, events))
    assert run(c, events[-16:]) == [] and c.counts["restore.replays_skipped"] == 16
    later = [replace(e, seq=e.seq + 100, event_time=e.event_time + timedelta(seconds=9)) for e in typed("ok\n")]
    assert text_of(run(c, later)) == "ok"  # what comes after goes on


def test_a_device_whose_seq_went_back_is_not_taken_for_a_replay_by_a_new_owner() -> None:
    """An agent whose state was lost (a reinstall) numbers its events from 1 again, later in time: a new owner of
    the partition must not skip them as events read again."""
    table: dict[str, bytes] = {}
    run(cleaner(table), typed("first run\n"))
    again = [replace(e, event_time=e.event_time + timedelta(minutes=5)) for e in typed("second run\n")]
    assert text_of(run(cleaner(table), again)) == "second run"


def test_a_close_mark_without_the_time_of_what_went_skips_nothing() -> None:
    """A mark written before marks kept the time cannot tell events read again from those of an agent numbering
    from 1 again: a new owner lets them through (a resend goes twice) rather than drop a device's events."""
    table: dict[str, bytes] = {}
    run(cleaner(table), typed("first run\n"))
    [key] = [k for k in table if k.startswith("T|")]
    mark = json.loads(table[key])
    assert "at" in mark  # what marks write today
    del mark["at"]
    table[key] = json.dumps(mark).encode()
    again = [replace(e, event_time=e.event_time + timedelta(minutes=5)) for e in typed("second run\n")]
    new = cleaner(table)
    assert text_of(run(new, again)) == "second run" and not new.counts["restore.replays_skipped"]
    assert datetime.fromisoformat(json.loads(table[key])["at"]) >= again[0].event_time  # the next close keeps it
