"""Screen-frame redaction (streams.core.screens) on frames rendered with a real font and read by real Tesseract.

Frames are drawn at screen resolution and sent at full scale, as the agent does; redaction
stores them at 0.5, and "readable" means OCR at 3x of the stored frame reads it.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from schemas.events import VisibleWindow
from streams.core.screens import FrameState, Removed, ScreenRedactionError, pixels, redact_frame
from streams.core.screens import redact as steps
from streams.core.screens.geometry import Box
from streams.core.screens.matching import fuzzy_find, normalize
from streams.core.screens.ocr import Word, read_region
from streams.core.screens.pixels import Canvas

FONT = next(
    (
        p
        for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf")
        if Path(p).exists()
    ),
    None,
)
MONO = next(
    (
        p
        for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "/usr/share/fonts/TTF/DejaVuSansMono.ttf")
        if Path(p).exists()
    ),
    FONT,
)
pytestmark = pytest.mark.skipif(
    FONT is None or shutil.which("tesseract") is None, reason="needs DejaVu Sans and Tesseract (tesseract-ocr-eng)"
)

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"
SCREEN = (800, 400)
LIGHT = ((250, 250, 248), (25, 25, 25))
DARK = ((30, 31, 34), (225, 225, 220))
STORED = 0.5


def frame(
    lines: list[str],
    colors: tuple[tuple[int, int, int], ...] = LIGHT,
    size: int = 13,
    extra: str = "",
    top: int = 20,
    font_path: str | None = None,
) -> bytes:
    """Lines drawn at screen resolution and JPEG-encoded at full scale, as the agent sends them."""
    bg, fg = colors
    image = Image.new("RGB", SCREEN, bg)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(font_path or FONT or "", size)
    for i, text in enumerate(lines):
        draw.text((20, top + i * 30), text, font=font, fill=fg)
    if extra:
        draw.text((420, 300), extra, font=font, fill=fg)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def form(colors: tuple[tuple[int, int, int], ...]) -> bytes:
    """A form-like window: a title bar, labels and boxed fields, the values typed in."""
    bg, fg = colors
    image = Image.new("RGB", SCREEN, (58, 76, 102))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT or "", 13)
    draw.rectangle((40, 30, 760, 370), fill=bg)
    draw.rectangle((40, 30, 760, 54), fill=(222, 222, 226) if bg[0] > 128 else (52, 52, 56))
    draw.text((50, 35), "Expense claim - Firefox", font=font, fill=fg)
    for i, (label, value) in enumerate((("Email", EMAIL), ("Card", CARD), ("Comment", "payment invoice"))):
        y = 90 + i * 50
        draw.text((60, y), label, font=font, fill=fg)
        draw.rectangle((160, y - 6, 560, y + 20), outline=(128, 128, 128))
        draw.text((168, y), value, font=font, fill=fg)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return out.getvalue()


def reads(jpeg: bytes, upscale: float = 3) -> list[str]:
    """What OCR at ``upscale`` (3x: of a stored frame) reads, one normalized string per line."""
    gray = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    whole = Box(0, 0, gray.shape[1], gray.shape[0])
    return [normalize(line.text) for line in read_region(gray, whole, upscale=upscale)]


def stored(jpeg: bytes) -> bytes:
    """The frame as it would be stored without redaction."""
    return Canvas(jpeg, STORED).encode(70)


def readable(value: str, lines: list[str]) -> bool:
    needle = normalize(value)
    return any(fuzzy_find(line, needle, max(1, len(needle) // 6)) for line in lines)


def word_read(word: str, lines: list[str]) -> bool:
    return any(normalize(word) in line for line in lines)


def redact(jpeg: bytes) -> tuple[bytes, list[Removed]]:
    return redact_frame(jpeg, [], None, [], output_scale=STORED)


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["dark-on-light", "light-on-dark"])
@pytest.mark.parametrize("size", [12, 13, 14])
def test_full_scale_in_half_scale_out_email_and_card_covered_plain_word_kept(
    colors: tuple[tuple[int, int, int], ...], size: int
) -> None:
    jpeg = frame([f"invoice {EMAIL} please", f"payment card {CARD}"], colors, size)
    full = reads(jpeg, 1.5)  # the full-scale frame, at the stored frame's 3x
    assert readable(EMAIL, full) and readable(CARD, full), full  # the test means something
    out, removed = redact_frame(jpeg, [], None, [], output_scale=STORED)
    assert Image.open(io.BytesIO(out)).size == (400, 200)
    after = reads(out)
    assert not readable(EMAIL, after) and not readable(CARD, after), after
    before = reads(stored(jpeg))
    for word in ("payment", "invoice"):
        assert readable(word, after) or not readable(word, before), (before, after)  # as the eval judges
    assert removed and all(r.x + r.w <= 400 and r.y + r.h <= 200 for r in removed)  # output pixels


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_terminal_like_window(colors: tuple[tuple[int, int, int], ...]) -> None:
    jpeg = frame(["$ cat contacts.txt", EMAIL, f"card: {CARD}", "$ echo backup"], colors, 14, font_path=MONO)
    out, _ = redact(jpeg)
    after = reads(out)
    assert not readable(EMAIL, after) and not readable(CARD, after), after
    assert word_read("backup", after) or not word_read("backup", reads(stored(jpeg)))


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_form_like_window(colors: tuple[tuple[int, int, int], ...]) -> None:
    jpeg = form(colors)
    out, _ = redact(jpeg)
    after = reads(out)
    assert not readable(EMAIL, after) and not readable(CARD, after), after
    assert word_read("invoice", after) or not word_read("invoice", reads(stored(jpeg)))


def test_masks_leave_nothing_of_the_word_in_the_downsized_frame() -> None:
    jpeg = frame([f"invoice {EMAIL} please"], DARK, 16)
    out, removed = redact(jpeg)
    box = next(r for r in removed if r.label == "EMAIL")
    gray = np.asarray(Image.open(io.BytesIO(out)).convert("L")).astype(int)
    inside = gray[box.y + 1 : box.y + box.h - 1, box.x + 1 : box.x + box.w - 1]
    assert inside.max() - inside.min() < 24  # solid (JPEG ringing only), no glyph left


def test_denied_window_is_masked() -> None:
    jpeg = frame(["backup report", "", "", "secret vault entry"], LIGHT, 14)
    vault = VisibleWindow("keepassxc", "Passwords.kdbx - KeePassXC", 0, 80, 800, 320)
    out, removed = redact_frame(jpeg, [vault], None, [], output_scale=STORED)
    assert removed[0].label == "DENIED_WINDOW" and (removed[0].y, removed[0].h) == (40, 160)
    gray = np.asarray(Image.open(io.BytesIO(out)).convert("L"))
    assert gray[45:195, 5:395].max() < 40  # a solid fill
    assert not word_read("vault", reads(out)) and word_read("backup", reads(out))


def test_window_stacked_above_a_denied_window_stays_readable() -> None:
    jpeg = frame(["backup report", "", "", "secret vault entry"], LIGHT, 14)
    vault = VisibleWindow("keepassxc", "Passwords.kdbx - KeePassXC", 0, 80, 800, 320)
    editor = VisibleWindow("gedit", "notes", 450, 0, 350, 130, focused=True)  # above the vault
    out, removed = redact_frame(jpeg, [vault, editor], None, [], output_scale=STORED)
    boxes = [r.box for r in removed if r.label == "DENIED_WINDOW"]
    assert boxes and not any(b.intersects(Box(227, 2, 398, 62)) for b in boxes)  # none over the editor
    gray = np.asarray(Image.open(io.BytesIO(out)).convert("L"))
    assert gray[45:195, 5:220].max() < 40 and gray[70:195, 230:395].max() < 40  # the rest solid
    assert not word_read("vault", reads(out))


def test_window_rectangles_follow_monitor_origin_and_scales() -> None:
    jpeg = frame(["backup report"], LIGHT, 14)
    vault = VisibleWindow("1password", "Vault", 1920 + 100, 50, 200, 100)
    _, removed = redact_frame(jpeg, [vault], None, [], origin=(1920, 0), output_scale=STORED)
    assert (removed[0].x, removed[0].y, removed[0].w, removed[0].h) == (50, 25, 100, 50)
    _, same = redact_frame(jpeg, [vault], None, [], origin=(1920, 0))
    assert (same[0].x, same[0].y, same[0].w, same[0].h) == (100, 50, 200, 100)


def test_output_scale_above_input_scale_fails_closed() -> None:
    with pytest.raises(ScreenRedactionError, match="output scale"):
        redact_frame(frame(["backup"]), [], None, [], scale=0.5, output_scale=1.0)


def test_known_strings_are_covered() -> None:
    order = "PANTHER-QUARTZ"  # not PII for any detector, but typed as PII earlier
    jpeg = frame([f"ticket reference {order} shipping"], LIGHT, 16)
    assert readable(order, reads(stored(jpeg)))
    out, removed = redact_frame(jpeg, [], None, [order], output_scale=STORED)
    assert not readable(order, reads(out))
    assert word_read("shipping", reads(out)) and "KNOWN" in {r.label for r in removed}


def test_unchanged_second_frame_reuses_findings_and_keeps_masks() -> None:
    jpeg = frame([f"invoice {EMAIL} please"], DARK, 13)
    state = FrameState()
    _first, removed_first = redact_frame(jpeg, [], None, [], state=state, output_scale=STORED)
    read_after_first = state.pixels_read
    second, removed_second = redact_frame(jpeg, [], None, [], state=state, output_scale=STORED)
    assert state.pixels_read == read_after_first  # nothing read again
    assert removed_second == removed_first
    assert not readable(EMAIL, reads(second))


def test_changed_frame_reads_only_the_change_and_keeps_earlier_masks() -> None:
    state = FrameState()
    redact_frame(frame([f"invoice {EMAIL} please"], LIGHT, 13), [], None, [], state=state, output_scale=STORED)
    read_first = state.pixels_read
    out, _ = redact_frame(
        frame([f"invoice {EMAIL} please"], LIGHT, 13, extra=f"card {CARD}"),
        [],
        None,
        [],
        state=state,
        output_scale=STORED,
    )
    assert 0 < state.pixels_read - read_first < read_first / 4
    after = reads(out)
    assert not readable(EMAIL, after) and not readable(CARD, after)


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_typing_reads_only_the_end_of_the_line_and_covers_what_it_completes(
    colors: tuple[tuple[int, int, int], ...],
) -> None:
    state = FrameState()
    typed = f"Message: shipping invoice for {EMAIL} card {CARD} thanks"
    for end in (20, 30, 42, 52, 62, len(typed)):
        out, _ = redact_frame(frame([typed[:end] + "|"], colors, 14), [], None, [], state=state, output_scale=STORED)
    assert state.tails >= 3  # the line's start was kept, its end read
    after = reads(out)
    assert not readable(EMAIL, after) and not readable(CARD, after), after
    assert word_read("shipping", after) or not word_read("shipping", reads(stored(frame([typed], colors, 14))))
    full, _ = redact_frame(frame([typed + "|"], colors, 14), [], None, [], output_scale=STORED)
    assert after == reads(full)  # as if read whole


@pytest.mark.parametrize("size", [11, 14])  # line ends are read at 1.25x: small UI text too
@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_an_address_and_a_phone_number_typed_a_few_characters_a_frame_are_covered(
    colors: tuple[tuple[int, int, int], ...], size: int
) -> None:
    state, typed = FrameState(), f"mail {EMAIL} or call {PHONE} today"
    for end in range(8, len(typed) + 1, 3):
        out, removed = redact_frame(
            frame([typed[:end] + "|"], colors, size), [], None, [], state=state, output_scale=STORED
        )
    assert state.tails >= 3
    assert {"EMAIL", "PHONE"} <= {r.label for r in removed}
    assert not readable(EMAIL, reads(out)) and not readable(PHONE, reads(out)), reads(out)


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_a_long_word_typed_a_few_characters_a_frame_is_read_a_few_characters_at_a_time(
    colors: tuple[tuple[int, int, int], ...],
) -> None:
    state, address = FrameState(), "margaret.richardson-smythe@example-holdings.com"
    typed = f"please send it to {address}"
    widths = []
    for end in range(24, len(typed) + 1, 4):
        before = state.pixels_read
        image = frame([typed[:end] + "|"], colors, 14)
        out, removed = redact_frame(image, [], None, [], state=state, output_scale=STORED)
        widths.append((state.pixels_read - before) / 22)  # a band of about 22 rows
    assert state.tails >= 6
    # a few characters (8 px each) and the cursor, not the whole address; where the part read again did not
    # repeat what was read before (a sliver of the glyph before it read as a mark), the address is read whole
    assert sum(w < 110 for w in widths[1:]) >= 7, widths
    assert any(r.label == "EMAIL" for r in removed)
    assert not readable(address, reads(out)), reads(out)
    full, _ = redact_frame(frame([typed + "|"], colors, 14), [], None, [], output_scale=STORED)
    assert reads(out) == reads(full)  # as if read whole


def _typed_in_chunks(typed: str, word: str, state: FrameState) -> tuple[bytes, list[Word]]:
    """``typed`` typed four characters a frame, with ``word`` in it and six more after it: the
    last frame's output and the words kept in ``state``, having checked ``word`` was read in parts."""
    end_of_word = typed.index(word) + len(word)
    for end in [*range(typed.index(word) + 2, end_of_word, 4), end_of_word, len(typed)]:
        out, _ = redact_frame(frame([typed[:end] + "|"], LIGHT, 14), [], None, [], state=state, output_scale=STORED)
        words = [w for e in state.entries if e.line for w in e.line.words]
        if end == end_of_word:
            assert any(w.pieced for w in words), [w.text for w in words]  # as it was typed
    return out, words


def test_a_word_with_digits_read_in_parts_is_read_whole_once_the_next_one_is_typed() -> None:
    state, word = FrameState(), "ticket-4217-followup-for-the-renewal"  # digits, not PII: not covered
    out, words = _typed_in_chunks(f"add {word} today", word, state)
    assert not any(w.pieced for w in words), [w.text for w in words if w.pieced]
    assert readable(word, reads(out))


def test_an_address_found_in_parts_stays_covered_without_being_read_again() -> None:
    state, address = FrameState(), "margaret.richardson-smythe@example-holdings.com"
    out, words = _typed_in_chunks(f"send it to {address} today", address, state)
    assert any(w.pieced and "@" in w.text for w in words)  # covered as read: not read whole
    after = reads(out)
    assert not readable(address, after) and readable("today", after), after


def test_a_character_deleted_at_a_line_end_is_read_again() -> None:
    state = FrameState()
    redact_frame(frame(["notes about the invoices|"], LIGHT, 14), [], None, [], state=state, output_scale=STORED)
    read = state.pixels_read
    redact_frame(frame(["notes about the invoice|"], LIGHT, 14), [], None, [], state=state, output_scale=STORED)
    assert state.pixels_read > read  # the line's text changed: never kept as it was
    words = [w.text for e in state.entries if e.line for w in e.line.words]
    assert not any(w.startswith("invoices") for w in words), words


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
def test_a_character_removed_at_a_word_end_is_cut_from_the_line_and_its_detectors_run_again(
    colors: tuple[tuple[int, int, int], ...],
) -> None:
    state = FrameState()  # a digit too many makes no phone number; once removed (no cursor drawn), it is one
    _, first = redact_frame(
        frame(["meeting notes", "call +44 20 7946 09581"], colors, 14), [], None, [], state=state, output_scale=STORED
    )
    assert "PHONE" not in {r.label for r in first}
    read = state.pixels_read
    out, removed = redact_frame(
        frame(["meeting notes", "call +44 20 7946 0958"], colors, 14), [], None, [], state=state, output_scale=STORED
    )
    assert state.pixels_read == read  # not read again: cut at the engine's character boundaries
    words = [w.text for e in state.entries if e.line for w in e.line.words]
    assert words[-5:] == ["call", "+44", "20", "7946", "0958"], words
    assert "PHONE" in {r.label for r in removed}
    after = reads(out)
    assert not readable("7946 0958", after) and readable("meeting notes", after), after


@pytest.mark.parametrize("colors", [LIGHT, DARK], ids=["light", "dark"])
@pytest.mark.parametrize("size", [11, 14, 15])
def test_a_new_glyph_that_fills_its_own_box_is_ink_not_a_removal(
    colors: tuple[tuple[int, int, int], ...], size: int
) -> None:
    state = FrameState()  # an "l" typed with no cursor drawn: its redrawn pixels are all ink, none stands out
    redact_frame(
        frame(["meeting notes", "notes from Pau"], colors, size), [], None, [], state=state, output_scale=STORED
    )
    _, removed = redact_frame(
        frame(["meeting notes", "notes from Paul"], colors, size), [], None, [], state=state, output_scale=STORED
    )
    lines = [" ".join(w.text for w in e.line.words) for e in state.entries if e.line]
    assert "notes from Paul" in lines and "PERSON" in {r.label for r in removed}, lines


def test_a_removal_that_a_character_boundary_does_not_explain_is_read_again() -> None:
    state = FrameState()
    redact_frame(frame(["notes about the invoices"], LIGHT, 14), [], None, [], state=state, output_scale=STORED)
    read = state.pixels_read
    (entry,) = [e for e in state.entries if e.line]
    assert entry.line is not None
    word = entry.line.words[-1]
    assert word.text == "invoices" and len(word.cuts) == 7
    wiped = Image.open(io.BytesIO(frame(["notes about the invoices"], LIGHT, 14)))
    half = (word.cuts[-1][1] + word.box.x1) // 2  # half of the last glyph gone: no boundary there
    ImageDraw.Draw(wiped).rectangle((half, word.box.y0 - 2, word.box.x1 + 2, word.box.y1 + 2), fill=LIGHT[0])
    buf = io.BytesIO()
    wiped.save(buf, format="JPEG", quality=70)
    redact_frame(buf.getvalue(), [], None, [], state=state, output_scale=STORED)
    assert state.pixels_read > read


def test_a_line_deleted_is_read_again_and_its_cover_dropped() -> None:
    state = FrameState()
    _, removed = redact_frame(
        frame(["notes", f"payment card {CARD}"], LIGHT, 14), [], None, [], state=state, output_scale=STORED
    )
    assert removed
    read = state.pixels_read
    _, removed = redact_frame(frame(["notes"], LIGHT, 14), [], None, [], state=state, output_scale=STORED)
    assert state.pixels_read > read and not removed  # too large to be a cursor: read, and nothing is left


def test_the_stored_frame_downsized_where_it_changed_is_the_one_downsized_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reduced: list[int] = []  # the input pixels downsized again, by the reuse path
    real = pixels._reduced
    monkeypatch.setattr(pixels, "_reduced", lambda block, factor: reduced.append(block.size) or real(block, factor))
    typed = f"mail {EMAIL} then card {CARD} ok"
    frames = [frame(["notes", typed[:end] + "|"], LIGHT, 14) for end in range(10, len(typed) + 1, 7)]
    frames += [frame(["notes", typed], LIGHT, 14), frame([typed, "notes"], LIGHT, 14)]  # cursor gone, lines swapped
    ours, whole = FrameState(), FrameState()
    for jpeg in frames:
        whole.stored = np.zeros((0, 0), np.uint8)  # nothing to reuse: downsized whole
        a, removed_a = redact_frame(jpeg, [], None, [], state=ours, output_scale=STORED)
        b, removed_b = redact_frame(jpeg, [], None, [], state=whole, output_scale=STORED)
        assert a == b and removed_a == removed_b
    assert ours.tails > 0 and ours.stored.shape == (200, 400)
    assert reduced and sum(reduced) < (len(frames) - 1) * 800 * 400 / 4  # reused: far less than every frame whole


def test_a_word_is_cut_and_joined_at_its_character_boundaries() -> None:
    word = Word("clark@exa", Box(10, 5, 80, 20), 90.0, tuple((i, 10 + 8 * i) for i in range(1, 9)))
    head = word.head(word.cuts[4])
    assert head == Word("clark", Box(10, 5, 50, 20), 90.0, word.cuts[:4])
    joined = head.joined(Word("@example", Box(50, 4, 114, 21), 80.0, tuple((i, 50 + 8 * i) for i in range(1, 8))))
    assert joined.text == "clark@example" and joined.box == Box(10, 4, 114, 21) and joined.confidence == 80.0
    assert [c[0] for c in joined.cuts] == list(range(1, 13)) and joined.cuts[4] == (5, 50)


def test_a_sliver_of_the_glyph_left_of_the_cut_read_as_a_mark_is_dropped_only_before_the_context() -> None:
    head = Word("smyth", Box(10, 5, 50, 20), 90.0, tuple((i, 10 + 8 * i) for i in range(1, 5)))  # a 15 px line
    tail = steps._Tail(Box(50, 0, 120, 25), None, (), Box(60, 0, 120, 25), head=head, context="e")
    sliver = Word("1e@exa", Box(50, 5, 98, 20), 80.0, ((1, 56), (2, 64), (3, 72), (4, 80), (5, 88)))  # "1": 6 px
    joined = steps._joined(tail, [sliver])
    assert joined is not None and joined[0].text == "smythe@exa" and joined[0].box == Box(10, 5, 98, 20)
    glyph = Word("me@exa", Box(50, 5, 98, 20), 80.0, ((1, 60), (2, 64), (3, 72), (4, 80), (5, 88)))  # "m": 10 px
    assert steps._joined(tail, [glyph]) is None  # a whole glyph is not dropped: the word is read whole
    misread = Word("1c@exa", Box(50, 5, 98, 20), 80.0, ((1, 56), (2, 64), (3, 72), (4, 80), (5, 88)))
    assert steps._joined(tail, [misread]) is None  # what follows the sliver must repeat the context
    apart = Word("1e@exa", Box(53, 5, 98, 20), 80.0, ((1, 58), (2, 64), (3, 72), (4, 80), (5, 88)))
    assert steps._joined(tail, [apart]) is None  # not at the cut: a glyph of its own, not the edge of one
    early = Word("1he@ex", Box(50, 5, 98, 20), 80.0, ((1, 55), (2, 64), (3, 72), (4, 80), (5, 88)))
    joined = steps._joined(tail, [early])  # a sliver, then the head's last character again (the cut fell early)
    assert joined is not None and joined[0].text == "smythe@ex"


def test_lower_case_typed_after_a_name_keeps_the_name_covered() -> None:
    state = FrameState()
    typed = "meeting with Maria Garcia about the shipping invoice"
    for end in (24, 32, 40, len(typed)):
        out, removed = redact_frame(
            frame([typed[:end] + "|"], LIGHT, 16), [], None, [], state=state, output_scale=STORED
        )
    assert state.tails >= 2
    assert sum(r.label == "PERSON" for r in removed) >= 2
    after = reads(out)
    assert not readable("Garcia", after) and not readable("Maria", after)
    assert readable("shipping", after), after


def test_scrolled_content_moves_its_masks_without_reading_it_again() -> None:
    rows = [f"row {i} backup {EMAIL if i % 3 == 0 else 'report'} ticket" for i in range(14)]
    state = FrameState()
    redact_frame(frame(rows, LIGHT, 13), [], None, [], state=state, output_scale=STORED)
    read_first = state.pixels_read
    out, removed = redact_frame(
        frame([*rows, "row 14 backup shipping"], LIGHT, 13, top=20 - 60), [], None, [], state=state, output_scale=STORED
    )
    assert state.scrolls == 1
    assert state.pixels_read - read_first < read_first / 3  # the rows scrolled into view, not the page
    assert not readable(EMAIL, reads(out))
    assert sum(r.label == "EMAIL" for r in removed) >= 4


def test_missing_state_reads_whole_frame() -> None:
    jpeg = frame([f"invoice {EMAIL} please"], LIGHT, 13)
    out, _ = redact_frame(jpeg, [], None, [], state=FrameState(), output_scale=STORED)
    assert not readable(EMAIL, reads(out))


def test_redacting_a_redacted_frame_finds_nothing_new() -> None:
    jpeg = frame([f"invoice {EMAIL} please", f"payment card {CARD}"], DARK, 14)
    once, _removed = redact_frame(jpeg, [], None, [])
    twice, removed_again = redact_frame(once, [], None, [])
    pii_labels = {r.label for r in removed_again} - {"DENIED_WINDOW"}
    assert not pii_labels, removed_again
    assert not any(re.search(r"example|4111", line) for line in reads(twice))


def test_bad_image_fails_closed() -> None:
    state = FrameState()
    redact_frame(frame(["backup"], LIGHT, 13), [], None, [], state=state)
    with pytest.raises(ScreenRedactionError):
        redact_frame(b"not a jpeg", [], None, [], state=state)
    assert state.frames == 0  # the next frame is read in full


def test_deadline_overrun_fails_closed() -> None:
    with pytest.raises(ScreenRedactionError, match="deadline"):
        redact_frame(frame([f"invoice {EMAIL}"], LIGHT, 13), [], None, [], deadline=0.0)


def test_fuzzy_find_tolerates_ocr_errors() -> None:
    assert fuzzy_find("paymentcard4111l11111111111ok", "4111111111111111", 2) is not None
    assert fuzzy_find("nothinghere", "4111111111111111", 2) is None


def _native(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.draft("YCbCr", image.size)  # libjpeg's own planes, no colour conversion
    image.load()
    return image


def _full_path(jpeg: bytes, box: Box, level: int) -> Image.Image:
    """What the stored frame was before the scaled decode: all of it decoded, filled, then halved."""
    image = _native(jpeg)
    ImageDraw.Draw(image).rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=(level, 128, 128))
    return image.reduce(2)


def test_planar_decode_stores_what_a_full_decode_would() -> None:
    image = Image.new("RGB", SCREEN, (40, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.rectangle((100, 100, 500, 300), fill=(230, 180, 40))
    draw.text((120, 150), f"invoice {EMAIL}", font=ImageFont.truetype(FONT or "", 14), fill=(10, 10, 10))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    jpeg, box = buffer.getvalue(), Box(180, 146, 330, 170)
    canvas = Canvas(jpeg, STORED)
    assert canvas.subsampling == (2, 2)  # the JPEG's own colour planes, decoded as they are
    assert np.array_equal(canvas.luma(), np.asarray(_native(jpeg).getchannel(0)))
    canvas.fill(box, 200)
    ours = np.asarray(_native(canvas.encode(95))).astype(int)
    theirs = np.asarray(_full_path(jpeg, box, 200)).astype(int)
    assert ours.shape == theirs.shape == (200, 400, 3)
    assert np.abs(ours - theirs).mean() < 2.0, np.abs(ours - theirs).mean(axis=(0, 1))
    inside = ours[box.y0 // 2 : box.y1 // 2, box.x0 // 2 : box.x1 // 2]
    assert np.abs(inside[..., 0] - 200).max() < 8  # solid luma: no glyph left
    middle = inside[4:-4, 4:-4]  # JPEG's halved colour planes blur the edges into the yellow around
    assert np.abs(middle[..., 1:] - 128).max() < 8  # neutral: the text's colour is gone too


@pytest.mark.parametrize("size", [(801, 400), (800, 401), (803, 397)])
def test_sizes_that_do_not_halve_keep_their_size_and_colour(size: tuple[int, int]) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="JPEG", quality=95)
    canvas = Canvas(buffer.getvalue(), STORED)
    assert canvas.luma().shape == (size[1], size[0])
    stored = Image.open(io.BytesIO(canvas.encode(95))).convert("RGB")
    assert stored.size == (round(size[0] / 2), round(size[1] / 2))
    red, green, blue = stored.getpixel((stored.width - 1, stored.height - 1))  # type: ignore[misc]
    assert red > 150 and green < 60 and blue < 60, (red, green, blue)


@pytest.mark.parametrize(
    ("size", "scale"), [((1680, 1050), STORED), ((201, 101), 1.0), ((1, 1), 1.0), ((3, 3), 1.0), ((5, 2), 1.0)]
)
def test_odd_stored_sizes_keep_every_pixel_colour_and_a_fill_at_the_bottom_edge_stays_neutral(
    size: tuple[int, int], scale: float
) -> None:
    buffer = io.BytesIO()  # an odd stored height: the planar buffer's luma must be padded to even rows
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format="JPEG", quality=95)
    canvas = Canvas(buffer.getvalue(), scale)
    stored = np.asarray(Image.open(io.BytesIO(canvas.encode(95))).convert("RGB")).astype(int)
    assert stored.shape[:2] == (round(size[1] * scale), round(size[0] * scale))
    assert (stored[..., 0] > 150).all() and (stored[..., 1:] < 60).all(), stored[-1]
    if size[1] > 32:
        canvas.fill(Box(0, size[1] - 16, size[0], size[1]), 90)  # thick enough for the colour planes' blur
        stored = np.asarray(Image.open(io.BytesIO(canvas.encode(95))).convert("RGB")).astype(int)
        assert np.abs(stored[-1, 4:-4] - 90).max() < 8, stored[-1, :8]


@pytest.mark.parametrize("scale", [1 / 3, 1 / 5, 0.25])
def test_other_scales_keep_the_colour(scale: float) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 120), (200, 10, 10)).save(buffer, format="JPEG", quality=95)
    stored = Image.open(io.BytesIO(Canvas(buffer.getvalue(), scale).encode(95))).convert("RGB")
    assert stored.size == (round(120 * scale), round(120 * scale))
    red, green, blue = stored.getpixel((stored.width // 2, stored.height // 2))  # type: ignore[misc]
    assert red > 150 and green < 60 and blue < 60, (red, green, blue)


def test_a_png_frame_is_decoded_in_full_and_stored_at_half() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", SCREEN, (200, 10, 10)).save(buffer, format="PNG")
    canvas = Canvas(buffer.getvalue(), STORED)
    assert canvas.subsampling == (1, 1) and canvas.luma().shape == (400, 800)
    assert Image.open(io.BytesIO(canvas.encode(70))).size == (400, 200)


@pytest.mark.parametrize("subsampling", [0, 1, 2])  # Pillow's 4:4:4, 4:2:2 and 4:2:0
def test_every_chroma_subsampling_is_filled_neutral(subsampling: int) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", SCREEN, (200, 10, 10)).save(buffer, format="JPEG", quality=95, subsampling=subsampling)
    canvas = Canvas(buffer.getvalue(), STORED)
    canvas.fill(Box(100, 100, 300, 200), 90)
    stored = np.asarray(Image.open(io.BytesIO(canvas.encode(95))).convert("RGB")).astype(int)
    assert np.abs(stored[58:92, 58:142] - 90).max() < 8  # gray inside (JPEG rings at the edges), red kept outside
    assert stored[10, 10, 0] > 150 and stored[10, 10, 1] < 60


@pytest.mark.parametrize("subsampling", [4, 5])  # TurboJPEG's 4:4:0 and 4:1:1, which Pillow does not write
def test_the_other_chroma_subsamplings_are_filled_neutral_too(subsampling: int) -> None:
    rgb = np.zeros((SCREEN[1], SCREEN[0], 3), dtype=np.uint8)
    rgb[...] = (200, 10, 10)
    jpeg = pixels._turbo().encode(rgb, quality=95, pixel_format=0, jpeg_subsample=subsampling)  # TJPF_RGB
    canvas = Canvas(jpeg, STORED)
    assert canvas.subsampling == pixels.SUBSAMPLING[subsampling]
    canvas.fill(Box(100, 100, 300, 200), 90)
    stored = np.asarray(Image.open(io.BytesIO(canvas.encode(95))).convert("RGB")).astype(int)
    assert np.abs(stored[58:92, 58:142] - 90).max() < 8
    assert stored[10, 10, 0] > 150 and stored[10, 10, 1] < 60


def test_a_fill_at_odd_coordinates_sets_every_colour_sample_it_touches_neutral() -> None:
    buffer = io.BytesIO()  # 4:2:0: a colour sample spans 2x2 pixels; one the box only half covers is set neutral too
    Image.new("RGB", SCREEN, (200, 10, 10)).save(buffer, format="JPEG", quality=95)
    canvas = Canvas(buffer.getvalue(), STORED)
    red_cb = int(canvas.cb[0, 0])
    canvas.fill(Box(101, 101, 299, 199), 90)
    assert (canvas.luma()[101:199, 101:299] == 90).all() and canvas.luma()[100, 150] != 90
    for plane in (canvas.cb, canvas.cr):
        assert (plane[50:100, 50:150] == 128).all()  # pixels 100..299 by 100..199
    assert canvas.cb[49, 100] == red_cb and canvas.cb[100, 100] == red_cb and canvas.cb[75, 150] == red_cb


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_the_integer_box_filter_gives_what_image_reduce_gives(factor: int) -> None:
    plane = np.random.default_rng(factor).integers(0, 256, size=(48, 64), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(plane).reduce(factor))
    assert np.array_equal(pixels._reduced(plane, factor), expected)


def test_a_gray_jpeg_is_stored_gray() -> None:
    buffer = io.BytesIO()
    Image.new("L", SCREEN, 77).save(buffer, format="JPEG", quality=95)
    stored = np.asarray(Image.open(io.BytesIO(Canvas(buffer.getvalue(), STORED).encode(95))).convert("RGB"))
    assert stored.shape == (200, 400, 3) and np.abs(stored.astype(int) - 77).max() < 4


def test_a_truncated_jpeg_is_an_error_not_a_gray_frame() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", SCREEN, (200, 10, 10)).save(buffer, format="JPEG")
    with pytest.raises(ScreenRedactionError, match="not a whole JPEG: Premature end"):
        Canvas(buffer.getvalue()[: len(buffer.getvalue()) // 2], STORED)


def test_the_head_of_a_word_read_in_parts_is_still_read_in_parts() -> None:
    word = Word("4111", Box(0, 0, 40, 12), 90.0, ((1, 10), (2, 20), (3, 30)), pieced=True)
    head = word.head((2, 20))
    assert (head.text, head.box, head.cuts, head.pieced) == ("41", Box(0, 0, 20, 12), ((1, 10),), True)
