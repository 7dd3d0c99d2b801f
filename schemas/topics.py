"""The project's topics: names, the record each carries, partitions and configs (pure core)."""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SCREEN_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the drawing in DESIGN.md."""

    name: str
    record: str  # short Avro record name of its values
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    doc: str = ""
    markers: tuple[str, ...] = ()  # other records that may appear between values (event-time ticks)


def _delete(retention_ms: int, **extra: str) -> dict[str, str]:
    return {"cleanup.policy": "delete", "retention.ms": str(retention_ms), **extra}


def _compact() -> dict[str, str]:
    return {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000", "segment.ms": str(DAY_MS)}


def topic_specs(raw_retention_ms: int = DAY_MS) -> tuple[TopicSpec, ...]:
    """Every project topic; raw topics keep data for ``raw_retention_ms`` (default 24 h)."""
    big = {"max.message.bytes": str(SCREEN_MAX_BYTES)}
    return (
        TopicSpec(
            "interactions.raw",
            "InteractionEvent",
            6,
            _delete(raw_retention_ms),
            "agents' input events, unredacted, and the stream's event-time ticks",
            markers=("Tick",),
        ),
        TopicSpec("screens.raw", "ScreenFrame", 6, _delete(raw_retention_ms, **big), "agents' JPEG frames, unredacted"),
        TopicSpec(
            "interactions.clean",
            "InteractionEvent",
            6,
            _delete(7 * DAY_MS),
            "consented, filtered, redacted events, and the stream's event-time ticks",
            markers=("Tick",),
        ),
        TopicSpec("screens.clean", "ScreenFrame", 6, _delete(7 * DAY_MS, **big), "consented, redacted frames"),
        TopicSpec("trajectories", "Trajectory", 6, _delete(7 * DAY_MS, **big), "closed sessions"),
        TopicSpec(
            "deadletter",
            "DeadLetter",
            3,
            _delete(14 * DAY_MS, **big),
            "records a stage gave up on, with the reason (restricted)",
        ),
        TopicSpec("control.policy", "Policy", 1, _compact(), "the capture policy"),
        TopicSpec("control.consent", "ConsentRecord", 3, _compact(), "consent ledger, one record per person"),
        TopicSpec("control.erasure", "ErasureRequest", 1, _compact(), "erasure requests"),
        TopicSpec("agents.heartbeat", "Heartbeat", 3, _delete(DAY_MS), "agent liveness and counters"),
    )


TOPIC_NAMES = tuple(t.name for t in topic_specs())


def spec_for(name: str, prefix: str = "") -> TopicSpec | None:
    """The spec of a (possibly prefixed) topic name, or None if it is not a project topic."""
    base = name[len(prefix) :] if prefix and name.startswith(prefix) else name
    return next((t for t in topic_specs() if t.name == base), None)
