"""``teachstream agent`` and ``teachstream consent`` (edge).

The main CLI adds the two groups with ``cli.add_command(agent)`` and
``cli.add_command(consent)``; its context object builds settings with
``ctx.settings(AgentSettings, ...)``. They run as ``teachstream agent`` and ``teachstream consent``.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from teachstream.agent_settings_cli import settings as _settings
from teachstream.agent_settings_cli import state_dir_option
from teachstream.consent_cli import consent

__all__ = ["agent", "consent"]


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
    from producers.control_socket import request

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
    """Say what is captured right now and why, what never is, and how to pause or withdraw."""
    _ask({"cmd": "status"})


@agent.command()
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
def transparency(output: Path) -> None:
    """Write the page saying what the running agent captures (also kept as what-is-captured.html)."""
    from producers.control_socket import request

    settings = _settings(click.get_current_context().meta.get("agent_state_dir"))
    reply = request(settings.agent_state_dir, {"cmd": "transparency"})
    if not reply.get("ok") or "html" not in reply:
        raise click.ClickException(str(reply.get("text", "the agent sent no page")))
    output.write_text(str(reply["html"]))
    click.echo(f"Wrote {output}: what the agent captures now ({reply.get('state')}).")


@agent.command("browser-host", context_settings={"ignore_unknown_options": True}, hidden=True)
@click.argument("browser_args", nargs=-1, type=click.UNPROCESSED)
def browser_host(browser_args: tuple[str, ...]) -> None:
    """The native messaging host the browser extension talks to (the browser starts it)."""
    from producers.control_socket import request
    from teachstream.browser_host import serve, source_name

    given = click.get_current_context().meta.get("agent_state_dir")  # the launcher passes it: no config needed
    state_dir = given if given is not None else _settings(None).agent_state_dir
    code = serve(sys.stdin.buffer, sys.stdout.buffer, lambda m: request(state_dir, m, 2.0), source_name(browser_args))
    sys.exit(code)


@agent.command("browser-install")
@click.option(
    "--browser",
    "browsers",
    type=click.Choice(["chromium", "chrome", "firefox"]),
    multiple=True,
    help="Which browsers (default: all three).",
)
@click.option("--system", is_flag=True, help="For every account on this machine (root), not only this one.")
@click.option(
    "--user-data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A Chromium or Chrome profile directory started with --user-data-dir.",
)
@click.option("--remove", is_flag=True, help="Remove the host and its manifests.")
def browser_install(browsers: tuple[str, ...], system: bool, user_data_dir: Path | None, remove: bool) -> None:
    """Let the browser extension reach this agent: write the native messaging host and its manifests.

    The extension itself (deploy/browser-extension) is installed in the browser, by the
    person or by the browser's enterprise policy. Until it answers, every browser window
    is withheld.
    """
    from teachstream.browser_host import install, targets, uninstall

    state_dir = _settings(click.get_current_context().meta.get("agent_state_dir")).agent_state_dir
    found = targets(browsers or ("chromium", "chrome", "firefox"), Path.home(), system, user_data_dir)
    paths = uninstall(state_dir, found) if remove else install(state_dir, found)
    verb = "removed" if remove else "wrote"
    for path in paths:
        click.echo(f"{verb} {path}")
