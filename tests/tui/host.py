"""A minimal app that hosts one screen over a runtime, as the console does (for screen tests)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static


class Host(App[None]):
    """Hosts one screen over `runtime` (a real Runtime, or fixed data for snapshots)."""

    def __init__(self, runtime: object, screen: Callable[[], Screen[None]]) -> None:
        super().__init__()
        self.runtime = runtime
        self._make = screen

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self._make())
