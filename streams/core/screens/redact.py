"""``redact_frame``: denied windows masked, PII read in the pixels covered, incrementally per device (pure core).

Steps, in order: decode the JPEG (its luma at full scale, as the agent sends it, and its
colour at the stored scale: ``pixels.Canvas``); fill the rectangles of
windows the capture policy denies (the parts not under a window listed after it: window
records come bottom to top, so the windows stacked above a denied one stay readable); find
the regions that changed since the device's previous frame (all of it without a state),
moving the previous findings along where the content scrolled; read the changed regions
with OCR (where a line read before changed only at its end, as when typing, only that end
is read, from ``CONTEXT`` characters before the change, and what is left of it is kept as
read, down to the characters of a word being typed; a line that only lost ink at a word's
end is cut at the engine's character boundaries instead of read); run the text detectors and the known
strings on each line read; cover the words found, and the ones found earlier in regions that
did not change, with a solid, padded fill of the gray around them; downsize to
``output_scale`` (after every fill, boxes snapped to whole output pixels, so nothing of a
covered word reaches the output) and encode. Any failure, or more CPU time than ``deadline``
seconds, raises ``ScreenRedactionError``: the caller dead-letters the frame and never
forwards it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from schemas.capture_policy import CapturePolicy
from streams.core.redaction import Span, find_pii, find_structured_pii
from streams.core.screens.changes import (
    CELL,
    FULL_SHARE,
    INK_CONTRAST,
    INK_GAP_X,
    along_text,
    cell_boxes,
    changed_cells,
    grow,
    merge,
    runs,
)
from streams.core.screens.errors import FrameDeadlineError, ScreenRedactionError
from streams.core.screens.geometry import Box, Removed, WindowLike, snapped, visible_parts, window_box
from streams.core.screens.matching import Hit, detector_hits, known_hits, shape_hits
from streams.core.screens.ocr import LINE_UPSCALE, UPSCALE, Line, Word, read_region
from streams.core.screens.pixels import Canvas, Gray, background
from streams.core.screens.scrolling import Scroll, find_scroll, shifted
from streams.core.screens.state import Entry, FrameState

PERSON = "PERSON"  # the name finder's label
PAD = 3  # input pixels around each covered word, before snapping to output pixels
QUALITY = 70
DEADLINE = 5.0  # CPU seconds per frame


class _Clock:
    def __init__(self, deadline: float) -> None:
        self.start, self.deadline = time.process_time(), deadline

    def check(self, step: str) -> None:
        used = time.process_time() - self.start
        if used > self.deadline:
            raise FrameDeadlineError(
                f"screen redaction used {used:.2f} s of CPU (deadline {self.deadline} s) at {step}"
            )


def redact_frame(
    jpeg: bytes,
    windows: Sequence[WindowLike],
    policy: CapturePolicy | None,
    known_pii: Sequence[str],
    *,
    scale: float = 1.0,
    origin: tuple[int, int] = (0, 0),
    state: FrameState | None = None,
    output_scale: float | None = None,
    quality: int = QUALITY,
    deadline: float = DEADLINE,
    find: Callable[[str], Sequence[Span]] | None = None,
) -> tuple[bytes, list[Removed]]:
    """The frame with denied windows and PII covered, and what was covered (labels and boxes).

    ``scale``: image pixels per screen pixel of ``jpeg``; ``output_scale``: of the returned
    JPEG (``None``: the same as ``scale``), whose pixels the ``Removed`` boxes are in.
    ``find``: the text detectors (default ``find_pii``, names included; spaCy is not run on
    lines without a capital letter, where it finds no name).
    """
    out_scale = scale if output_scale is None else output_scale
    if not 0 < out_scale <= scale:
        raise ScreenRedactionError(f"output scale {out_scale} must be above 0 and at most the frame's {scale}")
    try:
        return _Redaction(policy or CapturePolicy(), known_pii, state, find, _Clock(deadline)).run(
            jpeg, windows, scale, origin, out_scale / scale, quality
        )
    except ScreenRedactionError:
        if state is not None:
            state.reset()
        raise
    except Exception as exc:
        if state is not None:
            state.reset()
        raise ScreenRedactionError(f"screen redaction failed: {type(exc).__name__}") from exc


class _Redaction:
    """One frame's redaction (a class only to keep its inputs together)."""

    def __init__(
        self,
        policy: CapturePolicy,
        known_pii: Sequence[str],
        state: FrameState | None,
        find: Callable[[str], Sequence[Span]] | None,
        clock: _Clock,
    ) -> None:
        self.policy, self.state, self.find, self.clock = policy, state, find, clock
        self.known = tuple(dict.fromkeys(k for k in known_pii if k.strip()))
        self.cells: npt.NDArray[np.bool_] | None = None  # changed since the previous frame (None: all)
        self.scrolled: Box | None = None  # where content moved since the previous frame
        self.extra_pixels = 0  # read again where a line end did not read as a continuation

    def run(
        self,
        jpeg: bytes,
        windows: Sequence[WindowLike],
        scale: float,
        origin: tuple[int, int],
        resize: float,
        quality: int,
    ) -> tuple[bytes, list[Removed]]:
        canvas = Canvas(jpeg, resize)
        width, height = canvas.width, canvas.height
        covered: list[tuple[str, Box]] = []
        rects = [window_box(window, scale, origin).clip(width, height) for window in windows]
        for index, window in enumerate(windows):
            if not self.policy.decide_window(window.app, window.title, getattr(window, "host", None)).allowed:
                for box in visible_parts(rects[index], [r.pad(-1) for r in rects[index + 1 :]]):
                    canvas.fill(box, 0)
                    covered.append(("DENIED_WINDOW", box))
        gray = canvas.luma()
        state = self.state
        tails: list[_Tail] = []
        cuts: list[_Cut] = []
        if state is None or not state.usable((width, height)):
            entries: list[Entry] = []
            todo = [Box(0, 0, width, height)]
        else:
            entries, todo, tails, cuts = self._unchanged(state, gray)
        entries += [self._entry(Line(cut.words)) for cut in cuts if cut.words]
        self.clock.check("change detection")
        for region in todo:
            for line in read_region(gray, region):
                entries.append(self._entry(line))
            self.clock.check("OCR")
        for tail in tails:
            entries += self._read_tail(gray, tail)
            self.clock.check("OCR")
        fills = self._fills(entries, gray, resize)
        covered += [(label, box) for label, box, _ in fills]
        for _, box, level in fills:
            canvas.fill(box, level)
        reuse = None
        if state is not None and state.usable((width, height)) and state.stored.size:
            reuse = (state.stored, _redrawn(gray, state.luma, fills, state.levels))
        out = canvas.encode(quality, reuse)
        self.clock.check("encoding")
        if state is not None:
            state.luma, state.size, state.entries = gray, (width, height), entries
            state.stored = canvas.stored_luma
            state.known = frozenset(self.known)
            state.levels = {box: level for _, box, level in fills}
            state.frames += 1
            state.regions_read += len(todo) + len(tails)
            state.pixels_read += sum(r.area for r in todo) + sum(t.region.area for t in tails) + self.extra_pixels
            state.tails += len(tails)
        return out, [Removed.of(label, box.scaled(resize)) for label, box in covered]

    def _entry(self, line: Line) -> Entry:
        hits = detector_hits(line, self._spans) + known_hits(line, self.known) + shape_hits(line)
        return Entry(line, _line_box(line), tuple(hits))

    def _read_tail(self, gray: Gray, tail: _Tail) -> list[Entry]:
        """The entries of a line end read again: a new line as read, or the line rebuilt from
        its kept words and what was read (its old entry, hits included, is replaced whole:
        ``_unchanged`` leaves it out of the entries kept)."""
        if tail.entry is None:  # a new line: read as regions are
            return [self._entry(line) for line in read_region(gray, tail.region)]
        lines = read_region(gray, tail.region, LINE_UPSCALE)  # a line's end, to join to what was read
        words = _joined(tail, _words(lines))
        if words is not None and len(words) > 1 and _checked(words[0]):  # read in parts, now followed by another
            entry = self._tail_entry(tail.entry, tail.kept, tuple(words))
            if _covered(words[0], entry):
                return [entry]
            words = None  # read it whole
        if words is None:  # the word's end did not read as its continuation: read all of the word
            whole = replace(tail.region, x0=tail.start)
            self.extra_pixels += whole.area
            words = _words(read_region(gray, whole, UPSCALE))  # as regions are: it is to be exact
        if not tail.kept and not words:
            return []  # nothing left on the line
        return [self._tail_entry(tail.entry, tail.kept, tuple(words))]

    def _tail_entry(self, before: Entry, kept: tuple[Word, ...], read: tuple[Word, ...]) -> Entry:
        """A line whose end alone was read again. When nothing read again has an upper-case
        letter, the names among its kept words are those found when they were read (every
        person finder needs a capitalised word, and the name finder is most of the detectors'
        cost: typing lower-case text after a name does not run it again on every frame); the
        structured detectors, known strings and shapes run on the whole line as usual."""
        line = Line(kept + read)
        if any(ch.isupper() for word in read for ch in word.text):
            return self._entry(line)
        boxes = {word.box for word in kept}
        names = [hit for hit in before.hits if hit.label == PERSON and hit.box in boxes]
        hits = detector_hits(line, find_structured_pii) + names + known_hits(line, self.known) + shape_hits(line)
        return Entry(line, _line_box(line), tuple(hits))

    def _fills(self, entries: list[Entry], gray: Gray, resize: float) -> list[tuple[str, Box, int]]:
        """The boxes to fill for ``entries`` (padded, snapped to output pixels), with the gray
        around them (the previous frame's where nothing changed around a box)."""
        height, width = gray.shape
        cells, previous = self.cells, self.state.levels if self.state is not None else {}
        seen: set[tuple[str, Box]] = set()
        fills: list[tuple[str, Box, int]] = []
        for entry in entries:
            for hit in entry.hits:
                box = snapped(hit.box.pad(PAD), resize).clip(width, height)
                if (hit.label, box) in seen or box.empty():
                    continue
                seen.add((hit.label, box))
                level = previous.get(box) if cells is not None else None
                moved = self.scrolled is not None and self.scrolled.intersects(box.pad(2))
                if level is None or moved or _touches(cells, box.pad(2)):
                    level = background(gray, box)
                fills.append((hit.label, box, level))
        return fills

    def _spans(self, text: str) -> Sequence[Span]:
        """The detectors' spans for a line's text, remembered in the device's state (a line read
        again, unchanged, costs nothing; a state serves one redactor, so one ``find``)."""
        find = self.find or find_pii
        if self.state is None:
            return find(text)
        cached = self.state.spans.get(text)
        if cached is None:
            cached = tuple(find(text))
            self.state.remember(text, cached)
        return cached

    def _unchanged(self, state: FrameState, gray: Gray) -> tuple[list[Entry], list[Box], list[_Tail], list[_Cut]]:
        """The previous findings still on screen (moved along scrolls), the regions to read,
        the lines whose end alone changed, and those cut where a word's end was removed."""
        reference, entries = state.luma, state.entries
        cells = self.cells = changed_cells(gray, reference)
        if cells.any():
            rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            changed = Box(
                int(cols[0]) * CELL, int(rows[0]) * CELL, (int(cols[-1]) + 1) * CELL, (int(rows[-1]) + 1) * CELL
            )
            scroll = find_scroll(gray, reference, changed)
            if scroll is not None:
                state.scrolls += 1
                self.scrolled = scroll.box
                reference = shifted(reference, scroll)
                cells = self.cells = changed_cells(gray, reference)
                entries = _scrolled(entries, scroll)
        todo, tails, cuts = _plan(gray, reference, cells, entries) if cells.any() else ([], [], [])
        rebuilt = {id(t.entry) for t in tails if t.entry is not None}  # replaced whole by ``_read_tail``
        rebuilt |= {id(c.entry) for c in cuts}  # and by their lines cut
        entries = [e for e in entries if id(e) not in rebuilt]
        return _kept(entries, todo + [t.region for t in tails], self.known, state.known), todo, tails, cuts


TAIL_GAP = 4  # pixels between a kept word and the changed cells (padded) right of it
TAIL_SPACE = 0.6  # of the line's height: a narrower gap before a change may be inside a word
TAIL_ROWS = 6  # pixels a line's band may grow up or down along ink to hold its new glyphs
CONTEXT = 2  # the engine's symbols (characters) of a word left of a change read again with it
OVERLAP = 2  # characters of a word's head that its end, read again, may repeat
JOIN_GAP = 0.3  # of the line's height: the most between a word's kept head and its first glyph read again
SLIVER = 0.5  # of the head word's height: a first symbol read again at the cut that is narrower is the edge of
# the glyph before it


@dataclass(frozen=True)
class _Tail:
    """A line read before whose end alone changed (typing): its words left of the change are
    kept as read, and only ``region`` is read again, to the end of the ink, from the first word
    the change may touch, or, when that word was read with its character boundaries, from
    ``CONTEXT`` characters before the change (``head``: the part of that word kept, which the
    first word read again continues). ``start``: where the word begins, to read it whole when
    its end does not read as a continuation. ``change``: the changed cells, for reading in full."""

    region: Box
    entry: Entry | None
    kept: tuple[Word, ...]
    change: Box
    head: Word | None = None
    start: int = 0
    context: str = ""  # the text of the symbols between ``head`` and the last cut left of the change (unchanged
    # pixels), which must read the same again


def _words(lines: list[Line]) -> list[Word]:
    return sorted((w for line in lines for w in line.words), key=lambda w: w.box.x0)


def _checked(word: Word) -> bool:
    """Whether ``word``, read in parts, is to be read whole once typed, unless it is covered as
    read (``_covered``): when it holds a digit or an ``@`` (card numbers, phone numbers,
    addresses: the structured detectors need every character, a checksum fails on one misread
    digit, and a part read alone, without the glyphs before it, is the likelier to be misread).
    A word found as PII in parts stays covered as it is: reading it again could only lose that."""
    return word.pieced and any(ch.isdigit() or ch == "@" for ch in word.text)


def _covered(word: Word, entry: Entry) -> bool:
    """Whether one of ``entry``'s hits covers ``word`` (hits are word boxes)."""
    return any(hit.box == word.box for hit in entry.hits)


def _joined(tail: _Tail, words: list[Word]) -> list[Word] | None:
    """The words read for ``tail``, the first one joined to the head of the word it continues;
    ``None`` when it does not begin where the head ends (a glyph at the cut was not read)."""
    head = tail.head
    if head is None:
        return words
    if not words or abs(words[0].box.x0 - head.box.x1) > max(2, JOIN_GAP * head.box.height):
        return None
    known = head.text + tail.context  # read before, left of the change: the part read again must repeat its end
    for first in (words[0], _unslivered(words[0], head.box)):
        for extra in range(OVERLAP + 1):  # the engine's symbol boxes are approximate: the cut may fall a glyph early
            if first is not None and extra <= len(head.text) and first.text.startswith(known[len(head.text) - extra :]):
                chars = len(head.text) - extra
                kept = replace(head, text=head.text[:chars], cuts=tuple(c for c in head.cuts if c[0] < chars))
                return [kept.joined(first), *words[1:]]
    return None  # the cut fell a glyph late, or the context read otherwise: read the word whole


def _unslivered(word: Word, head: Box) -> Word | None:
    """``word`` without its first symbol when that is a sliver at the cut: it begins where the
    ``head`` of the word ends (a pixel of slack) and is narrower than ``SLIVER`` of the head's
    height, the edge of the glyph left of the cut read as a mark (``1``, ``o``, ``<``); ``None``
    otherwise. What follows it must still repeat the context read before (``_joined``): the
    symbol dropped lies in pixels read before and kept with the head, never right of the change."""
    if len(word.text) < 2 or not word.cuts or word.cuts[0][0] != 1 or word.box.x0 > head.x1 + 1:
        return None
    x = word.cuts[0][1]
    if x - word.box.x0 > SLIVER * head.height:
        return None
    cuts = tuple((chars - 1, cut) for chars, cut in word.cuts[1:])
    return Word(word.text[1:], replace(word.box, x0=x), word.confidence, cuts, word.pieced)


@dataclass(frozen=True)
class _Cut:
    """A line read before that lost ink at the end of one of its words, and nothing else (a
    character deleted, a cursor gone): ``words`` are its words now, the word cut at the
    engine's character boundaries (``_cut``); its detectors run again, it is not read again."""

    entry: Entry
    words: tuple[Word, ...]
    change: Box


def _plan(
    gray: Gray, reference: Gray, cells: npt.NDArray[np.bool_], entries: list[Entry]
) -> tuple[list[Box], list[_Tail], list[_Cut]]:
    """The regions to read in full, the line ends to read (``changes.regions``, but a change
    inside one earlier line, right of some of its words, reads only from there on), and the
    lines cut where they only lost ink at a word's end."""
    height, width = gray.shape
    if cells.size and cells.mean() > FULL_SHARE:
        return [Box(0, 0, width, height)], [], []
    tails: list[_Tail] = []
    cuts: list[_Cut] = []
    whole: list[Box] = []
    for box in cell_boxes(cells, width, height):
        change = box.pad(CELL // 2).clip(width, height)
        tight = _tight(gray, reference, box)
        if tight is not None and _blank(gray, tight):
            met = [(e, i) for e in entries if e.line for i, w in enumerate(e.line.words) if w.box.intersects(tight)]
            if not met:
                continue  # ink gone where no word was read (a cursor read as nothing): nothing to read
            cut = _cut(gray, tight, *met[0], change) if len(met) == 1 else None
            if cut is not None:
                cuts.append(cut)
                continue
        tail = _tail(gray, tight or change, entries)
        if tail is None:
            whole.append(change)
        else:
            tails.append(tail)
    todo = merge([along_text(gray, b) for b in whole])
    while True:  # a tail or a cut that meets a region, or another tail or cut of its line, is read in full
        clash = [
            t
            for t in tails
            if any(t.region.intersects(r) for r in todo)
            or any(
                o is not t and ((o.entry is t.entry and t.entry is not None) or o.region.intersects(t.region))
                for o in tails
            )
        ]
        clash_cuts = [
            c
            for c in cuts
            if any(c.entry.box.intersects(r) for r in todo)
            or any(t.entry is c.entry or t.region.intersects(c.entry.box) for t in tails)
            or any(o is not c and o.entry is c.entry for o in cuts)
        ]
        if not clash and not clash_cuts:
            return todo, tails, cuts
        tails = [t for t in tails if all(t is not c for c in clash)]
        cuts = [c for c in cuts if all(c is not o for o in clash_cuts)]
        todo = merge(todo + [along_text(gray, b) for b in [t.change for t in clash] + [c.change for c in clash_cuts]])


def _tail(gray: Gray, change: Box, entries: list[Entry]) -> _Tail | None:
    """The line end to read for ``change``, or ``None`` when it is not the end of one line."""
    touched = [e for e in entries if e.box.pad(INK_GAP_X, 0).intersects(change)]
    if not touched:
        return _new_line(gray, change, entries)
    if len(touched) != 1 or (line := touched[0].line) is None:
        return None
    entry = touched[0]
    if change.y0 < entry.box.y0 - 2 * CELL or change.y1 > entry.box.y1 + 2 * CELL:
        return None
    words = line.words
    count = 0
    while count < len(words) and words[count].box.x1 + TAIL_GAP <= change.x0:
        count += 1
    if any(w.box.x1 + TAIL_GAP <= change.x0 for w in words[count:]):
        return None
    if count and change.x0 - words[count - 1].box.x1 < TAIL_SPACE * entry.box.height:
        count -= 1  # the change may continue the word before it (gaps in a monospaced word)
    checked = next((i for i, w in enumerate(words[:count]) if _checked(w) and not _covered(w, entry)), None)
    head, context = None, ""
    if checked is not None:  # typed before, read in parts while it grew: read it whole, once, now
        count = checked
    elif count < len(words):
        cuts = [c for c in words[count].cuts if c[1] + TAIL_GAP <= change.x0]
        if len(cuts) >= CONTEXT:
            head = words[count].head(cuts[-CONTEXT])
            context = words[count].text[cuts[-CONTEXT][0] : cuts[-1][0]]
    if count <= 0 and head is None:
        return None
    start = min(change.x0, words[count].box.x0 if count < len(words) else change.x0) - 2
    start = max(start, words[count - 1].box.x1 + 1 if count else 0)
    x0 = head.box.x1 if head is not None else start
    height, width = gray.shape
    columns = gray[:, x0 : change.x1]
    ink_y = (columns.max(axis=1).astype(np.int16) - columns.min(axis=1)) > INK_CONTRAST
    y0, y1 = grow(ink_y, entry.box.y0, entry.box.y1, 2, TAIL_ROWS)
    y0, y1 = max(0, y0 - 2), min(height, y1 + 2)
    band = gray[y0:y1]
    ink_x = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) > INK_CONTRAST
    _, x1 = grow(ink_x, x0, change.x1, INK_GAP_X)
    region = Box(x0, y0, min(width, x1 + 2), y1)
    whole = replace(region, x0=start)  # what is read if the head's end does not read the same again
    if any(e is not entry and (e.box.intersects(region) or (e.line and e.box.intersects(whole))) for e in entries):
        return None  # another line's words would be read again
    return _Tail(region, entry, words[:count], change, head, start, context)


def _new_line(gray: Gray, change: Box, entries: list[Entry]) -> _Tail | None:
    """``change`` where no line was read before (a new line of text), as a region of its own
    rows only (grown along its ink), or ``None`` when that region meets an earlier line."""
    height, width = gray.shape
    columns = gray[:, change.x0 : change.x1]
    ink_y = (columns.max(axis=1).astype(np.int16) - columns.min(axis=1)) > INK_CONTRAST
    y0, y1 = grow(ink_y, change.y0, change.y1, 2, TAIL_ROWS)
    y0, y1 = max(0, y0 - 2), min(height, y1 + 2)
    band = gray[y0:y1]
    ink_x = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) > INK_CONTRAST
    x0, x1 = grow(ink_x, change.x0, change.x1, INK_GAP_X)
    region = Box(max(0, x0 - 2), y0, min(width, x1 + 2), y1)
    if any(e.box.intersects(region) for e in entries):
        return None
    return _Tail(region, None, (), change)


TIGHT = 40  # gray levels: a pixel that moved this much was redrawn (JPEG noise moves less)


def _tight(gray: Gray, reference: Gray, box: Box) -> Box | None:
    """The pixels of ``box`` that were redrawn, as a box (padded by a pixel), or ``None``."""
    diff = np.abs(gray[box.y0 : box.y1, box.x0 : box.x1].astype(np.int16) - reference[box.y0 : box.y1, box.x0 : box.x1])
    moved = diff > TIGHT
    if not moved.any():
        return None
    rows, cols = np.flatnonzero(moved.any(axis=1)), np.flatnonzero(moved.any(axis=0))
    return Box(
        box.x0 + int(cols[0]) - 1, box.y0 + int(rows[0]) - 1, box.x0 + int(cols[-1]) + 2, box.y0 + int(rows[-1]) + 2
    )


ERASED_MAX = (3 * CELL, 4 * CELL)  # the largest removal (height, width) not read again


def _blank(gray: Gray, tight: Box) -> bool:
    """Whether the pixels redrawn in ``tight`` (from ``_tight``) show no ink now, in a box small
    enough to be a cursor or a character or two: ink was removed there, and nothing drawn. Ink is
    judged against the gray around the box: a new glyph that fills its own box (``l``, ``|``, ``.``)
    is ink, and the JPEG's ringing beside a dark theme's glyph is not."""
    if tight.height > ERASED_MAX[0] or tight.width > ERASED_MAX[1]:
        return False
    return not _inked(gray, tight.pad(-1), background(gray, tight))


def _inked(gray: Gray, box: Box, level: int) -> bool:
    """Whether a pixel of ``box`` differs from the background gray ``level`` by more than ink
    contrast; an empty box counts as inked."""
    crop = gray[max(0, box.y0) : box.y1, max(0, box.x0) : box.x1]
    if crop.size == 0:
        return True
    return int(crop.max()) - level > INK_CONTRAST or level - int(crop.min()) > INK_CONTRAST


def _cut(gray: Gray, tight: Box, entry: Entry, index: int, change: Box) -> _Cut | None:
    """The line of ``entry`` without the characters of its word ``index`` that ``tight`` (blank
    now: ``_blank``) removed, or ``None`` when that cannot be told for sure from the word's
    character boundaries: the characters right of a boundary left of ``tight`` must all be blank
    now, and the character left of it inked (a boundary off by a glyph would keep a character
    gone, or drop one still there: the detectors would see other text than the screen shows)."""
    assert entry.line is not None
    words = entry.line.words
    word = words[index]
    if len(word.cuts) != len(word.text) - 1 or any(c[0] != i + 1 for i, c in enumerate(word.cuts)):
        return None  # the engine's symbols did not spell the word: no boundaries to cut at
    edges = [word.box.x0, *(x for _, x in word.cuts), word.box.x1]
    if any(b <= a for a, b in pairwise(edges)):
        return None
    keep = sum(1 for i in range(len(word.text)) if edges[i + 1] <= tight.x0 + 1)
    if keep == len(word.text):  # the removal only met the word's box, right of its last character
        return _Cut(entry, words, change)
    y0, y1, level = word.box.y0, word.box.y1, background(gray, word.box)
    if _inked(gray, Box(edges[keep], y0, word.box.x1, y1), level):
        return None  # the removal is not the whole end of the word
    if keep and not _inked(gray, Box(edges[keep - 1], y0, edges[keep], y1), level):
        return None  # nor is the character left of the boundary still there
    now = (word.head(word.cuts[keep - 1]),) if keep else ()
    return _Cut(entry, (*words[:index], *now, *words[index + 1 :]), change)


def _redrawn(gray: Gray, previous: Gray, fills: list[tuple[str, Box, int]], levels: dict[Box, int]) -> list[Box]:
    """Where this frame's luma with its fills may differ from the previous frame's: the bands of
    rows whose pixels differ (to the columns that differ), and the covered boxes filled with a
    gray that was not there before or no longer are."""
    differs = gray != previous
    boxes = []
    for r0, r1 in runs(np.flatnonzero(differs.any(axis=1)), CELL):
        cols = np.flatnonzero(differs[r0:r1].any(axis=0))
        boxes.append(Box(int(cols[0]), r0, int(cols[-1]) + 1, r1))
    now = {box: level for _, box, level in fills}
    boxes += [box for box, level in now.items() if levels.get(box) != level]
    boxes += [box for box in levels if box not in now]
    boxes += [  # where two fills of different grays meet, the one drawn last shows: the order may change
        box for box, level in now.items() if any(o.intersects(box) and lv != level for o, lv in now.items())
    ]
    return boxes


def _touches(cells: npt.NDArray[np.bool_] | None, box: Box) -> bool:
    """Whether ``box`` meets a changed cell (or an edge cell, which change detection crops)."""
    if cells is None:
        return True
    r0, c0 = max(0, box.y0) // CELL, max(0, box.x0) // CELL
    r1, c1 = -(-box.y1 // CELL), -(-box.x1 // CELL)
    if r1 > cells.shape[0] or c1 > cells.shape[1]:
        return True
    return bool(cells[r0:r1, c0:c1].any())


def _scrolled(entries: list[Entry], scroll: Scroll) -> list[Entry]:
    """The entries after ``scroll``: those in its box moved with the content (cut to the box),
    the others as they were; covered boxes reaching out of the box stay where they were too."""
    out: list[Entry] = []
    for entry in entries:
        if not entry.box.intersects(scroll.box):
            out.append(entry)
            continue
        if entry.box.intersects(scroll.source) and (moved := entry.moved(scroll.dy, scroll.box)) is not None:
            out.append(moved)
        outside = tuple(h for h in entry.hits if not scroll.box.contains(h.box))
        if outside:
            out.append(Entry(None, entry.box, outside))
    return out


def _line_box(line: Line) -> Box:
    return Box(
        min(w.box.x0 for w in line.words),
        min(w.box.y0 for w in line.words),
        max(w.box.x1 for w in line.words),
        max(w.box.y1 for w in line.words),
    )


def _kept(entries: list[Entry], todo: list[Box], known: tuple[str, ...], seen: frozenset[str]) -> list[Entry]:
    """Earlier lines outside the regions read again (matched against new known strings), and
    the covered boxes of earlier lines inside them that reach outside every region."""
    new_known = tuple(k for k in known if k not in seen)
    kept: list[Entry] = []
    for entry in entries:
        if not any(entry.box.intersects(r) for r in todo):
            extra: list[Hit] = known_hits(entry.line, new_known) if entry.line and new_known else []
            kept.append(Entry(entry.line, entry.box, entry.hits + tuple(extra)))
            continue
        outside = tuple(h for h in entry.hits if not any(r.contains(h.box) for r in todo))
        if outside:
            kept.append(Entry(None, entry.box, outside))
    return kept
