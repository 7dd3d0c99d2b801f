"""Text found in a region of a frame: words with boxes in image pixels, grouped in lines (pure core).

The engine is Tesseract 5 through its library binding ``tesserocr`` (in process; one engine
per thread, created on first use, like spaCy in the name finder). It was chosen by
measurement against ``pytesseract`` (a subprocess per call) and RapidOCR
(``rapidocr-onnxruntime`` 1.4.4: 0.67 of words read at 7.4 s CPU per frame against 0.72 at
0.58 s here, on frames at scale 0.5). Frames arrive at full scale (the stream downsizes after
redaction), so UI text of 9-24 px is read at ``UPSCALE`` (bicubic). Measured on full-screen
pages of the corpus's text, one per font size and theme (``bench/screens_eval.py``): at 1x,
all words and 0.94-1.00 of PII strings are read, at 0.5-0.7 s per 1280x800 frame; at 1.5x
all of both, at 0.7-1.2 s; 2x and 3x read no more and cost up to 1.7 s. Light-on-dark areas
are inverted so text is always read dark on light: a region's cells are classed as light or
dark background, and each class is read on its own with the other blanked. (An earlier XY
cut on row and column medians sliced text lines where a row held about as much light as
dark background, and the line was lost.)
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from streams.core.screens.errors import ScreenRedactionError
from streams.core.screens.geometry import Box
from streams.core.screens.pixels import Gray

TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
UPSCALE = 1.5
LINE_UPSCALE = 1.25  # a line's end read again (typing): one line, its height known, read at
# 1.25x costs 14% less than at 1.5x (the engine's cost grows with the image, not only the text)
_MIN_CONFIDENCE = 10.0
CELL = 8  # pixels: the grain of the polarity map
SOURCE_DPI = 96  # what the engine is told (the resolution Pillow's BMP export stated when
# images went through ``SetImage``; raw bytes are handed over now, without that round trip)


@dataclass(frozen=True)
class Word:
    """One word read by OCR, its box in image pixels and the engine's confidence (0-100).
    ``cuts``: where the word may be cut between two of its characters, as (characters left of
    the cut, x of the cut), one per gap between the engine's symbols (empty when its symbols
    did not spell the word). ``pieced``: the word was joined from a part kept from an earlier
    frame and a part read in this one (``joined``)."""

    text: str
    box: Box
    confidence: float
    cuts: tuple[tuple[int, int], ...] = ()
    pieced: bool = False  # joined from parts read apart (``joined``), not read whole

    def head(self, cut: tuple[int, int]) -> Word:
        """The part of this word left of ``cut`` (one of its cuts), pieced if the word was."""
        chars, x = cut
        return Word(
            self.text[:chars],
            Box(self.box.x0, self.box.y0, x, self.box.y1),
            self.confidence,
            tuple(c for c in self.cuts if c[0] < chars),
            self.pieced,
        )

    def joined(self, tail: Word) -> Word:
        """This word continued by ``tail`` (read on its own right of one of this word's cuts)."""
        box = Box(self.box.x0, min(self.box.y0, tail.box.y0), tail.box.x1, max(self.box.y1, tail.box.y1))
        cuts = (*self.cuts, (len(self.text), tail.box.x0), *((len(self.text) + c, x) for c, x in tail.cuts))
        return Word(self.text + tail.text, box, min(self.confidence, tail.confidence), cuts, pieced=True)


@dataclass(frozen=True)
class Line:
    """Words read on one text line, left to right."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


def _tessdata() -> str:
    for env in ("TESSDATA_PREFIX",):
        path = os.environ.get(env)
        if path and os.path.isfile(os.path.join(path, "eng.traineddata")):
            return path
    for path in TESSDATA_DIRS:
        if os.path.isfile(os.path.join(path, "eng.traineddata")):
            return path
    raise ScreenRedactionError(
        "no Tesseract English model (eng.traineddata) found; install the apt package tesseract-ocr-eng"
    )


_local = threading.local()


def _engine() -> Any:
    """This thread's Tesseract engine (sparse text: UI text is scattered, not a page)."""
    api = getattr(_local, "api", None)
    if api is None:
        try:
            import tesserocr  # untyped: ignored for mypy in pyproject.toml
        except ImportError as exc:
            raise ScreenRedactionError("the tesserocr package is not installed; screen OCR cannot run") from exc
        api = tesserocr.PyTessBaseAPI(path=_tessdata(), lang="eng", psm=tesserocr.PSM.SPARSE_TEXT)
        api.SetVariable("tessedit_do_invert", "0")  # polarity is ours (below), the engine need not retry
        _local.api = api
    return api


def _dark_cells(crop: Gray) -> npt.NDArray[np.bool_]:
    """Per CELL x CELL cell of ``crop``: whether its background is dark. A cell's mean gray
    decides (text is a minority of its pixels), then a 3x3 majority, so bold or dense glyphs
    do not flip a cell of a line away from the window around it."""
    h, w = -(-crop.shape[0] // CELL) * CELL, -(-crop.shape[1] // CELL) * CELL
    padded = np.pad(crop, ((0, h - crop.shape[0]), (0, w - crop.shape[1])), mode="edge")
    sums = padded.reshape(h // CELL, CELL, w // CELL, CELL).sum(axis=(1, 3), dtype=np.int32)
    dark = (sums < 128 * CELL * CELL).astype(np.int8)
    ring = np.pad(dark, 1, mode="edge")
    votes = np.sum([ring[i : i + dark.shape[0], j : j + dark.shape[1]] for i in range(3) for j in range(3)], axis=0)
    result: npt.NDArray[np.bool_] = votes >= 5
    return result


def layers(crop: Gray) -> list[tuple[Box, Gray]]:
    """The crop as one or two images to read, dark text on light: the light-background part
    as it is and the dark-background part inverted, each with the other part blanked, and
    each cut to its bounding box (crop pixels). Blanks take the median gray of the part kept:
    white blanks beside a gray background make Tesseract's global (Otsu) threshold split
    white from gray, and the text is lost in black."""
    dark = _dark_cells(crop)
    out: list[tuple[Box, Gray]] = []
    for polarity in (False, True):
        mine = dark == polarity
        if not mine.any():
            continue
        rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
        box = Box(int(cols[0]) * CELL, int(rows[0]) * CELL, (int(cols[-1]) + 1) * CELL, (int(rows[-1]) + 1) * CELL)
        box = box.clip(crop.shape[1], crop.shape[0])
        pixels = crop[box.y0 : box.y1, box.x0 : box.x1]
        image: Gray = 255 - pixels if polarity else pixels.copy()
        keep = None
        if not mine.all():
            keep = np.repeat(np.repeat(mine, CELL, axis=0), CELL, axis=1)[box.y0 : box.y1, box.x0 : box.x1]
            image[~keep] = 255
        out.append((box, flatten(image, keep)))
    return out


def flatten(image: Gray, keep: npt.NDArray[np.bool_] | None = None) -> Gray:
    """Dark-on-light ``image`` with its background gray (the median of the ``keep`` pixels)
    and everything lighter brought to white. Tesseract thresholds globally (Otsu): beside a
    large area lighter than the background (a blank, a filled window inverted) it splits the
    two and loses the text in black."""
    sample = image[keep] if keep is not None else image.ravel()
    level = int(np.median(sample[:: max(1, sample.size // 4096)])) if sample.size else 255
    if level < 96:
        return image
    flat: Gray = (np.minimum(image, level).astype(np.uint16) * 255 // level).astype(np.uint8)
    return flat


def read_region(gray: Gray, region: Box, upscale: float = UPSCALE) -> list[Line]:
    """The lines of text in ``region`` of the grayscale frame ``gray``, boxes in frame pixels."""
    region = region.clip(gray.shape[1], gray.shape[0])
    if region.width < 4 or region.height < 4:
        return []
    crop = gray[region.y0 : region.y1, region.x0 : region.x1]
    lines: list[Line] = []
    for block, pixels in layers(crop):
        if block.width < 4 or block.height < 4:
            continue
        image = Image.fromarray(np.ascontiguousarray(pixels))
        if upscale != 1:
            size = (round(block.width * upscale), round(block.height * upscale))
            image = image.resize(size, Image.Resampling.BICUBIC)
        lines += _recognize(image, block.shift(region.x0, region.y0), upscale)
    return lines


def _recognize(image: Image.Image, region: Box, upscale: float) -> list[Line]:
    import tesserocr

    api = _engine()
    api.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
    api.SetSourceResolution(SOURCE_DPI)
    api.Recognize()
    iterator = api.GetIterator()
    if iterator is None:
        return []
    symbol, word, line = tesserocr.RIL.SYMBOL, tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE
    lines: list[list[Word]] = []
    current: _Reading | None = None
    for item in tesserocr.iterate_level(iterator, symbol):
        if item.IsAtBeginningOf(word):
            if current is not None:
                current.add_to(lines)
            current = None
            text, bbox = item.GetUTF8Text(word), item.BoundingBox(word)
            if text and text.strip() and bbox is not None:
                x0, y0, x1, y1 = bbox
                current = _Reading(
                    text.strip(),
                    Box(
                        region.x0 + math.floor(x0 / upscale),
                        region.y0 + math.floor(y0 / upscale),
                        region.x0 + math.ceil(x1 / upscale),
                        region.y0 + math.ceil(y1 / upscale),
                    ),
                    float(item.Confidence(word)),
                    item.IsAtBeginningOf(line) or not lines,
                    region.x0,
                    upscale,
                )
        if current is not None:
            current.symbol(item.GetUTF8Text(symbol), item.BoundingBox(symbol))
    if current is not None:
        current.add_to(lines)
    return [Line(tuple(words)) for words in lines if words]


class _Reading:
    """A word as the engine's symbols come in (their texts and horizontal extents)."""

    def __init__(self, text: str, box: Box, confidence: float, new_line: bool, x0: int, upscale: float) -> None:
        self.text, self.box, self.confidence, self.new_line = text, box, confidence, new_line
        self.x0, self.upscale = x0, upscale
        self.symbols: list[tuple[str, int, int]] = []

    def symbol(self, text: str | None, bbox: tuple[int, int, int, int] | None) -> None:
        if text and bbox is not None:
            self.symbols.append((text, bbox[0], bbox[2]))

    def add_to(self, lines: list[list[Word]]) -> None:
        if self.new_line or not lines:
            lines.append([])
        if self.confidence < _MIN_CONFIDENCE and len(self.text) <= 2:
            return
        cuts: list[tuple[int, int]] = []
        if "".join(t for t, _, _ in self.symbols) == self.text:
            chars = 0
            for (text, _, right), (_, left, _) in itertools.pairwise(self.symbols):
                chars += len(text)
                cuts.append((chars, self.x0 + round((right + left) / 2 / self.upscale)))
        lines[-1].append(Word(self.text, self.box, self.confidence, tuple(cuts)))
