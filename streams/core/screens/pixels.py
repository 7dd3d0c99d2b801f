"""A frame's pixels: decoded once, filled, downsized and encoded (pure core, in memory).

The JPEG is decoded to YCbCr without the colour conversion (libjpeg's native output): the
luma plane is the grayscale that change detection and OCR read, and fills are written as
``(level, 128, 128)``. Frames of an unchanged region decode to the same luma values, so
comparing with the previous frame is exact there. The output is downsized with a box filter
(``Image.reduce`` for whole factors) after every fill, so no covered pixel reaches it; boxes
are snapped to whole output pixels (``geometry.snapped``) before they are filled.
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


class Canvas:
    """One frame being redacted: the image (YCbCr) and its luma plane as numbers."""

    def __init__(self, jpeg: bytes) -> None:
        image = Image.open(io.BytesIO(jpeg))
        if image.format == "JPEG" and image.mode == "RGB":
            image.draft("YCbCr", image.size)
        image.load()
        self.image = image if image.mode == "YCbCr" else image.convert("RGB").convert("YCbCr")
        self._draw = ImageDraw.Draw(self.image)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    def luma(self) -> Gray:
        """The grayscale plane, as it is now (fills included)."""
        gray: Gray = np.asarray(self.image.getchannel(0))
        return gray

    def fill(self, box: Box, level: int) -> None:
        """``box`` filled with the solid gray ``level``."""
        self._draw.rectangle((box.x0, box.y0, box.x1 - 1, box.y1 - 1), fill=(level, 128, 128))

    def encode(self, scale: float, quality: int) -> bytes:
        """The image at ``scale`` (box filter), as a JPEG of ``quality``."""
        image = self.image
        if scale < 1:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            factor = round(1 / scale)
            if abs(factor * scale - 1) < 1e-6 and image.width % factor == 0 and image.height % factor == 0:
                image = image.reduce(factor)
            else:
                image = image.resize(size, Image.Resampling.BOX)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality)
        return out.getvalue()


def background(gray: Gray, box: Box) -> int:
    """The median gray of a 2-pixel ring around ``box``: a covered word reads as blank space."""
    ring = box.pad(2).clip(gray.shape[1], gray.shape[0])
    outer = gray[ring.y0 : ring.y1, ring.x0 : ring.x1]
    if outer.size == 0:
        return 0
    edge = np.concatenate([outer[0], outer[-1], outer[:, 0], outer[:, -1]])
    return int(np.median(edge))
