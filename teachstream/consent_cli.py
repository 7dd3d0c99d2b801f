"""``teachstream consent accept|withdraw|status``: on the device, or for a person with ``--user`` (edge).

On the device the decision is written to the local file (so it holds offline) and published to
the ``control.consent`` ledger; if Kafka is unreachable the agent publishes it later. With
``--user NAME`` an admin (HR) records or reads a person's decision in the ledger only: the
name is pseudonymized with the configured key, and the record says which admin made it.
"""

from __future__ import annotations

import getpass
import logging
from datetime import UTC, datetime
from pathlib import Path

import click

from producers import consent as store
from producers.core.consent import parse_scopes, scope_words
from producers.core.status import recorded_by, when
from producers.settings import AgentSettings
from schemas.consent import scopes_of
from schemas.control_records import CaptureScope, ConsentRecord, ConsentState
from schemas.errors import BrokerUnavailableError
from schemas.pseudonym import user_pseudonym
from teachstream.agent_settings_cli import current, state_dir_option

LEDGER_WAIT_S = 5.0
user_option = click.option("--user", "name", help="Admin form: the person's login name (the ledger only).")


@click.group()
@state_dir_option
@click.pass_context
def consent(ctx: click.Context, state_dir: Path | None) -> None:
    """Record whether you agree to be captured (or, with --user, record it for a person as their admin)."""
    ctx.meta["agent_state_dir"] = state_dir


def _scopes(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[CaptureScope, ...]:
    try:
        return parse_scopes(value) if value else tuple(CaptureScope)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@consent.command()
@click.option("--scope", callback=_scopes, help="What you agree to: keys, mouse, screens (default: all three).")
@user_option
def accept(scope: tuple[CaptureScope, ...], name: str | None) -> None:
    """Agree to capture: the agent starts recording within a second."""
    rec = _decide(ConsentState.GRANTED, scope, name)
    click.echo(f"Consent recorded for {rec.user_id}: the agent captures {scope_words(scope)} of allowed windows.")


@consent.command()
@user_option
def withdraw(name: str | None) -> None:
    """Withdraw consent: the agent stops recording within seconds."""
    rec = _decide(ConsentState.WITHDRAWN, (), name)
    click.echo(f"Consent withdrawn for {rec.user_id}: the agent captures nothing from now on.")


@consent.command(name="status")
@user_option
def consent_status(name: str | None) -> None:
    """Show the decision on this device and the ledger's newest record for the person."""
    settings = current()
    user_id = _pseudonym(settings, name or settings.user())
    if name is None:
        click.echo(f"On this device: {_sentence(store.load(settings.agent_state_dir))}")
    try:
        click.echo(f"In the ledger: {_sentence(_ledger_latest(settings, user_id))}")
    except BrokerUnavailableError as exc:
        click.echo(f"In the ledger: unknown, {exc}")


def _decide(state: ConsentState, scopes: tuple[CaptureScope, ...], name: str | None) -> ConsentRecord:
    settings = current()
    if name is not None:  # admin form: the ledger only, a failure is an error
        admin = _pseudonym(settings, getpass.getuser())
        rec = ConsentRecord(
            _pseudonym(settings, name),
            state,
            settings.agent_policy_version,
            datetime.now(UTC),
            admin,
            scopes,
            "admin",
        )
        _publish(settings, rec)
        return rec
    user_id = _pseudonym(settings, settings.user())
    rec = store.record(settings.agent_state_dir, state, user_id, settings.agent_policy_version, scopes)
    try:
        _publish(settings, rec)
    except BrokerUnavailableError as exc:
        click.echo(f"Recorded on this device only, the agent sends it to the ledger once Kafka answers: {exc}")
    else:
        store.mark_published(settings.agent_state_dir, rec)
    return rec


def _publish(settings: AgentSettings, rec: ConsentRecord) -> None:
    from runtime.control_topics import publish

    publish(settings, "control.consent", rec.user_id, rec, timeout_s=LEDGER_WAIT_S)


def _ledger_latest(settings: AgentSettings, user_id: str) -> ConsentRecord | None:
    """The ledger's newest record for the person (None: there is none); raises if Kafka does not answer."""
    from runtime.privacy_feed import PrivacyFeed

    logging.getLogger("runtime").setLevel(logging.ERROR)  # one sentence below says it all
    feed = PrivacyFeed(settings, only_user=user_id, topics=("control.consent",)).start()
    try:
        if not feed.wait_caught_up(LEDGER_WAIT_S):
            raise BrokerUnavailableError(
                f"Kafka at {settings.kafka_bootstrap} did not answer in {LEDGER_WAIT_S:.0f}s; is it running?"
            )
    finally:
        feed.stop()
    return feed.latest(user_id)


def _sentence(rec: ConsentRecord | None) -> str:
    if rec is None:
        return "no decision recorded: nothing is captured."
    what = "withdrawn" if rec.state is ConsentState.WITHDRAWN else f"granted for {scope_words(scopes_of(rec))}"
    return f"{what} {recorded_by(rec)} at {when(rec.recorded_at)} (person {rec.user_id}, policy {rec.policy_version})."


def _pseudonym(settings: AgentSettings, name: str) -> str:
    return user_pseudonym(settings.pseudonym_key.get_secret_value().encode(), name)
