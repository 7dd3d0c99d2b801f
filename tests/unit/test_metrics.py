"""Counter keys become Prometheus families with conventional names and labels (pure)."""

from __future__ import annotations

from runtime.metrics import families
from sinks.stats import SinkStats


def test_counter_keys_become_families_with_labels_and_unknown_keys_stay_out() -> None:
    got = families(
        {
            "in.interactions.raw": 120,
            "interactions.clean.forwarded": 100,
            "interactions.clean.dead_lettered": 3,  # the total: the metric has it by error type
            "interactions.clean.dead_lettered.BadFrameError": 3,
            "redaction.EMAIL": 30,
            "redaction.title.EMAIL": 2,
            "redaction.frame.CARD": 4,
            "redaction.quarantined": 1,
            "consent.dropped_frames": 5,
            "sessionize.closed.gap": 7,
            "something.new": 1,
        }
    )
    flat = {(name, s.labels): s.value for name, samples in got.items() for s in samples}
    assert flat == {
        ("teachstream_records_in_total", (("topic", "interactions.raw"),)): 120,
        ("teachstream_records_out_total", (("stage", "interactions.clean"),)): 100,
        ("teachstream_dead_letters_total", (("error", "BadFrameError"), ("stage", "interactions.clean"))): 3,
        ("teachstream_redactions_total", (("kind", "text"), ("label", "EMAIL"))): 30,
        ("teachstream_redactions_total", (("kind", "title"), ("label", "EMAIL"))): 2,
        ("teachstream_redactions_total", (("kind", "frame"), ("label", "CARD"))): 4,
        ("teachstream_redaction_failures_total", (("failure", "quarantined"),)): 1,
        ("teachstream_consent_dropped_total", (("record", "frames"),)): 5,
        ("teachstream_sessions_closed_total", (("reason", "gap"),)): 7,
    }


def test_the_sink_counts_as_metrics() -> None:
    stats = SinkStats(sessions=2, objects=5, bytes=1024, dead_letters=1)
    stats.dead_letter_types["BadFrameError"] += 1
    flat = {(name, s.labels): s.value for name, samples in families(stats.counts()).items() for s in samples}
    assert flat[("teachstream_sink_objects_total", ())] == 5
    assert flat[("teachstream_sink_bytes_total", ())] == 1024
    assert flat[("teachstream_dead_letters_total", (("error", "BadFrameError"), ("stage", "sink")))] == 1
