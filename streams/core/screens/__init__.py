"""Redaction of screen frames: denied windows and PII in the pixels covered with solid fills (pure core).

``redact_frame(jpeg, windows, policy, known_pii, scale=, origin=, state=, output_scale=,
quality=)`` takes a frame as the agent sends it (at full scale, 1.0), returns the JPEG
downsized to ``output_scale`` (the stored scale, 0.5 by default in the stage) with the
rectangles of denied windows filled (their parts not under a window above them) and every word that the text detectors
(``streams.core.redaction.find_pii``, names included) or the known strings find in what OCR
reads covered, and the list of ``Removed(label, x, y, w, h)`` in output pixels (never text).
Redaction works at full resolution, where OCR reads 9-24 px UI fonts, and fills are applied
before downsizing, snapped to whole output pixels, so nothing of a covered word reaches the
output. ``windows`` are any records with app/title/x/y/width/height/focused
(``schemas.events.VisibleWindow``). With a per-device ``FrameState`` only the regions that
changed since the previous frame are read again, findings move along with scrolled content,
and boxes found earlier in unchanged regions stay covered. Failures and deadline overruns
raise ``ScreenRedactionError`` (fail closed: dead-letter the frame).

Modules: ``geometry`` (boxes, window rectangles, output scale), ``pixels`` (decode, fill,
downsize, encode), ``ocr`` (Tesseract via tesserocr, polarity layers), ``matching`` (spans
and known strings to word boxes), ``changes`` (what changed), ``scrolling`` (what moved),
``state`` (per-device memory), ``redact`` (the steps), ``errors``. No I/O here beyond the
in-process OCR engine.
"""

from __future__ import annotations

from streams.core.screens.errors import FrameDeadlineError, ScreenRedactionError
from streams.core.screens.geometry import Box, Removed, WindowLike, window_box
from streams.core.screens.redact import redact_frame
from streams.core.screens.state import FrameState

__all__ = [
    "Box",
    "FrameDeadlineError",
    "FrameState",
    "Removed",
    "ScreenRedactionError",
    "WindowLike",
    "redact_frame",
    "window_box",
]
