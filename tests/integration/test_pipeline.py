"""The pipeline on the real stack: raw -> streams -> clean -> sink -> S3, bad records to dead letters."""

from __future__ import annotations

import io
import json
import random
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw

from schemas.control_records import DeadLetter
from schemas.events import InteractionEvent, KeyEvent, Monitor, ScreenFrame, WindowContext
from schemas.records import from_avro, to_avro
from tests.integration.conftest import Isolated, wait_for


def _valid(i: int) -> InteractionEvent:
    return InteractionEvent(
        f"d-{i % 3}", "u-1", i, datetime.now(UTC), KeyEvent(True, "a", "a"), WindowContext("xterm", f"win {i}")
    )


def _garbage(rng: random.Random, i: int, codec_bytes: bytes) -> bytes:
    kind = i % 5
    if kind == 0:
        return rng.randbytes(rng.randrange(1, 200))
    if kind == 1:
        return b""
    if kind == 2:
        return codec_bytes[: rng.randrange(3, len(codec_bytes) - 1)]  # truncated record
    if kind == 3:
        return b"\xc3\x01" + rng.randbytes(8) + b"body"  # unknown fingerprint
    return b"\x00\x00\x00\x00\x07" + rng.randbytes(20)  # Confluent framing, no registry


def clean_events(isolated: Isolated) -> list[tuple[str, int]]:
    """(device, seq) of the events on interactions.clean (key presses are held until their segment closes)."""
    records = isolated.read_all("interactions.clean", expect=10**9, timeout_s=2)
    decoded = (isolated.codec.decode(m.value()) for m in records)
    return sorted((d.value["device_id"], d.value["seq"]) for d in decoded if d.short_name == "InteractionEvent")


def test_garbage_goes_to_deadletter_with_reasons_while_valid_records_flow(isolated: Isolated, tmp_path: Path) -> None:
    isolated.grant("u-1")
    isolated.start(
        "streams", log=tmp_path / "streams.log", extra_env={"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust")}
    )
    rng = random.Random(1)
    producer = isolated.producer()
    valid = {}
    sample = isolated.codec.encode("InteractionEvent", to_avro(_valid(0)))
    for i in range(1000):
        producer.produce(isolated.topic("interactions.raw"), _garbage(rng, i, sample), key=b"junk")
        if i % 5 == 0:
            data = isolated.codec.encode("InteractionEvent", to_avro(_valid(i)))
            valid[data] = i
            producer.produce(isolated.topic("interactions.raw"), data, key=f"d-{i % 3}".encode())
    frame = ScreenFrame(
        "d-1",
        "u-1",
        1,
        datetime.now(UTC),
        "d-1-1",
        "click",
        b"\xff\xd8" + b"x" * 2_000_000,
        640,
        360,
        Monitor(1, 0, 0, 1920, 1080),
    )
    producer.produce(isolated.topic("screens.raw"), isolated.codec.encode("ScreenFrame", to_avro(frame)), key=b"d-1")
    producer.produce(isolated.topic("screens.raw"), b"not a frame", key=b"d-1")
    picture = Image.new("RGB", (1280, 720), (245, 245, 245))
    ImageDraw.Draw(picture).text((40, 40), "quarterly report draft", fill=(20, 20, 20))
    jpeg = io.BytesIO()
    picture.save(jpeg, "JPEG", quality=80)
    real = replace(frame, seq=2, frame_id="d-1-2", image=jpeg.getvalue(), width=1280, height=720, scale=1.0)
    producer.produce(isolated.topic("screens.raw"), isolated.codec.encode("ScreenFrame", to_avro(real)), key=b"d-1")
    assert producer.flush(30) == 0

    expected = sorted((f"d-{i % 3}", i) for i in valid.values())

    wait_for(lambda: len(clean_events(isolated)) >= len(expected), 120, "the valid events in interactions.clean")
    assert clean_events(isolated) == expected
    letters = isolated.read_all("deadletter", expect=1002, timeout_s=60)
    assert len(letters) == 1002  # the garbage, the bytes that are no frame, the frame whose image is no image
    decoded = [from_avro(DeadLetter, isolated.codec.decode(m.value()).value) for m in letters]
    assert all(d.reason and d.error_type for d in decoded)
    raw = [d for d in decoded if d.topic == isolated.topic("interactions.raw")]
    assert len(raw) == 1000 and len({d.offset for d in raw}) == 1000
    assert {d.error_type for d in raw} == {"BadFrameError", "UnknownSchemaError"}
    assert any("no schema registry" in d.reason for d in raw)
    screens = [d for d in decoded if d.topic == isolated.topic("screens.raw")]
    unreadable = [d for d in screens if d.error_type == "InvalidRecordError"]  # refused before any redaction
    assert len(unreadable) == 1 and "cannot be read" in unreadable[0].reason, [d.reason for d in screens]
    assert len(unreadable[0].original) < 10_000, "a frame's image never goes to dead letters"
    frames = isolated.read_all("screens.clean", expect=1)
    assert len(frames) == 1, "the frame with a real image goes on, redacted and stored smaller"
    clean = from_avro(ScreenFrame, isolated.codec.decode(frames[0].value()).value)
    assert (clean.frame_id, clean.width, clean.scale) == ("d-1-2", 640, 0.5)


def test_simulated_devices_flow_end_to_end_and_tail_decodes(isolated: Isolated, tmp_path: Path) -> None:
    isolated.start(
        "streams", log=tmp_path / "streams.log", extra_env={"TEACHSTREAM_STREAMS_DATA_DIR": str(tmp_path / "faust")}
    )
    sim = isolated.cli("simulate", "--devices", "3", "--duration", "5", "--fast", "--seed", "11")
    assert sim.returncode == 0, sim.stderr
    published, frames = map(int, re.findall(r"(\d+) events and (\d+) frames", sim.stdout)[0])
    assert published > 50 and frames > 0
    raw = [isolated.codec.decode(m.value()).value for m in isolated.read_all("interactions.raw", expect=published)]
    pauses = sum(1 for e in raw if e["payload"][0].endswith(".TypingPause"))  # they close segments, go no further
    wait_for(lambda: len(clean_events(isolated)) >= published - pauses, 120, "clean interactions")
    wait_for(lambda: isolated.end_offsets("screens.clean") >= frames, 60, "clean frames")

    tail = isolated.cli("tail", "interactions.clean", "--max", "5")
    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]
    assert len(lines) == 5
    assert all(line["schema"] == "InteractionEvent" and line["value"]["device_id"].startswith("d-") for line in lines)

    shots = isolated.cli("tail", "screens.clean", "--max", "1")
    image = json.loads(shots.stdout)["value"]["image"]
    assert set(image) == {"bytes", "sha256"} and image["bytes"] > 1000  # bytes shown as size + hash

    sink = isolated.cli("sink", "--until-idle", "3")
    assert sink.returncode == 0, sink.stderr
    assert f"and {frames} frames in" in sink.stderr, sink.stderr  # sessions land once they close (test_dataset)
