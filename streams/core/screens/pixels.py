"""A frame's pixels: decoded, filled, downsized and encoded (pure core, in memory).

The luma plane (libjpeg's own Y, no colour conversion) is the grayscale that change
detection and OCR read; fills are drawn into it. Frames of an unchanged region decode to the
same luma values, so comparing with the previous frame is exact there. The stored luma is
downsized with a box filter (``Image.reduce`` for whole factors) after every fill, so no
covered pixel reaches it; boxes are snapped to whole output pixels (``geometry.snapped``)
before they are filled. See :class:`Canvas` for the colour planes. JPEGs are decoded by
libjpeg-turbo's TurboJPEG (a system library, through ``PyTurboJPEG``) and encoded by it from
the planes.
"""

from __future__ import annotations

import functools
import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from streams.core.screens.errors import ScreenRedactionError
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


SUBSAMPLING = {0: (1, 1), 1: (2, 1), 2: (2, 2), 4: (1, 2), 5: (4, 1), 6: (1, 4)}  # TurboJPEG's TJSAMP_* -> (x, y)
_TJCS_YCBCR = 1
_TJFLAGS = 8192 | 32768  # TJFLAG_STOPONWARNING (a truncated or damaged JPEG is an error, not a gray frame)
# and TJFLAG_LIMITSCANS (a progressive JPEG of hundreds of scans, a CPU bomb, is refused)


class Canvas:
    """One frame being redacted, to be stored at ``scale`` (at most 1) of its size, as planes:
    its luma at full scale (what change detection and OCR read, where fills are drawn) and its
    two colour planes as the JPEG holds them (half the width and height for the usual 4:2:0).

    A JPEG is decoded once, to those planes, by libjpeg-turbo's planar API (TurboJPEG, no
    colour conversion and no upsampling of the colour); other images (PNG, CMYK) are decoded
    by Pillow, with colour planes at full scale. A fill is drawn into the luma and sets every
    colour sample it touches to neutral. The stored frame is a 4:2:0 JPEG at ``scale``: the
    luma box-filtered to it, the colour planes to half of it (for a 4:2:0 JPEG stored at a
    half, by two), encoded by TurboJPEG from the planes. No stored sample holds anything of a
    covered pixel: boxes are snapped to whole stored pixels before they are filled, and a
    stored colour sample across a box's edge mixes the neutral fill with what is outside."""

    def __init__(self, data: bytes, scale: float = 1.0) -> None:
        self.scale = scale
        planes = _jpeg_planes(data)
        if planes is None:
            image = Image.open(io.BytesIO(data))
            image.load()
            ycbcr = np.asarray(image.convert("RGB").convert("YCbCr"))
            planes = (ycbcr[..., 0].copy(), ycbcr[..., 1].copy(), ycbcr[..., 2].copy(), (1, 1))
        self.y, self.cb, self.cr, self.subsampling = planes
        self.size = (int(self.y.shape[1]), int(self.y.shape[0]))
        self.stored_luma: Gray = np.zeros((0, 0), dtype=np.uint8)  # the stored frame's luma, once encoded

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    def luma(self) -> Gray:
        """The grayscale plane at full scale, as it is now (fills included; a copy)."""
        return self.y.copy()

    def fill(self, box: Box, level: int) -> None:
        """``box`` (full-scale pixels) filled with the solid gray ``level``."""
        if box.empty():
            return
        self.y[max(0, box.y0) : box.y1, max(0, box.x0) : box.x1] = level
        sx, sy = self.subsampling
        rows = slice(max(0, box.y0) // sy, -(-box.y1 // sy))
        cols = slice(max(0, box.x0) // sx, -(-box.x1 // sx))
        self.cb[rows, cols] = 128
        self.cr[rows, cols] = 128

    def encode(self, quality: int, reuse: tuple[Gray, Sequence[Box]] | None = None) -> bytes:
        """The frame at the stored scale (box filter), as a 4:2:0 JPEG of ``quality``.

        ``reuse``: the previous frame's stored luma and the boxes (full-scale pixels) where this
        frame's luma, fills included, may differ from the previous one's: only those are
        downsized again (the same values as downsizing all of it; the scale must be a half, a
        quarter or an eighth, whose box filter is exact in integers). ``stored_luma`` is the result."""
        size = max(1, round(self.width * self.scale)), max(1, round(self.height * self.scale))
        factor = round(self.width / size[0])
        if (
            reuse is not None
            and factor in EXACT_FACTORS
            and (size[0] * factor, size[1] * factor) == self.size
            and reuse[0].shape == (size[1], size[0])
        ):
            y = reuse[0].copy()
            for box in reuse[1]:
                x0, y0 = max(0, box.x0) // factor, max(0, box.y0) // factor
                x1, y1 = min(size[0], -(-box.x1 // factor)), min(size[1], -(-box.y1 // factor))
                if x1 > x0 and y1 > y0:
                    y[y0:y1, x0:x1] = _reduced(self.y[y0 * factor : y1 * factor, x0 * factor : x1 * factor], factor)
        else:
            y = _downsized(self.y, size)
        self.stored_luma = y
        chroma = (-(-size[0] // 2), -(-size[1] // 2))  # 4:2:0: a colour sample per 2x2 stored pixels
        return _encoded((y, _downsized(self.cb, chroma), _downsized(self.cr, chroma)), quality)


EXACT_FACTORS = (2, 4, 8)  # where ``_reduced`` gives what ``Image.reduce`` gives


def _reduced(block: Gray, factor: int) -> Gray:
    """``block`` (its sides multiples of ``factor``) box-filtered by ``factor``, rounded half up
    as ``Image.reduce`` rounds (the same values for 2, 4 and 8)."""
    height, width = block.shape
    sums = block.reshape(height // factor, factor, width // factor, factor).sum(axis=(1, 3), dtype=np.uint32)
    out: Gray = ((sums + factor * factor // 2) // (factor * factor)).astype(np.uint8)
    return out


_TJSAMP_420 = 2
_TJFLAG_ACCURATEDCT = 4096  # as Pillow encodes (TurboJPEG's default is its fast, less exact DCT)


def _encoded(planes: tuple[Gray, Gray, Gray], quality: int) -> bytes:
    """A 4:2:0 JPEG of ``quality`` from its Y, Cb and Cr planes (TurboJPEG's planar API: no
    colour conversion, no resampling). The buffer is laid out as ``tjCompressFromYUV`` reads it
    with the 4-byte row padding PyTurboJPEG passes: the luma's width and height padded to even
    (edge pixels: the encoder's blocks, cropped away), every row to a multiple of 4 bytes; its
    size is checked against ``tjBufSizeYUV2`` so a layout mistake stops the frame rather than
    letting the encoder read past the buffer."""
    y, cb, cr = planes
    height, width = y.shape
    even = (height + height % 2, width + width % 2)
    if cb.shape != cr.shape or cb.shape != (even[0] // 2, even[1] // 2):
        raise ScreenRedactionError(f"colour planes of {cb.shape} for a {width}x{height} frame stored 4:2:0")
    rows = []
    for plane, (rows_to, columns_to) in ((y, even), (cb, cb.shape), (cr, cr.shape)):
        pad = ((0, rows_to - plane.shape[0]), (0, _row(columns_to) - plane.shape[1]))
        rows.append((np.pad(plane, pad, mode="edge") if pad != ((0, 0), (0, 0)) else plane).ravel())
    buffer = np.concatenate(rows)
    if buffer.size != _row(even[1]) * even[0] + 2 * _row(even[1] // 2) * (even[0] // 2):
        raise ScreenRedactionError(f"a planar buffer of {buffer.size} bytes for a {width}x{height} frame")
    try:
        jpeg: bytes = _turbo().encode_from_yuv(buffer, height, width, quality, _TJSAMP_420, _TJFLAG_ACCURATEDCT)
    except OSError as exc:
        raise ScreenRedactionError(f"the stored frame could not be encoded: {exc}") from exc
    return jpeg


def _row(width: int) -> int:
    """Bytes of a plane's row in the planar buffer: ``width`` padded to 4 (PyTurboJPEG's ``pad``)."""
    return width + -width % 4


def _jpeg_planes(data: bytes) -> tuple[Gray, Gray, Gray, tuple[int, int]] | None:
    """A JPEG's Y, Cb and Cr planes (the luma cropped to the image) and their subsampling;
    ``None`` for anything TurboJPEG does not decode to YCbCr planes (not a JPEG, gray, CMYK)."""
    if data[:3] != b"\xff\xd8\xff":
        return None
    turbo = _turbo()
    try:
        width, height, subsampling, colourspace = turbo.decode_header(data)
        if colourspace != _TJCS_YCBCR or subsampling not in SUBSAMPLING:
            return None
        y, cb, cr = turbo.decode_to_yuv_planes(data, flags=_TJFLAGS)
    except OSError as exc:
        raise ScreenRedactionError(f"the frame is not a whole JPEG: {exc}") from exc
    return np.ascontiguousarray(y[:height, :width]), cb, cr, SUBSAMPLING[subsampling]


def _downsized(plane: Gray, size: tuple[int, int]) -> Gray:
    """``plane`` box-filtered to ``size`` (width, height): ``Image.reduce`` for whole factors; a
    colour plane smaller than the stored frame (4:2:0 stored at full scale) is upsampled bilinearly."""
    height, width = plane.shape
    if (width, height) == size:
        return plane
    image = Image.fromarray(plane)
    fx, fy = width / size[0], height / size[1]
    if fx.is_integer() and fy.is_integer():
        image = image.reduce((int(fx), int(fy)))
    elif fx < 1 or fy < 1:
        image = image.resize(size, Image.Resampling.BILINEAR)
    else:
        image = image.resize(size, Image.Resampling.BOX)
    out: Gray = np.asarray(image)
    return out


@functools.cache
def _turbo() -> Any:
    """The process's TurboJPEG (libjpeg-turbo's ``libturbojpeg``, a system library), strict: a
    warning (a truncated or corrupt JPEG) is an error, as the planes would be partly unwritten
    (``PyTurboJPEG`` itself only warns and returns them)."""
    try:
        from turbojpeg import TurboJPEG

        if not hasattr(TurboJPEG, "_TurboJPEG__report_error"):
            raise RuntimeError("this PyTurboJPEG has no error hook to make strict (1.x is supported)")

        class Strict(TurboJPEG):  # type: ignore[misc]
            def _TurboJPEG__report_error(self, handle: Any) -> None:  # the name PyTurboJPEG calls
                raise OSError(self._TurboJPEG__get_error_string(handle))

        return Strict()
    except (ImportError, OSError, RuntimeError) as exc:
        raise ScreenRedactionError(
            f"libjpeg-turbo's TurboJPEG library cannot be loaded ({exc}): "
            "install it (Debian: apt-get install libturbojpeg0)"
        ) from exc


def background(gray: Gray, box: Box) -> int:
    """The median gray of a 2-pixel ring around ``box``: a covered word reads as blank space."""
    ring = box.pad(2).clip(gray.shape[1], gray.shape[0])
    outer = gray[ring.y0 : ring.y1, ring.x0 : ring.x1]
    if outer.size == 0:
        return 0
    edge = np.concatenate([outer[0], outer[-1], outer[:, 0], outer[:, -1]])
    return int(np.median(edge))
