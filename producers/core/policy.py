"""The capture policy, shared with the stream's second line of defense: see ``schemas.capture_policy`` (pure core)."""

from schemas.capture_policy import DEFAULT_DENY_APPS, DEFAULT_DENY_TITLES, CapturePolicy, Verdict, validate_patterns

__all__ = ["DEFAULT_DENY_APPS", "DEFAULT_DENY_TITLES", "CapturePolicy", "Verdict", "validate_patterns"]
