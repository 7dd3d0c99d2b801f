"""What a plausible record looks like: limits every stage's entry checks (pure core).

A record can be valid Avro and still absurd: a megabyte window title, a control character in
an app name, an event from 1970 or 2100, a click a billion pixels off screen, a frame that
claims 20,000 px or decodes to gigabytes. The stream checks each raw record against these
limits before anything else and dead-letters the ones that fail, with the rule they broke.
The limits are far beyond what a real agent sends (its titles are whole window titles, its
coordinates are on a real virtual desktop), so only broken or hostile senders meet them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

from schemas.control_records import ConsentRecord, ErasureRequest
from schemas.events import (
    InteractionEvent,
    KeyEvent,
    MouseButton,
    MouseMove,
    MouseScroll,
    ScreenFrame,
    VisibleWindow,
    WindowContext,
)

ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")  # device, user and frame ids become object key segments
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)  # no capture is older than the product
MAX_FUTURE = timedelta(minutes=10)  # ahead of the worker's clock: the device clock is wrong
MAX_APP = 256
MAX_TITLE = 4096
MAX_HOST = 253  # a DNS name
MAX_KEY = 64
MAX_CHAR = 8  # one grapheme, a few code points at most
MAX_MODIFIERS = 8
MAX_COORD = 100_000  # px from the primary monitor's corner: several 8K monitors side by side fit
MAX_SCROLL = 10_000
MAX_SIDE = 16_384  # px of a frame's side
MAX_PIXELS = 40_000_000  # a frame's pixels (8K is 33 million): also the bound on its decoded size
MAX_WINDOWS = 512  # window rectangles listed with one frame


def _text(what: str, value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    if len(value) > limit:
        return f"{what} is {len(value):,} characters long (limit {limit:,})"
    for ch in value:
        if ch != "\t" and unicodedata.category(ch) in ("Cc", "Cs"):
            return f"{what} holds the control character U+{ord(ch):04X}"
    return None


def _point(what: str, x: int, y: int) -> str | None:
    if abs(x) > MAX_COORD or abs(y) > MAX_COORD:
        return f"{what} at ({x}, {y}) is off any screen (limit ±{MAX_COORD:,} px)"
    return None


def _when(moment: datetime, now: datetime) -> str | None:
    if moment < EARLIEST:
        return f"event time {moment.isoformat()} is before {EARLIEST.year}: the device clock is wrong"
    if moment > now + MAX_FUTURE:
        ahead = moment - now
        return (
            f"event time {moment.isoformat()} is {_span(ahead)} ahead of this worker's clock "
            f"(limit {_span(MAX_FUTURE)}): the device clock is wrong"
        )
    return None


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 2 * 365 * 86_400:
        return f"{seconds / (365.25 * 86_400):.0f} years"
    if seconds >= 2 * 86_400:
        return f"{seconds / 86_400:.0f} days"
    return f"{seconds / 60:.0f} min"


def _ids(device_id: str, user_id: str) -> str | None:
    for what, value in (("device id", device_id), ("user id", user_id)):
        if not ID.match(value):
            return f"{what} {value[:40]!r} is not 1-128 letters, digits, '.', '_' or '-'"
    return None


def _context(ctx: WindowContext | VisibleWindow | None, what: str) -> str | None:
    if ctx is None:
        return None
    return (
        _text(f"{what} app", ctx.app, MAX_APP)
        or _text(f"{what} title", ctx.title, MAX_TITLE)
        or _text(f"{what} host", ctx.host, MAX_HOST)
    )


def event_problem(event: InteractionEvent, now: datetime) -> str | None:
    """Why ``event`` is not a plausible capture at worker time ``now``, or None."""
    problem = _ids(event.device_id, event.user_id) or _when(event.event_time, now) or _context(event.context, "window")
    if problem:
        return problem
    if event.seq < 0:
        return f"sequence number {event.seq} is negative"
    p = event.payload
    if isinstance(p, KeyEvent):
        if len(p.modifiers) > MAX_MODIFIERS:
            return f"key event with {len(p.modifiers)} modifiers (limit {MAX_MODIFIERS})"
        # a key's char may be a control character (ctrl+c gives U+0003): only its length is checked
        if p.char is not None and len(p.char) > MAX_CHAR:
            return f"key char is {len(p.char):,} characters long (limit {MAX_CHAR})"
        return _text("key name", p.key, MAX_KEY) or next(
            (m for m in (_text("modifier", mod, MAX_KEY) for mod in p.modifiers) if m), None
        )
    if isinstance(p, MouseMove | MouseButton):
        return _point("pointer", p.x, p.y) or (
            _text("button", p.button, MAX_KEY) if isinstance(p, MouseButton) else None
        )
    if isinstance(p, MouseScroll):
        if abs(p.dx) > MAX_SCROLL or abs(p.dy) > MAX_SCROLL:
            return f"scroll by ({p.dx}, {p.dy}) (limit ±{MAX_SCROLL:,})"
        return _point("scroll", p.x, p.y)
    return None


def frame_problem(frame: ScreenFrame, now: datetime, size: tuple[int, int] | str) -> str | None:
    """Why ``frame`` is not a plausible screenshot at worker time ``now``; ``size`` is what its image's
    header says, or why the header cannot be read."""
    problem = _ids(frame.device_id, frame.user_id) or _when(frame.event_time, now)
    if problem:
        return problem
    if not ID.match(frame.frame_id):
        return f"frame id {frame.frame_id[:40]!r} is not 1-128 letters, digits, '.', '_' or '-'"
    if isinstance(size, str):
        return f"the image ({len(frame.image):,} bytes) cannot be read: {size}"
    width, height = size
    for what, (w, h) in (("declared", (frame.width, frame.height)), ("decoded", size)):
        if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE) or w * h > MAX_PIXELS:
            return f"{what} image size {w}x{h} px is beyond the limit ({MAX_SIDE:,} px a side, {MAX_PIXELS:,} px)"
    if (width, height) != (frame.width, frame.height):
        return f"the image is {width}x{height} px but the frame says {frame.width}x{frame.height}"
    if len(frame.windows) > MAX_WINDOWS:
        return f"{len(frame.windows):,} window rectangles (limit {MAX_WINDOWS})"
    for window in frame.windows:
        problem = _context(window, "window") or _point("window", window.x, window.y)
        if problem:
            return problem
        if not (0 <= window.width <= MAX_COORD and 0 <= window.height <= MAX_COORD):
            return f"window size {window.width}x{window.height} px (limit 0..{MAX_COORD:,})"
    return None


def control_problem(record: ConsentRecord | ErasureRequest, key: bytes | None, now: datetime) -> str | None:
    """Why a consent or erasure record cannot be applied: keyed for one person but about another (compaction
    would keep it beside, not instead of, that person's decisions), or dated ahead of this clock (it would
    override every later decision of the person, a withdrawal included)."""
    if not ID.match(record.user_id):
        return f"user id {record.user_id[:40]!r} is not 1-128 letters, digits, '.', '_' or '-'"
    if key is not None and key != record.user_id.encode():
        return f"it is keyed {key[:40]!r} but is about {record.user_id!r}"
    moment = record.recorded_at if isinstance(record, ConsentRecord) else record.requested_at
    if moment > now + MAX_FUTURE:
        return (
            f"it is dated {moment.isoformat()}, {_span(moment - now)} ahead of this clock: "
            "it would override every later decision"
        )
    return None
