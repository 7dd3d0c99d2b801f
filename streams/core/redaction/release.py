"""Which held events of an open typing segment may go downstream before it closes (pure core).

A segment is held whole until it closes, so that PII typed across many key events is found
together; a long sentence therefore waited for its enter or pause. ``releasable`` lets the
start of it go once nothing typed later can make it part of PII. A word may go when

- it is a plain word: lower-case letters, with an apostrophe and a trailing punctuation mark
  at most; lower-case letters with signs but no digit, or shell operators ("--rebase",
  "/var/log", "&&"); a capitalised common word that is no person name, no title ("Thanks",
  "Meeting", "I"), only with the name book as the name finder (spaCy reads the whole sentence);
- the detectors, run over the whole segment as typed so far, label none of its characters,
  or every one of them: then it goes redacted (a card number, an email address) once three
  plain words follow it (no value of several words runs across them, so it is complete and
  its label final), and the plain words after it need not wait for the segment's end;
- in the run still being typed, ``margin`` complete words follow it (a name's cues after it,
  "Sefo is out", "Tevita Fifita approved", are one or two words; the word being typed never
  goes); in a run a click ended (what is typed next goes elsewhere, and names are read per
  run), whitespace follows it, or the next run's first word is complete (a word cut by the
  click may go on in the next run, "john" + ".doe@example.com", and the runs joined are read
  for that).

Every detector that can label a plain word needs a cue before it ("my password is", "call"),
and the cue is in the segment as typed so far; PII of several words starts with a word that
has a digit or a capital, which waits, and so does everything after it; a capitalised word
that is no name stays no name whatever follows it. So a released word is never part of PII
found later in its segment.

Released are the longest prefix, by seq, of the held events whose characters are all in such
words or the spaces between them: pointer events, shift, and key releases whose press went.
Anything the reconstruction cannot follow (a paste, a selection, arrow keys, a deletion, an
unknown key) or a password context ends the prefix: the rest waits for the segment's end as
before. A character released and deleted later, next to PII typed after it, is what the
segment's close labels among released events; the caller counts it (its letters were a plain
word, never PII).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.events import InteractionEvent, KeyEvent, MouseButton
from streams.core.redaction.context import is_password_context
from streams.core.redaction.namebook import fold, namebook
from streams.core.redaction.names import CombinedPersonFinder, PersonFinder, SpacyPersonFinder
from streams.core.redaction.segment import redact_segment
from streams.core.text import SHIFT_KEYS, Cell, reconstruct

PLAIN_AFTER = 3  # plain words after a word that may start PII (a digit, a sign, a capital) before it may go
_PLAIN = re.compile(r"[a-z]+(?:['’][a-z]+)?[.,;:!?]?")
# Lower-case words with signs but no digit ("-la", "--rebase", "/var/log", "|", "&&"): the multi-word PII that
# holds such a word starts with a word that has a digit or a capital (a card, an IBAN, a phone number, a NINO)
_COMMAND = re.compile(r"(?=.*[a-z])[a-z./_~=:-]+|[|&;<>]+")
_CAPITALISED = re.compile(r"([A-Z][a-z]*)((?:['’][a-z]+)?)[.,;:!?]?")
_TITLES = frozenset(["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "mme", "mlle", "herr", "frau", "sir", "madam"])
_FOLLOWABLE = frozenset({"mouse click"})  # what the reconstruction marks unknown that still leaves every run known
_CLUES = re.compile(r"[@:_\-\ue000]|pass|pwd|pin")  # with a capital or a digit: what any detector needs
_LETTERS = re.compile(r"[^\W\d_]+[.,;:!?]?")  # a word that is no suspect at a click (as redaction.segment has it)
_SILENT = SHIFT_KEYS | {"caps_lock"}  # presses that type nothing and move no caret


def contextual(names: PersonFinder | None) -> bool:
    """Whether the name finder reads a whole sentence (spaCy): then only lower-case words may go early."""
    return isinstance(names, SpacyPersonFinder | CombinedPersonFinder)


def releasable(
    segment: Sequence[InteractionEvent],
    released: int,
    *,
    margin: int,
    names: PersonFinder | None = None,
    secret_input: bool = False,
) -> list[InteractionEvent]:
    """What of ``segment[released:]`` (the held events; the first ``released`` went already) may go now, redacted."""
    if secret_input or any(is_password_context(e.context) for e in segment[released:]):
        return []
    recon = reconstruct(segment)
    if set(recon.unknown) - _FOLLOWABLE or recon.snapshots:
        return []
    if _nothing_to_find(recon.runs):
        redacted: Sequence[InteractionEvent] = segment
    else:
        redacted = redact_segment(segment, names=names).events
    labelled = {e.seq for e, r in zip(segment, redacted, strict=True) if r is not e}
    typed = {c.seq for run in recon.runs for c in run}
    last_typed = max((i for i, e in enumerate(segment) if e.seq in typed), default=-1)
    done = any(isinstance(e.payload, MouseButton) and e.payload.pressed for e in segment[last_typed + 1 :])
    safe = _safe_characters(recon.runs, labelled, margin if not done else 0, capitals=not contextual(names))
    went: dict[str, bool] = {}  # key -> whether its last press went (or goes now)
    n = len(segment)
    for i, event in enumerate(segment):
        key = event.payload
        if i >= released and not _may_go(event, safe, typed, went):
            n = i
            break
        if isinstance(key, KeyEvent) and key.pressed:
            went[key.key.lower()] = True
    return list(redacted[released:n])


def _nothing_to_find(runs: Sequence[Sequence[Cell]]) -> bool:
    """Whether no detector can find anything in the runs, and no word is suspect (saves reading them): every
    detector needs a capital (names, keys), a digit, one of ``@:_-`` (addresses, URLs, provider tokens) or a
    password's cue; a word at a click is suspect unless it is letters (``redaction.segment``)."""
    texts = ["".join(c.char for c in run) for run in runs]
    if any(_CLUES.search(t) or any(ch.isupper() or ch.isdigit() for ch in t) for t in texts):
        return False
    edges = [w for t in texts[1:] for w in t.split()[:1]] + [w for t in texts[:-1] for w in t.split()[-1:]]
    return all(_LETTERS.fullmatch(w) for w in edges)


def _may_go(event: InteractionEvent, safe: set[int], typed: set[int], went: dict[str, bool]) -> bool:
    key = event.payload
    if not isinstance(key, KeyEvent):
        return True
    if not key.pressed:
        return went.get(key.key.lower(), False)
    if key.redaction is not None:
        return False
    return event.seq in safe if event.seq in typed else key.key.lower() in _SILENT and not key.modifiers


@dataclass(frozen=True)
class _Word:
    cells: list[Cell]
    spaced: bool  # whitespace follows it (or a click ended its run and the next run's first word is complete)
    plain: bool
    marked: int  # how many of its characters the detectors labelled


def _safe_characters(runs: Sequence[Sequence[Cell]], labelled: set[int], margin: int, *, capitals: bool) -> set[int]:
    """The seqs of the characters that may go: in safe words, and the whitespace before and between them."""
    words: list[list[_Word]] = []
    for index, run in enumerate(runs):
        ended = any(_begun(later) for later in runs[index + 1 :])  # the word a click cut went on no further
        split = _words(run)
        words.append(
            [
                _Word(cells, spaced or (ended and i == len(split) - 1), _plain(_text(cells), capitals), marked)
                for i, (cells, spaced) in enumerate(split)
                for marked in [sum(c.seq in labelled for c in cells)]
            ]
        )
    flat = [w for run_words in words for w in run_words]
    last = words[-1] if words else []
    complete = [w for w in last if w.spaced]
    keep = {id(w) for w in complete[len(complete) - margin :]} if margin else set()
    safe: set[int] = set()
    for i, word in enumerate(flat):
        if not word.spaced or id(word) in keep or 0 < word.marked < len(word.cells):
            continue  # the word being typed or cut by a click, one within the margin, or one partly PII
        after = flat[i + 1 :]
        if word.marked:  # PII goes redacted once complete: past the rest of its value, plain words
            after = list(itertools.dropwhile(lambda w: w.spaced and w.marked == len(w.cells), after))
        if (word.plain and not word.marked) or _followed(after, max(margin, PLAIN_AFTER)):
            safe.update(c.seq for c in word.cells)
    for run in runs:
        safe.update(c.seq for c in run if c.char.isspace() and _before(run, c, safe))
    return safe


def _followed(after: Sequence[_Word], n: int) -> bool:
    """Whether ``n`` complete plain words, none of them PII, follow a word: PII of several words (a card, an IBAN,
    a phone number) does not run across them, so what is typed after them cannot make the word part of PII."""
    return len(after) >= n and all(w.spaced and w.plain and not w.marked for w in after[:n])


def _text(cells: Sequence[Cell]) -> str:
    return "".join(c.char for c in cells)


def _before(run: Sequence[Cell], space: Cell, safe: set[int]) -> bool:
    """Whether every character before ``space`` in its run may go (the whitespace after a word that waits, waits)."""
    for cell in run:
        if cell is space:
            return True
        if not cell.char.isspace() and cell.seq not in safe:
            return False
    return True


def _begun(run: Sequence[Cell]) -> bool:
    """Whether a run has whitespace: the runs joined (as the detectors read them) have a word boundary there, so
    a word cut by a click before it cannot go on any more."""
    return any(c.char.isspace() for c in run)


def _words(run: Sequence[Cell]) -> list[tuple[list[Cell], bool]]:
    """The run's words, each with whether whitespace follows it."""
    out: list[tuple[list[Cell], bool]] = []
    word: list[Cell] = []
    for cell in run:
        if cell.char.isspace():
            if word:
                out.append((word, True))
            word = []
        else:
            word.append(cell)
    if word:
        out.append((word, False))
    return out


def _plain(word: str, capitals: bool) -> bool:
    if _PLAIN.fullmatch(word) or _COMMAND.fullmatch(word):
        return True
    m = _CAPITALISED.fullmatch(word) if capitals else None
    if m is None:
        return False
    key = fold(m.group(1)).lower()
    if key == "i":
        return True
    book = namebook()
    return len(key) > 1 and key not in _TITLES and book.is_word(key) and not book.is_name(key)
