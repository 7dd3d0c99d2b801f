"""``teachstream erase`` and ``teachstream my-data``: a person's rights, run by an administrator (edge)."""

from __future__ import annotations

import getpass
import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from schemas.control_records import ConsentRecord, ErasureRequest
from schemas.dataset import dataset_root
from schemas.errors import ServiceUnavailableError
from schemas.pseudonym import user_pseudonym
from schemas.records import from_avro
from teachstream.context import Context, pass_ctx


def _pseudonyms(settings: Any, user: str) -> list[str]:
    """The person's pseudonym under the current key and under every key it replaced."""
    return list(dict.fromkeys(user_pseudonym(key, user) for key in settings.pseudonym_keys()))


@click.command()
@click.option("--user", required=True, help="The person's user name (as on their devices).")
@click.option("--reason", default="", help="Why (kept in the audit record).")
@click.option("--by", "requested_by", default=None, help="Who asks (default: your user name); kept in the audit.")
@click.option("--wait", "wait_s", default=120.0, show_default=True, help="Seconds to wait for the sink (0: do not).")
@pass_ctx
def erase(ctx: Context, user: str, reason: str, requested_by: str | None, wait_s: float) -> None:
    """Erase everything stored about a person: dataset objects, manifest entries, open sessions.

    Publishes a request to control.erasure; the sink deletes the person's objects, removes them
    from the manifests and writes an audit record (who asked, when, how many objects).
    """
    from runtime.control_topics import publish
    from schemas.dataset import audit_key
    from sinks.s3 import get_or_none, s3_client

    settings = ctx.settings()
    now = datetime.now(UTC)
    requests = [
        ErasureRequest(uuid.uuid4().hex, pseudonym, requested_by or getpass.getuser(), now, reason)
        for pseudonym in _pseudonyms(settings, user)
    ]
    for request in requests:
        publish(settings, "control.erasure", request.user_id, request)
        click.echo(f"erasure {request.request_id} of {request.user_id} requested")
    if wait_s <= 0:
        return
    s3 = s3_client(settings)
    deadline = time.monotonic() + wait_s
    for request in requests:
        key = audit_key(settings.s3_prefix, request.request_id)
        while (body := get_or_none(s3, settings.s3_bucket, key)) is None:
            if time.monotonic() > deadline:
                raise ServiceUnavailableError(
                    f"no sink finished erasure {request.request_id} within {wait_s:.0f}s; is `teachstream sink` "
                    f"running? The request stays in control.erasure and is carried out when one runs"
                )
            time.sleep(0.5)
        audit = json.loads(body)
        click.echo(
            f"erased {request.user_id}: {audit['objects_deleted']} objects, {audit['sessions_removed']} sessions, "
            f"{audit['manifests_rewritten']} manifests, in {audit['duration_ms'] / 1000:.1f}s "
            f"(audit: s3://{settings.s3_bucket}/{key})"
        )


@click.command("my-data")
@click.option("--user", required=True, help="The person's user name (as on their devices).")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The zip file to write.")
@pass_ctx
def my_data(ctx: Context, user: str, output: Path) -> None:
    """Export everything stored about a person, with a readable summary (index.html), as a zip."""
    from runtime.control_topics import ControlFollower
    from sinks.s3 import s3_client
    from teachstream import dataset
    from teachstream.mydata import export

    settings = ctx.settings()
    users = _pseudonyms(settings, user)
    records: list[ConsentRecord] = []

    def keep(name: str, value: dict[str, Any]) -> None:
        if name == "ConsentRecord" and value.get("user_id") in users:
            records.append(from_avro(ConsentRecord, value))

    follower = ControlFollower(settings, {"control.consent": keep}).start()
    try:
        caught_up = follower.wait_caught_up(15)
    finally:
        follower.stop()
    if not caught_up:
        click.echo("note: the consent ledger could not be read in full; its history may be incomplete", err=True)
    ds = dataset.open(f"s3://{settings.s3_bucket}/{dataset_root(settings.s3_prefix)}", client=s3_client(settings))
    count = export(ds, users, sorted(records, key=lambda r: r.recorded_at), output, datetime.now(UTC))
    click.echo(f"wrote {output}: {count} sessions; open index.html in it first")
