"""The Avro contracts: schema files, typed records, fingerprints and both framings."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import struct
from datetime import UTC, datetime

import pytest
from fastavro import schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form
from hypothesis import given
from hypothesis import strategies as st

from schemas import BadFrameError, Codec, CodecError, UnknownSchemaError, WrongRecordTypeError
from schemas.control_records import (
    CaptureScope,
    ConsentRecord,
    ConsentState,
    DeadLetter,
    ErasureRequest,
    Heartbeat,
    Policy,
    Tick,
)
from schemas.errors import SchemaRegistryUnavailableError
from schemas.events import (
    CaptureSuppressed,
    InteractionEvent,
    KeyEvent,
    Monitor,
    MouseButton,
    MouseMove,
    MouseScroll,
    ScreenFrame,
    VisibleWindow,
    WindowContext,
    WindowFocus,
)
from schemas.records import from_avro, to_avro
from schemas.registry import default_registry, pii_fields
from schemas.topics import topic_specs
from schemas.trajectory import Point, Step, Trajectory

T0 = datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=UTC)
CTX = WindowContext("firefox", "Inbox - Mail", 42)


def _event(payload: object, seq: int = 1) -> InteractionEvent:
    return InteractionEvent("d-1", "u-1", seq, T0, payload, CTX, 60)  # type: ignore[arg-type]


SAMPLES = [
    _event(KeyEvent(True, "a", "A", ("shift",))),
    _event(KeyEvent(False, "enter")),
    _event(MouseMove(10, 20)),
    _event(MouseButton("left", True, 5, 6)),
    _event(MouseScroll(5, 6, 0, -3)),
    _event(WindowFocus("code")),
    InteractionEvent("d-1", "u-1", 9, T0, CaptureSuppressed("denied window", 5000)),
    ScreenFrame(
        "d-1",
        "u-1",
        2,
        T0,
        "d-1-2",
        "click",
        b"\xff\xd8jpeg",
        480,
        270,
        Monitor(1, 0, 0, 1920, 1080),
        (VisibleWindow("firefox", "Inbox", 0, 0, 800, 600, True),),
        scale=0.25,
    ),
    Trajectory(
        "s-1",
        "d-1",
        "u-1",
        T0,
        T0,
        "gap",
        (
            Step(
                0,
                "drag",
                T0,
                T0,
                "firefox",
                "Inbox",
                x=1,
                y=2,
                nx=0.5,
                ny=0.25,
                button="left",
                path=(Point(1, 2), Point(3, 4)),
                frame_id="d-1-2",
            ),
        ),
        12,
        1,
        0,
    ),
    DeadLetter("decode", "bad", "BadFrameError", "interactions.raw", 0, 7, b"junk", T0, b"k"),
    ConsentRecord("u-1", ConsentState.GRANTED, "2026-11", T0, "u-1", (CaptureScope.KEYS, CaptureScope.MOUSE)),
    Policy("default", "2026-11", T0, deny_apps=("keepassxc",), deny_title_patterns=("(?i)password",)),
    Heartbeat("d-1", "0.1.0", T0, "capturing", events_sent=3),
    ErasureRequest("r-1", "u-1", "hr-1", T0, "asked by email"),
    Tick(3, T0, "worker-1"),
]
HEARTBEAT = next(s for s in SAMPLES if isinstance(s, Heartbeat))


def test_every_schema_file_parses_and_has_a_typed_class() -> None:
    registry = default_registry()
    classes = {type(s).AVRO_NAME for s in SAMPLES}
    assert {name.rsplit(".", 1)[1] for name in registry.names} == classes


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_dataclass_fields_mirror_the_newest_schema(sample: object) -> None:
    schema = default_registry().latest(type(sample).AVRO_NAME).raw  # type: ignore[attr-defined]
    assert {f.name for f in dataclasses.fields(sample)} == {f["name"] for f in schema["fields"]}  # type: ignore[arg-type]


def test_our_fingerprints_match_fastavro_crc64() -> None:
    for version in default_registry().versions():
        expected = fingerprint(to_parsing_canonical_form(version.raw), "CRC-64-AVRO")
        assert struct.pack("<Q", version.fingerprint).hex() == expected


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("url", [None, "mock://schemas-test"])
def test_round_trip_in_both_framings(sample: object, url: str | None) -> None:
    codec = Codec.from_url(url)
    name = type(sample).AVRO_NAME  # type: ignore[attr-defined]
    data = codec.encode(name, to_avro(sample))  # type: ignore[arg-type]
    assert data[:2] == b"\xc3\x01" if url is None else data[:1] == b"\x00"
    decoded = codec.decode(data)
    assert decoded.short_name == name
    assert from_avro(type(sample), decoded.value) == sample


def test_a_dict_missing_fields_with_defaults_or_with_extra_fields_still_reads_as_its_record() -> None:
    event = SAMPLES[0]
    assert isinstance(event, InteractionEvent) and event.context is not None
    value = to_avro(event)
    del value["context"], value["utc_offset_minutes"]  # written before these fields were: their defaults
    assert from_avro(InteractionEvent, value) == dataclasses.replace(event, context=None, utc_offset_minutes=0)
    assert from_avro(InteractionEvent, {**to_avro(event), "added_later": 1}) == event
    with pytest.raises(TypeError):
        from_avro(InteractionEvent, {k: v for k, v in to_avro(event).items() if k != "seq"})  # no default


def test_single_object_header_is_magic_and_little_endian_fingerprint() -> None:
    data = Codec().encode("InteractionEvent", to_avro(SAMPLES[0]))
    fp = default_registry().latest("InteractionEvent").fingerprint
    assert data[:10] == b"\xc3\x01" + struct.pack("<Q", fp)


def test_a_registry_codec_also_reads_single_object_records() -> None:
    data = Codec().encode("Heartbeat", to_avro(HEARTBEAT))
    assert Codec.from_url("mock://both").decode(data).short_name == "Heartbeat"


def test_confluent_record_without_registry_is_an_unknown_schema() -> None:
    data = Codec.from_url("mock://other").encode("Heartbeat", to_avro(HEARTBEAT))
    with pytest.raises(UnknownSchemaError, match="no schema registry"):
        Codec().decode(data)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"", BadFrameError, "empty"),
        (b"hello world", BadFrameError, "known framing"),
        (b"\xc3\x01\x00", BadFrameError, "truncated"),
        (b"\xc3\x01" + b"\x11" * 8 + b"body", UnknownSchemaError, "not one of"),
    ],
)
def test_bad_bytes_raise_typed_errors(data: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        Codec().decode(data)


def test_corrupt_body_and_trailing_bytes_are_bad_frames() -> None:
    good = Codec().encode("InteractionEvent", to_avro(SAMPLES[0]))
    with pytest.raises(BadFrameError):
        Codec().decode(good[:-5])
    with pytest.raises(BadFrameError, match="trailing"):
        Codec().decode(good + b"\x00\x00")


def test_wrong_record_type_is_reported() -> None:
    data = Codec().encode("Heartbeat", to_avro(HEARTBEAT))
    with pytest.raises(WrongRecordTypeError, match=r"expected a io\.teachstream\.InteractionEvent"):
        Codec().decode_named(data, "InteractionEvent")


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_escape_as_anything_but_codec_errors(data: bytes) -> None:
    with contextlib.suppress(CodecError):
        Codec().decode(data)


@given(st.binary(max_size=64))
def test_corrupted_bodies_of_real_records_are_codec_errors_or_records(noise: bytes) -> None:
    good = Codec().encode("InteractionEvent", to_avro(SAMPLES[0]))
    with contextlib.suppress(CodecError):
        Codec().decode(good[:10] + noise)


def test_pii_fields_are_tagged() -> None:
    registry = default_registry()
    assert pii_fields(registry.latest("InteractionEvent").raw) == {
        "context.title": "window_title",
        "payload.key": "typed_text",
        "payload.char": "typed_text",
    }
    assert pii_fields(registry.latest("ScreenFrame").raw) == {"image": "screen", "windows.title": "window_title"}
    assert set(pii_fields(registry.latest("Trajectory").raw)) == {"steps.title", "steps.text"}


def test_every_topic_carries_a_shipped_record() -> None:
    registry = default_registry()
    for spec in topic_specs():
        assert registry.latest(spec.record)
        if spec.name.startswith("control."):
            assert spec.config["cleanup.policy"] == "compact"
        if spec.name.endswith(".raw"):
            assert int(spec.config["retention.ms"]) <= 24 * 3600 * 1000
        if spec.name.startswith("screens."):
            assert int(spec.config["max.message.bytes"]) >= 8 * 1024 * 1024


def test_old_trajectory_writers_still_decode_with_the_newest_reader() -> None:
    """v1 producers keep working after v2 added normalized positions (backward compatibility)."""
    v1 = next(v for v in default_registry().versions() if v.short_name == "Trajectory" and v.version == 1)
    step = {"index": 0, "action": "click", "start_time": T0, "end_time": T0, "app": "a", "title": "t", "x": 5, "y": 6}
    record = {
        "session_id": "s",
        "device_id": "d",
        "user_id": "u",
        "start_time": T0,
        "end_time": T0,
        "end_reason": "gap",
        "steps": [step],
        "event_count": 2,
    }
    body = io.BytesIO()
    schemaless_writer(body, v1.parsed, record)
    decoded = Codec().decode(b"\xc3\x01" + struct.pack("<Q", v1.fingerprint) + body.getvalue())
    assert decoded.writer_version == 1
    trajectory = from_avro(Trajectory, decoded.value)
    assert trajectory.steps[0].x == 5 and trajectory.steps[0].nx is None


class _FlakyRegistry:
    """A schema registry that cannot be reached ``failures`` times, then answers like ``real``."""

    def __init__(self, real: object, failures: int, status: int | None = None) -> None:
        self.real, self.failures, self.status = real, failures, status

    def get_schema(self, schema_id: int) -> object:
        if self.failures:
            self.failures -= 1
            error = ConnectionError("connection refused")
            error.http_status_code = self.status  # type: ignore[attr-defined]
            raise error
        return self.real.get_schema(schema_id)  # type: ignore[attr-defined]


def test_an_unreachable_registry_is_not_an_unknown_schema_and_decoding_waits_for_it() -> None:
    writer = Codec.from_url("mock://flaky")
    data = writer.encode("Heartbeat", to_avro(HEARTBEAT))
    flaky = _FlakyRegistry(writer._sr, failures=2)
    reader = Codec(schema_registry=flaky)  # type: ignore[arg-type]
    with pytest.raises(SchemaRegistryUnavailableError, match="cannot reach the schema registry"):
        reader.decode(data)
    waits: list[float] = []
    assert reader.decode_patiently(data, lambda: True, waits.append).short_name == "Heartbeat"
    assert waits == [0.5]
    gone = Codec(schema_registry=_FlakyRegistry(writer._sr, failures=1, status=404))  # type: ignore[arg-type]
    with pytest.raises(UnknownSchemaError, match="not in the schema registry"):
        gone.decode(data)


def test_the_agents_decode_waits_out_an_unreachable_registry_without_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    from streams import decoding

    writer = Codec.from_url("mock://flaky-agents")
    data = writer.encode("Heartbeat", to_avro(HEARTBEAT))
    reader = Codec(schema_registry=_FlakyRegistry(writer._sr, failures=3))  # type: ignore[arg-type]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", sleep)
    assert asyncio.run(decoding.decode(reader, data)).short_name == "Heartbeat"
    assert waits == [0.5, 1.0, 2.0]  # a wait after each failed try, doubling
    assert asyncio.run(decoding.decode(writer, data)).short_name == "Heartbeat" and waits == [0.5, 1.0, 2.0]
