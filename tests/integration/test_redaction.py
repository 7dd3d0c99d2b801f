"""Redaction on the real stack: typed PII goes into interactions.raw and comes out of interactions.clean redacted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.events import InteractionEvent, KeyEvent, WindowContext
from schemas.records import from_avro, to_avro
from tests.integration.conftest import Isolated, wait_for

MAIL = WindowContext("thunderbird", "Write: invoice for jane.doe@example.com", 3)
VAULT = WindowContext("keepassxc", "Passwords.kdbx", 4)


def keystrokes(device: str, text: str, ctx: WindowContext, start: datetime, first_seq: int) -> list[InteractionEvent]:
    out, seq = [], first_seq
    for i, ch in enumerate(text):
        key = {"\n": "enter", " ": "space"}.get(ch, ch.lower())
        t = start + timedelta(milliseconds=120 * i)
        for pressed, dt in ((True, 0), (False, 50)):
            char = ch if pressed and ch != "\n" else None
            mods = ("shift",) if ch.isupper() or ch == "@" else ()
            out.append(
                InteractionEvent(
                    device, "u-1", seq, t + timedelta(milliseconds=dt), KeyEvent(pressed, key, char, mods), ctx
                )
            )
            seq += 1
    return out


def test_typed_pii_and_titles_come_out_redacted(isolated: Isolated, tmp_path: Path) -> None:
    isolated.grant("u-1")
    isolated.start(
        "streams",
        log=tmp_path / "streams.log",
        extra_env={
            "TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"),
            "TEACHSTREAM_TICK_INTERVAL_S": "1",
            "TEACHSTREAM_TICK_LAG_S": "0",
        },
    )
    start = datetime.now(UTC) - timedelta(seconds=20)
    typed = keystrokes("d-1", "Pay 4111 1111 1111 1111 and mail bob.smith@example.org\n", MAIL, start, 1)
    vault = keystrokes("d-1", "hunter2\n", VAULT, start + timedelta(seconds=10), len(typed) + 1)
    producer = isolated.producer()
    for e in typed + vault:
        producer.produce(
            isolated.topic("interactions.raw"), isolated.codec.encode("InteractionEvent", to_avro(e)), key=b"d-1"
        )
    assert producer.flush(30) == 0

    def clean() -> list[InteractionEvent]:
        records = isolated.read_all("interactions.clean", expect=10**9, timeout_s=2)
        decoded = (isolated.codec.decode(m.value()) for m in records)
        return sorted(
            (from_avro(InteractionEvent, d.value) for d in decoded if d.short_name == "InteractionEvent"),
            key=lambda e: e.seq,
        )

    wait_for(lambda: len(clean()) >= len(typed), 90, "the redacted events")
    events = clean()
    assert [e.seq for e in events] == [e.seq for e in typed]  # the denied app's keystrokes are dropped
    text = "".join(
        e.payload.char or "" if e.payload.redaction is None else f"<{e.payload.redaction}>"
        for e in events
        if isinstance(e.payload, KeyEvent) and e.payload.pressed
    )
    assert "4111" not in text and "bob.smith" not in text and "example.org" not in text
    assert "<CARD>" in text and "<EMAIL>" in text and text.startswith("Pay ")
    assert all("jane.doe" not in (e.context.title if e.context else "") for e in events)
    assert all(e.payload.key == "" for e in events if isinstance(e.payload, KeyEvent) and e.payload.redaction)


def test_with_a_typing_margin_words_leave_an_open_segment_early_and_pii_only_redacted(
    isolated: Isolated, tmp_path: Path
) -> None:
    isolated.grant("u-1")
    isolated.start(
        "streams",
        log=tmp_path / "streams.log",
        extra_env={"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust"), "TEACHSTREAM_TYPING_MARGIN": "3"},
    )
    start = datetime.now(UTC)  # the stream clock trails the wall clock by a minute: it closes nothing here
    sentence = "please note that my card 4111 1111 1111 1111 is the one for all of the team travel"
    typed = keystrokes("d-1", sentence, MAIL, start, 1)  # no enter: the segment stays open
    producer = isolated.producer()

    def send(events: list[InteractionEvent]) -> None:
        for e in events:
            value = isolated.codec.encode("InteractionEvent", to_avro(e))
            producer.produce(isolated.topic("interactions.raw"), value, key=b"d-1")
        assert producer.flush(30) == 0

    def clean() -> list[InteractionEvent]:
        records = isolated.read_all("interactions.clean", expect=10**9, timeout_s=2)
        decoded = (isolated.codec.decode(m.value()) for m in records)
        return [from_avro(InteractionEvent, d.value) for d in decoded if d.short_name == "InteractionEvent"]

    def shown(events: list[InteractionEvent]) -> str:
        return "".join(
            e.payload.char or "" if e.payload.redaction is None else "#"
            for e in sorted(events, key=lambda e: e.seq)
            if isinstance(e.payload, KeyEvent) and e.payload.pressed
        )

    send(typed)
    wait_for(lambda: "one for" in shown(clean()), 90, "the start of the open segment")
    early = clean()
    assert shown(early).startswith("please note that my card ################### is the one for")
    assert len(early) < len(typed) and "travel" not in shown(early)  # the last words wait for the margin
    enter = keystrokes("d-1", "\n", MAIL, start + timedelta(seconds=15), len(typed) + 1)
    send(enter)
    wait_for(lambda: len(clean()) >= len(typed) + len(enter), 90, "the rest of the segment")
    events = clean()
    assert sorted(e.seq for e in events) == [e.seq for e in typed + enter]  # each once
    assert "4111" not in shown(events) and shown(events).endswith("team travel")
