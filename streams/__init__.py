"""Stream processors: consent and app filtering, PII redaction, sessionization (faust edge, pure core)."""
