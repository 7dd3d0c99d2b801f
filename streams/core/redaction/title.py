"""Redaction of window titles: each PII span becomes ``<LABEL>`` (pure core)."""

from __future__ import annotations

from streams.core.redaction.names import PersonFinder
from streams.core.redaction.pii import find_pii

_MAX_PASSES = 4


def redact_title(title: str, names: PersonFinder | None = None) -> tuple[str, list[str]]:
    """``title`` with every span replaced by ``<LABEL>``, and the labels replaced, in order.

    Placeholders are never detected again, and detection runs again over the result until
    nothing new is found, so redacting a redacted title changes nothing.
    """
    found: list[str] = []
    for _ in range(_MAX_PASSES):
        spans = find_pii(title, names)
        if not spans:
            break
        parts: list[str] = []
        last = 0
        for span in spans:
            parts += [title[last : span.start], f"<{span.label}>"]
            last = span.end
        parts.append(title[last:])
        title = "".join(parts)
        found += [span.label for span in spans]
    return title, found
