"""The pool panel: each lab server's state, load, speed, trust and last error.

Shown only while `[[pool.servers]]` is configured (the deck adds and removes it): a console on
one machine has no lab, and a panel that only says so would take rows from the others.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from console.outside_text import clean
from console.tui.widgets.formatting import seconds, tps
from console.tui.widgets.views import PoolServerView, PoolView

#: Theme colour of each server state.
STATE_STYLE = {
    "up": "$success",
    "degraded": "$warning",
    "unknown": "$text-muted",
    "breaker open": "$error",
    "down": "$error",
}


def pool_health(view: PoolView) -> str:
    """The pool in a few words: "pool 2/2 up", "pool 1/2 up", "pool down"."""
    usable = view.usable
    if usable == 0 and all(server.state == "unknown" for server in view.servers):
        return "pool checking…"
    if usable == 0:
        return "pool down"
    return f"pool {usable}/{len(view.servers)} up"


def pool_health_style(view: PoolView) -> str:
    """Green when every server takes requests, yellow when some do, red when none does."""
    usable = view.usable
    if usable == len(view.servers):
        return "$success"
    return "$warning" if usable else "$error"


def render_server(server: PoolServerView) -> Content:
    """One server: name, kind, trust and state, then its load and speed, then its last error."""
    trust = ("trusted", "$success") if server.trusted else ("untrusted (redacted)", "$text-muted")
    lines = [
        Content.assemble(
            ("● ", STATE_STYLE.get(server.state, "$warning")),
            (clean(server.name), "bold"),
            ("  ", ""),
            (clean(server.kind), "$text-muted"),
            ("  ", ""),
            trust,
            ("  ", ""),
            (server.state, STATE_STYLE.get(server.state, "$warning")),
        ),
        Content.assemble(
            "  ",
            f"{server.inflight}/{server.max_inflight} in flight",
            ("  queued ", "$text-muted"),
            str(server.queued),
            ("  ", ""),
            tps(server.tok_s) if server.tok_s is not None else "— tok/s",
            ("  ttft p50 ", "$text-muted"),
            seconds(server.ttft_p50_s),
        ),
    ]
    if server.last_error:
        # A past error on a server that is up again is history, not an alarm.
        style = "$text-muted" if server.state == "up" else "$error"
        lines.append(
            Content.assemble(("  last error ", "$text-muted"), (clean(server.last_error), style))
        )
    return Content("\n").join(lines)


def render_pool(view: PoolView) -> Content:
    """Every server, then the pool's strategy and the requests waiting for a slot."""
    lines = [render_server(server) for server in view.servers]
    waiting = f" · {view.waiting} waiting for a slot" if view.waiting else ""
    lines.append(
        Content.assemble(
            (pool_health(view), pool_health_style(view)),
            (f"  balancing {view.strategy}{waiting}", "$text-muted"),
        )
    )
    return Content("\n").join(lines)


class PoolPanel(Static):
    """The lab's self-hosted servers (`[[pool.servers]]`)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("checking the lab's servers…", id=id, classes=classes)
        self.border_title = "Pool"
        self._view: PoolView | None = None

    @property
    def view(self) -> PoolView | None:
        """What the panel shows now (None before the first sample)."""
        return self._view

    def show(self, view: PoolView) -> None:
        """Render `view` when it changed."""
        if view != self._view:
            self._view = view
            self.update(render_pool(view))
