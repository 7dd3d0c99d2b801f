"""Words that go before their typing segment closes: sooner, and never anything the whole segment would redact."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bench.redaction_corpus import corpus
from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.events import InteractionEvent, KeyEvent, MouseButton, Payload, WindowContext
from schemas.records import to_avro
from streams.core.cleaner import Cleaner
from streams.core.redaction import GazetteerPersonFinder, Segmenter, SegmentPolicy

T0 = datetime(2026, 12, 4, tzinfo=UTC)
CODEC = Codec()
NAMES = GazetteerPersonFinder()
MAIL = WindowContext("thunderbird", "Write: quarterly numbers", 1)
TERMINAL = WindowContext("gnome-terminal", "dev@box: ~/src", 2)
SIGN_IN = WindowContext("firefox", "Sign in - Mozilla Firefox", 3)
EARLY, WHOLE = SegmentPolicy(release_margin=3), SegmentPolicy()


def typed(text: str, ctx: WindowContext = MAIL, seq: int = 0, clicks: Sequence[int] = ()) -> list[InteractionEvent]:
    """``text`` as presses and releases 150 ms apart; a click before each character index in ``clicks``."""
    payloads: list[Payload] = []
    for i, ch in enumerate(text):
        if i in clicks:
            payloads += [MouseButton("left", True, 10, 10), MouseButton("left", False, 10, 10)]
        if ch == "\b":
            payloads += [KeyEvent(True, "backspace"), KeyEvent(False, "backspace")]
            continue
        key = {" ": "space", "\n": "enter", "\t": "tab"}.get(ch, ch.lower())
        mods = ("shift",) if ch.isupper() else ()
        payloads += [KeyEvent(True, key, ch if len(key) == 1 or ch == " " else None, mods), KeyEvent(False, key)]
    return [
        InteractionEvent("d-1", "u-1", seq + i, T0 + timedelta(milliseconds=150 * i), p, ctx)
        for i, p in enumerate(payloads, 1)
    ]


def through(segmenter: Segmenter, events: Sequence[InteractionEvent]) -> list[tuple[int, InteractionEvent]]:
    """What goes downstream, each with the index of the event whose arrival let it go."""
    out = [(i, e) for i, event in enumerate(events) for e in segmenter.push(event)]
    return out + [(len(events), e) for e in segmenter.flush()]


def shown(events: Sequence[InteractionEvent]) -> str:
    return "".join(
        (e.payload.char or "") if e.payload.redaction is None else "#"
        for e in events
        if isinstance(e.payload, KeyEvent) and e.payload.pressed
    )


Went = list[tuple[int, InteractionEvent]]


def early_and_whole(events: Sequence[InteractionEvent]) -> tuple[Went, list[InteractionEvent]]:
    early = through(Segmenter(EARLY, NAMES), events)
    whole = [e for _, e in through(Segmenter(WHOLE, NAMES), events)]
    assert [e for _, e in early] == whole  # the same events, redacted the same way, in the same order
    return early, whole


def test_the_start_of_a_long_sentence_goes_while_it_is_typed_and_the_rest_at_its_end() -> None:
    events = typed("thanks for the update, I will check it today and reply\n")
    early, _ = early_and_whole(events)
    before_enter = [e for i, e in early if i < len(events) - 2]
    assert shown(before_enter).startswith("thanks for the update, I will")
    assert "reply" not in shown(before_enter)  # the last words wait for the margin or the segment's end


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my password is sunshine and that is all for now", "sunshine"),
        ("pay to gb82 west 1234 5698 7654 32 and then tell me when it is done", "west"),
        ("I think Sefo is out today so we wait for the next one", "Sefo"),
        ("lunch with Tevita Fifita approved by all of the team", "Fifita"),
        ("my card is 4111 1111 1111 1111 and it expires soon enough", "4111"),
        ("write to anna.lee@example.com and tell her about it", "anna"),
        ("call me at 415 555 0199 when you are back at the desk", "555"),
    ],
)
def test_nothing_the_whole_segment_redacts_goes_early(text: str, secret: str) -> None:
    early, whole = early_and_whole(typed(text + "\n"))
    assert secret not in shown(whole) and secret not in shown([e for _, e in early])


@pytest.mark.parametrize(
    ("text", "ctx", "clicks", "secret"),
    [
        ("my pa" + "ssword is sunshine and that is all for now ok", MAIL, (5,), "sunshine"),  # a cue cut by a click
        ("pi" + "n is four a b c d", MAIL, (2,), "four"),
        ('the wifi password: "a long walk on the beach" ok thanks', MAIL, (), "long"),  # a quoted value
        ('password: " my secret phrase is long " ok thanks', MAIL, (), "secret"),
        ("jane doe" + "gb82 west 1234 5698 7654 32 thanks", MAIL, (8,), "west"),  # a letter group of an IBAN
        ("my password is gb82 west 1234 5698 7654 32 ok", MAIL, (), "west"),
        ("pay gb" + "82 west 1234 5698 7654 32 thanks a lot", MAIL, (6,), "gb"),  # an IBAN across a click
        ("mysql -h db.internal.example.com -u admin -psecret a b c d e f", TERMINAL, (), "secret"),  # a cue far back
        ("redis-cli -h cache.internal.example.com --tls -a hunter a b c d e f", TERMINAL, (), "hunter"),
        ("mysql -u root -p'correct horse battery staple now' db", TERMINAL, (), "horse"),  # quoted after -p
        ("password='ok so at this there for that' x", MAIL, (12,), "so"),  # a quote in a word a click cut
        ("pay gb35 aaaa bbbb cccc dddd dd thanks", MAIL, (), "aaaa"),  # an IBAN's letter groups
        ("Sefo van de la Smith is here ok", MAIL, (), "Sefo"),  # a name's particles
        ("I think Sefo already fixed it mit \b\b\b\b", MAIL, (), "Sefo"),  # a name once German text went
    ],
)
def test_values_whose_start_or_cue_is_far_or_cut_do_not_go_early(
    text: str, ctx: WindowContext, clicks: tuple[int, ...], secret: str
) -> None:
    early, whole = early_and_whole(typed(text + "\n", ctx, clicks=clicks))
    assert secret not in shown(whole).replace(" ", "") and secret not in shown([e for _, e in early]).replace(" ", "")


def test_pii_that_goes_early_goes_redacted_and_the_words_after_it_need_not_wait() -> None:
    events = typed("my card is 4111 1111 1111 1111 and it expires at the end of the year\n")
    early, _ = early_and_whole(events)
    went = shown([e for i, e in early if i < len(events) - 2])
    assert "################### and it expires" in went


@pytest.mark.parametrize(
    ("text", "ctx", "waits"),
    [
        ("hunter two is what I type here every day of the week", SIGN_IN, "hunter"),  # a sign-in window
        ("the next words come after a\b typo and wait for the end", MAIL, "after"),  # a deletion: no more goes
        ("=SUM(B2:B14) 12 and the words after it wait for the end", MAIL, "and"),  # may start PII: 3 plain after
    ],
)
def test_what_cannot_be_followed_waits_for_the_segments_end(text: str, ctx: WindowContext, waits: str) -> None:
    events = typed(text + "\n", ctx)
    early, _ = early_and_whole(events)
    assert waits not in shown([e for i, e in early if i < len(events) - 2])


def test_a_word_cut_by_a_click_waits_until_the_next_field_has_a_word() -> None:
    text = "send it to john.doe@example.com and the rest here"
    events = typed(text + "\n", clicks=(text.index("john") + 4,))  # "john" | ".doe@example.com ..."
    early, whole = early_and_whole(events)
    assert "john" not in shown(whole) and "john" not in shown([e for _, e in early])


def test_a_word_that_went_and_is_then_joined_to_pii_typed_after_deleting_back_to_it_is_counted() -> None:
    # "bob" goes as a plain word; then everything after it is deleted and "@example.com" typed onto it. Held
    # whole, the segment would redact "bob" with the address; it went as typed, and its segment's close says so.
    events = typed("mail bob now and then some " + "\b" * 19 + "@example.com\n")
    segmenter = Segmenter(EARLY, NAMES)
    went = [e for _, e in through(segmenter, events)]
    whole = [e for _, e in through(Segmenter(WHOLE, NAMES), events)]
    assert shown(went).startswith("mail bob now ") and "example" not in shown(went)
    assert shown(whole).startswith("mail ###")
    differ = [e for e, w in zip(went, whole, strict=True) if e != w]
    redacted = {w.seq for w in whole if isinstance(w.payload, KeyEvent) and w.payload.redaction}
    assert {e.seq for e in differ} <= redacted  # where they differ, the whole segment redacts
    assert shown(differ).startswith("bob now ") and segmenter.counts["early.labelled_later"] == len(differ)


def test_a_word_that_went_and_that_the_caret_goes_back_to_is_counted_when_it_becomes_pii() -> None:
    # moving the caret changes no text, so release stops only at the arrow: what went before it went
    home = [InteractionEvent("d-1", "u-1", 0, T0, KeyEvent(pressed, "home"), MAIL) for pressed in (True, False)]
    events = [*typed("sunshine and we keep it in the vault"), *home, *typed("my password is \n")]
    events = [replace(e, seq=i, event_time=T0 + timedelta(milliseconds=150 * i)) for i, e in enumerate(events, 1)]
    segmenter = Segmenter(EARLY, NAMES)
    went = [e for _, e in through(segmenter, events)]
    whole = [e for _, e in through(Segmenter(WHOLE, NAMES), events)]
    assert "sunshine" in shown(went) and "sunshine" not in shown(whole)
    assert segmenter.counts["early.labelled_later"] == 2 * len("sunshine")


def test_a_new_owner_still_counts_what_went_as_typed_and_became_pii() -> None:
    table: dict[str, bytes] = {}
    events = typed("mail bob now and then some " + "\b" * 19 + "@example.com\n")
    cut = 2 * len("mail bob now and then some ")  # before the deletions
    first = Cleaner(CapturePolicy(), EARLY, NAMES, CODEC, table)
    sent = handle(first, events[:cut])
    assert shown(sent).startswith("mail bob now")
    second = Cleaner(CapturePolicy(), EARLY, NAMES, CODEC, table)
    rest = handle(second, events)
    assert [e.seq for e in sent + rest] == [e.seq for e in events] and set(table) == {"T|000|d-1"}
    assert second.counts["redaction.early.labelled_later"] > 0  # the alert fires on the new owner too


def _corpus_streams(n: int, seed: int) -> list[list[InteractionEvent]]:
    """The redaction corpus typed as long segments: five texts in a row, apart by a space or by a click."""
    rng, texts, streams, seq = random.Random(seed), [s.text for s in corpus(n, seed)], [], 0
    for k in range(0, len(texts), 5):
        ctx = rng.choice((MAIL, TERMINAL))
        chunk = [t.replace("\t", " ").replace("\n", " ") for t in texts[k : k + 5]]
        if rng.random() < 0.5:
            text, clicks = " ".join(chunk), ()
        else:
            text, clicks, at = "".join(chunk), [], 0
            for t in chunk[:-1]:
                at += len(t)
                clicks.append(at)
        events = typed(text + "\n", ctx, seq, tuple(clicks))
        seq += len(events) + 10
        streams.append(events)
    return streams


def test_on_the_redaction_corpus_early_release_changes_nothing_that_goes_downstream() -> None:
    went = 0
    for events in _corpus_streams(1000, 11):
        early, _ = early_and_whole(events)
        went += sum(i < len(events) - 2 for i, _ in early)
    assert went > 5_000  # and much went before its segment's end


def test_a_new_owner_reads_what_went_early_as_context_and_sends_only_the_rest() -> None:
    table: dict[str, bytes] = {}
    text = "note that my password is sunshine and we keep it in the vault\n"
    events = typed(text)
    cut = 2 * text.index("and")  # the first owner stops with "sunshine" typed, not yet followed by three words
    first = Cleaner(CapturePolicy(), EARLY, NAMES, CODEC, table)
    sent = handle(first, events[:cut])
    assert shown(sent) == "note that my "  # the rest of it is held, and mirrored in the table
    assert json.loads(table["W|000|d-1"]) == {"to": sent[-1].seq, "redacted": []}
    second = Cleaner(CapturePolicy(), EARLY, NAMES, CODEC, table)  # takes the partition over, replays it all
    assert second.held(0) == (cut - len(sent), 1)  # what went early is context, not held
    rest = handle(second, events)
    assert [e.seq for e in sent + rest] == [e.seq for e in events]  # nothing twice, nothing lost, in order
    assert shown(rest).startswith("password is ######## and")
    assert set(table) == {"T|000|d-1"}  # the segment closed: nothing held, no context left, its close marked


def handle(cleaner: Cleaner, events: list[InteractionEvent]) -> list[InteractionEvent]:
    """Each event as the agent hands it over: what it released goes on, then the table gets its changes."""
    out = []
    for event in events:
        out += cleaner.push(0, event, encoded(event)).events
        cleaner.settle(0)
    return out


def encoded(event: InteractionEvent) -> bytes:
    return CODEC.encode("InteractionEvent", to_avro(event))
