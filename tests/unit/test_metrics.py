"""Counter keys become Prometheus families with conventional names and labels (pure)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from runtime.metrics import BATCH_SECONDS, ERASURE_SECONDS, FRAME_SECONDS, PUT_SECONDS, RULES, families
from sinks.stats import SinkStats
from teachstream.fleet_cli import FLEET_GAUGES
from teachstream.lag import LAG_RECORDS, LAG_SECONDS


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
            "sessionize.opened": 9,
            "redaction.early.events": 40,
            "redaction.early.labelled_later": 2,
            "restore.closed_dropped": 5,
            "restore.replays_skipped": 6,
            "restore.ticks_skipped": 2,
            "restore.session_ticks_skipped": 1,
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
        ("teachstream_sessions_opened_total", ()): 9,
        ("teachstream_typing_early_events_total", ()): 40,
        ("teachstream_typing_early_labelled_later_total", ()): 2,
        ("teachstream_repeated_events_total", (("outcome", "closed_dropped"),)): 5,
        ("teachstream_repeated_events_total", (("outcome", "replays_skipped"),)): 6,
        ("teachstream_ticks_read_again_skipped_total", (("state", "typing"),)): 2,
        ("teachstream_ticks_read_again_skipped_total", (("state", "sessions"),)): 1,
    }


def test_the_sink_counts_as_metrics() -> None:
    stats = SinkStats(sessions=2, objects=5, bytes=1024, dead_letters=1, s3_retries=3)
    stats.dead_letter_types["BadFrameError"] += 1
    flat = {(name, s.labels): s.value for name, samples in families(stats.counts()).items() for s in samples}
    assert flat[("teachstream_sink_objects_total", ())] == 5
    assert flat[("teachstream_sink_bytes_total", ())] == 1024
    assert flat[("teachstream_sink_s3_retries_total", ())] == 3
    assert flat[("teachstream_dead_letters_total", (("error", "BadFrameError"), ("stage", "sink")))] == 1


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def exported() -> set[str]:
    """Every metric name a teachstream process serves (and Prometheus's own ``up``)."""
    names = {"up", LAG_RECORDS, LAG_SECONDS, *FLEET_GAUGES}
    for rule in RULES:
        sink = [k for k, v in vars(SinkStats()).items() if isinstance(v, int) and k != "dead_letters"]
        names |= {rule.name.format(what=k) for k in sink} if "{what}" in rule.name else {rule.name}
    names |= {
        h + suffix
        for h in (BATCH_SECONDS, FRAME_SECONDS, ERASURE_SECONDS, PUT_SECONDS)
        for suffix in ("_bucket", "_count", "_sum")
    }
    return names


def used(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (ours, and ``up``)."""
    return set(re.findall(r"\b(teachstream_[a-z0-9_]+|up(?=\{))", expr))


def test_the_dashboard_and_the_alert_rules_use_only_metrics_the_code_serves() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "teachstream.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    names = set().union(*(used(e) for e in exprs))
    assert names - exported() == set()
    assert len(names) >= 12  # the regex found them: the dashboard reads most of what is served
