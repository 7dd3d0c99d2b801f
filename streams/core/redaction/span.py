"""Spans of detected PII and how overlapping detections are merged (pure core)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Labels in order of precedence: when detections overlap, the merged span takes the label
#: of the earliest label in this tuple among them (an IBAN whose digits pass Luhn stays an IBAN).
LABELS: tuple[str, ...] = (
    "SECRET",
    "URL_CREDENTIALS",
    "PASSWORD",
    "EMAIL",
    "IBAN",
    "CARD",
    "SSN",
    "NATIONAL_ID",
    "IP",
    "PHONE",
    "PERSON",
)
STRUCTURED: frozenset[str] = frozenset(LABELS) - {"PERSON"}
_RANK = {label: i for i, label in enumerate(LABELS)}


@dataclass(frozen=True, order=True)
class Span:
    """``text[start:end]`` is PII of kind ``label``."""

    start: int
    end: int
    label: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"a span needs 0 <= start < end, got {self.start}..{self.end}")


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering every character of ``spans``.

    Overlapping or touching detections become one span (never less redaction), labelled by
    the highest-precedence label among them.
    """
    out: list[Span] = []
    for span in sorted(spans):
        if out and span.start < out[-1].end:
            last = out[-1]
            label = min(last.label, span.label, key=lambda lab: _RANK.get(lab, len(_RANK)))
            out[-1] = Span(last.start, max(last.end, span.end), label)
        else:
            out.append(span)
    return out
