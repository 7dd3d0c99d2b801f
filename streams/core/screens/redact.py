"""``redact_frame``: denied windows masked, PII read in the pixels covered, incrementally per device (pure core).

Steps, in order: decode the JPEG (full scale, as the agent sends it); fill the rectangles of
windows the capture policy denies; find the regions that changed since the device's
previous frame (all of it without a state), moving the previous findings along where the
content scrolled; read the changed regions with OCR; run the text detectors and the known
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

import numpy as np

from schemas.capture_policy import CapturePolicy
from streams.core.redaction import Span
from streams.core.screens.changes import CELL, changed_cells, regions
from streams.core.screens.errors import FrameDeadlineError, ScreenRedactionError
from streams.core.screens.geometry import Box, Removed, WindowLike, snapped, window_box
from streams.core.screens.matching import Hit, detector_hits, known_hits, line_pii, shape_hits
from streams.core.screens.ocr import Line, read_region
from streams.core.screens.pixels import Canvas, Gray, background
from streams.core.screens.scrolling import Scroll, find_scroll, shifted
from streams.core.screens.state import Entry, FrameState

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
    ``find``: the text detectors (default ``find_pii``, names included, without the name
    finder on lines with no capital letter, see ``matching.line_pii``).
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

    def run(
        self,
        jpeg: bytes,
        windows: Sequence[WindowLike],
        scale: float,
        origin: tuple[int, int],
        resize: float,
        quality: int,
    ) -> tuple[bytes, list[Removed]]:
        canvas = Canvas(jpeg)
        width, height = canvas.width, canvas.height
        covered: list[tuple[str, Box]] = []
        for window in windows:
            if not self.policy.decide_window(window.app, window.title).allowed:
                box = window_box(window, scale, origin).clip(width, height)
                if not box.empty():
                    canvas.fill(box, 0)
                    covered.append(("DENIED_WINDOW", box))
        gray = canvas.luma()
        state = self.state
        if state is None or not state.usable((width, height)):
            entries: list[Entry] = []
            todo = [Box(0, 0, width, height)]
        else:
            entries, todo = self._unchanged(state, gray)
        self.clock.check("change detection")
        for region in todo:
            for line in read_region(gray, region):
                hits = detector_hits(line, self._spans) + known_hits(line, self.known) + shape_hits(line)
                entries.append(Entry(line, _line_box(line), tuple(hits)))
            self.clock.check("OCR")
        seen: set[tuple[str, Box]] = set()
        fills: list[tuple[Box, int]] = []
        for entry in entries:
            for hit in entry.hits:
                box = snapped(hit.box.pad(PAD), resize).clip(width, height)
                if (hit.label, box) not in seen and not box.empty():
                    seen.add((hit.label, box))
                    fills.append((box, background(gray, box)))
                    covered.append((hit.label, box))
        for box, level in fills:
            canvas.fill(box, level)
        out = canvas.encode(resize, quality)
        self.clock.check("encoding")
        if state is not None:
            state.luma, state.size, state.entries = gray, (width, height), entries
            state.known = frozenset(self.known)
            state.frames += 1
            state.regions_read += len(todo)
            state.pixels_read += sum(r.area for r in todo)
        return out, [Removed.of(label, box.scaled(resize)) for label, box in covered]

    def _spans(self, text: str) -> Sequence[Span]:
        """The detectors' spans for a line's text, remembered in the device's state (a line read
        again, unchanged, costs nothing; a state serves one redactor, so one ``find``)."""
        find = self.find or line_pii
        if self.state is None:
            return find(text)
        cached = self.state.spans.get(text)
        if cached is None:
            cached = tuple(find(text))
            self.state.remember(text, cached)
        return cached

    def _unchanged(self, state: FrameState, gray: Gray) -> tuple[list[Entry], list[Box]]:
        """The previous findings still on screen (moved along scrolls) and the regions to read."""
        reference, entries = state.luma, state.entries
        cells = changed_cells(gray, reference)
        if cells.any():
            rows, cols = np.flatnonzero(cells.any(axis=1)), np.flatnonzero(cells.any(axis=0))
            changed = Box(
                int(cols[0]) * CELL, int(rows[0]) * CELL, (int(cols[-1]) + 1) * CELL, (int(rows[-1]) + 1) * CELL
            )
            scroll = find_scroll(gray, reference, changed)
            if scroll is not None:
                state.scrolls += 1
                reference = shifted(reference, scroll)
                cells = changed_cells(gray, reference)
                entries = _scrolled(entries, scroll)
        todo = regions(gray, cells) if cells.any() else []
        return _kept(entries, todo, self.known, state.known), todo


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
