"""The ``teachstream`` command line (edge): one group, one settings model per command.

Every operator mistake ends in one sentence on stderr (what failed, why, what to do)
and exit status 1; a traceback means a bug in teachstream.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from producers.core.simulation import PROFILES
from schemas.errors import TeachstreamError
from schemas.topics import TOPIC_NAMES, spec_for
from teachstream.context import Context, pass_ctx


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    envvar="TEACHSTREAM_CONFIG",
    help="TOML file with settings (flags and TEACHSTREAM_* variables win over it).",
)
@click.version_option(package_name="teachstream")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """teachstream: consented, redacted computer-use trajectories, from devices through Kafka to S3.

    Settings come from flags, TEACHSTREAM_* environment variables (`. .stack/env` sets them
    for the local stack) and an optional TOML file.
    """
    ctx.obj = Context(config)


@cli.command()
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at the oldest record instead of the last ones.")
@click.option("-f", "--follow", is_flag=True, help="Keep waiting for new records.")
@click.option(
    "-n", "--last", default=10, show_default=True, help="Records to show per partition without --from-beginning."
)
@click.option("--max", "max_records", type=int, help="Stop after this many records.")
@click.option("--ticks", is_flag=True, help="Also show the stream's event-time ticks between the records.")
@pass_ctx
def tail(
    ctx: Context, topic: str, from_beginning: bool, follow: bool, last: int, max_records: int | None, ticks: bool
) -> None:
    """Print decoded records of TOPIC as JSON lines (bytes as size and hash).

    TOPIC is a project topic name such as interactions.clean; the configured prefix is added.
    """
    from schemas.codec import Codec
    from teachstream.tail import TailRequest
    from teachstream.tail import tail as run_tail

    settings = ctx.settings()
    name = settings.topic(topic) if spec_for(topic) else topic
    request = TailRequest(name, from_beginning, follow, last, max_records, markers=ticks)
    run_tail(settings, request, Codec.from_url(settings.schema_registry_url), click.echo)


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_ctx
def topics(ctx: Context, names: tuple[str, ...], as_json: bool) -> None:
    """List the project topics with partitions, retention, cleanup policy and end offsets."""
    from teachstream.admin import describe_topics

    settings = ctx.settings()
    wanted = [settings.topic(n) if spec_for(n) else n for n in (names or TOPIC_NAMES)]
    infos = describe_topics(settings, wanted)
    if as_json:
        click.echo(json.dumps([vars(i) for i in infos], indent=2))
        return
    click.echo(f"{'topic':<32} {'parts':>5} {'retention':>10} {'cleanup':<8} {'max.msg':>9} {'records':>10}")
    for i in infos:
        if not i.exists:
            click.echo(f"{i.name:<32} missing: run `teachstream provision`")
            continue
        click.echo(
            f"{i.name:<32} {i.partitions:>5} {_duration(i.retention_ms):>10} {i.cleanup_policy:<8} "
            f"{_size(i.max_message_bytes):>9} {i.end_offsets:>10}"
        )
    if any(not i.exists for i in infos):
        sys.exit(1)


@cli.command()
@click.argument("groups", nargs=-1)
@click.option("--watch", "every", type=float, help="Measure again every this many seconds, until interrupted.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option(
    "--serve",
    "port",
    type=int,
    help="Serve the lag as Prometheus gauges on this port (TEACHSTREAM_METRICS_BIND), measured at each scrape.",
)
@pass_ctx
def lag(ctx: Context, groups: tuple[str, ...], every: float | None, as_json: bool, port: int | None) -> None:
    """Consumer lag of GROUPS (default: every group reading a project topic), per topic and partition:
    records behind the end, and seconds since the oldest record not committed yet was written."""
    import time
    from datetime import UTC, datetime

    from teachstream.admin import admin_client
    from teachstream.lag import measure, project_groups, serve_lag, table

    settings = ctx.settings()
    names = project_groups(admin_client(settings), settings, groups)
    if not names:
        raise TeachstreamError(f"no consumer group has committed offsets in a topic starting {settings.topic_prefix!r}")
    if port is not None:
        serve_lag(settings, names, port, settings.metrics_bind, lambda: int(time.time() * 1000))
        click.echo(f"lag of {', '.join(names)} at http://{settings.metrics_bind}:{port}/metrics")
        while True:
            time.sleep(3600)
    while True:
        lags = measure(settings, names, lambda: int(time.time() * 1000))
        if as_json:
            for item in lags:
                click.echo(json.dumps(vars(item)))
        else:
            click.echo(table(lags, datetime.now(UTC)))
        if every is None:
            return
        time.sleep(every)


@cli.command()
@pass_ctx
def provision(ctx: Context) -> None:
    """Create the missing project topics (with their configs) and the S3 bucket; apply the retention settings."""
    from schemas.dataset import dataset_root
    from sinks.s3 import apply_lifecycle, ensure_bucket, s3_client
    from teachstream.admin import align_raw_retention, ensure_topics

    settings = ctx.settings()
    created = ensure_topics(settings)
    click.echo(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ", all present"))
    changed = align_raw_retention(settings)
    click.echo(
        f"raw topics keep records for {settings.raw_retention_hours:g} h"
        + (f" (changed: {', '.join(changed)})" if changed else "")
    )
    if settings.s3_endpoint or settings.aws_access_key_id:
        client = s3_client(settings)
        made = ensure_bucket(client, settings)
        click.echo(f"bucket s3://{settings.s3_bucket}: {'created' if made else 'present'}")
        root = dataset_root(settings.s3_prefix)
        click.echo("dataset: " + apply_lifecycle(client, settings, root, settings.dataset_retention_days))


@cli.command()
@click.option("--web-port", type=int, help="Serve faust's web views and health check on this port.")
@click.option(
    "--stage",
    type=click.Choice(["all", "interactions", "screens"]),
    help="Run only these stages (default all; TEACHSTREAM_STREAMS_STAGE). `screens` redacts frames as a consumer "
    "group of its own, so it can be sized apart; run `interactions` beside it.",
)
@pass_ctx
def streams(ctx: Context, web_port: int | None, stage: str | None) -> None:
    """Run the stream worker: raw topics to clean topics, bad records to the dead-letter topic."""
    from streams.app import create_app
    from streams.settings import StreamsSettings

    settings = ctx.settings(StreamsSettings, streams_web_port=web_port, streams_stage=stage)
    from teachstream.admin import existing_topics

    have = existing_topics(settings)
    missing = [
        settings.topic(t)
        for t in ("interactions.raw", "screens.raw", "interactions.clean", "screens.clean", "deadletter")
        if settings.topic(t) not in have
    ]
    if missing:
        raise TeachstreamError(f"topics {', '.join(missing)} do not exist; create them with `teachstream provision`")
    import faust

    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()


@cli.command()
@click.option("--until-idle", type=float, help="Exit after this many seconds without records (for batch runs).")
@pass_ctx
def sink(ctx: Context, until_idle: float | None) -> None:
    """Run the S3 writer: sessions and their frames into the dataset, offsets committed after upload."""
    from schemas.dataset import dataset_root
    from sinks.settings import SinkSettings
    from sinks.worker import SinkWorker

    settings = ctx.settings(SinkSettings)
    stats = SinkWorker(settings).run(idle_exit_s=until_idle)
    root = f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}"
    for key in stats.keys:
        click.echo(root + key)
    click.echo(
        f"sink: {stats.sessions} sessions and {stats.frames} frames in {stats.objects} objects "
        f"({_size(stats.bytes)}) under {root}; {stats.frames_missing} frames missing, "
        f"{stats.dead_letters} dead letters",
        err=True,
    )


@cli.command()
@click.option("--devices", type=int, help="Simulated devices (one person each)  [default: 3, or as --rate needs]")
@click.option("--rate", type=float, help="Aim at this many interaction events per second in all: sets --devices.")
@click.option(
    "--profile",
    type=click.Choice(sorted(PROFILES)),
    default="busy",
    show_default=True,
    help="How the people work: busy (types and clicks all the time) or typical (reads, pauses).",
)
@click.option("--duration", default=10.0, show_default=True, help="Seconds of activity per device.")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same activity.")
@click.option("--frame-scale", default=0.25, show_default=True, help="Frame size as a share of the 1920x1080 screen.")
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write each published event and frame, with the broker's answer, to this file (JSON lines).",
)
@click.option(
    "--offline",
    metavar="START:SECONDS",
    help="The devices lose the network at START s for SECONDS s: what they capture is held and sent when back.",
)
@click.option("--no-frames", is_flag=True, help="Publish interaction events only (load tests of the event path).")
@click.option("--tag", default="", help="A run's name: gives these people devices no other run has.")
@click.option("--fast", is_flag=True, help="Publish as fast as possible instead of in real time.")
@pass_ctx
def simulate(
    ctx: Context,
    devices: int | None,
    rate: float | None,
    profile: str,
    duration: float,
    seed: int,
    frame_scale: float,
    ledger: Path | None,
    offline: str | None,
    no_frames: bool,
    tag: str,
    fast: bool,
) -> None:
    """Publish realistic synthetic activity of DEVICES people to interactions.raw and screens.raw."""
    from producers.core.simulation import events_per_second
    from producers.simulator import run_simulation
    from teachstream.admin import existing_topics

    if devices is not None and rate is not None:
        raise click.UsageError("give --devices or --rate, not both")
    if not 0.05 <= frame_scale <= 1:
        raise click.UsageError("--frame-scale must be between 0.05 and 1")
    person = PROFILES[profile]
    if rate is not None:
        per_device = events_per_second(person)
        devices = max(1, round(rate / per_device))
        click.echo(f"{profile} person: {per_device:.1f} events/s each; {devices} devices for {rate:g} events/s")
    settings = ctx.settings()
    have = existing_topics(settings)
    for topic in ("interactions.raw", "screens.raw"):
        if settings.topic(topic) not in have:
            raise TeachstreamError(
                f"topic {settings.topic(topic)} does not exist; create it with `teachstream provision`"
            )
    result = run_simulation(
        settings,
        devices or 3,
        duration,
        seed,
        realtime=not fast,
        scale=frame_scale,
        profile=person,
        ledger=ledger,
        tag=tag,
        frames=not no_frames,
        offline=_span(offline) if offline else None,
    )
    click.echo(f"simulated {result.devices} devices: {result.events} events and {result.frames} frames published")
    if ledger:
        click.echo(f"ledger: {ledger} (check it with `teachstream ledger-check {ledger}`)")


def _span(text: str) -> tuple[float, float]:
    start, sep, seconds = text.partition(":")
    try:
        span = float(start), float(seconds)
    except ValueError:
        span = (-1.0, -1.0)
    if not sep or span[0] < 0 or span[1] <= 0:
        raise click.BadParameter(f"{text!r} is not START:SECONDS (e.g. 20:120)", param_hint="--offline")
    return span


@cli.command("ledger-check")
@click.argument("ledger", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wait", default=0.0, show_default=True, help="Check again for up to this many seconds until it passes.")
@pass_ctx
def ledger_check(ctx: Context, ledger: Path, wait: float) -> None:
    """Compare a simulate --ledger file with the dataset, screens.clean and the dead letters.

    Exits 1 if any acknowledged event or frame was lost, duplicated or landed out of order.
    """
    from teachstream.ledger_check import check_ledger, load_ledger

    records = load_ledger(ledger)
    deadline = time.monotonic() + wait
    while True:
        report, dead = check_ledger(ctx.settings(), records)
        if report.ok or time.monotonic() >= deadline:
            break
        time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))
    for line in report.lines():
        click.echo(line)
    if dead.unreadable:
        click.echo(
            f"  ({dead.unreadable} dead letters name no event or frame (bytes that are no record, ticks): not counted)"
        )
    if not report.ok:
        sys.exit(1)


def _register_components() -> None:
    from teachstream.acl_cli import acl
    from teachstream.agent_cli import agent, consent
    from teachstream.dataset_cli import dataset, view
    from teachstream.fleet_cli import fleet
    from teachstream.policy_cli import policy
    from teachstream.privacy_cli import erase, my_data

    cli.add_command(acl)
    cli.add_command(agent)
    cli.add_command(consent)
    cli.add_command(dataset)
    cli.add_command(view)
    cli.add_command(erase)
    cli.add_command(my_data)
    cli.add_command(fleet)
    cli.add_command(policy)


_register_components()


def _duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return "forever"
    hours = ms / 3_600_000
    return f"{hours / 24:g}d" if hours >= 24 else f"{hours:g}h"


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n = n / 1024  # type: ignore[assignment]
    return str(n)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TeachstreamError as exc:
        click.echo(f"teachstream: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
