"""Redaction of one segment of key events: PII characters lose their key and char (pure core).

``redact_segment(events)`` rebuilds the typed text (``streams.core.text``), runs the
detectors over the visible text of each run, over the runs joined (PII split by a caret
jump), and over every snapshot taken before deletions (PII typed then deleted). Each key
event that typed a character of a span, each character deleted inside or right next to the
span (typos), and the matching key releases lose ``key``, ``char`` and ``modifiers`` and carry
the span's label in ``redaction``.

Conservative rules: every character typed in a password context (sign-in window, or the line
after ``sudo``/``ssh``/... given as ``secret_input``) is ``PASSWORD``; in a segment marked
unknown (paste, caret jumps), the tokens touching each jump that hold anything besides
letters are ``UNCERTAIN``: a fragment of structured PII cannot be verified there. Already
redacted events stay as they are, so redacting twice changes nothing.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from schemas.events import InteractionEvent, KeyEvent
from streams.core.redaction.context import is_password_context
from streams.core.redaction.names import PersonFinder
from streams.core.redaction.pii import find_pii, find_structured_pii
from streams.core.redaction.remembered import Remembered
from streams.core.redaction.span import LABELS, Span
from streams.core.text import REDACTED_CHAR, Cell, Reconstruction, Typed, reconstruct

_MAX_PASSES = 4
_READINGS: Remembered[tuple[Span, ...]] = Remembered(4096)  # the spans of the texts read lately
_RANK = {label: i for i, label in enumerate((*LABELS, "UNCERTAIN"))}
_WORD = re.compile(r"[^\W\d_]+[.,;:!?]?")


@dataclass(frozen=True)
class RedactedSegment:
    """The segment's events with PII removed, and the label of every key event redacted now."""

    events: tuple[InteractionEvent, ...]
    counts: Counter[str]
    unknown: tuple[str, ...] = ()
    found: tuple[str, ...] = ()  # the PII strings as typed (for the screen redaction; never sent downstream)


class _Labels:
    def __init__(self) -> None:
        self.by_seq: dict[int, str] = {}

    def add(self, seq: int, label: str) -> None:
        old = self.by_seq.get(seq)
        if old is None or _RANK.get(label, 99) < _RANK.get(old, 99):
            self.by_seq[seq] = label


def _scan_run(run: Sequence[Cell], detect: Callable[[str], list[Span]], labels: _Labels) -> None:
    live = [i for i, c in enumerate(run) if c.alive]
    text = "".join(run[i].char for i in live)
    for span in detect(text):
        lo, hi = live[span.start], live[span.end - 1]
        while lo > 0 and not run[lo - 1].alive:
            lo -= 1
        while hi + 1 < len(run) and not run[hi + 1].alive:
            hi += 1
        for cell in run[lo : hi + 1]:
            labels.add(cell.seq, span.label)


def _tokens(cells: Sequence[Cell]) -> list[list[Cell]]:
    tokens: list[list[Cell]] = [[]]
    for cell in cells:
        if cell.char.isspace():
            if tokens[-1]:
                tokens.append([])
        else:
            tokens[-1].append(cell)
    return [t for t in tokens if t]


def _suspect_edges(runs: Sequence[Sequence[Cell]], labels: _Labels) -> None:
    """Tokens touching a caret jump (end of one run, start of the next) that are not plain words."""
    for i, run in enumerate(runs):
        live = [c for c in run if c.alive]
        tokens = _tokens(live)
        edges = []
        if i > 0 and tokens and not live[0].char.isspace():
            edges.append(tokens[0])
        if i < len(runs) - 1 and tokens and not live[-1].char.isspace():
            edges.append(tokens[-1])
        for token in edges:
            if not _WORD.fullmatch("".join(c.char for c in token)):
                for cell in token:
                    labels.add(cell.seq, "UNCERTAIN")


def redact_segment(
    events: Sequence[InteractionEvent],
    *,
    names: PersonFinder | None = None,
    secret_input: bool = False,
    typed: Reconstruction | None = None,
    secret: Collection[int] | None = None,
) -> RedactedSegment:
    """Redact the key events of one closed segment (one device and window, in seq order).

    ``names``: the person-name finder (default: spaCy NER + gazetteer if installed); pass
    ``secret_input=True`` for a line answering a password prompt; ``typed``: ``reconstruct(events)``, and
    ``secret``: the seqs of the events in a password context (``is_password_context``), if the caller has them
    already. Detection runs again over
    the redacted text until nothing new is found (redacting can uncover a span whose edge
    was hidden by a neighbour, e.g. two values typed without a space), so the result is a
    fixed point: redacting it again changes nothing.

    Each pass reads the text as the events redacted so far would rebuild it: the previous pass's text with
    each character it labelled replaced by ``REDACTED_CHAR`` (a redacted key event types that character where
    the key typed its own, and changes nothing else), and the events are rebuilt once, at the end.
    """
    labels = label_segment(events, names=names, secret_input=secret_input, typed=typed, secret=secret)
    by_index = labels.by_index
    out = tuple(redacted(event, by_index[i]) if i in by_index else event for i, event in enumerate(events))
    return RedactedSegment(out, Counter(by_index.values()), labels.unknown, labels.found)


@dataclass(frozen=True)
class SegmentLabels:
    """What the redaction of a segment redacts: the label of each key event, by its index in the segment."""

    by_index: dict[int, str]
    unknown: tuple[str, ...]
    readings: tuple[tuple[tuple[tuple[Cell, ...], ...], dict[int, str]], ...]  # each pass's runs and labels

    @functools.cached_property
    def found(self) -> tuple[str, ...]:
        """The PII strings as typed, as the passes read them (worked out only when asked: an early release does
        not need them)."""
        found: list[str] = []
        for runs, by_seq in self.readings:
            found += [f for f in _found(runs, by_seq) if f not in found]
        return tuple(found)


def label_segment(
    events: Sequence[InteractionEvent],
    *,
    names: PersonFinder | None = None,
    secret_input: bool = False,
    typed: Reconstruction | None = None,
    secret: Collection[int] | None = None,
) -> SegmentLabels:
    """What ``redact_segment`` redacts in ``events``, without rebuilding the events (for a caller that needs a
    part of them only)."""
    recon = typed or reconstruct(events)
    if secret_input or secret is None:  # what they type: PASSWORD
        secret = {e.seq for e in events if secret_input or is_password_context(e.context)}
    done: dict[int, str] = {}  # index in ``events`` -> label, of the events redacted by the passes so far
    read: set[int] = set()  # the seqs of the characters the passes so far labelled
    readings = []
    for _ in range(_MAX_PASSES):
        by_seq = _labels(recon, names, secret)
        readings.append((recon.runs, by_seq))
        if by_seq.keys() <= read:  # labelled before, so its key was redacted then (a release types nothing)
            break
        read.update(by_seq)
        new = _newly_redacted(events, by_seq, done)
        if not new:
            break
        done.update(new)
        recon = _typed_over(recon, {events[i].seq for i in new})
    return SegmentLabels(done, recon.unknown, tuple(readings))


def redacted(event: InteractionEvent, label: str) -> InteractionEvent:
    """A key event redacted: no key, char or modifiers, and the label."""
    key = event.payload
    assert isinstance(key, KeyEvent)
    return replace(event, payload=replace(key, key="", char=None, modifiers=(), redaction=label))


def _labels(recon: Reconstruction, names: PersonFinder | None, secret: Collection[int]) -> dict[int, str]:
    """The label of each typed character (by seq) that one reading of ``recon`` finds PII; every character typed
    by the key events of ``secret`` is a password."""
    labels = _Labels()
    detect: Callable[[str], list[Span]] = lambda text: _find_pii(text, names)  # noqa: E731
    for run in recon.runs:
        _scan_run(run, detect, labels)
    if len(recon.runs) > 1:
        joined = [c for run in recon.runs for c in run if c.alive]
        _scan_run(joined, find_structured_pii, labels)
        _suspect_edges(recon.runs, labels)
    for snapshot in recon.snapshots:
        cells = [Cell(t.char, t.seq) for t in snapshot]
        _scan_run(cells, detect, labels)
    if secret:
        for cell in (c for run in recon.runs for c in run):
            if cell.seq in secret and cell.char not in "\n\t":  # enter and tab stay visible
                labels.add(cell.seq, "PASSWORD")
    return labels.by_seq


def _find_pii(text: str, names: PersonFinder | None) -> list[Span]:
    """``find_pii``, remembered per text. A segment's runs are read again, mostly unchanged: at the next pass (a
    run with nothing redacted reads the same), at each ask of the early release (the runs before a click) and at
    its close. The spans depend on the text and the name finder only, so those are the key; what is kept is a
    keyed digest of the text and where its spans are, no typed text."""
    key = _READINGS.key(text, names)
    spans = _READINGS.get(key)
    if spans is None:
        spans = tuple(find_pii(text, names))
        _READINGS.put(key, spans)
    return list(spans)


def _typed_over(recon: Reconstruction, seqs: set[int]) -> Reconstruction:
    """``recon`` with the characters typed by the key events of ``seqs`` read as ``REDACTED_CHAR``: the text the
    events rebuild once those are redacted."""
    runs = tuple(tuple(Cell(REDACTED_CHAR, c.seq, c.alive) if c.seq in seqs else c for c in run) for run in recon.runs)
    snapshots = tuple(tuple(Typed(REDACTED_CHAR, t.seq) if t.seq in seqs else t for t in s) for s in recon.snapshots)
    return Reconstruction(runs, snapshots, recon.unknown)


def _found(runs: Sequence[Sequence[Cell]], by_seq: dict[int, str]) -> tuple[str, ...]:
    """The visible strings whose characters were labelled (not UNCERTAIN), as they stand on the screen."""
    found: list[str] = []
    for run in runs:
        current: list[str] = []
        for cell in [*(c for c in run if c.alive), None]:
            if cell is not None and by_seq.get(cell.seq, "UNCERTAIN") != "UNCERTAIN":
                current.append(cell.char)
                continue
            text = "".join(current).strip()
            if len(text) >= 4 and text not in found:
                found.append(text)
            current = []
    return tuple(found)


def _newly_redacted(events: Sequence[InteractionEvent], by_seq: dict[int, str], done: dict[int, str]) -> dict[int, str]:
    """Index -> label of the key events a pass's labels redact, besides those redacted already (``done``, or on
    the way in): each labelled press, and the release that ends it, the next release of its key (of the presses
    a release ends, the highest-ranked label). Only the labelled presses and what follows them are read."""
    if not by_seq:
        return {}
    index = {event.seq: i for i, event in enumerate(events)}
    twice = len(index) < len(events)  # a seq more than once (never from one device): every event of it
    new: dict[int, str] = {}
    for seq, label in by_seq.items():
        for i in [k for k, e in enumerate(events) if e.seq == seq] if twice else (index.get(seq, -1),):
            key = events[i].payload if i >= 0 else None
            if not isinstance(key, KeyEvent) or not key.pressed or key.redaction is not None or i in done:
                continue
            new[i] = label
            j = next((j for j in range(i + 1, len(events)) if _ends(events[j].payload, key.key, j, done)), None)
            if j is not None and (j not in new or _RANK.get(label, 99) < _RANK.get(new[j], 99)):
                new[j] = label
    return new


def _ends(payload: object, key: str, j: int, done: dict[int, str]) -> bool:
    """Whether the event at ``j`` releases ``key`` (a release redacted already ends nothing)."""
    return (
        isinstance(payload, KeyEvent)
        and not payload.pressed
        and payload.redaction is None
        and j not in done
        and payload.key.lower() == key.lower()
    )
