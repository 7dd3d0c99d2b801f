"""``teachstream dataset ls|show|stats|export`` and ``teachstream view`` (edge)."""

from __future__ import annotations

import json
from collections import Counter
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
    ):
        func = option(func)
    return func


def _select(ds: Dataset, date: str | None, app: str | None, device: str | None, user: str | None) -> list[SessionEntry]:
    days: str | tuple[str, str] | None = date
    if date and ".." in date:
        low, high = date.split("..", 1)
        days = (low, high)
    return ds.sessions(date=days, app=app, device=device, user=user)


Filters = str | None


@click.group()
def dataset() -> None:
    """Look into the dataset in S3 (or a local copy): sessions, steps, statistics, exports."""


@dataset.command("ls")
@_FROM
@_filters
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session.")
@pass_ctx
def ls(ctx: Context, /, uri: str | None, as_json: bool, **filters: Filters) -> None:
    """List complete sessions, oldest first."""
    sessions = _select(_open(ctx, uri), **filters)
    for s in sessions:
        if as_json:
            click.echo(json.dumps(s.__dict__, default=list))
        else:
            minutes = (s.end - s.start).total_seconds() / 60
            click.echo(
                f"{s.session_id}  {s.start_time[:19]}  {minutes:5.1f} min  {s.steps:4d} steps  "
                f"{s.frames:3d} frames  {s.redactions:3d} redacted  {', '.join(s.apps)}"
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
@_filters
@pass_ctx
def stats(ctx: Context, /, uri: str | None, **filters: Filters) -> None:
    """Counts of sessions, steps, frames, actions and redactions."""
    ds = _open(ctx, uri)
    sessions = _select(ds, **filters)
    actions: Counter[str] = Counter()
    for s in sessions:
        actions.update(ds.steps_table(s).column("action").to_pylist())
    labels: Counter[str] = Counter()
    for s in sessions:
        labels.update(s.labels)
    hours = sum((s.end - s.start).total_seconds() for s in sessions) / 3600
    summary = {
        "sessions": len(sessions),
        "steps": sum(s.steps for s in sessions),
        "frames": sum(s.frames for s in sessions),
        "people": len({s.user_id for s in sessions}),
        "devices": len({s.device_id for s in sessions}),
        "hours": round(hours, 2),
        "bytes": sum(s.bytes for s in sessions),
        "redacted_key_events": sum(s.redactions for s in sessions),
        "placeholders": dict(sorted(labels.items())),
        "actions": dict(actions.most_common()),
    }
    click.echo(json.dumps(summary, indent=2))


@dataset.command()
@_FROM
@_filters
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="Local directory to write.")
@pass_ctx
def export(ctx: Context, /, uri: str | None, output: Path, **filters: Filters) -> None:
    """Copy sessions (all, or the filtered ones) with their frames to a local directory readable by the reader."""
    ds = _open(ctx, uri)
    sessions = _select(ds, **filters)
    files = ds.export(output, sessions)
    click.echo(f"exported {len(sessions)} sessions ({files} files) to {output}")


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
