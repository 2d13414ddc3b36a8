"""Help: every screen's keys, read from the screens' own bindings, and what the badges mean."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from console.outcome import Badge, Outcome, badge
from console.tui.screens import BADGE_STYLES

#: What each badge on an answer means, in the order a user meets them.
BADGE_MEANINGS: tuple[tuple[Badge, str], ...] = (
    (
        badge(Outcome("ok", "local", ("local",), redacted=False)),
        "answered by the llama.cpp model on this machine; nothing left it",
    ),
    (
        badge(Outcome("ok", "cloud", ("cloud",), redacted=False)),
        "answered by the cloud endpoint; the prompt had no PII",
    ),
    (
        badge(Outcome("ok", "cloud", ("cloud",), redacted=True)),
        "sent to the cloud with placeholders for the PII, restored here",
    ),
    (
        badge(Outcome("fallback", "cloud", ("local", "cloud"), redacted=False)),
        "the first tier failed before answering; the next one answered",
    ),
    (
        badge(Outcome("failed", "none", (), redacted=False)),
        "every tier in the chain failed; the error and its fix are shown",
    ),
    (
        badge(Outcome("blocked", "none", (), redacted=False)),
        'PII found and [pii] on_pii = "block": nothing was sent anywhere',
    ),
)


def binding_rows(
    node_type: type[DOMNode], display: Callable[[Binding], str] | None = None
) -> list[tuple[str, str]]:
    """(keys, description) of the described bindings `node_type` and its own bases declare.

    Textual's built-in bindings (focus cycling, copy) are left out; keys sharing one action are
    listed together ("escape / q").
    """
    keys_of: dict[str, list[str]] = {}
    described: dict[str, str] = {}
    for cls in reversed(node_type.__mro__):
        if cls.__module__.startswith("textual."):
            continue
        bindings: list[BindingType] = list(cls.__dict__.get("BINDINGS", []))
        for binding in Binding.make_bindings(bindings):
            if not binding.description or binding.system:
                continue
            keys = keys_of.setdefault(binding.action, [])
            key = display(binding) if display else binding.key_display or binding.key
            if key not in keys:
                keys.append(key)
            described[binding.action] = binding.description
    return [(" / ".join(keys_of[action]), described[action]) for action in keys_of]


def _keys_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=True, box=None)
    table.add_column("key", style="bold cyan", width=18, no_wrap=True)
    table.add_column("does", ratio=1)
    for key, description in rows:
        table.add_row(key, description)
    if not rows:
        table.add_row("—", "no keys of its own")
    return table


def _badges_table() -> Table:
    table = Table(title="Badges", title_justify="left", title_style="bold", expand=True, box=None)
    table.add_column("badge", width=22, no_wrap=True)
    table.add_column("means", ratio=1)
    for shown, meaning in BADGE_MEANINGS:
        table.add_row(Text(f" {shown.label} ", style=BADGE_STYLES[shown.kind]), meaning)
    return table


class HelpScreen(ModalScreen[None]):
    """The keys of every screen and the meaning of the badges and colours."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-panel") as panel:
            panel.border_title = "Help"
            panel.border_subtitle = "esc closes"
            yield Static(id="help-keys")
            yield Static(_badges_table(), id="help-badges")
            yield Static(
                "Colours: green = local tier, blue = cloud, magenta = redacted before sending, "
                "yellow = a fallback or a warning (budget near its cap, breaker half-open), "
                "red = failed, blocked or breaker open.",
                id="help-colours",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#help-keys", Static).update(self._keys())

    def _keys(self) -> Table:
        """One table per screen: app-wide keys, the main screen's, then each secondary screen."""
        from console.tui.screens.compare import CompareScreen
        from console.tui.screens.inspector import InspectorScreen
        from console.tui.screens.ledger import LedgerScreen
        from console.tui.screens.policy import PolicyScreen
        from console.tui.screens.replay import ReplayScreen

        sections: list[tuple[str, type[DOMNode]]] = [("Everywhere", type(self.app))]
        # The app's own first screen; Textual's blank default screen sits under it.
        base = next(
            (
                screen
                for screen in self.app.screen_stack
                if not type(screen).__module__.startswith("textual.")
            ),
            None,
        )
        if base is not None and base is not self:
            sections.append(("Main screen", type(base)))
        sections += [
            ("Decision inspector", InspectorScreen),
            ("Policy editor", PolicyScreen),
            ("Replay", ReplayScreen),
            ("Compare", CompareScreen),
            ("Ledger", LedgerScreen),
        ]
        grid = Table.grid(expand=True)
        grid.add_column()
        for title, node_type in sections:
            grid.add_row(_keys_table(title, binding_rows(node_type, self.app.get_key_display)))
            grid.add_row("")
        return grid
