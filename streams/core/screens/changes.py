"""Where a frame changed since the previous one, as regions worth reading again (pure core).

Frames are compared on the luma plane at full resolution. JPEG blocks of unchanged content
decode to the same values, so rows without any difference are skipped at once; elsewhere the
difference is averaged over CELL x CELL cells, and a cell changed when its mean moved by more
than a few levels (which the JPEG noise of content moved by a scroll does not do, see
``scrolling``). Changed cells are grouped into row bands and column runs, and each run is
grown along the text it touches (through columns and rows with ink, across gaps narrower
than a word gap) so a word or line that changed in one character is read whole.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from streams.core.screens.geometry import Box
from streams.core.screens.pixels import Gray

CELL = 8  # pixels
THRESHOLD = 6.0  # gray levels of a cell's mean difference
ROW_GAP = 1  # cells
COL_GAP = 3  # cells
INK_GAP_X = 20  # pixels without ink that end a text run sideways
INK_GAP_Y = 4
MAX_GROW_Y = 16  # pixels up and down: a line, not the paragraph around it
INK_CONTRAST = 48
FULL_SHARE = 0.5  # beyond this share of changed cells, read the whole frame

Cells = npt.NDArray[np.bool_]


def changed_cells(current: Gray, reference: Gray) -> Cells:
    """Cells (CELL x CELL, edges cropped) whose mean gray differs between the two planes."""
    height, width = current.shape[0] // CELL * CELL, current.shape[1] // CELL * CELL
    cells = np.zeros((height // CELL, width // CELL), dtype=bool)
    rows = (current[:height, :width] != reference[:height, :width]).reshape(height // CELL, -1).any(axis=1)
    for r0, r1 in runs(np.flatnonzero(rows), 0):
        a = current[r0 * CELL : r1 * CELL, :width].astype(np.int16)
        b = reference[r0 * CELL : r1 * CELL, :width].astype(np.int16)
        sums = (a - b).reshape(r1 - r0, CELL, width // CELL, CELL).sum(axis=(1, 3), dtype=np.int32)
        cells[r0:r1] = np.abs(sums) > THRESHOLD * CELL * CELL
    return cells


def runs(indices: npt.NDArray[np.intp], gap: int) -> list[tuple[int, int]]:
    """Runs ``[first, last + 1)`` of sorted indices, splitting where two are more than ``gap`` apart."""
    runs: list[tuple[int, int]] = []
    for i in indices.tolist():
        if runs and i - runs[-1][1] <= gap:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def grow(ink: npt.NDArray[np.bool_], start: int, end: int, gap: int, most: int = 1 << 30) -> tuple[int, int]:
    """``[start, end)`` widened through ``ink`` until ``gap`` inkless positions in a row, by ``most``."""
    lo, miss = start, 0
    while lo > max(0, start - most) and miss < gap:
        lo -= 1
        miss = 0 if ink[lo] else miss + 1
    hi, miss = end, 0
    while hi < min(len(ink), end + most) and miss < gap:
        miss = 0 if ink[hi] else miss + 1
        hi += 1
    return lo, hi


def cell_boxes(cells: Cells, width: int, height: int) -> list[Box]:
    """Boxes (image pixels) around groups of changed cells."""
    boxes = []
    for r0, r1 in runs(np.flatnonzero(cells.any(axis=1)), ROW_GAP):
        for c0, c1 in runs(np.flatnonzero(cells[r0:r1].any(axis=0)), COL_GAP):
            boxes.append(Box(c0 * CELL, r0 * CELL, c1 * CELL, r1 * CELL).clip(width, height))
    return boxes


def regions(gray: Gray, cells: Cells) -> list[Box]:
    """Regions of ``gray`` to read again for ``cells``; the whole frame when most of it changed."""
    height, width = gray.shape
    if cells.size and cells.mean() > FULL_SHARE:
        return [Box(0, 0, width, height)]
    grown = [along_text(gray, box.pad(CELL // 2).clip(width, height)) for box in cell_boxes(cells, width, height)]
    return merge(grown)


def along_text(gray: Gray, box: Box) -> Box:
    """``box`` grown sideways and then up and down along the text it touches."""
    band = gray[box.y0 : box.y1]
    ink_x = (band.max(axis=0).astype(np.int16) - band.min(axis=0)) > INK_CONTRAST
    x0, x1 = grow(ink_x, box.x0, box.x1, INK_GAP_X)
    column = gray[:, x0:x1]
    ink_y = (column.max(axis=1).astype(np.int16) - column.min(axis=1)) > INK_CONTRAST
    y0, y1 = grow(ink_y, box.y0, box.y1, INK_GAP_Y, MAX_GROW_Y)
    return Box(x0, y0, x1, y1)


def merge(boxes: list[Box]) -> list[Box]:
    """Overlapping boxes merged until none overlap."""
    merged: list[Box] = []
    for box in sorted(boxes):
        for i, other in enumerate(merged):
            if other.intersects(box):
                merged[i] = Box(
                    min(other.x0, box.x0), min(other.y0, box.y0), max(other.x1, box.x1), max(other.y1, box.y1)
                )
                return merge(merged)
        merged.append(box)
    return merged
