"""Boxes in image pixels, window rectangles mapped from screen coordinates, boxes mapped to
the output scale, and the ``Removed`` record of what was covered (pure core)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol


class WindowLike(Protocol):
    """What redaction needs of a window record (``schemas.events.VisibleWindow`` has it)."""

    @property
    def app(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def x(self) -> int: ...
    @property
    def y(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def focused(self) -> bool: ...


@dataclass(frozen=True, order=True)
class Box:
    """An axis-aligned rectangle in image pixels: ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def pad(self, dx: int, dy: int | None = None) -> Box:
        dy = dx if dy is None else dy
        return Box(self.x0 - dx, self.y0 - dy, self.x1 + dx, self.y1 + dy)

    def clip(self, width: int, height: int) -> Box:
        return Box(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))

    def intersection(self, other: Box) -> Box:
        return Box(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))

    def intersects(self, other: Box) -> bool:
        return self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1

    def contains(self, other: Box) -> bool:
        return self.x0 <= other.x0 and self.y0 <= other.y0 and other.x1 <= self.x1 and other.y1 <= self.y1

    def shift(self, dx: int, dy: int) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def scaled(self, scale: float) -> Box:
        """This box at ``scale``, rounded outwards: every pixel it touched is inside."""
        return Box(
            math.floor(self.x0 * scale),
            math.floor(self.y0 * scale),
            math.ceil(self.x1 * scale),
            math.ceil(self.y1 * scale),
        )


def union(boxes: Iterable[Box]) -> Box:
    """The smallest box holding every box (at least one is needed)."""
    items = list(boxes)
    return Box(min(b.x0 for b in items), min(b.y0 for b in items), max(b.x1 for b in items), max(b.y1 for b in items))


def subtract(box: Box, hole: Box) -> list[Box]:
    """The parts of ``box`` outside ``hole``: at most four boxes (above, below, left, right)."""
    if not box.intersects(hole):
        return [] if box.empty() else [box]
    cut = box.intersection(hole)
    parts = [
        Box(box.x0, box.y0, box.x1, cut.y0),
        Box(box.x0, cut.y1, box.x1, box.y1),
        Box(box.x0, cut.y0, cut.x0, cut.y1),
        Box(cut.x1, cut.y0, box.x1, cut.y1),
    ]
    return [p for p in parts if not p.empty()]


def visible_parts(box: Box, above: Iterable[Box]) -> list[Box]:
    """The parts of ``box`` that no box of ``above`` (the windows stacked over it) hides."""
    parts = [] if box.empty() else [box]
    for hole in above:
        parts = [piece for part in parts for piece in subtract(part, hole)]
    return parts


def snapped(box: Box, scale: float) -> Box:
    """``box`` grown outwards to the edges of whole output pixels at ``scale`` (input pixels),
    so that downsizing mixes no pixel of the box with a pixel outside the grown box."""
    if scale >= 1:
        return box
    out = box.scaled(scale)
    return Box(
        math.floor(out.x0 / scale), math.floor(out.y0 / scale), math.ceil(out.x1 / scale), math.ceil(out.y1 / scale)
    )


@dataclass(frozen=True)
class Removed:
    """One region covered with a solid fill: its label (``DENIED_WINDOW``, ``EMAIL``, ``KNOWN``, ...)
    and its rectangle in output image pixels. Never the text that was under it."""

    label: str
    x: int
    y: int
    w: int
    h: int

    @staticmethod
    def of(label: str, box: Box) -> Removed:
        return Removed(label, box.x0, box.y0, box.width, box.height)

    @property
    def box(self) -> Box:
        return Box(self.x, self.y, self.x + self.w, self.y + self.h)


def window_box(window: WindowLike, scale: float, origin: tuple[int, int]) -> Box:
    """The window's rectangle (screen coordinates) in image pixels, rounded outwards.

    ``origin`` is the monitor's left/top in screen coordinates; ``scale`` image px per screen px.
    """
    left, top = window.x - origin[0], window.y - origin[1]
    return Box(left, top, left + window.width, top + window.height).scaled(scale)
