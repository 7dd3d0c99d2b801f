"""A frame's pixels redacted: denied windows and PII covered, at full resolution, stored smaller (pure core).

:class:`ScreenRedactor` is the ``redact_pixels`` step of :class:`streams.core.frames.FrameCleaner`.
For each frame it takes the device's :class:`FrameState` (what the previous frame showed and
where PII was), the PII strings the device typed around the frame's time (``KnownPii``) and
the PII in the frame's own window titles, and calls :func:`streams.core.screens.redact_frame`.
Agents send frames at full scale; text that a person can read is read far better there, so
the redaction works on the full-scale image and the frame that goes on is downsized to
``stored_scale`` (0.5 by default) after every box was covered. A frame that arrives smaller
is kept at its own scale.

The states live in memory only (they hold text read from screens): after a restart or a
rebalance a device's first frame is read in full, so no frame ever goes on unredacted for
want of state. If redaction fails, the device's state is dropped and the error propagates:
the caller dead-letters the frame.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from PIL import Image

from schemas.capture_policy import CapturePolicy
from schemas.events import RemovedBox, ScreenFrame
from streams.core.known import KnownPii
from streams.core.redaction import PersonFinder, Span, find_pii, find_structured_pii
from streams.core.screens import FrameState, redact_frame

DEVICES = 2_000  # frame states kept (the least recently seen device is forgotten first)


class ScreenRedactor:
    def __init__(
        self,
        policy: CapturePolicy | None = None,
        known: KnownPii | None = None,
        names: PersonFinder | None = None,
        stored_scale: float = 0.5,
        quality: int = 70,
        deadline_s: float = 5.0,
    ) -> None:
        self.policy, self.known, self.names = policy or CapturePolicy(), known, names
        self.stored_scale, self.quality, self.deadline_s = stored_scale, quality, deadline_s
        self.states: OrderedDict[str, FrameState] = OrderedDict()

    def _find(self, text: str) -> Sequence[Span]:
        """The text detectors on one line read from the screen; names only where a letter is upper case (every
        person finder needs a capitalised word, and spaCy is most of the detectors' cost)."""
        if any(ch.isupper() for ch in text):
            return find_pii(text, self.names)
        return find_structured_pii(text)

    def _state(self, device_id: str) -> FrameState:
        state = self.states.get(device_id)
        if state is None:
            if len(self.states) >= DEVICES:
                self.states.popitem(last=False)
            state = self.states[device_id] = FrameState()
        self.states.move_to_end(device_id)
        return state

    def known_strings(self, frame: ScreenFrame) -> list[str]:
        """What to look for besides the detectors: the device's recently typed PII and the PII in its titles."""
        found = self.known.around(frame.device_id, frame.event_time) if self.known is not None else []
        for window in frame.windows:
            found += [window.title[s.start : s.end] for s in self._find(window.title)]
        return list(dict.fromkeys(f for f in found if len(f.strip()) >= 4))

    def __call__(self, frame: ScreenFrame) -> ScreenFrame:
        scale = frame.scale if frame.scale > 0 else 1.0
        out_scale = min(scale, self.stored_scale)
        try:
            image, removed = redact_frame(
                frame.image,
                frame.windows,
                self.policy,
                self.known_strings(frame),
                scale=scale,
                origin=(frame.monitor.left, frame.monitor.top),
                state=self._state(frame.device_id),
                output_scale=out_scale,
                quality=self.quality,
                deadline=self.deadline_s,
                find=self._find,
            )
        except Exception:
            self.states.pop(frame.device_id, None)  # the next frame of this device is read in full
            raise
        width, height = Image.open(io.BytesIO(image)).size
        boxes = tuple(RemovedBox(r.label, r.x, r.y, r.w, r.h) for r in removed)
        labels = tuple(dict.fromkeys([*frame.redactions, *(b.label for b in boxes)]))
        return replace(
            frame, image=image, width=width, height=height, scale=out_scale, removed=boxes, redactions=labels
        )

    def forget(self, device_ids: Sequence[str] | None = None) -> None:
        """Drop the states of these devices (all if None), e.g. when their partitions move to another worker."""
        if device_ids is None:
            self.states.clear()
        for device_id in device_ids or ():
            self.states.pop(device_id, None)
