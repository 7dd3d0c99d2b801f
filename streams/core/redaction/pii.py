"""``find_pii``: every detector over one text, merged into sorted non-overlapping spans (pure core)."""

from __future__ import annotations

import re

from streams.core.redaction import credentials, detectors
from streams.core.redaction.names import PersonFinder, default_person_finder
from streams.core.redaction.span import Span, merge

# What already-redacted text is made of: ``<LABEL>`` in titles, REDACTED_CHAR in key text.
_ALREADY_REDACTED = re.compile(r"(?:<[A-Z_]+>|\ue000|\s)+")

STRUCTURED_DETECTORS: tuple[detectors.Detector, ...] = (
    credentials.secrets,
    credentials.url_credentials,
    credentials.passwords,
    detectors.emails,
    detectors.cards,
    detectors.ibans,
    detectors.ssns,
    detectors.national_ids,
    detectors.ips,
    detectors.phones,
)


def _keep(text: str, span: Span) -> bool:
    return _ALREADY_REDACTED.fullmatch(text, span.start, span.end) is None


def find_structured_pii(text: str) -> list[Span]:
    """Spans found by the regex and checksum detectors only (no NER): fast, deterministic."""
    found = [span for detect in STRUCTURED_DETECTORS for span in detect(text)]
    return [span for span in merge(found) if _keep(text, span)]


def find_pii(text: str, names: PersonFinder | None = None) -> list[Span]:
    """Every PII span of ``text``; person names by ``names`` (default: spaCy + gazetteer, see names)."""
    finder = names if names is not None else default_person_finder()
    found = [span for detect in STRUCTURED_DETECTORS for span in detect(text)]
    found += finder.find(text)
    return [span for span in merge(found) if _keep(text, span)]
