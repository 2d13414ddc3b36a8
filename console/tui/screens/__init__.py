"""The console's secondary screens: inspector, policy editor, replay, compare, ledger and help.

Each screen reaches the headless core through the app's `runtime` attribute
(console.runtime.Runtime) and only renders and dispatches; the work happens in the core.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, cast

from textual.app import App

from console.outcome import Badge, BadgeKind

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


#: Rich styles of the answer badges, by kind; the help screen explains them.
BADGE_STYLES: dict[BadgeKind, str] = {
    "local": "bold black on green",
    "cloud": "bold white on blue",
    "redacted": "bold white on magenta",
    "fallback": "bold black on yellow",
    "failed": "bold white on red",
    "blocked": "bold white on dark_red",
    "cancelled": "bold black on grey70",
    "interrupted": "bold black on grey70",
}

#: Rich styles of the tiers, wherever a tier name is shown.
TIER_STYLES: dict[str, str] = {"local": "green", "cloud": "blue", "none": "red"}


def badge_style(shown: Badge) -> str:
    """The style of a badge, from its kind (never from its label)."""
    return BADGE_STYLES[shown.kind]


def money(usd: float | None) -> str:
    """A USD amount for the screen: cents above a dollar, three significant digits below."""
    if usd is None:
        return "—"
    if usd == 0:
        return "$0"
    sign = "-" if usd < 0 else ""
    usd = abs(usd)
    if usd >= 1:
        return f"{sign}${usd:,.2f}"
    decimals = max(2, 2 - math.floor(math.log10(usd)))
    digits = f"{usd:.{decimals}f}"
    whole, _, fraction = digits.partition(".")
    return f"{sign}${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def one_line(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


__all__ = [
    "BADGE_STYLES",
    "TIER_STYLES",
    "ConsoleHost",
    "badge_style",
    "host_of",
    "money",
    "one_line",
    "runtime_of",
]
