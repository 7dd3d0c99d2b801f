"""``teachstream dataset ls|show|stats|export|snapshot`` and ``teachstream view`` (edge)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from schemas.dataset import SessionEntry, dataset_root
from teachstream.context import Context, pass_ctx

if TYPE_CHECKING:  # the reader loads pyarrow: only the commands that read the dataset pay for it
    from teachstream.dataset import Dataset

_FROM = click.option(
    "--from",
    "uri",
    help="A dataset URI (s3://bucket/prefix or a local directory); default: the configured bucket and prefix.",
)


def _open(ctx: Context, uri: str | None) -> Dataset:
    from teachstream.dataset import open as open_dataset

    if uri and not uri.startswith("s3://"):
        return open_dataset(uri)
    from sinks.s3 import s3_client

    settings = ctx.settings()
    uri = uri or f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}"
    return open_dataset(uri, client=s3_client(settings))


def _filters(func: Any) -> Any:
    for option in (
        click.option("--date", help="Day (YYYY-MM-DD) or range FROM..TO, by session start in UTC."),
        click.option("--app", help="Only sessions with a step in this app."),
        click.option("--device", help="Only this device pseudonym."),
        click.option("--user", help="Only this person's pseudonym."),
        click.option(
            "--drop-flagged",
            "drop",
            multiple=True,
            help="Leave out sessions with these quality flags (withheld, no_frames, short, idle, redacted; "
            "comma-separated, or all).",
        ),
    ):
        func = option(func)
    return func


_SNAPSHOT = click.option("--snapshot", help="Read only the sessions of this snapshot (its latest version).")


def _source(ctx: Context, uri: str | None, snapshot: str | None) -> Dataset:
    ds = _open(ctx, uri)
    return ds.snapshot(snapshot) if snapshot else ds


def _select(
    ds: Dataset, date: str | None, app: str | None, device: str | None, user: str | None, drop: tuple[str, ...] = ()
) -> list[SessionEntry]:
    from teachstream.quality import parse_drop

    try:
        unwanted = parse_drop(drop)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--drop-flagged") from None
    days: str | tuple[str, str] | None = date
    if date and ".." in date:
        low, high = date.split("..", 1)
        days = (low, high)
    chosen = ds.sessions(date=days, app=app, device=device, user=user)
    return ds.without_flagged(chosen, unwanted) if unwanted else chosen


def _described(
    date: str | None, app: str | None, device: str | None, user: str | None, drop: tuple[str, ...]
) -> dict[str, Any]:
    """The filters as a snapshot records them."""
    given = {"date": date, "app": app, "device": device, "user": user, "drop_flagged": ",".join(drop) or None}
    return {k: v for k, v in given.items() if v}


Filters = Any


@click.group()
def dataset() -> None:
    """Look into the dataset in S3 (or a local copy): sessions, steps, statistics, exports."""


@dataset.command("ls")
@_FROM
@_SNAPSHOT
@_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session.")
@click.option("--flags", "show_flags", is_flag=True, help="Show each session's quality flags (reads its steps).")
@pass_ctx
def ls(
    ctx: Context, /, uri: str | None, snapshot: str | None, as_json: bool, show_flags: bool, **filters: Filters
) -> None:
    """List complete sessions, oldest first."""
    ds = _source(ctx, uri, snapshot)
    sessions = _select(ds, **filters)
    for s in sessions:
        found = ds.flags(s) if show_flags else ()
        if as_json:
            data = s.__dict__ | ({"flags": list(found)} if show_flags else {})
            click.echo(json.dumps(data, default=list))
        else:
            minutes = (s.end - s.start).total_seconds() / 60
            marks = f"  [{', '.join(found)}]" if found else ""
            click.echo(
                f"{s.session_id}  {s.start_time[:19]}  {minutes:5.1f} min  {s.steps:4d} steps  "
                f"{s.frames:3d} frames  {s.redactions:3d} redacted  {', '.join(s.apps)}{marks}"
            )
    if not as_json:
        click.echo(f"{len(sessions)} sessions", err=True)


@dataset.command()
@_FROM
@click.argument("session_id")
@pass_ctx
def show(ctx: Context, uri: str | None, session_id: str) -> None:
    """Print one session and its steps."""
    ds = _open(ctx, uri)
    entry = ds.session(session_id)
    click.echo(
        f"session {entry.session_id}: device {entry.device_id}, person {entry.user_id}, "
        f"{entry.start_time} to {entry.end_time} ({entry.end_reason}), {entry.events} events, "
        f"{entry.redactions} redacted"
    )
    for step in ds.steps(entry):
        click.echo(f"  {step['index']:4d} {step['start_time']:%H:%M:%S} {_describe(step):<48} {step['app']}")


def _describe(step: dict[str, Any]) -> str:
    action = step["action"]
    if action == "type":
        return f"type({step['text']!r})"
    if action in ("hotkey", "key"):
        return f"{action}({'+'.join(step['keys'])})"
    if action == "scroll":
        return f"scroll({step['dx']}, {step['dy']}) at ({step['x']}, {step['y']})"
    if action == "drag":
        end = step["path"][-1] if step["path"] else {"x": step["x"], "y": step["y"]}
        return f"drag(({step['x']}, {step['y']}) -> ({end['x']}, {end['y']}))"
    return f"{action}({step['x']}, {step['y']})"


@dataset.command()
@_FROM
@_SNAPSHOT
@_filters
@click.option("--html", type=click.Path(path_type=Path), help="Also write an HTML report with plots to this file.")
@pass_ctx
def stats(ctx: Context, /, uri: str | None, snapshot: str | None, html: Path | None, **filters: Filters) -> None:
    """Counts and distributions: sessions, steps, frames, actions, apps, redactions, quality flags."""
    from teachstream import report

    ds = _source(ctx, uri, snapshot)
    found = report.collect(ds, _select(ds, **filters))
    click.echo(json.dumps(found.summary(), indent=2))
    if html:
        html.write_text(
            report.html(found, f"teachstream dataset: {snapshot or ds.storage.describe()}"), encoding="utf-8"
        )
        click.echo(f"wrote {html}", err=True)


@dataset.command()
@_FROM
@_SNAPSHOT
@_filters
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["teachstream", "agentnet", "osworld", "hf"]),
    default="teachstream",
    show_default=True,
    help="teachstream: a copy the reader opens; agentnet, osworld, hf: the training formats.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Local directory to write.")
@pass_ctx
def export(ctx: Context, /, uri: str | None, snapshot: str | None, fmt: str, output: Path, **filters: Filters) -> None:
    """Write sessions (all, or the filtered ones) with their frames to a local directory."""
    ds = _source(ctx, uri, snapshot)
    sessions = _select(ds, **filters)
    if fmt == "teachstream":
        files = ds.export(output, sessions)
        click.echo(f"exported {len(sessions)} sessions ({files} files) to {output}")
        return
    from teachstream.exports import export as export_to

    done = export_to(ds, sessions, fmt, output)
    left = f"; {done.left_out} steps before a session's first frame left out" if done.left_out else ""
    click.echo(
        f"exported {done.sessions} sessions, {done.steps} steps and {done.images} images as {fmt} to {output}{left}"
    )


@dataset.group()
def snapshot() -> None:
    """Pinned, immutable sets of sessions for training runs, checked against erasures and withdrawals."""


@snapshot.command("create")
@_FROM
@_filters
@click.option(
    "--pack",
    is_flag=True,
    help="Also store each session's frames in one object, so that reading the snapshot costs one request per "
    "session (a second copy of the frames; erasure and withdrawal remove it with the person's data).",
)
@click.argument("name")
@pass_ctx
def snapshot_create(ctx: Context, /, uri: str | None, name: str, pack: bool, **filters: Filters) -> None:
    """Pin the sessions that match the filters (and the ETags of their objects) as snapshot NAME."""
    ds = _open(ctx, uri)
    sessions = _select(ds, **filters)
    key = ds.create_snapshot(name, sessions, _described(**filters), packed=pack)
    packed = f", frames packed per session ({sum(1 for s in sessions if s.frame_keys)} packs)" if pack else ""
    click.echo(f"snapshot {name} v1: {len(sessions)} sessions, {sum(s.steps for s in sessions)} steps{packed} -> {key}")


@snapshot.command("list")
@_FROM
@pass_ctx
def snapshot_list(ctx: Context, uri: str | None) -> None:
    """Every snapshot version."""
    for key in _open(ctx, uri).snapshot_keys():
        click.echo(key)


@snapshot.command("check")
@_FROM
@click.argument("name")
@click.option("--version", type=int, help="A version other than the latest.")
@pass_ctx
def snapshot_check(ctx: Context, uri: str | None, name: str, version: int | None) -> None:
    """Name the sessions of snapshot NAME erased, cut by a withdrawal or removed since; exit 1 if there are any."""
    pinned, findings = _open(ctx, uri).check_snapshot(name, version)
    for f in findings:
        click.echo(f"{f.session_id}  person {f.user_id}  {f.kind}: {f.detail}")
    click.echo(
        f"snapshot {name} v{pinned.pinned.version}: {len(pinned.pinned.sessions)} sessions, "
        f"{len(findings)} may no longer be used"
        + (f"; `teachstream dataset snapshot refresh {name}`" if findings else ""),
        err=True,
    )
    if findings:
        raise SystemExit(1)


@snapshot.command("refresh")
@_FROM
@click.argument("name")
@pass_ctx
def snapshot_refresh(ctx: Context, uri: str | None, name: str) -> None:
    """Write the next version of snapshot NAME without the sessions `snapshot check` names, then prune packs."""
    ds = _open(ctx, uri)
    key, findings, deleted = ds.refresh_snapshot(name)
    kinds = ", ".join(sorted({f.kind for f in findings})) or "none"
    click.echo(f"{key}: {len(findings)} sessions dropped ({kinds})")
    for old in deleted:
        click.echo(f"deleted {old}: it listed sessions of a person erased or withdrawn since")
    _prune(ctx, ds)


@snapshot.command("prune")
@_FROM
@pass_ctx
def snapshot_prune(ctx: Context, uri: str | None) -> None:
    """Delete the packs no snapshot lists any more, whose session's originals changed or went, or whose session
    is older than the dataset's retention (run it daily)."""
    _prune(ctx, _open(ctx, uri))


def _prune(ctx: Context, ds: Dataset) -> None:
    days = ctx.settings().dataset_retention_days
    gone = ds.prune_packs(retention_days=days)
    kept = f"older than {days} days, " if days else ""
    click.echo(f"packs deleted: {len(gone)} (no snapshot lists them, {kept}or their session's steps changed or went)")


@click.command()
@_FROM
@click.argument("session_id")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="HTML file to write (default: SESSION_ID.html).")
@pass_ctx
def view(ctx: Context, uri: str | None, session_id: str, output: Path | None) -> None:
    """Write one session as a self-contained HTML page: every step's frame with its action drawn on it."""
    from teachstream.view import render_session

    ds = _open(ctx, uri)
    entry = ds.session(session_id)
    steps = ds.steps(entry)
    frames = {key: ds.frame_bytes(key) for key in {s["frame_key"] for s in steps if s["frame_key"]}}
    target = output or Path(f"{session_id}.html")
    target.write_text(render_session(entry, steps, frames), encoding="utf-8")
    click.echo(f"wrote {target} ({len(steps)} steps, {len(frames)} frames)")
