"""The clean stage: app filtering, redaction with held events in a table, failing closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.events import InteractionEvent, KeyEvent, MouseButton, TypingPause, WindowContext
from schemas.records import to_avro
from streams.core.cleaner import Cleaner
from streams.core.redaction import SegmentPolicy

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
    out = []
    for e in events:
        out += c.push(0, e, CODEC.encode("InteractionEvent", to_avro(e))).events
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
    assert run(c, [pause]) == [] and not table  # a pause with nothing open: nothing held, nothing out


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
