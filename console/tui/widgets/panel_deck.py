"""The four live panels: stacked beside the chat on wide terminals, one at a time (tabs) on
narrow ones. Which layout applies is pure CSS (the screen's breakpoint classes)."""

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
from console.tui.widgets.privacy_panel import PrivacyPanel

PANEL_NAMES = ("Local", "Cloud", "Privacy", "Ledger")


def render_tabs(current: int) -> Content:
    """The tab row shown on narrow terminals."""
    tabs = [
        Content.styled(f" {name} ", "bold reverse $accent" if index == current else "$text-muted")
        for index, name in enumerate(PANEL_NAMES)
    ]
    return Content.assemble(Content(" ").join(tabs), ("  f8 next", "$text-muted"))


class PanelDeck(VerticalScroll, can_focus=False):
    """Local, cloud, privacy and ledger panels."""

    current: reactive[int] = reactive(0)

    def compose(self) -> ComposeResult:
        yield Static(render_tabs(0), id="panel-tabs")
        yield LocalPanel(id="local-panel", classes="panel")
        yield CloudPanel(id="cloud-panel", classes="panel")
        yield PrivacyPanel(id="privacy-panel", classes="panel")
        yield LedgerPanel(id="ledger-panel", classes="panel")

    def on_mount(self) -> None:
        self.watch_current(self.current)

    def watch_current(self, current: int) -> None:
        self.query_one("#panel-tabs", Static).update(render_tabs(current))
        for index, panel in enumerate(self.query(".panel").results(Widget)):
            panel.set_class(index == current, "-current")

    def next_panel(self) -> None:
        """Show the next panel (narrow layout)."""
        self.current = (self.current + 1) % len(PANEL_NAMES)
