"""Which OCR'd words are PII: the text detectors' spans and known strings mapped to word boxes (pure core).

``find_pii`` (the detectors of typed text, names included) runs on each line's text; a span
covers every word it touches. Known strings (PII the clean stage found in the same device's
typed text and titles) are searched in each line's letters and digits only, lowercased, so
OCR's spaces, dots and case do not matter, with an approximate substring match (edit
distance at most ``max(1, len // 6)``) that tolerates OCR misreadings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from streams.core.redaction import Span
from streams.core.screens.geometry import Box
from streams.core.screens.ocr import Line

_NOT_ALNUM = re.compile(r"[^0-9a-z]")
MIN_KNOWN = 4  # shorter known strings would match everywhere


@dataclass(frozen=True)
class Hit:
    """A word box to cover and why."""

    label: str
    box: Box


def normalize(text: str) -> str:
    """Lowercased letters and digits only."""
    return _NOT_ALNUM.sub("", text.lower())


def detector_hits(line: Line, spans: Callable[[str], Sequence[Span]]) -> list[Hit]:
    """Word boxes of ``line`` touched by a span that ``spans`` finds in the line's text."""
    text, starts = "", []
    for word in line.words:
        if text:
            text += " "
        starts.append(len(text))
        text += word.text
    hits = []
    for span in spans(text):
        for word, start in zip(line.words, starts, strict=True):
            if start < span.end and span.start < start + len(word.text):
                hits.append(Hit(span.label, word.box))
    return hits


def fuzzy_find(haystack: str, needle: str, max_edits: int) -> tuple[int, int] | None:
    """The ``(start, end)`` of the best approximate occurrence of ``needle`` in ``haystack``
    (Sellers' algorithm), or ``None`` when every occurrence needs more than ``max_edits`` edits."""
    m = len(needle)
    if m == 0 or not haystack:
        return None
    previous = list(range(m + 1))
    origin = [0] * (m + 1)  # where the alignment ending here started in haystack
    best: tuple[int, int, int] | None = None
    for j, ch in enumerate(haystack, start=1):
        current, cur_origin = [0], [j]
        for i in range(1, m + 1):
            options = (
                (previous[i - 1] + (needle[i - 1] != ch), origin[i - 1]),
                (previous[i] + 1, origin[i]),
                (current[i - 1] + 1, cur_origin[i - 1]),
            )
            cost, start = min(options)
            current.append(cost)
            cur_origin.append(start)
        if current[m] <= max_edits and (best is None or current[m] < best[0]):
            best = (current[m], cur_origin[m], j)
        previous, origin = current, cur_origin
    return None if best is None else (best[1], best[2])


def max_edits(needle: str) -> int:
    return max(1, len(needle) // 6)


def _may_occur(haystack: str, needle: str, edits: int) -> bool:
    """Whether ``needle`` may occur in ``haystack`` with at most ``edits`` edits: cut in
    ``edits + 1`` pieces, one piece at least is left untouched by the edits, so it occurs
    exactly (a filter that never drops a match, and spares most lines the alignment)."""
    size = len(needle) // (edits + 1)
    if size < 2:
        return True
    return any(needle[i * size : (i + 1) * size] in haystack for i in range(edits + 1))


def known_hits(line: Line, known: Sequence[str]) -> list[Hit]:
    """Word boxes of ``line`` holding an approximate occurrence of a known string."""
    norm, owner = "", []
    for index, word in enumerate(line.words):
        piece = normalize(word.text)
        norm += piece
        owner += [index] * len(piece)
    hits = []
    for value in known:
        needle = normalize(value)
        if len(needle) < MIN_KNOWN:
            continue
        edits = max_edits(needle)
        if not _may_occur(norm, needle, edits):
            continue
        found = fuzzy_find(norm, needle, edits)
        if found is not None and found[1] > found[0]:
            for index in sorted(set(owner[found[0] : found[1]])):
                hits.append(Hit("KNOWN", line.words[index].box))
    return hits


_EMAIL_SHAPE = re.compile(r"\S{2,}[@©®]\S{2,}|\S{3,}\.(com|org|net|io|edu|gov|co|de|fr|uk|es|it|nl)\b", re.IGNORECASE)
MIN_DIGITS = 9


def shape_hits(line: Line) -> list[Hit]:
    """Words that look like PII OCR has misread: email-shaped words (an ``@`` or a domain
    ending, and the words before them that end in ``.``, ``_`` or ``-``), and runs of
    digit-heavy words with ``MIN_DIGITS`` digits or more (cards, IBANs, phones whose ones
    and sevens OCR reads as letters)."""
    hits = []
    for index, shown in enumerate(line.words):
        if _EMAIL_SHAPE.search(shown.text):
            hits.append(Hit("EMAIL", shown.box))
            # OCR splits "laura. miller@x.org" at the dot: the part before goes too
            for before in reversed(line.words[:index]):
                if not before.text.endswith((".", "_", "-")):
                    break
                hits.append(Hit("EMAIL", before.box))
    run: list[Box] = []
    digits = 0
    for word in [*line.words, None]:
        count = sum(ch.isdigit() for ch in word.text) if word else 0
        if word is not None and count * 2 >= len(word.text) and count > 0:
            run.append(word.box)
            digits += count
            continue
        if digits >= MIN_DIGITS:
            hits += [Hit("NUMBER", box) for box in run]
        run, digits = [], 0
    return hits
