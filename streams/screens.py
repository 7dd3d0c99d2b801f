"""The screen redaction's public API, usable without Kafka (edge of the public interface).

    jpeg, removed = streams.screens.redact_frame(jpeg, windows, policy=None, known_pii=[])

``windows``: the frame's window records (``schemas.events.VisibleWindow``; may be empty);
``policy``: a :class:`schemas.capture_policy.CapturePolicy` (``None``: the built-in one);
``known_pii``: strings to cover wherever they are read (may be empty). With no context at all
it still finds and covers PII by reading the pixels. ``removed`` lists what was covered
(labels and boxes in the returned image's pixels, never text). Raises
:class:`streams.core.screens.ScreenRedactionError` when a frame cannot be redacted: such a
frame must not be stored. The stream worker uses the same code through
:class:`streams.core.screen_redactor.ScreenRedactor`.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.capture_policy import CapturePolicy
from schemas.events import VisibleWindow
from streams.core.screens import FrameState, Removed, ScreenRedactionError
from streams.core.screens import redact_frame as _redact

__all__ = ["FrameState", "Removed", "ScreenRedactionError", "redact_frame"]


def redact_frame(
    jpeg: bytes,
    windows: Sequence[VisibleWindow] = (),
    policy: CapturePolicy | None = None,
    known_pii: Sequence[str] = (),
    *,
    scale: float = 1.0,
    origin: tuple[int, int] = (0, 0),
    output_scale: float | None = None,
    state: FrameState | None = None,
) -> tuple[bytes, list[Removed]]:
    """The frame with denied windows and PII covered by solid fills, and what was covered."""
    return _redact(jpeg, windows, policy, known_pii, scale=scale, origin=origin, state=state, output_scale=output_scale)
