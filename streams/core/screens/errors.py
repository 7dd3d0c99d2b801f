"""Errors of screen-frame redaction (pure core).

    TeachstreamError                  (schemas.errors)
    └── ScreenRedactionError          a frame could not be redacted; dead-letter it, never forward it
        └── FrameDeadlineError        redaction took longer than the frame's CPU deadline

The caller sends the frame to ``deadletter`` with ``str(error)`` as the reason (never the
image bytes) and does not forward it to ``screens.clean``.
"""

from __future__ import annotations

from schemas.errors import TeachstreamError


class ScreenRedactionError(TeachstreamError):
    """A frame could not be redacted (bad image, OCR failure, ...): dead-letter it, fail closed."""


class FrameDeadlineError(ScreenRedactionError):
    """Redacting a frame used more CPU time than its deadline allows."""
