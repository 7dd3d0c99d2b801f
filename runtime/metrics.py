"""Prometheus metrics of a long-running component, from the counters it already keeps (edge).

Components count on their hot paths in a plain ``Counter`` of text keys (``redaction.EMAIL``,
``interactions.clean.forwarded``, ...). A collector turns the keys into Prometheus families when
``/metrics`` is scraped, so counting costs nothing more; :func:`families` is the one mapping from
keys to metric names and labels (pure). Names follow Prometheus conventions: ``teachstream_`` and
``_total`` for counters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

LABEL = r"[A-Z][A-Z0-9_]*"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    name: str
    help: str
    fixed: tuple[tuple[str, str], ...] = ()  # labels every sample of this rule has


def _rule(pattern: str, name: str, help_: str, **fixed: str) -> Rule:
    return Rule(re.compile(pattern), name, help_, tuple(fixed.items()))


_TICKS_SKIPPED = (
    "devices a stream tick read again after a takeover did not close the typing segment (state=typing) or end the "
    "sessions (state=sessions) of: they hold events that came after the tick"
)
RULES = (
    _rule(r"^in\.(?P<topic>[a-z.]+)$", "teachstream_records_in_total", "records read, by project topic"),
    _rule(
        r"^(?P<stage>interactions\.clean|screens\.clean)\.forwarded$",
        "teachstream_records_out_total",
        "records written to a clean topic, by stage",
    ),
    _rule(
        r"^(?P<stage>[a-z.]+)\.dead_lettered\.(?P<error>[A-Za-z]+)$",
        "teachstream_dead_letters_total",
        "records sent to the dead-letter topic, by stage and error type",
    ),
    _rule(rf"^redaction\.title\.(?P<label>{LABEL})$", "teachstream_redactions_total", "values redacted", kind="title"),
    _rule(
        rf"^redaction\.frame_title\.(?P<label>{LABEL})$",
        "teachstream_redactions_total",
        "values redacted",
        kind="frame_title",
    ),
    _rule(rf"^redaction\.frame\.(?P<label>{LABEL})$", "teachstream_redactions_total", "values redacted", kind="frame"),
    _rule(rf"^redaction\.(?P<label>{LABEL})$", "teachstream_redactions_total", "values redacted", kind="text"),
    _rule(
        r"^redaction\.(?P<failure>quarantined|frame_failed|frame_deadline)$",
        "teachstream_redaction_failures_total",
        "records kept out because they could not be redacted (fail closed)",
    ),
    _rule(
        r"^consent\.dropped_(?P<record>events|frames)$",
        "teachstream_consent_dropped_total",
        "records dropped: not covered by consent, or erased",
    ),
    _rule(
        r"^kill_switch\.dropped_(?P<record>events|frames)$",
        "teachstream_kill_switch_dropped_total",
        "records dropped: recorded while the kill switch was on",
    ),
    _rule(r"^filter\.denied$", "teachstream_policy_dropped_total", "records of denied apps or titles", record="events"),
    _rule(
        r"^filter\.denied_site$",
        "teachstream_site_dropped_total",
        "events dropped: from a site the fleet's signed policy denies (a device sent what its agent should not)",
    ),
    _rule(
        r"^filter\.denied_frames$",
        "teachstream_policy_dropped_total",
        "records of denied apps or titles",
        record="frames",
    ),
    _rule(
        r"^sessionize\.closed\.(?P<reason>[a-z_]+)$",
        "teachstream_sessions_closed_total",
        "sessions closed and sent to trajectories, by end reason",
    ),
    _rule(
        r"^sessionize\.opened$",
        "teachstream_sessions_opened_total",
        "sessions begun (a device's first event with none open, or events left after a session closed)",
    ),
    _rule(
        r"^sessionize\.erased_sessions$",
        "teachstream_sessions_erased_total",
        "open sessions dropped unsent: erasure",
    ),
    _rule(
        r"^redaction\.early\.events$",
        "teachstream_typing_early_events_total",
        "typed events that left their open typing segment early (words nothing typed later can make PII)",
    ),
    _rule(
        r"^redaction\.early\.labelled_later$",
        "teachstream_typing_early_labelled_later_total",
        "typed events that left early as typed and that their segment's close then labelled: a word edited into "
        "PII after it went (deleted back to, or the caret moved back to it)",
    ),
    _rule(
        r"^segments\.closed_by_pause$",
        "teachstream_typing_segments_closed_by_pause_total",
        "typing segments the agent's TypingPause closed",
    ),
    _rule(
        r"^restore\.(?P<outcome>closed_dropped|replays_skipped)$",
        "teachstream_repeated_events_total",
        "events not handled again because they went downstream already: held keys of a close whose changelog "
        "records a previous owner of the partition had begun to write (closed_dropped), and events read again "
        "after a takeover or sent again by their device (replays_skipped)",
    ),
    _rule(
        r"^restore\.ticks_skipped$",
        "teachstream_ticks_read_again_skipped_total",
        _TICKS_SKIPPED,
        state="typing",
    ),
    _rule(
        r"^restore\.session_ticks_skipped$",
        "teachstream_ticks_read_again_skipped_total",
        _TICKS_SKIPPED,
        state="sessions",
    ),
    _rule(
        r"^interactions\.changelog_records$",
        "teachstream_changelog_records_total",
        "table changes written to the changelog",
    ),
    _rule(
        r"^control\.ignored\.(?P<reason>[a-z_]+)$",
        "teachstream_control_records_ignored_total",
        "consent, erasure and policy records not applied: unreadable, or invalid (see the log for which and why)",
    ),
    _rule(r"^sink\.(?P<what>[a-z][a-z0-9_]*)$", "teachstream_sink_{what}_total", "the sink's {what}"),
)


@dataclass(frozen=True)
class Sample:
    name: str
    help: str
    labels: tuple[tuple[str, str], ...]
    value: float


def families(counts: Mapping[str, float]) -> dict[str, list[Sample]]:
    """The counters' keys as samples of the metric families in :data:`RULES`; a key no rule matches is
    dropped from the metrics (still in the component's log lines)."""
    out: dict[str, list[Sample]] = {}
    for key, value in sorted(counts.items()):
        for rule in RULES:
            m = rule.pattern.match(key)
            if m is not None:
                groups = m.groupdict()
                name, help_ = rule.name.format(**groups), rule.help.format(**groups)
                named = {g for g in groups if "{" + g + "}" in rule.name}  # in the name, not a label
                labels = {**dict(rule.fixed), **{g: v for g, v in groups.items() if g not in named}}
                out.setdefault(name, []).append(Sample(name, help_, tuple(sorted(labels.items())), value))
                break
    return out


_registry: CollectorRegistry | None = None


def registry() -> CollectorRegistry:
    """The one registry a process serves: the counters' collector and the histograms."""
    global _registry  # noqa: PLW0603  # one per process, made on first use
    if _registry is None:
        _registry = CollectorRegistry()
    return _registry


BATCH_SECONDS = "teachstream_batch_seconds"  # the interactions agent's batches, with their flush
FRAME_SECONDS = "teachstream_frame_seconds"  # the screens stage, per frame
ERASURE_SECONDS = "teachstream_erasure_seconds"  # an erasure request until the sink deleted what it names
PUT_SECONDS = "teachstream_put_seconds"  # the sink, per object stored in S3 (its retries included)
_histograms: dict[str, Histogram] = {}
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SLOW_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0, 72 * 3600.0)


def seconds(name: str, help_: str, stage: str, buckets: tuple[float, ...] = BUCKETS) -> Histogram:
    """A histogram of durations in seconds (``name`` ends in ``_seconds``), one family per name, by stage."""
    family = _histograms.get(name)
    if family is None:
        family = _histograms[name] = Histogram(name, help_, ["stage"], registry=registry(), buckets=buckets)
    return family.labels(stage)


def serve(port: int, bind: str, read: Callable[[], Mapping[str, float]]) -> None:
    """Serve ``/metrics`` on ``bind:port`` from a daemon thread; ``read`` gives the counters at each scrape."""

    class Counters(Collector):
        def collect(self) -> Iterator[CounterMetricFamily]:
            for name, samples in families(_snapshot(read)).items():
                family = CounterMetricFamily(
                    name.removesuffix("_total"), samples[0].help, labels=[k for k, _ in samples[0].labels]
                )
                for s in samples:
                    family.add_metric([v for _, v in s.labels], s.value)
                yield family

    expose(Counters(), port, bind)


def expose(collector: Collector, port: int, bind: str) -> None:
    """Serve ``collector`` (with the histograms) at ``/metrics`` on ``bind:port`` from a daemon thread."""
    registry().register(collector)
    start_http_server(port, addr=bind, registry=registry())
    log.info("Prometheus metrics on http://%s:%d/metrics", bind, port)


def _snapshot(read: Callable[[], Mapping[str, float]]) -> dict[str, float]:
    """A copy of the counters, which another thread keeps changing."""
    for _ in range(10):
        try:
            return dict(read())
        except RuntimeError:  # changed size during the copy
            continue
    return {}
