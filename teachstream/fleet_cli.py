"""``teachstream fleet`` and ``teachstream fleet summary``: the agents' heartbeats, one line per device (edge).

Both read ``agents.heartbeat`` from its oldest record up to its end when the command starts
(partitions assigned directly, nothing committed), keep each device's newest heartbeat, and
hand them to :mod:`teachstream.fleet`, which decides what is shown.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from runtime.settings import Settings
from schemas.codec import Codec
from schemas.control_records import Heartbeat
from schemas.errors import CodecError, ConfigError
from schemas.records import from_avro
from teachstream import fleet as view
from teachstream.context import Context, pass_ctx

if TYPE_CHECKING:  # the Kafka client loads only when a fleet command runs
    from confluent_kafka import Message

TOPIC = "agents.heartbeat"
IDLE_TIMEOUT_S = 15.0  # give up on a partition's last records after this long without any


class Duration(click.ParamType):
    """A click option that takes ``90s``, ``5m``, ``2h`` or ``1d``."""

    name = "duration"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return view.parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


FLEET_DEVICES, FLEET_VERSIONS = "teachstream_fleet_devices", "teachstream_fleet_agent_versions"
FLEET_BEHIND, FLEET_NEWEST_AGE = (
    "teachstream_fleet_devices_behind_policy",
    "teachstream_fleet_newest_heartbeat_age_seconds",
)
FLEET_GAUGES = (FLEET_DEVICES, FLEET_VERSIONS, FLEET_BEHIND, FLEET_NEWEST_AGE)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
_STALE_AFTER = click.option(
    "--stale-after",
    type=Duration(),
    default="90s",
    show_default=True,
    help="Show a device as stale when its last heartbeat is older than this (agents beat every 30 s).",
)


@dataclass
class Heartbeats:
    """What was read: each device's newest heartbeat, and what could not be read."""

    latest: dict[str, Heartbeat] = field(default_factory=dict)
    skipped: int = 0
    first_error: str = ""
    unfinished: list[int] = field(default_factory=list)  # partitions given up on before their end


def read_heartbeats(settings: Settings, codec: Codec, idle_timeout_s: float = IDLE_TIMEOUT_S) -> Heartbeats:
    """Each device's newest heartbeat in ``agents.heartbeat``, read up to the end of each partition when called."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    from teachstream.admin import existing_topics, watermarks

    topic = settings.topic(TOPIC)
    partitions = existing_topics(settings).get(topic)
    if partitions is None:
        raise ConfigError(f"no heartbeats yet: topic {topic} does not exist; create it with `teachstream provision`")
    consumer = Consumer(
        settings.kafka(
            {"group.id": f"teachstream-fleet-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}, quiet=True
        )
    )
    read = Heartbeats()
    try:
        marks = {p: watermarks(consumer, TopicPartition(topic, p)) for p in range(partitions)}
        pending = {p: high for p, (low, high) in marks.items() if high > low}  # partition -> its end now
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        last_record = time.monotonic()
        while pending and time.monotonic() - last_record < idle_timeout_s:
            for msg in consumer.consume(1000, 0.5):
                last_record = time.monotonic()
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise ConfigError(f"reading {topic} failed: {error.str()}")
                _take(msg, codec, read, topic)
                if (msg.offset() or 0) + 1 >= pending.get(msg.partition() or 0, 0):
                    pending.pop(msg.partition() or 0, None)
        read.unfinished = sorted(pending)
        return read
    finally:
        consumer.close()


def _take(msg: Message, codec: Codec, read: Heartbeats, topic: str) -> None:
    """Keep the record if it is a heartbeat; count it, and remember the first reason, if it is not."""
    try:
        decoded = codec.decode(msg.value() or b"")
        if decoded.short_name != Heartbeat.AVRO_NAME:
            raise CodecError(f"a {decoded.short_name}, not a {Heartbeat.AVRO_NAME}")
    except CodecError as exc:
        read.skipped += 1
        read.first_error = read.first_error or f"{topic}[{msg.partition()}]@{msg.offset()}: {exc}"
        return
    view.remember(read.latest, from_avro(Heartbeat, decoded.value))


def _load(ctx: Context) -> Heartbeats:
    settings: Settings = ctx.settings()
    read = read_heartbeats(settings, Codec.from_url(settings.schema_registry_url))
    if read.skipped:
        click.echo(
            f"skipped {read.skipped} records that could not be read as heartbeats (first: {read.first_error})", err=True
        )
    if read.unfinished:
        where = ", ".join(f"{settings.topic(TOPIC)}[{p}]" for p in read.unfinished)
        click.echo(f"note: stopped waiting for the last records of {where}; some devices may be missing", err=True)
    return read


@click.group(invoke_without_command=True)
@_JSON
@click.option("--stale", "stale_for", type=Duration(), help="Only devices not seen for longer than this (5m, 2h).")
@click.option("--version", help="Only devices running this agent version.")
@click.option("--policy", help="Only devices on this policy version (`configured`: their own configured policy).")
@_STALE_AFTER
@pass_ctx
def fleet(
    ctx: Context,
    as_json: bool,
    stale_for: timedelta | None,
    version: str | None,
    policy: str | None,
    stale_after: timedelta,
) -> None:
    """List the devices from the agents' heartbeats, one line each.

    SEEN is the age of the device's newest heartbeat; a device is `stale` when it is older than
    --stale-after. SPOOL is what waits on the device to be sent (records, size, age of the
    oldest), DROPS the events/frames dropped since its previous beat. NOTES flag a policy that is
    not the newest one the fleet reports, and a policy that halted capture.
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    rows = view.fleet_rows(_load(ctx).latest.values(), datetime.now(UTC), stale_after)
    shown = view.select(rows, stale_for, version, policy)
    if as_json:
        click.echo(json.dumps(view.rows_json(shown), indent=2))
        return
    for line in view.table(shown):
        click.echo(line)
    click.echo(f"{len(shown)} of {len(rows)} devices" if len(shown) != len(rows) else f"{len(rows)} devices", err=True)


@fleet.command()
@_JSON
@_STALE_AFTER
@pass_ctx
def summary(ctx: Context, as_json: bool, stale_after: timedelta) -> None:
    """Count the devices by state (stale ones as `stale`) and by agent version."""
    counts = view.summarize(view.fleet_rows(_load(ctx).latest.values(), datetime.now(UTC), stale_after))
    if as_json:
        click.echo(json.dumps(view.summary_json(counts), indent=2))
        return
    for line in view.summary_lines(counts):
        click.echo(line)


@fleet.command()
@click.option("--port", type=int, required=True, help="Serve on this port (TEACHSTREAM_METRICS_BIND).")
@_STALE_AFTER
@pass_ctx
def serve(ctx: Context, port: int, stale_after: timedelta) -> None:
    """Serve the fleet's counts as Prometheus gauges, read from the heartbeats at each scrape:
    devices by state and by agent version, devices behind on policy, and the age of the newest heartbeat."""
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector

    from runtime.metrics import expose

    settings: Settings = ctx.settings()
    codec = Codec.from_url(settings.schema_registry_url)

    class Fleet(Collector):
        def collect(self) -> Iterator[GaugeMetricFamily]:
            rows = view.fleet_rows(read_heartbeats(settings, codec).latest.values(), datetime.now(UTC), stale_after)
            counts = view.summarize(rows)
            states = GaugeMetricFamily(FLEET_DEVICES, "devices by state (stale: silent)", labels=["state"])
            for state, n in counts.states.items():
                states.add_metric([state], n)
            versions = GaugeMetricFamily(FLEET_VERSIONS, "devices by agent version", labels=["version"])
            for version, n in counts.agent_versions.items():
                versions.add_metric([version], n)
            yield states
            yield versions
            yield GaugeMetricFamily(FLEET_BEHIND, "devices not on the newest policy", value=counts.policy_stale)
            newest = min((row.age_s for row in rows), default=float("inf"))
            yield GaugeMetricFamily(
                FLEET_NEWEST_AGE,
                "age of the newest heartbeat of any device",
                value=newest,
            )

    expose(Fleet(), port, settings.metrics_bind)
    click.echo(f"fleet metrics at http://{settings.metrics_bind}:{port}/metrics")
    while True:
        time.sleep(3600)
