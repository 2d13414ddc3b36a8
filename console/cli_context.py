"""The global options of the `switchboard` command, shared by its subcommands and the console.

Its own module so that the console (console.tui.app) can take it without importing the CLI
that starts the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from policies.config import Config, ConfigStore


@dataclass
class CliContext:
    """The global options, shared by every subcommand."""

    config_path: Path | None
    db_path: Path | None
    demo_cloud: bool
    _store: ConfigStore | None = None

    @property
    def store(self) -> ConfigStore:
        """The configuration, loaded on first use (ConfigError surfaces as exit code 2)."""
        if self._store is None:
            self._store = ConfigStore.open(self.config_path)
        return self._store

    @property
    def config(self) -> Config:
        """The configuration in force."""
        return self.store.config
