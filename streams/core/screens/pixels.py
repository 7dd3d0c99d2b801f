"""A frame's pixels: decoded, filled, downsized and encoded (pure core, in memory).

The luma plane (libjpeg's own Y, no colour conversion) is the grayscale that change
detection and OCR read; fills are drawn into it. Frames of an unchanged region decode to the
same luma values, so comparing with the previous frame is exact there. The stored luma is
downsized with a box filter (``Image.reduce`` for whole factors) after every fill, so no
covered pixel reaches it; boxes are snapped to whole output pixels (``geometry.snapped``)
before they are filled. See :class:`Canvas` for the colour planes.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from streams.core.screens.geometry import Box

Gray = npt.NDArray[np.uint8]


def image_size(data: bytes) -> tuple[int, int] | str:
    """The size a JPEG or PNG header gives, without decoding the pixels; or why it cannot be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
                return image.size
    except Image.DecompressionBombError as exc:
        return f"a decompression bomb: {exc}"
    except (OSError, ValueError, SyntaxError) as exc:  # UnidentifiedImageError is an OSError
        return f"not a JPEG or PNG image ({type(exc).__name__}: {exc})"


SCALED_DECODES = (2, 4, 8)  # the whole factors libjpeg decodes to directly (through Pillow's ``draft``)


class Canvas:
    """One frame being redacted, to be stored at ``scale`` (at most 1) of its size: its luma plane
    at full scale (what change detection and OCR read, where fills are drawn) and its colour.

    A JPEG stored at a half, a quarter or an eighth (what the stream does) is decoded twice,
    each time only as far as needed: its luma alone at full scale, and its colour directly at
    the stored scale (libjpeg's scaled decoding; the two together measured about 1.7x cheaper
    than a full decode and a downsize). The stored luma is the box-filtered full-scale luma with every fill in it, as
    before; only the two colour planes come from the scaled decode, and they are set to
    neutral over every stored pixel a fill touches. Other frames (other formats, scales that are
    not a half, a quarter or an eighth, sizes they do not divide) are decoded in full."""

    def __init__(self, data: bytes, scale: float = 1.0) -> None:
        image: Image.Image = Image.open(io.BytesIO(data))
        self.size, self.scale = image.size, scale
        self.factor = _factor(image, scale)
        self.colour: Image.Image | None = None
        if self.factor in SCALED_DECODES and image.format == "JPEG" and image.mode == "RGB":
            image.draft("L", image.size)
            image.load()
            colour = Image.open(io.BytesIO(data))
            colour.draft("YCbCr", (image.width // self.factor, image.height // self.factor))
            colour.load()
            if image.mode == "L" and colour.mode == "YCbCr" and colour.size == self._stored_size():
                self.image, self.colour = image, colour
            else:
                image = Image.open(io.BytesIO(data))  # decoded as gray above: start again
        if self.colour is None:
            if image.format == "JPEG" and image.mode == "RGB":
                image.draft("YCbCr", image.size)
            image.load()
            self.image = image if image.mode == "YCbCr" else image.convert("RGB").convert("YCbCr")
        self._draw = ImageDraw.Draw(self.image)
        self._draw_colour = ImageDraw.Draw(self.colour) if self.colour is not None else self._draw

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def _stored_size(self) -> tuple[int, int]:
        return max(1, round(self.width * self.scale)), max(1, round(self.height * self.scale))

    def luma(self) -> Gray:
        """The grayscale plane at full scale, as it is now (fills included)."""
        plane = self.image if self.image.mode == "L" else self.image.getchannel(0)
        gray: Gray = np.asarray(plane)
        return gray

    def fill(self, box: Box, level: int) -> None:
        """``box`` (full-scale pixels) filled with the solid gray ``level``."""
        if self.colour is None:
            self._draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=(level, 128, 128))
            return
        self._draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=level)
        f = self.factor
        x0, y0, x1, y1 = box.x0 // f, box.y0 // f, -(-box.x1 // f), -(-box.y1 // f)
        self._draw_colour.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(0, 128, 128))

    def encode(self, quality: int) -> bytes:
        """The image at the stored scale (box filter), as a JPEG of ``quality``."""
        if self.colour is not None:
            _, cb, cr = self.colour.split()
            image = Image.merge("YCbCr", (self.image.reduce(self.factor), cb, cr))
        elif self.scale < 1:
            factor = _factor(self.image, self.scale)
            image = (
                self.image.reduce(factor)
                if factor > 1
                else self.image.resize(self._stored_size(), Image.Resampling.BOX)
            )
        else:
            image = self.image
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality)
        return out.getvalue()


def _factor(image: Image.Image, scale: float) -> int:
    """The whole factor ``scale`` divides ``image`` by (2 for 0.5), or 1 when it is not one."""
    if not 0 < scale < 1:
        return 1
    factor = round(1 / scale)
    if abs(factor * scale - 1) > 1e-6 or image.width % factor or image.height % factor:
        return 1
    return factor


def background(gray: Gray, box: Box) -> int:
    """The median gray of a 2-pixel ring around ``box``: a covered word reads as blank space."""
    ring = box.pad(2).clip(gray.shape[1], gray.shape[0])
    outer = gray[ring.y0 : ring.y1, ring.x0 : ring.x1]
    if outer.size == 0:
        return 0
    edge = np.concatenate([outer[0], outer[-1], outer[:, 0], outer[:, -1]])
    return int(np.median(edge))
