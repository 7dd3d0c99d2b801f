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
_MIN_CONFIDENCE = 10.0
CELL = 8  # pixels: the grain of the polarity map
SOURCE_DPI = 96  # what the engine is told (the resolution Pillow's BMP export stated when
# images went through ``SetImage``; raw bytes are handed over now, without that round trip)


@dataclass(frozen=True)
class Word:
    """One word read by OCR, its box in image pixels and the engine's confidence (0-100)."""

    text: str
    box: Box
    confidence: float


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
    level, line_level = tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE
    lines: list[list[Word]] = []
    iterator = api.GetIterator()
    if iterator is None:
        return []
    for item in tesserocr.iterate_level(iterator, level):
        if item.Empty(level):
            continue
        text = item.GetUTF8Text(level)
        bbox = item.BoundingBox(level)
        if not text or not text.strip() or bbox is None:
            continue
        if item.IsAtBeginningOf(line_level) or not lines:
            lines.append([])
        x0, y0, x1, y1 = bbox
        box = Box(
            region.x0 + math.floor(x0 / upscale),
            region.y0 + math.floor(y0 / upscale),
            region.x0 + math.ceil(x1 / upscale),
            region.y0 + math.ceil(y1 / upscale),
        )
        confidence = float(item.Confidence(level))
        if confidence >= _MIN_CONFIDENCE or len(text.strip()) > 2:
            lines[-1].append(Word(text.strip(), box, confidence))
    return [Line(tuple(words)) for words in lines if words]
