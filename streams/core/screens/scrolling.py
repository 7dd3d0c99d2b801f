"""Content that moved up or down since the previous frame (a scroll), found by matching rows (pure core).

Inside a large changed box, each row is summarised by its mean gray in ``STRIPS`` column
strips. A few rows with ink vote for the shifts at which a row of the previous frame looks
the same; the best-voted shifts are checked on every row of the overlap, and one is
accepted when the rows match within JPEG noise and much better than without a shift. The
previous frame's findings in the box are then moved by the shift instead of being read
again, and only what the move does not explain (the rows scrolled into view) is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.core.screens.geometry import Box
from streams.core.screens.pixels import Gray

MIN_SIZE = 96  # pixels, both ways: smaller changes are read, not matched
STRIPS = 16
VOTERS = 12
MATCH = 1.5  # mean gray difference of a row's strips that counts as the same row
ACCEPT = 2.0  # mean difference over the overlap for a shift to be taken
MIN_OVERLAP = 0.4  # share of the box's rows that must remain after the shift

Profile = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Scroll:
    """The content of ``box`` moved by ``dy`` pixels: ``current[y] == previous[y + dy]``."""

    box: Box
    dy: int

    @property
    def source(self) -> Box:
        """Where the content shown in ``box`` was in the previous frame (clipped to ``box``)."""
        return self.box.shift(0, self.dy).intersection(self.box)


def _profile(gray: Gray, box: Box) -> Profile:
    width = box.width // STRIPS * STRIPS
    crop = gray[box.y0 : box.y1, box.x0 : box.x0 + width].astype(np.float32)
    result: Profile = crop.reshape(box.height, STRIPS, width // STRIPS).mean(axis=2)
    return result


def _score(current: Profile, previous: Profile, dy: int) -> float:
    n = len(current)
    if dy >= 0:
        a, b = current[: n - dy], previous[dy:]
    else:
        a, b = current[-dy:], previous[: n + dy]
    return float(np.abs(a - b).mean())


def find_scroll(current: Gray, previous: Gray, box: Box) -> Scroll | None:
    """The vertical shift of the content of ``box`` since ``previous``, or ``None``."""
    if box.width < MIN_SIZE or box.height < MIN_SIZE:
        return None
    cur, prev = _profile(current, box), _profile(previous, box)
    n = len(cur)
    spread = cur.max(axis=1) - cur.min(axis=1)
    inked = np.flatnonzero(spread > 16)
    if len(inked) < VOTERS:
        return None
    votes: Counter[int] = Counter()
    for row in inked[np.linspace(0, len(inked) - 1, VOTERS).astype(int)].tolist():
        distance = np.abs(prev - cur[row]).mean(axis=1)
        for match in np.flatnonzero(distance < MATCH).tolist():
            votes[match - row] += 1
    most = round(n * (1 - MIN_OVERLAP))
    candidates = [dy for dy, _ in votes.most_common(4) if dy != 0 and abs(dy) <= most]
    if not candidates:
        return None
    best = min(candidates, key=lambda dy: _score(cur, prev, dy))
    score = _score(cur, prev, best)
    if score > ACCEPT or score * 4 > _score(cur, prev, 0):
        return None
    return Scroll(box, best)


def shifted(previous: Gray, scroll: Scroll) -> Gray:
    """The previous plane with the content of the scroll's box moved as the scroll says."""
    out = previous.copy()
    src = scroll.source
    dst = src.shift(0, -scroll.dy)
    out[dst.y0 : dst.y1, dst.x0 : dst.x1] = previous[src.y0 : src.y1, src.x0 : src.x1]
    return out
