"""PII detection and redaction of typed text and window titles (pure core).

``find_pii(text)`` returns sorted, non-overlapping ``Span(start, end, label)`` with offsets
into ``text``. Labels: EMAIL, PHONE, CARD, IBAN, SSN, NATIONAL_ID (UK NINO, French NIR,
Spanish DNI/NIE), IP, URL_CREDENTIALS, SECRET, PASSWORD, PERSON. ``redact_segment`` redacts
the key events of one segment (see ``streams.core.text`` for the reconstruction),
``redact_title`` a window title, and ``Segmenter`` cuts one device's events into segments
at boundaries and redacts them, keeping their order. Nothing here does I/O beyond reading installed packages
on first use: the name book's lists (``namebook``), and spaCy for the optional NER name finder.
"""

from __future__ import annotations

from streams.core.redaction.context import expects_password_next, is_password_context
from streams.core.redaction.namebook import Namebook
from streams.core.redaction.names import (
    CombinedPersonFinder,
    GazetteerPersonFinder,
    PersonFinder,
    SpacyPersonFinder,
    default_person_finder,
)
from streams.core.redaction.pii import find_pii, find_structured_pii
from streams.core.redaction.segment import RedactedSegment, redact_segment
from streams.core.redaction.segmenter import Carried, Segmenter, SegmentPolicy
from streams.core.redaction.span import LABELS, STRUCTURED, Span
from streams.core.redaction.title import redact_title

__all__ = [
    "LABELS",
    "STRUCTURED",
    "Carried",
    "CombinedPersonFinder",
    "GazetteerPersonFinder",
    "Namebook",
    "PersonFinder",
    "RedactedSegment",
    "SegmentPolicy",
    "Segmenter",
    "SpacyPersonFinder",
    "Span",
    "default_person_finder",
    "expects_password_next",
    "find_pii",
    "find_structured_pii",
    "is_password_context",
    "redact_segment",
    "redact_title",
]
