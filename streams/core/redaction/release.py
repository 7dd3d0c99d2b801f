"""Which held events of an open typing segment may go downstream before it closes (pure core).

A segment is held whole until it closes, so that PII typed across many key events is found
together; a long sentence therefore waited for its enter or pause. ``releasable`` lets the
start of it go once nothing typed later can make it part of PII. The detectors run over the
whole segment as typed so far (what went early too), and a word may go when it is complete
(whitespace follows it) and

- it is a plain word, unlabelled: lower-case letters, with an apostrophe and a trailing
  punctuation mark at most; lower-case letters with signs but no digit, or shell operators
  ("--rebase", "/var/log", "&&"); a capitalised common word that is no person name, no title
  ("Thanks", "Meeting", "I"), the last only with the name book as the name finder (spaCy
  reads the whole sentence); and ``margin`` more complete words follow it in the run being
  typed (a name's cues after it, "Sefo is out", are one or two words). A click ends a run: what
  is typed next goes elsewhere, and names are read per run, so no margin there;
- or any other word, unlabelled or labelled in every character (PII, which goes redacted),
  once three complete plain unlabelled words follow it (after the rest of its value, for
  PII): a word with a digit, a sign or an unknown capital may be the start of PII of several
  words (a card, an IBAN, a phone number, a name with its particles), and no such value runs
  across plain words, so it is complete and its label final.

Never early: a word partly labelled; a word with a double quote, or opening with a single
one (a quoted value runs across words: 'password: "a long walk"'); a word a click cut,
unless three plain words follow it in the runs joined (the detectors read the runs joined,
where it goes on into the next run: "pay gb" + "82 west 1234 ..."). Every detector that
labels a plain word needs a cue before it ("my password is", "mysql ... -p"), and the cue is
in what is read.

Released are the longest prefix, by seq, of the held events whose characters are all in such
words or the spaces between them: pointer events, shift, and key releases whose press went.
Anything the reconstruction cannot follow (a paste, a selection, an arrow key, a deletion, an
unknown key) or a password context ends the prefix: the rest waits for the segment's end as
before. What went is not taken back: a word the person edits into PII after it went (deleting
back to it and typing onto it, or moving the caret back and typing a cue before it) went as
typed, as a value edited across a 5 s pause always did; the segment's close finds it labelled
among what went, and the caller counts it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from schemas.events import InteractionEvent, KeyEvent, MouseButton
from streams.core.redaction.context import is_password_context
from streams.core.redaction.namebook import fold, namebook
from streams.core.redaction.names import PARTICLES, CombinedPersonFinder, PersonFinder, SpacyPersonFinder
from streams.core.redaction.segment import label_segment, redacted
from streams.core.text import SHIFT_KEYS, Cell, Reconstruction, reconstruct

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
_DOUBLE_QUOTES = re.compile(r"[\"“”„«»`]")
_SINGLE_QUOTES = re.compile(r"['‘’]")  # a quote unless it is an apostrophe of a plain word ("don't", "I'm")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}")  # its groups may be letters: "gb35 aaaa bbbb ..."
IBAN_AFTER = 40  # characters typed after an IBAN's start before it is complete (34 at most, and its spaces)
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
    typed: Reconstruction | None = None,
    secret: Collection[int] | None = None,
) -> list[InteractionEvent]:
    """What of ``segment[released:]`` (the held events; the first ``released`` went already) may go now, redacted
    (``typed``: ``reconstruct(segment)``, and ``secret``: the seqs of its events in a password context, if the
    caller has them already)."""
    if secret is None:
        secret = {e.seq for e in segment if is_password_context(e.context)}
    if secret_input or (secret and any(e.seq in secret for e in segment[released:])):
        return []
    recon = typed or reconstruct(segment)
    if set(recon.unknown) - _FOLLOWABLE or recon.snapshots:
        return []
    labels = {}
    if not _nothing_to_find(recon.runs):
        labels = label_segment(segment, names=names, typed=recon, secret=secret).by_index
    labelled = {segment[i].seq for i in labels}
    chars = {c.seq for run in recon.runs for c in run}
    last_typed = next((i for i in range(len(segment) - 1, -1, -1) if segment[i].seq in chars), -1)
    done = any(isinstance(e.payload, MouseButton) and e.payload.pressed for e in segment[last_typed + 1 :])
    safe = _safe_characters(recon.runs, labelled, margin if not done else 0, capitals=not contextual(names))
    went: dict[str, bool] = {}  # key -> whether its last press went (or goes now)
    n = len(segment)
    for i, event in enumerate(segment):
        key = event.payload
        if i >= released and not _may_go(event, safe, chars, went):
            n = i
            break
        if isinstance(key, KeyEvent) and key.pressed:
            went[key.key.lower()] = True
    return [redacted(e, labels[i]) if i in labels else e for i, e in enumerate(segment[released:n], released)]


def _nothing_to_find(runs: Sequence[Sequence[Cell]]) -> bool:
    """Whether no detector can find anything in the runs, and no word is suspect (saves reading them): every
    detector needs a capital (names, keys), a digit, one of ``@:_-`` (addresses, URLs, provider tokens) or a
    password's cue; a word at a click is suspect unless it is letters (``redaction.segment``)."""
    texts = ["".join(c.char for c in run) for run in runs]
    joined = "".join(texts)  # a cue split by a click ("pa" | "ssword is") is one in the runs joined
    if _CLUES.search(joined) or any(c.isupper() or c.isdigit() for c in joined):
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
    spaced: bool  # whitespace follows it
    plain: bool
    marked: int  # how many of its characters the detectors labelled
    partly: bool  # a part of it (in one run) is partly labelled
    quoted: bool  # waits for the segment's end: a quote may open a value that runs across words
    # ('password: "a b c"', "-p'a b c'")
    named: bool  # waits unless it is PII: whether a name-shaped word is a name can turn on any other word
    iban: bool  # may start an IBAN, whose groups may be letters


def _word(cells: list[Cell], spaced: bool, labelled: set[int], run_of: dict[int, int], capitals: bool) -> _Word:
    text = "".join(c.char for c in cells)
    marked = sum(c.seq in labelled for c in cells) if labelled else 0
    if not marked:
        partly = False
    elif run_of[id(cells[0])] == run_of[id(cells[-1])]:  # in one run (its cells are in the order of the runs)
        partly = marked < len(cells)
    else:
        parts = [[c for c in cells if run_of[id(c)] == r] for r in sorted({run_of[id(c)] for c in cells})]
        partly = any(0 < sum(c.seq in labelled for c in part) < len(part) for part in parts)
    plain = _plain(text, capitals)
    quoted = bool(_DOUBLE_QUOTES.search(text)) or (bool(_SINGLE_QUOTES.search(text)) and not plain)
    named = not plain and any(c.isupper() for c in text) and not any(c.isdigit() for c in text)
    return _Word(cells, spaced, plain, marked, partly, quoted, named, bool(_IBAN_START.search(text)))


def _safe_characters(runs: Sequence[Sequence[Cell]], labelled: set[int], margin: int, *, capitals: bool) -> set[int]:
    """The seqs of the characters that may go: in safe words, and the whitespace up to the first that may not.

    Words are read in the runs joined, as the structured detectors read them: a word a click cut goes on into
    the next run's first word ("pay gb" + "82 west ..." is "gb82", which may start an IBAN). Its parts were
    read per run too (names, and a suspect word at a click): each must be PII or not as a whole."""
    run_of = {id(c): i for i, run in enumerate(runs) for c in run}
    words = [_word(cells, spaced, labelled, run_of, capitals) for cells, spaced in _words([c for r in runs for c in r])]
    typing = [w for w in words if w.spaced and run_of[id(w.cells[0])] == len(runs) - 1]
    keep = {id(w) for w in typing[len(typing) - margin :]} if margin else set()
    safe: set[int] = set()
    for i, word in enumerate(words):
        if not word.spaced or id(word) in keep or word.partly or word.quoted or (word.named and not word.marked):
            continue  # being typed, within the margin, partly PII, a quote, or a name-shaped word
        after = words[i + 1 :]
        if word.iban and sum(len(w.cells) for w in after) < IBAN_AFTER:
            continue
        if word.marked:  # PII goes redacted once complete: past the rest of its value, plain words
            after = list(itertools.dropwhile(lambda w: w.spaced and w.marked and not w.partly, after))
        if (word.plain and not word.marked) or _followed(after, max(margin, PLAIN_AFTER)):
            safe.update(c.seq for c in word.cells)
    so_far = True  # whitespace goes while every character before it may
    for cell in (c for run in runs for c in run):
        if cell.char.isspace():
            if so_far:
                safe.add(cell.seq)
        else:
            so_far = so_far and cell.seq in safe
    return safe


def _followed(after: Sequence[_Word], n: int) -> bool:
    """Whether ``n`` complete plain words, none of them PII, follow a word: PII of several words (a card, an IBAN,
    a phone number, a name with its particles) does not run across them unquoted, so what is typed after them
    cannot make the word part of PII."""
    return len(after) >= n and all(w.spaced and w.plain and not (w.marked or w.quoted) for w in after[:n])


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
    if word.rstrip(".,;:!?") in PARTICLES:
        return False  # inside a name, between its capitalised words ("Maria da la Cruz")
    if _PLAIN.fullmatch(word) or _COMMAND.fullmatch(word):
        return True
    m = _CAPITALISED.fullmatch(word) if capitals else None
    if m is None:
        return False
    key = fold(m.group(1)).lower()
    if key == "i":
        return word != "I."  # "I", "I'm"; "I." may be an initial ("Mary I. Cruz")
    book = namebook()
    return len(key) > 1 and key not in _TITLES and book.is_word(key) and not book.is_name(key)
