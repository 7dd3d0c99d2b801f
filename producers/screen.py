"""Screenshots of every monitor with mss, scaled and JPEG-encoded with Pillow (edge).

Windows the policy denies are blacked out on the device before encoding, even when they
are only visible and not focused. A digest of the grabbed pixels (CRC-32, with the scale and
the rectangles blacked out) lets the caller skip a frame identical to the previous one of the
same monitor (``is_new``) before anything else is done with it; a collision, one in four
billion, would cost one frame, never a leak.

The pixels are never converted to RGB: mss's BGRX buffer becomes a Pillow image without a
copy (its channels swapped as far as Pillow knows), is scaled (an integer factor by box
averaging, ``Image.reduce``, which is also what a 0.5 scale needs) and blacked out as it is,
and the JPEG encoder reads it with the ``BGR`` packer, which puts the channels back in
order. A full-frame RGB copy would cost 8 MB and more CPU than the encoding itself.

Every grab allocates full-frame buffers (mss's copy of the shared memory, and a copy of it
when windows are blacked out). glibc returns such large blocks to the system when they are freed, so each grab
paid again for fresh pages (4,000 page faults, half the frame's CPU time); on glibc the
screens keep them in the heap for the next grab instead (:func:`_reuse_large_buffers`),
which costs no more peak memory, as the buffers of one grab are needed anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import mss
from PIL import Image, ImageDraw

from schemas.events import Monitor, VisibleWindow

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)


@functools.cache
def _reuse_large_buffers() -> bool:
    """Keep freed blocks of up to 32 MiB in the heap instead of unmapping them (glibc only; True if set)."""
    path = ctypes.util.find_library("c")
    if path is None:
        return False
    try:
        mallopt = ctypes.CDLL(path).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 64 << 20))


@dataclass(frozen=True)
class Shot:
    monitor: Monitor
    jpeg: bytes
    width: int
    height: int
    digest: bytes


class Screens:
    """Must be used from the thread that created it (mss keeps per-thread X resources)."""

    def __init__(self, scale: float = 0.5, quality: int = 70) -> None:
        self.scale, self.quality = scale, quality
        _reuse_large_buffers()
        self._sct = mss.mss()

    def monitors(self) -> list[Monitor]:
        return [
            Monitor(i, int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]))
            for i, m in enumerate(self._sct.monitors[1:], start=1)
        ]

    def grab(self, blackout: list[VisibleWindow], is_new: Callable[[int, bytes], bool] | None = None) -> list[Shot]:
        """One shot per monitor; ``blackout`` rectangles are filled black first.

        ``is_new(monitor index, digest)`` returning False skips that monitor's shot (unchanged).
        """
        out: list[Shot] = []
        for mon in self.monitors():
            raw = self._sct.grab({"left": mon.left, "top": mon.top, "width": mon.width, "height": mon.height})
            digest = self._digest(raw.raw, mon, blackout)
            if is_new is not None and not is_new(mon.index, digest):
                continue
            img = self._scaled(Image.frombuffer("RGBX", raw.size, raw.raw, "raw", "RGBX", 0, 1))  # B, G, R, X
            self._black_out(img, mon, blackout)
            out.append(Shot(mon, img.tobytes("jpeg", "BGR", self.quality), img.width, img.height, digest))
        return out

    def _digest(self, pixels: bytearray, mon: Monitor, blackout: list[VisibleWindow]) -> bytes:
        """What makes this monitor's frame what it is: its pixels, the scale and what is blacked out."""
        boxes = [(v.x, v.y, v.width, v.height) for v in blackout]
        meta = f"{zlib.crc32(pixels)} {mon} {self.scale} {self.quality} {boxes}".encode()
        return hashlib.blake2b(meta, digest_size=16).digest()

    def _scaled(self, bgrx: Image.Image) -> Image.Image:
        """The image at ``scale``, channels as they are (the image itself at full scale)."""
        w, h = max(1, round(bgrx.width * self.scale)), max(1, round(bgrx.height * self.scale))
        factor = min(bgrx.width // w, bgrx.height // h)
        if factor >= 2:
            bgrx = bgrx.reduce(factor)
        if bgrx.size != (w, h):
            bgrx = bgrx.resize((w, h), Image.Resampling.BILINEAR)
        return bgrx

    def _black_out(self, img: Image.Image, mon: Monitor, windows: list[VisibleWindow]) -> None:
        if not windows:
            return
        draw = ImageDraw.Draw(img)
        s = self.scale
        for v in windows:
            x0, y0 = (v.x - mon.left) * s, (v.y - mon.top) * s
            x1, y1 = x0 + v.width * s, y0 + v.height * s
            if x1 > 0 and y1 > 0 and x0 < img.width and y0 < img.height:
                draw.rectangle((x0, y0, x1, y1), fill=(0, 0, 0))

    def close(self) -> None:
        self._sct.close()
