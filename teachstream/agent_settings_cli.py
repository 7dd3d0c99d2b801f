"""The agent settings of a ``teachstream agent`` or ``teachstream consent`` command (edge)."""

from __future__ import annotations

from pathlib import Path

import click

from producers.settings import AgentSettings
from teachstream.context import Context


def settings(state_dir: Path | None) -> AgentSettings:
    """Built once by the main CLI's context object, with ``--state-dir`` on top."""
    ctx = click.get_current_context().find_object(Context)
    assert ctx is not None, "the agent commands run under the teachstream CLI's context"
    built: AgentSettings = ctx.settings(AgentSettings, agent_state_dir=state_dir)
    return built


def current() -> AgentSettings:
    """The settings of the running command (its group stored ``--state-dir`` in the context's meta)."""
    return settings(click.get_current_context().meta.get("agent_state_dir"))


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The agent's state directory (default ~/.local/state/teachstream; TEACHSTREAM_AGENT_STATE_DIR).",
)
