"""Synthetic screenshots for simulated devices: a desktop with the focused window drawn (pure core)."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw

from schemas.events import Monitor, VisibleWindow, WindowContext


def render_frame(
    context: WindowContext, pointer: tuple[int, int], screen: tuple[int, int], scale: float, quality: int = 70
) -> tuple[bytes, tuple[int, int], tuple[VisibleWindow, ...]]:
    """A JPEG of the screen at ``scale``, and the visible windows with their rectangles."""
    sw, sh = screen
    w, h = max(1, int(sw * scale)), max(1, int(sh * scale))
    tint = hashlib.sha256(context.app.encode()).digest()
    img = Image.new("RGB", (w, h), (30, 34, 42))
    draw = ImageDraw.Draw(img)
    win = (int(w * 0.08), int(h * 0.08), int(w * 0.92), int(h * 0.92))
    draw.rectangle(win, fill=(235, 235, 235), outline=(tint[0], tint[1], tint[2]), width=3)
    draw.rectangle((win[0], win[1], win[2], win[1] + max(8, h // 20)), fill=(tint[0], tint[1], tint[2]))
    draw.text((win[0] + 6, win[1] + 2), context.app, fill=(255, 255, 255))
    px, py = int(pointer[0] * scale), int(pointer[1] * scale)
    draw.polygon([(px, py), (px + 8, py + 12), (px + 3, py + 12)], fill=(0, 0, 0))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    windows = (
        VisibleWindow(
            context.app,
            context.title,
            int(sw * 0.08),
            int(sh * 0.08),
            int(sw * 0.84),
            int(sh * 0.84),
            focused=True,
            host=context.host,  # a browser window's site, as the extension reports it
        ),
    )
    return out.getvalue(), (w, h), windows


def primary_monitor(screen: tuple[int, int]) -> Monitor:
    return Monitor(index=1, left=0, top=0, width=screen[0], height=screen[1])
