"""``teachstream policy``: signed capture policies for the fleet — keys, signing, publishing, the kill switch (edge).

A policy file is JSON with the fields of ``schemas.control_records.Policy`` (times as ISO 8601,
``scopes`` as names, ``signature`` as base64). ``sign`` stamps it with the time of signing and
an expiry (``--valid-for``), and signs it; agents and the stream obey only policies signed by a
key in their ``policy_keys`` (see ``schemas.signed_policy``). ``kill-switch on`` publishes a
new version of the policy in force with the switch on: every agent following it stops
capturing, and the stream drops what is recorded after it; ``kill-switch off`` publishes a
newer version with it off.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from schemas.capture_policy import validate_hosts
from schemas.control_records import CaptureScope, Policy
from teachstream.context import Context, pass_ctx

DEFAULT_VALID_FOR = "30d"


def parse_period(text: str) -> timedelta:
    """``90s``, ``15m``, ``12h``, ``30d`` (``teachstream.fleet.parse_duration``), as a click error otherwise."""
    from teachstream.fleet import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def to_json(policy: Policy) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in dataclasses.fields(Policy):
        value = getattr(policy, field.name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        elif isinstance(value, bytes):
            value = base64.b64encode(value).decode()
        elif isinstance(value, tuple):
            value = [v.value if isinstance(v, CaptureScope) else v for v in value]
        out[field.name] = value
    return out


def from_json(data: dict[str, Any]) -> Policy:
    """A policy from its file form; a clear error for unknown or missing fields."""
    names = {f.name for f in dataclasses.fields(Policy)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise click.ClickException(f"unknown policy fields: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    for required in ("policy_id", "version"):
        if not data.get(required):
            raise click.ClickException(f"the policy has no {required!r}")
    kw: dict[str, Any] = dict(data)
    try:
        kw["issued_at"] = _time(data.get("issued_at")) or datetime.now(UTC)
        kw["expires_at"] = _time(data.get("expires_at"))
        kw["scopes"] = tuple(CaptureScope(s.upper()) for s in data.get("scopes", ()))
        for name in ("allow_apps", "deny_apps", "deny_title_patterns", "allow_hosts", "deny_hosts"):
            kw[name] = tuple(data.get(name, ()))
        validate_hosts(kw["allow_hosts"] + kw["deny_hosts"])
        if data.get("unknown_hosts", "deny") not in ("deny", "allow"):
            raise ValueError(f"unknown_hosts is {data['unknown_hosts']!r}; it is deny (the default) or allow")
        kw["signature"] = base64.b64decode(data["signature"]) if data.get("signature") else None
    except (ValueError, TypeError) as exc:
        raise click.ClickException(f"the policy file has a bad value: {exc}") from exc
    return Policy(**kw)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read(path: Path) -> Policy:
    try:
        return from_json(json.loads(path.read_text()))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path} is not JSON: {exc}") from exc


def _write(path: Path, policy: Policy) -> None:
    path.write_text(json.dumps(to_json(policy), indent=2) + "\n")


def _key(path: Path) -> Any:
    from schemas.signed_policy import BadKey, load_private

    try:
        return load_private(path.read_bytes())
    except (OSError, BadKey) as exc:
        raise click.ClickException(f"cannot use the signing key {path}: {exc}") from exc


def _signed(policy: Policy, key: Any, valid_for: timedelta, now: datetime) -> Policy:
    from schemas.signed_policy import sign

    return sign(dataclasses.replace(policy, issued_at=now, expires_at=now + valid_for), key)


def _latest(settings: Any) -> dict[str, Policy]:
    """The newest record of each policy on ``control.policy`` (the topic is compacted by policy id)."""
    from runtime.control_topics import ControlFollower
    from schemas.records import from_avro

    found: dict[str, Policy] = {}

    def keep(name: str, value: dict[str, Any]) -> None:
        if name == "Policy":
            policy = from_avro(Policy, value)
            found[policy.policy_id] = policy

    follower = ControlFollower(settings, {"control.policy": keep}).start()
    try:
        if not follower.wait_caught_up(15):
            raise click.ClickException("control.policy could not be read in full (is Kafka running?)")
    finally:
        follower.stop()
    return found


def _push(settings: Any, policy: Policy) -> None:
    from runtime.control_topics import publish
    from schemas.signed_policy import check

    keys = settings.trusted_policy_keys()
    if keys:  # never publish what this deployment's own readers would refuse
        verdict = check(policy, keys, datetime.now(UTC))
        if not verdict.valid:
            raise click.ClickException(f"not published: {verdict.reason}")
    publish(settings, "control.policy", policy.policy_id, policy)


@click.group()
def policy() -> None:
    """Signed capture policies: keys, signing, publishing, the kill switch."""


@policy.command()
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="Private key file to write.")
def keygen(out: Path) -> None:
    """Create a signing key; print the public key agents and the stream must trust."""
    from schemas.signed_policy import key_id, new_key, private_pem, public_raw, public_text

    if out.exists():
        raise click.ClickException(f"{out} exists; a signing key is never overwritten")
    key = new_key()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(private_pem(key))
    public = public_raw(key)
    click.echo(f"wrote the private key to {out} (keep it offline; mode 600)")
    click.echo(f"public key {key_id(public)}: {public_text(public)}")
    click.echo("trust it on agents and the stream with TEACHSTREAM_POLICY_KEYS (a JSON list) or policy_keys")


@policy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--valid-for", default=DEFAULT_VALID_FOR, show_default=True, help="Expiry after signing.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Write here (default: over FILE).")
def sign(file: Path, key_file: Path, valid_for: str, out: Path | None) -> None:
    """Stamp FILE with the time and an expiry, and sign it."""
    signed = _signed(_read(file), _key(key_file), parse_period(valid_for), datetime.now(UTC))
    _write(out or file, signed)
    click.echo(f"signed {signed.policy_id} {signed.version} with key {signed.key_id}; expires {signed.expires_at}")


@policy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def verify(ctx: Context, file: Path) -> None:
    """Check FILE's signature and expiry against the trusted keys."""
    from schemas.signed_policy import check

    keys = ctx.settings().trusted_policy_keys()
    if not keys:
        raise click.ClickException("no policy keys are configured (policy_keys / TEACHSTREAM_POLICY_KEYS)")
    verdict = check(_read(file), keys, datetime.now(UTC))
    click.echo(("valid: " if verdict.valid else "INVALID: ") + verdict.reason)
    if not verdict.valid:
        raise SystemExit(1)


@policy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_ctx
def push(ctx: Context, file: Path) -> None:
    """Publish a signed policy FILE on control.policy."""
    policy_ = _read(file)
    _push(ctx.settings(), policy_)
    click.echo(f"published {policy_.policy_id} {policy_.version}")


@policy.command()
@pass_ctx
def show(ctx: Context) -> None:
    """The newest record of each policy on control.policy, and whether it is valid here and now."""
    from schemas.signed_policy import check

    settings = ctx.settings()
    keys = settings.trusted_policy_keys()
    latest = _latest(settings)
    if not latest:
        click.echo("no policy published; agents follow their configured policy")
    for policy_ in latest.values():
        verdict = check(policy_, keys, datetime.now(UTC)) if keys else None
        state = "no keys configured here" if verdict is None else ("valid" if verdict.valid else "INVALID")
        kill = f"  KILL SWITCH ON: {policy_.kill_reason}" if policy_.kill_switch else ""
        click.echo(f"{policy_.policy_id} {policy_.version}: {state}{kill}")
        if verdict is not None:
            click.echo(f"  {verdict.reason}")


@policy.command("kill-switch")
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--reason", default="", help="Why (shown in every agent's status).")
@click.option("--key", "key_file", type=click.Path(exists=True, path_type=Path), required=True)
@click.option("--policy-id", help="The policy to switch (default: the only one published).")
@click.option("--valid-for", default=DEFAULT_VALID_FOR, show_default=True)
@pass_ctx
def kill_switch(ctx: Context, state: str, reason: str, key_file: Path, policy_id: str | None, valid_for: str) -> None:
    """Stop (on) or allow again (off) capture on every agent following a policy."""
    settings = ctx.settings()
    key = _key(key_file)
    latest = _latest(settings)
    if policy_id is None:
        if len(latest) != 1:
            raise click.ClickException(f"name the policy with --policy-id (published: {', '.join(latest) or 'none'})")
        policy_id = next(iter(latest))
    current = latest.get(policy_id) or Policy(policy_id, "initial", datetime.now(UTC))
    if policy_id in latest:  # its other fields are signed again: they must be an admin's, unchanged
        from schemas.signed_policy import check_signature

        keys = settings.trusted_policy_keys()
        verdict = check_signature(current, keys) if keys else None
        if verdict is None or not verdict.valid:
            why = "no policy keys are configured here" if verdict is None else verdict.reason
            raise click.ClickException(f"will not sign the published policy again: {why}; push a signed file")
    now = datetime.now(UTC)
    on = state == "on"
    version = f"{current.version.split('+')[0]}+kill-{state}-{now:%Y%m%dT%H%M%SZ}"
    switched = dataclasses.replace(current, version=version, kill_switch=on, kill_reason=reason if on else "")
    signed = _signed(switched, key, parse_period(valid_for), now)
    _push(settings, signed)
    click.echo(f"kill switch {state} for {policy_id} ({signed.version}), published at {now:%H:%M:%S} UTC")
