"""The hostile-input campaign: records no real agent sends, and where each one ended up.

Writes every kind of broken or absurd record into ``interactions.raw``, ``screens.raw`` and
the control topics — random bytes, truncated Avro, unknown and wrong schemas, megabyte
strings, control characters and invalid UTF-8, timestamps in 1970 and 2100, coordinates off
any screen, frames that are no image, 20,000 px wide or decompression bombs, a tick from the
future, forged consent and erasure records — beside a burst of keys from one device and a
small run of valid traffic. Then it accounts for every record: a data record must be in
``deadletter`` (found by its topic, partition and offset), a control record must be ignored
and counted by the workers, the burst's keys (valid) must be in ``interactions.clean``, and the
valid traffic must pass the ledger check.

    python -m bench.hostile             the full campaign on the local stack (make hostile)
    python -m bench.hostile --burst 20000

The integration test ``tests/integration/test_hostile.py`` runs a short version.
"""

from __future__ import annotations

import argparse
import io
import random
import struct
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from schemas.codec import Codec
from schemas.control_records import ConsentRecord, ConsentState, ErasureRequest, Tick
from schemas.events import (
    InteractionEvent,
    KeyEvent,
    Monitor,
    MouseButton,
    MouseMove,
    MouseScroll,
    ScreenFrame,
    VisibleWindow,
    WindowContext,
)
from schemas.records import from_avro, to_avro

DEAD = "dead letter"
IGNORED = "ignored, counted"


@dataclass(frozen=True)
class Hostile:
    kind: str
    topic: str  # base name: interactions.raw, screens.raw, control.consent, control.erasure
    key: bytes
    value: bytes
    expect: str = DEAD


@dataclass(frozen=True)
class Identity:
    user_id: str
    device_id: str


def _event(who: Identity, seq: int, when: datetime, payload: Any, ctx: WindowContext | None = None) -> InteractionEvent:
    return InteractionEvent(who.device_id, who.user_id, seq, when, payload, ctx or WindowContext("code", "main.py"))


def _jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), 200).save(out, "JPEG", quality=50)
    return out.getvalue()


def png_bomb(side: int) -> bytes:
    """A real PNG of ``side`` x ``side`` black pixels: small on the wire, ``side**2`` bytes once decoded."""
    zeros = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one byte per pixel
    data = b"".join(zeros.compress(row) for _ in range(side)) + zeros.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def _frame(
    who: Identity, seq: int, when: datetime, image: bytes, size: tuple[int, int], fmt: str = "jpeg"
) -> ScreenFrame:
    w, h = size
    window = VisibleWindow("code", "main.py", 0, 0, min(w, 100_000), min(h, 100_000), True)
    frame_id, monitor = f"{who.device_id}-{seq}", Monitor(0, 0, 0, w, h)
    return ScreenFrame(
        who.device_id, who.user_id, seq, when, frame_id, "click", image, w, h, monitor, (window,), image_format=fmt
    )


def _patch_utf8(data: bytes, marker: bytes) -> bytes:
    """``data`` with ``marker`` (inside an Avro string) replaced by as many bytes of invalid UTF-8."""
    at = data.index(marker)
    return data[:at] + b"\xff" * len(marker) + data[at + len(marker) :]


def campaign(codec: Codec, who: Identity, now: datetime, seed: int = 1, burst: int = 0) -> list[Hostile]:
    """Every hostile kind, a few records each (``burst`` valid key events of one device besides)."""
    rng = random.Random(seed)
    key = who.device_id.encode()
    good = codec.encode("InteractionEvent", to_avro(_event(who, 1, now, MouseMove(10, 10))))
    out: list[Hostile] = []

    def add(kind: str, topic: str, values: list[bytes], expect: str = DEAD, k: bytes = key) -> None:
        out.extend(Hostile(kind, topic, k, v, expect) for v in values)

    def ev(seq: int, payload: Any, when: datetime = now, ctx: WindowContext | None = None) -> bytes:
        return codec.encode("InteractionEvent", to_avro(_event(who, seq, when, payload, ctx)))

    add("random bytes", "interactions.raw", [rng.randbytes(rng.randrange(1, 3000)) for _ in range(8)])
    add("random bytes after a valid header", "interactions.raw", [good[:10] + rng.randbytes(40) for _ in range(3)])
    add("truncated Avro", "interactions.raw", [good[: rng.randrange(11, len(good) - 1)] for _ in range(4)])
    unknown = good[:2] + bytes(b ^ 0x5A for b in good[2:10]) + good[10:]
    add("unknown schema (fingerprint)", "interactions.raw", [unknown])
    add("unknown schema (registry id)", "interactions.raw", [b"\x00\x00\x00\x30\x39" + good[10:]])
    consent = ConsentRecord(who.user_id, ConsentState.GRANTED, "v1", now, who.user_id)
    add("wrong schema", "interactions.raw", [codec.encode("ConsentRecord", to_avro(consent))])
    huge = "x" * 1_000_000
    big_title = ev(2, MouseMove(1, 1), ctx=WindowContext("code", huge))
    add("megabyte string", "interactions.raw", [big_title, ev(3, KeyEvent(True, huge))])
    nul = ev(4, MouseMove(1, 1), ctx=WindowContext("co\x00de", "t"))
    escape = ev(5, MouseMove(1, 1), ctx=WindowContext("code", "a\x1b[31mb"))
    add("control characters", "interactions.raw", [nul, escape])
    marker = "MARKERMARKER"
    bad_utf8 = _patch_utf8(ev(6, MouseMove(1, 1), ctx=WindowContext("code", marker)), marker.encode())
    add("invalid UTF-8", "interactions.raw", [bad_utf8])
    add("timestamp in 1970", "interactions.raw", [ev(7, MouseMove(1, 1), datetime(1970, 1, 1, tzinfo=UTC))])
    add("timestamp in 2100", "interactions.raw", [ev(8, MouseMove(1, 1), datetime(2100, 1, 1, tzinfo=UTC))])
    off = [
        ev(9, MouseButton("left", True, -2_000_000_000, 5)),
        ev(10, MouseMove(5, 2_147_483_647)),
        ev(11, MouseScroll(5, 5, 0, -1_000_000)),
    ]
    add("coordinates off any screen", "interactions.raw", off)
    add("negative sequence number", "interactions.raw", [ev(-5, MouseMove(1, 1))])
    tick = Tick(0, datetime(2100, 1, 1, tzinfo=UTC), "forged")
    add("tick from 2100", "interactions.raw", [codec.encode("Tick", to_avro(tick))], k=b"")

    def fr(seq: int, image: bytes, size: tuple[int, int], fmt: str = "jpeg", when: datetime = now) -> bytes:
        return codec.encode("ScreenFrame", to_avro(_frame(who, seq, when, image, size, fmt)))

    add("random bytes", "screens.raw", [rng.randbytes(rng.randrange(1, 3000)) for _ in range(3)])
    no_image = [fr(20, b"not a jpeg at all", (640, 480)), fr(21, rng.randbytes(5000), (640, 480))]
    add("frame that is no image", "screens.raw", no_image)
    add("frame 20,000 px wide", "screens.raw", [fr(22, _jpeg(20_000, 16), (20_000, 16))])
    bombs = [fr(23, png_bomb(12_000), (12_000, 12_000), "png"), fr(24, png_bomb(20_000), (1920, 1080), "png")]
    add("decompression bomb", "screens.raw", bombs)
    add("frame size unlike its image", "screens.raw", [fr(25, _jpeg(64, 48), (1920, 1080))])
    add("frame from 1970", "screens.raw", [fr(26, _jpeg(64, 48), (64, 48), when=datetime(1970, 1, 2, tzinfo=UTC))])
    add("wrong schema", "screens.raw", [good])

    user = who.user_id.encode()
    add("random bytes", "control.consent", [rng.randbytes(50)], IGNORED, user)
    forged = replace(consent, recorded_at=datetime(2100, 1, 1, tzinfo=UTC))
    add("consent dated 2100", "control.consent", [codec.encode("ConsentRecord", to_avro(forged))], IGNORED, user)
    other = codec.encode("ConsentRecord", to_avro(consent))
    add("consent keyed for another person", "control.consent", [other], IGNORED, b"u-someone-else")
    erasure = ErasureRequest("forged-1", who.user_id, "nobody", datetime(2100, 1, 1, tzinfo=UTC))
    add("erasure dated 2100", "control.erasure", [codec.encode("ErasureRequest", to_avro(erasure))], IGNORED, user)
    if burst:
        start = now - timedelta(seconds=burst * 0.002)
        presses = (KeyEvent(i % 2 == 0, "a", "a" if i % 2 == 0 else None) for i in range(burst))
        keys = [ev(BURST_FIRST_SEQ + i, key, start + timedelta(milliseconds=2 * i)) for i, key in enumerate(presses)]
        add(f"burst of {burst:,} keys from one device", "interactions.raw", keys, "passes or dead letter")
    return out


@dataclass
class Tally:
    sent: Counter[tuple[str, str]]
    accounted: Counter[tuple[str, str]]
    reasons: dict[tuple[str, str], str]

    def lines(self) -> list[str]:
        rows = [f"{'kind':<38} {'topic':<17} {'sent':>7} {'accounted':>9}  outcome / first reason"]
        for k in sorted(self.sent):
            kind, topic = k
            reason = self.reasons.get(k, "")[:90]
            rows.append(f"{kind:<38} {topic:<17} {self.sent[k]:>7} {self.accounted[k]:>9}  {reason}")
        missing = sum(self.sent[k] - self.accounted[k] for k in self.sent)
        rows.append(f"{sum(self.sent.values())} records of {len(self.sent)} kinds; {missing} not accounted for")
        return rows

    @property
    def ok(self) -> bool:
        return all(self.accounted[k] >= n for k, n in self.sent.items())


def publish(producer: Any, topic: Callable[[str], str], records: list[Hostile]) -> dict[tuple[str, int, int], Hostile]:
    """Produce every record; returns (topic, partition, offset) -> record, from the delivery reports."""
    placed: dict[tuple[str, int, int], Hostile] = {}

    def hook(record: Hostile) -> Callable[[Any, Any], None]:
        def done(err: Any, msg: Any) -> None:
            if err is None:
                placed[msg.topic(), msg.partition(), msg.offset()] = record

        return done

    for record in records:
        while True:
            try:
                producer.produce(topic(record.topic), record.value, key=record.key or None, on_delivery=hook(record))
                break
            except BufferError:
                producer.poll(0.2)
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("the hostile records were not all acknowledged within 120 s")
    return placed


def tally(
    placed: dict[tuple[str, int, int], Hostile],
    letters: Iterator[tuple[str, int, int, str]],
    ignored: int,
    topic: Callable[[str], str],
    burst_clean: int = 0,
) -> Tally:
    """Match dead letters (source topic, partition, offset, reason) to the records placed; control records
    count as accounted for up to ``ignored`` (the workers' counter of control records not applied), and the
    burst's keys up to ``burst_clean`` (how many of them are in ``interactions.clean``, see :func:`burst_seen`)."""
    sent: Counter[tuple[str, str]] = Counter((h.kind, h.topic) for h in placed.values())
    accounted: Counter[tuple[str, str]] = Counter()
    reasons: dict[tuple[str, str], str] = {}
    for where_topic, partition, offset, reason in letters:
        h = placed.get((where_topic, partition, offset))
        if h is not None:
            accounted[h.kind, h.topic] += 1
            reasons.setdefault((h.kind, h.topic), reason.split(": ", 1)[-1])
    for k in sorted({(h.kind, h.topic) for h in placed.values() if h.expect == IGNORED}):
        take = min(ignored, sent[k])
        accounted[k] += take
        ignored -= take
        reasons[k] = IGNORED
    for k in sent:
        if k[0].startswith("burst of"):
            accounted[k] += min(burst_clean, sent[k] - accounted[k])
            reasons.setdefault(k, "valid keys: found in interactions.clean")
    return Tally(sent, accounted, reasons)


BURST_FIRST_SEQ = 1000  # the burst's keys are seq 1000 on; the campaign's other events are below


def burst_seen(device: str, clean: Iterable[tuple[bytes | None, bytes]], codec: Codec) -> int:
    """How many distinct keys of the burst of ``device`` are among the (key, value) records of interactions.clean."""
    seqs = set()
    for key, value in clean:
        if key == device.encode():
            seq = from_avro(InteractionEvent, codec.decode(value).value).seq
            if seq >= BURST_FIRST_SEQ:
                seqs.add(seq)
    return len(seqs)


def run(burst: int, wait_s: float, metrics_url: str) -> Tally:
    """The campaign on the stack of the environment's settings; ``metrics_url``: its stream worker's metrics."""
    from confluent_kafka import Producer

    from runtime.control_topics import publish as publish_control
    from runtime.settings import Settings
    from schemas.control_records import DeadLetter
    from teachstream.tail import read_topic

    settings = Settings()
    codec = Codec()
    who = Identity("u-hostile", f"d-hostile-{int(time.time())}")
    granted = ConsentRecord(who.user_id, ConsentState.GRANTED, "hostile", datetime(2020, 1, 1, tzinfo=UTC), who.user_id)
    publish_control(settings, "control.consent", who.user_id, granted)  # the bad records are refused, not unconsented
    records = campaign(codec, who, datetime.now(UTC), burst=burst)
    producer = Producer({**settings.kafka(), "enable.idempotence": True, "message.max.bytes": 17_000_000})
    before = ignored_count(metrics_url)
    placed = publish(producer, settings.topic, records)
    deadline = time.monotonic() + wait_s
    while True:
        messages = read_topic(settings, settings.topic("deadletter"))
        decoded = (from_avro(DeadLetter, codec.decode(m.value()).value) for m in messages)
        letters = [(d.topic, d.partition, d.offset, d.reason) for d in decoded]
        ignored = ignored_count(metrics_url) - before
        result = tally(placed, iter(letters), ignored, settings.topic)
        waiting = {kind for (kind, where), n in result.sent.items() if result.accounted[kind, where] < n}
        if waiting and all(kind.startswith("burst of") for kind in waiting):  # read the clean topic only then
            clean = ((m.key(), m.value()) for m in read_topic(settings, settings.topic("interactions.clean")))
            passed = burst_seen(who.device_id, clean, codec)
            result = tally(placed, iter(letters), ignored, settings.topic, passed)
        if result.ok or time.monotonic() > deadline:
            return result
        time.sleep(10)


def markdown(result: Tally, burst: int) -> str:
    return "\n".join([
        "## Hostile input: every kind accounted for",
        "",
        f"`make hostile` (`bench/hostile.py`) on the local stack with its workers, a burst of {burst:,} keys. A data",
        "record counts as accounted for once its dead letter (same topic, partition and offset) is in `deadletter`;",
        "a control record once the stream worker counted it as ignored.",
        "",
        "```",
        *result.lines(),
        "```",
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=1_000_000, help="key events from one device (default 1,000,000)")
    parser.add_argument("--wait", type=float, default=1800.0, help="seconds to wait for the accounting")
    parser.add_argument("--metrics", default="", help="the stream worker's metrics URL (for the control records)")
    args = parser.parse_args(argv)
    result = run(args.burst, args.wait, args.metrics)
    print(markdown(result, args.burst))
    return 0 if result.ok else 1


def ignored_count(metrics_url: str) -> int:
    """The stream worker's count of control records it ignored (0 without a metrics URL)."""
    if not metrics_url:
        return 0
    import urllib.request

    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text = response.read().decode()
    prefix = "teachstream_control_records_ignored_total"
    return int(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)))


if __name__ == "__main__":
    sys.exit(main())
