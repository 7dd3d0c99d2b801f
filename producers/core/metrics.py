"""The agent's own metrics, from the counters its heartbeats read (pure core).

Totals since the agent started (events and frames sent, records and frames dropped, CPU seconds)
and the state now (spool, memory, which state it is in): what a monitoring agent on the device
scrapes between two heartbeats. Names follow Prometheus conventions (``teachstream_agent_``,
``_total`` for counters, base units).
"""

from __future__ import annotations

from dataclasses import dataclass

from producers.core.heartbeat import Reading
from producers.core.status import AgentStatus

STATES = ("capturing", "suppressed", "paused", "off", "no-consent", "halted")


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # counter or gauge
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


def metrics(reading: Reading, status: AgentStatus) -> list[Metric]:
    """The agent's metrics at ``reading``, in the state ``status`` describes."""
    return [
        Metric("teachstream_agent_events_sent_total", "counter", "input events handed to Kafka", reading.events),
        Metric("teachstream_agent_frames_sent_total", "counter", "frames handed to Kafka", reading.frames),
        Metric(
            "teachstream_agent_dropped_total",
            "counter",
            "records and inputs dropped (spool full, listeners' queue full), frames apart",
            reading.dropped - reading.frames_dropped,
        ),
        Metric("teachstream_agent_frames_dropped_total", "counter", "frames the spool dropped", reading.frames_dropped),
        Metric("teachstream_agent_cpu_seconds_total", "counter", "CPU time of the agent process", reading.cpu_s),
        Metric("teachstream_agent_resident_memory_bytes", "gauge", "resident memory now", reading.rss_bytes),
        Metric("teachstream_agent_spool_bytes", "gauge", "bytes on disk waiting to be sent", reading.spool_bytes),
        Metric("teachstream_agent_spooled_records", "gauge", "records waiting to be sent", status.spooled),
        Metric(
            "teachstream_agent_oldest_spooled_seconds",
            "gauge",
            "how long records have been waiting to be sent (0: none wait)",
            0.0 if reading.waiting_since is None else max(0.0, reading.at - reading.waiting_since),
        ),
        *(
            Metric(
                "teachstream_agent_state",
                "gauge",
                "1 for the state the agent is in",
                float(status.state == s),
                (("state", s),),
            )
            for s in STATES
        ),
    ]
