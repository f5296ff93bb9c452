"""Settings given to the top-level ``vscm`` command, built once and shared with every subcommand."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

__all__ = ["CliConfig", "get_config"]


@dataclass(frozen=True)
class CliConfig:
    """Options of the root group (``vscm --keystore-dir D ...``); ``None`` means "use the default"."""

    keystore_dir: Path | None = None


def get_config() -> CliConfig:
    """The root group's settings for the command being run (defaults outside a click command)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(CliConfig) if ctx is not None else None
    return found if found is not None else CliConfig()
