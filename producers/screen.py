"""Screenshots of every monitor with mss, scaled and JPEG-encoded with Pillow (edge).

Windows the policy denies are blacked out on the device before encoding, even when they
are only visible and not focused. The digest of the scaled pixels lets the caller skip a
frame identical to the previous one of the same monitor (``is_new``), before it is encoded.

The grab is scaled while still in mss's BGRX layout, without a copy (an integer factor by
box averaging, ``Image.reduce``, which is also what a 0.5 scale needs); only the small image
is converted to RGB. That costs about a quarter of converting and resizing the full frame.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import mss
from PIL import Image, ImageDraw

from schemas.events import Monitor, VisibleWindow


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
            img = self._scaled(Image.frombuffer("RGBX", raw.size, raw.raw, "raw", "RGBX", 0, 1))  # B, G, R, X
            self._black_out(img, mon, blackout)
            digest = hashlib.blake2b(img.tobytes(), digest_size=16).digest()
            if is_new is not None and not is_new(mon.index, digest):
                continue
            buf = io.BytesIO()
            img.save(buf, format="JPEG", quality=self.quality, optimize=False)
            out.append(Shot(mon, buf.getvalue(), img.width, img.height, digest))
        return out

    def _scaled(self, bgrx: Image.Image) -> Image.Image:
        """The RGB image at ``scale``, from a BGRX image that shares mss's buffer."""
        w, h = max(1, round(bgrx.width * self.scale)), max(1, round(bgrx.height * self.scale))
        factor = min(bgrx.width // w, bgrx.height // h)
        if factor >= 2:
            bgrx = bgrx.reduce(factor)
        if bgrx.size != (w, h):
            bgrx = bgrx.resize((w, h), Image.Resampling.BILINEAR)
        return Image.frombytes("RGB", (w, h), bgrx.tobytes(), "raw", "BGRX")

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
