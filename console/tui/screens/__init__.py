"""The console's secondary screens: inspector, policy editor, replay, compare, ledger and help.

Each screen reaches the headless core through the app's `runtime` attribute
(console.runtime.Runtime) and only renders and dispatches; the work happens in the core.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from textual.app import App

from console.outside_text import clean
from console.tui.palette import Palette, palette_for

if TYPE_CHECKING:
    from console.runtime import Runtime


class ConsoleHost(Protocol):
    """What the main screen reads of the app hosting it (console.tui.app.SwitchboardApp).

    A protocol, so that the screen does not import the app that imports it.
    """

    runtime: Runtime
    runtime_ready: asyncio.Event
    log_path: Path | None


def host_of(app: App[object]) -> ConsoleHost:
    """`app` as the console host of the main screen."""
    return cast("ConsoleHost", app)


def runtime_of(app: App[object]) -> Runtime:
    """The Runtime owned by `app`; every host of these screens must provide one as `app.runtime`."""
    runtime = getattr(app, "runtime", None)
    if runtime is None:
        raise LookupError(f"{type(app).__name__} has no runtime: screens need app.runtime")
    return cast("Runtime", runtime)


def palette_of(app: App[object]) -> Palette:
    """The palette of the theme `app` shows now (tier colours for Rich renderables)."""
    return palette_for(app.theme)


def one_line(text: str, width: int) -> str:
    """Outside `text` cleaned (console.outside_text) on one line, cut to `width` characters with
    an ellipsis; a cell of a table still wraps it in a `Text` so it is not read as markup."""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


__all__ = ["ConsoleHost", "host_of", "one_line", "palette_of", "runtime_of"]
