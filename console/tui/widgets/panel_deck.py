"""The live panels: stacked beside the chat on wide terminals, one at a time (tabs) on
narrow ones. Which layout applies is pure CSS (the screen's breakpoint classes).

The pool panel is in the deck only while `[[pool.servers]]` is configured: it is then shown
between the local engine and the cloud (the order requests burst in) and joins the f8 cycle.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from console.tui.widgets.cloud_panel import CloudPanel
from console.tui.widgets.ledger_panel import LedgerPanel
from console.tui.widgets.local_panel import LocalPanel
from console.tui.widgets.pool_panel import PoolPanel
from console.tui.widgets.privacy_panel import PrivacyPanel

#: Every panel's tab name and widget id, in the deck's order.
PANELS = (
    ("Local", "local-panel"),
    ("Pool", "pool-panel"),
    ("Cloud", "cloud-panel"),
    ("Privacy", "privacy-panel"),
    ("Ledger", "ledger-panel"),
)


def render_tabs(names: tuple[str, ...], current: int) -> Content:
    """The tab row shown on narrow terminals."""
    tabs = [
        Content.styled(f" {name} ", "bold reverse $accent" if index == current else "$text-muted")
        for index, name in enumerate(names)
    ]
    return Content.assemble(Content(" ").join(tabs), ("  f8 next", "$text-muted"))


class PanelDeck(VerticalScroll, can_focus=False):
    """Local, pool (when configured), cloud, privacy and ledger panels."""

    current: reactive[int] = reactive(0)
    #: Whether the pool panel is in the deck (servers are configured).
    pool_shown: reactive[bool] = reactive(False)

    def compose(self) -> ComposeResult:
        yield Static("", id="panel-tabs")
        yield LocalPanel(id="local-panel", classes="panel")
        yield PoolPanel(id="pool-panel", classes="panel -absent")
        yield CloudPanel(id="cloud-panel", classes="panel")
        yield PrivacyPanel(id="privacy-panel", classes="panel")
        yield LedgerPanel(id="ledger-panel", classes="panel")

    @property
    def shown(self) -> tuple[tuple[str, str], ...]:
        """The (tab name, widget id) of each panel in the deck now."""
        return tuple(panel for panel in PANELS if self.pool_shown or panel[1] != "pool-panel")

    @property
    def names(self) -> tuple[str, ...]:
        """The tab names in the deck now."""
        return tuple(name for name, _ in self.shown)

    def on_mount(self) -> None:
        self._apply()

    def watch_current(self) -> None:
        self._apply()

    def watch_pool_shown(self, shown: bool) -> None:
        # The tab that was current stays current (the pool's own tab gives way to the local one).
        pool = [widget_id for _, widget_id in PANELS].index("pool-panel")
        if shown and self.current >= pool:
            self.current += 1
        elif not shown and self.current >= pool:
            self.current = max(self.current - 1, 0) if self.current > pool else 0
        self._apply()

    def _apply(self) -> None:
        if not self.is_mounted:
            return
        shown = [widget_id for _, widget_id in self.shown]
        current = shown[self.current % len(shown)]
        self.query_one("#panel-tabs", Static).update(render_tabs(self.names, self.current))
        for panel in self.query(".panel").results(Widget):
            panel.set_class(panel.id not in shown, "-absent")
            panel.set_class(panel.id == current, "-current")

    def next_panel(self) -> None:
        """Show the next panel (narrow layout)."""
        self.current = (self.current + 1) % len(self.shown)

    def show_panel(self, widget_id: str) -> None:
        """Make the panel `widget_id` the current one (narrow layout)."""
        ids = [shown_id for _, shown_id in self.shown]
        if widget_id in ids:
            self.current = ids.index(widget_id)
