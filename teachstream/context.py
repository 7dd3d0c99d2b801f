"""The command line's shared context: the config file and how commands load their settings (edge)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from runtime.settings import Settings, load


class Context:
    def __init__(self, config: Path | None) -> None:
        self.config = config

    def settings(self, cls: type[Any] = Settings, **overrides: Any) -> Any:
        settings = load(cls, self.config, **overrides)
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
        return settings


pass_ctx = click.make_pass_decorator(Context)
