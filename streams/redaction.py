"""Public API of the PII detectors: ``find_pii(text) -> list[Span]`` (re-exported from the pure core)."""

from streams.core.redaction import Span, find_pii, find_structured_pii, redact_title

__all__ = ["Span", "find_pii", "find_structured_pii", "redact_title"]
