"""What a device's previous frame left behind, so the next frame reads only what changed (pure core).

A ``FrameState`` holds the previous frame's luma plane (see ``changes``), the text lines read
in it with the word boxes to cover (full-resolution pixels), the known strings already
matched against them, and the detectors' answers for recent line texts. It lives in the
worker's memory, per device, and is never sent anywhere: it holds text read from the screen.
It needs no changelog: when it is missing (a new worker, a restart, a rebalance) the frame
is read in full, so no frame is ever forwarded with less redaction. ``redact_frame`` updates
it in place only after a frame was redacted successfully.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from streams.core.redaction import Span
from streams.core.screens.geometry import Box
from streams.core.screens.matching import Hit
from streams.core.screens.ocr import Line
from streams.core.screens.pixels import Gray

MAX_CACHED_LINES = 2048


@dataclass(frozen=True)
class Entry:
    """One line read in an earlier frame (``None`` for covered boxes kept without their line)
    and the boxes found to cover on it."""

    line: Line | None
    box: Box
    hits: tuple[Hit, ...]

    def moved(self, dy: int, within: Box) -> Entry | None:
        """This entry moved up by ``dy`` and cut to ``within``; ``None`` when nothing is left."""
        box = self.box.shift(0, -dy).intersection(within)
        if box.empty():
            return None
        hits = tuple(Hit(h.label, b) for h in self.hits if not (b := h.box.shift(0, -dy).intersection(within)).empty())
        line = None
        if self.line is not None and within.contains(self.box.shift(0, -dy)):
            line = Line(tuple(replace(w, box=w.box.shift(0, -dy)) for w in self.line.words))
        return Entry(line, box, hits)


def _empty() -> Gray:
    return np.zeros((0, 0), dtype=np.uint8)


@dataclass
class FrameState:
    """One device's previous frame, for incremental redaction; an empty state means "read all"."""

    luma: Gray = field(default_factory=_empty)
    size: tuple[int, int] = (0, 0)
    entries: list[Entry] = field(default_factory=list)
    known: frozenset[str] = frozenset()
    spans: dict[str, tuple[Span, ...]] = field(default_factory=dict)
    levels: dict[Box, int] = field(default_factory=dict)  # the fill gray of each covered box
    stored: Gray = field(default_factory=_empty)  # the stored frame's luma (fills included)
    frames: int = 0
    regions_read: int = 0
    pixels_read: int = 0
    scrolls: int = 0
    tails: int = 0  # line ends read instead of their whole line

    def usable(self, size: tuple[int, int]) -> bool:
        """Whether this state describes a frame of ``size`` that can be compared with."""
        return self.frames > 0 and self.size == size

    def remember(self, text: str, spans: tuple[Span, ...]) -> None:
        """The detectors' answer for a line's text, for the next time it is read."""
        if len(self.spans) >= MAX_CACHED_LINES:
            self.spans.clear()
        self.spans[text] = spans

    def reset(self) -> None:
        """Forget the previous frame: the next frame is read in full."""
        self.luma = _empty()
        self.size = (0, 0)
        self.entries = []
        self.known = frozenset()
        self.spans = {}
        self.levels = {}
        self.stored = _empty()
        self.frames = 0
