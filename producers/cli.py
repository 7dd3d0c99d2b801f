"""``teachstream agent`` and ``teachstream consent`` (edge).

The main CLI adds the two groups with ``cli.add_command(agent)`` and
``cli.add_command(consent)``; its context object builds settings with
``ctx.settings(AgentSettings, ...)``. They run as ``teachstream agent`` and ``teachstream consent``.
"""

from __future__ import annotations

import getpass
import signal
import sys
from pathlib import Path
from typing import Any, Protocol

import click

from producers.settings import AgentSettings
from schemas.control import ConsentState
from schemas.pseudonym import user_pseudonym


class _Context(Protocol):
    def settings(self, cls: type[Any] = ..., **overrides: Any) -> Any: ...


def _settings(state_dir: Path | None) -> AgentSettings:
    ctx: _Context = click.get_current_context().find_root().obj
    settings: AgentSettings = ctx.settings(AgentSettings, agent_state_dir=state_dir)
    return settings


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The agent's state directory (default ~/.local/state/teachstream; TEACHSTREAM_AGENT_STATE_DIR).",
)


@click.group(invoke_without_command=True)
@state_dir_option
@click.pass_context
def agent(ctx: click.Context, state_dir: Path | None) -> None:
    """Run the capture agent; or pause, resume and ask it what it captures.

    Without a subcommand the agent runs in the foreground until SIGTERM or Ctrl-C. It
    captures nothing until `teachstream consent accept` was run by the person.
    """
    ctx.meta["agent_state_dir"] = state_dir
    if ctx.invoked_subcommand is not None:
        return
    from producers.agent import Agent

    running = Agent(_settings(state_dir))
    signal.signal(signal.SIGTERM, lambda *_: running.stop())
    try:
        running.run()
    except KeyboardInterrupt:
        running.stop()


def _ask(message: dict[str, Any]) -> None:
    from producers.control import request

    settings = _settings(click.get_current_context().meta.get("agent_state_dir"))
    reply = request(settings.agent_state_dir, message)
    click.echo(reply.get("text", reply))
    if not reply.get("ok"):
        sys.exit(1)


@agent.command()
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), help="Resume by itself after N minutes.")
def pause(minutes: float | None) -> None:
    """Stop all capture now (until `resume`, or for N minutes)."""
    _ask({"cmd": "pause", "minutes": minutes})


@agent.command()
def resume() -> None:
    """Capture again after a pause."""
    _ask({"cmd": "resume"})


@agent.command()
def status() -> None:
    """Say what is captured right now, and why."""
    _ask({"cmd": "status"})


@click.group()
@state_dir_option
@click.pass_context
def consent(ctx: click.Context, state_dir: Path | None) -> None:
    """Record on this device whether you agree to be captured."""
    ctx.meta["agent_state_dir"] = state_dir


def _record(state: ConsentState) -> str:
    from producers import consent as store

    settings = _settings(click.get_current_context().meta.get("agent_state_dir"))
    user = user_pseudonym(settings.pseudonym_key.get_secret_value().encode(), settings.agent_user or getpass.getuser())
    store.record(settings.agent_state_dir, state, user)
    return user


@consent.command()
def accept() -> None:
    """Agree to capture: the agent starts recording within a second."""
    user = _record(ConsentState.GRANTED)
    click.echo(f"Consent recorded for {user}: the agent captures keys, mouse and screenshots of allowed windows.")


@consent.command()
def withdraw() -> None:
    """Withdraw consent: the agent stops recording within a second."""
    user = _record(ConsentState.WITHDRAWN)
    click.echo(f"Consent withdrawn for {user}: the agent captures nothing from now on.")


@consent.command(name="status")
def consent_status() -> None:
    """Show the decision recorded on this device."""
    from producers import consent as store

    settings = _settings(click.get_current_context().meta.get("agent_state_dir"))
    rec = store.load(settings.agent_state_dir)
    if rec is None:
        click.echo("No consent is recorded on this device: nothing is captured.")
    else:
        click.echo(f"{rec.state.value} by {rec.user_id} at {rec.recorded_at.isoformat(timespec='seconds')}.")
