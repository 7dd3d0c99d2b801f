"""Plausibility limits of raw records, and the hostile campaign's records against them (pure core)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.hostile import DEAD, IGNORED, Identity, burst_seen, campaign, png_bomb, tally
from schemas.capture_policy import CapturePolicy
from schemas.codec import Codec
from schemas.control_records import ConsentRecord, ConsentState, ErasureRequest
from schemas.errors import CodecError
from schemas.events import (
    InteractionEvent,
    KeyEvent,
    MouseButton,
    MouseMove,
    MouseScroll,
    ScreenFrame,
    TypingPause,
    WindowContext,
    WindowFocus,
)
from schemas.records import from_avro
from schemas.validation import control_problem, event_problem, frame_problem
from streams.core.cleaner import Cleaner
from streams.core.redaction import SegmentPolicy
from streams.core.screens.pixels import image_size

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
WHO = Identity("u-hostile", "d-hostile")


def _event(**changes: object) -> InteractionEvent:
    base = InteractionEvent("d-1", "u-1", 1, NOW, MouseMove(10, 10), WindowContext("code", "main.py"))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_real_capture_passes() -> None:
    assert event_problem(_event(), NOW) is None
    assert event_problem(_event(payload=KeyEvent(True, "c", "\x03", ("ctrl",))), NOW) is None  # ctrl+c's char
    assert event_problem(_event(event_time=NOW + timedelta(minutes=9)), NOW) is None  # a little clock skew


def test_absurd_events_are_named() -> None:
    cases = {
        "before 2020": _event(event_time=datetime(1970, 1, 1, tzinfo=UTC)),
        "73 years ahead": _event(event_time=datetime(2100, 1, 1, tzinfo=UTC)),
        "control character U+0000": _event(context=WindowContext("co\x00de", "t")),
        "1,000,000 characters long": _event(context=WindowContext("code", "x" * 1_000_000)),
        "off any screen": _event(payload=MouseMove(-2_000_000_000, 5)),
        "is negative": _event(seq=-1),
        "device id": _event(device_id="d/../../etc"),
    }
    for expected, event in cases.items():
        problem = event_problem(event, NOW)
        assert problem is not None and expected in problem, (expected, problem)


def test_frame_images_are_measured_without_decoding_them() -> None:
    assert image_size(png_bomb(500)) == (500, 500)
    assert "decompression bomb" in str(image_size(png_bomb(20_000)))
    assert "not a JPEG or PNG" in str(image_size(b"GIF89a nothing"))


def test_control_records_from_the_future_or_keyed_for_someone_else_are_refused() -> None:
    consent = ConsentRecord("u-1", ConsentState.GRANTED, "v1", NOW, "u-1")
    assert control_problem(consent, b"u-1", NOW) is None
    assert "keyed" in str(control_problem(consent, b"u-2", NOW))
    late = replace(consent, recorded_at=datetime(2100, 1, 1, tzinfo=UTC))
    assert "override every later decision" in str(control_problem(late, b"u-1", NOW))
    erasure = ErasureRequest("r-1", "u-1", "dpo", datetime(2100, 1, 1, tzinfo=UTC))
    assert "ahead of this clock" in str(control_problem(erasure, b"u-1", NOW))


def test_every_kind_of_the_campaign_is_refused_before_any_stage_sees_it() -> None:
    """Each data record either fails to decode or fails the plausibility check; each control record fails its
    check; the burst's keys pass (they are valid)."""
    codec = Codec()
    refused: dict[str, int] = {}
    for h in campaign(codec, WHO, NOW, burst=10):
        try:
            decoded = codec.decode(h.value)
        except CodecError:
            refused[h.kind] = refused.get(h.kind, 0) + 1
            continue
        name, value = decoded.short_name, decoded.value
        if h.topic == "interactions.raw" and name == "InteractionEvent":
            problem = event_problem(from_avro(InteractionEvent, value), NOW)
        elif h.topic == "interactions.raw" and name == "Tick":
            problem = "tick" if value["stream_time"] > NOW + timedelta(minutes=10) else None
        elif h.topic == "screens.raw" and name == "ScreenFrame":
            frame = from_avro(ScreenFrame, value)
            problem = frame_problem(frame, NOW, image_size(frame.image))
        elif h.topic.startswith("control."):
            kind = ConsentRecord if name == "ConsentRecord" else ErasureRequest
            problem = control_problem(from_avro(kind, value), h.key, NOW)  # type: ignore[arg-type]
        else:
            problem = f"wrong type {name}"
        if h.kind.startswith("burst"):
            assert problem is None, problem
        else:
            assert problem is not None, h.kind
            refused[h.kind] = refused.get(h.kind, 0) + 1
    assert len(refused) >= 20, sorted(refused)


def test_the_tally_matches_dead_letters_by_position_and_counts_ignored_control_records() -> None:
    records = campaign(Codec(), WHO, NOW)
    placed = {("t." + h.topic, 0, i): h for i, h in enumerate(records)}
    data = [(t, p, o, f"{t}[{p}]@{o}: bad") for (t, p, o), h in placed.items() if h.expect == DEAD]
    controls = sum(1 for h in records if h.expect == IGNORED)
    assert tally(placed, iter(data), controls, lambda base: "t." + base).ok
    assert not tally(placed, iter(data[1:]), controls, lambda base: "t." + base).ok
    assert not tally(placed, iter(data), controls - 1, lambda base: "t." + base).ok


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300),
    st.text(max_size=5000),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**31), 2**31 - 1),
    st.datetimes(timezones=st.just(UTC)),
)
def test_any_event_gets_an_answer_never_an_exception(app: str, title: str, x: int, y: int, when: datetime) -> None:
    event = _event(context=WindowContext(app, title), payload=MouseMove(x, y), event_time=when)
    problem = event_problem(event, NOW)
    assert problem is None or isinstance(problem, str)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_as_an_image_get_a_size_or_a_reason(data: bytes) -> None:
    size = image_size(data)  # never raises
    assert isinstance(size, str) or (isinstance(size, tuple) and len(size) == 2)


_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)
_PAYLOADS = st.one_of(
    st.builds(KeyEvent, st.booleans(), st.sampled_from(["a", "b", "space", "enter", "backspace", "shift"]),
              st.one_of(st.none(), st.sampled_from(["a", "b", "@", "1", "\x03"]))),
    st.builds(MouseMove, st.integers(-100_000, 100_000), st.integers(-100_000, 100_000)),
    st.builds(MouseButton, st.sampled_from(["left", "right"]), st.booleans(),
              st.integers(-100_000, 100_000), st.integers(-100_000, 100_000)),
    st.builds(MouseScroll, st.integers(0, 4000), st.integers(0, 3000), st.integers(-9, 9), st.integers(-9, 9)),
    st.builds(TypingPause, st.integers(0, 60_000)),
    st.builds(WindowFocus, st.one_of(st.none(), _TEXT)),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_PAYLOADS, st.integers(0, 600_000), _TEXT, _TEXT), max_size=40))
def test_the_clean_stage_answers_any_plausible_events_without_raising(
    items: list[tuple[object, int, str, str]],
) -> None:
    """Whatever passes the plausibility check, the clean stage's pure entry point releases, holds or
    quarantines; it never raises, it releases only what it was given, and by a tick far ahead it has released
    (or quarantined) every event of an allowed window but the TypingPause markers."""
    policy = CapturePolicy()
    cleaner = Cleaner(policy, SegmentPolicy(), None, Codec(), {})
    given_seqs, expected, released = set(), set(), []
    for seq, (payload, ms, app, title) in enumerate(items, 1):
        event = InteractionEvent("d-1", "u-1", seq, NOW + timedelta(milliseconds=ms), payload,  # type: ignore[arg-type]
                                 WindowContext(app or "code", title))  # fmt: skip
        if event_problem(event, NOW + timedelta(hours=1)) is not None:
            continue
        given_seqs.add(seq)
        if not isinstance(payload, TypingPause) and event.context and policy.decide(event.context).allowed:
            expected.add(seq)
        out = cleaner.push(0, event, b"")
        released += [e.seq for e in out.events] + [e.seq for q in out.quarantined for e in q.events]
    out = cleaner.tick(0, NOW + timedelta(hours=2))
    released += [e.seq for e in out.events] + [e.seq for q in out.quarantined for e in q.events]
    assert set(released) <= given_seqs
    assert expected <= set(released)


def test_the_burst_is_accounted_for_only_by_its_keys_found_in_interactions_clean() -> None:
    codec = Codec()
    records = campaign(codec, WHO, NOW, burst=5)
    placed = {("t." + h.topic, 0, i): h for i, h in enumerate(records)}
    data = [(t, p, o, f"{t}[{p}]@{o}: bad") for (t, p, o), h in placed.items() if h.expect == DEAD]
    controls = sum(1 for h in records if h.expect == IGNORED)
    assert not tally(placed, iter(data), controls, lambda base: "t." + base).ok
    keys = [(WHO.device_id.encode(), h.value) for h in records if h.kind.startswith("burst")]
    other = [(b"d-other", keys[0][1]), (None, keys[1][1])]
    assert burst_seen(WHO.device_id, keys[:4] + keys[:2] + other, codec) == 4  # distinct, of this device only
    assert not tally(placed, iter(data), controls, lambda base: "t." + base, 4).ok
    assert tally(placed, iter(data), controls, lambda base: "t." + base, burst_seen(WHO.device_id, keys, codec)).ok
