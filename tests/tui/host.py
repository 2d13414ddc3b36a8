"""A minimal app that hosts one screen over a runtime, as the console does (for screen tests),
and a real Runtime started with every part ready, for the screens that run prompts."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

from console.runtime import Runtime
from policies.config import ConfigStore

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
#: Loading the model, the analyzer and the demo endpoint on a cold, shared 2-core machine.
READY_WAIT_S = 240.0


@asynccontextmanager
async def ready_runtime(home: Path) -> AsyncIterator[Runtime]:
    """A Runtime over a copy of the documented config.toml in `home`, the demo endpoint as its
    cloud tier, once the local model, the analyzer and the cloud are all ready."""
    shutil.copy(REPO_CONFIG, home / "config.toml")
    runtime = Runtime(ConfigStore.open(home / "config.toml"), home / "ledger.db", demo_cloud=True)
    await runtime.start()
    try:
        for _ in range(int(READY_WAIT_S * 10)):
            status = runtime.status()
            if (
                status.local_state in ("ready", "failed")
                and status.pii_ready
                and status.cloud_ready
            ):
                break
            await asyncio.sleep(0.1)
        status = runtime.status()
        assert status.local_state == "ready", status
        assert status.pii_ready and status.cloud_ready, status
        yield runtime
    finally:
        await runtime.aclose()


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (a worker finished), or fail."""
    for _ in range(int(READY_WAIT_S * 10)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never happened: {what}")


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
