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
from console.tui.keys import ALWAYS_SHOWN, EVERYWHERE_ACTIONS
from console.tui.palette import TIERS, Palette, badge_tier
from console.tui.screens import palette_of

#: What each badge on an answer means, in the order a user meets them (console.outcome.badge).
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
    (
        badge(Outcome("cancelled", "none", (), redacted=False)),
        "you cancelled it (escape or ctrl+c); the ledger still records it",
    ),
)

#: What a tier colour means, for the legend (the same colours as the badges).
TIER_MEANINGS: dict[str, str] = {
    "local": "this machine",
    "pool": "a lab server",
    "cloud": "the cloud endpoint",
    "redacted": "cloud, with placeholders for personal data",
    "fallback": "fell back, or a warning",
    "cancelled": "cancelled",
    "failed": "failed or blocked",
}

#: Things to know that are not a key of one screen.
TIPS: tuple[tuple[str, str], ...] = (
    ("typing", "any printable key goes to the prompt line, wherever the focus is"),
    ("ctrl+p", "the command palette: every action by name, including the ones without a key"),
    ("pageup / pagedown", "scroll the chat from the prompt line (shift+up / shift+down: a line)"),
    ("tab / shift+tab", "move the focus to an answer (to inspect or copy it) and back"),
    ("ctrl+y", "copy the selected (or last) answer; saved to a file when the terminal refuses"),
    ("mouse", "select text with the mouse to copy it (shift+drag in some terminals)"),
    ("/local · /cloud", "at the start of a prompt, force a tier; alone it is not sent"),
    ("money", "every action that may spend money asks first, with the estimated cost"),
    (
        "quality",
        "f11 / f12 rate an answer; compare (f5) then ctrl+j asks the judge; the policy editor "
        "(f3) plots cost against judged quality",
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
            if not binding.description or binding.system or binding.action in EVERYWHERE_ACTIONS:
                continue
            keys = keys_of.setdefault(binding.action, [])
            key = display(binding) if display else binding.key_display or binding.key
            if key not in keys:
                keys.append(key)
            described[binding.action] = binding.description
    return [(" / ".join(keys_of[action]), described[action]) for action in keys_of]


def _keys_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=True, box=None)
    table.add_column("key", style="bold", width=18, no_wrap=True)
    table.add_column("does", ratio=1)
    for key, description in rows:
        table.add_row(Text(key), Text(description))
    if not rows:
        table.add_row("—", "no keys of its own")
    return table


def badges_table(palette: Palette) -> Table:
    """Each badge in its colours and what it means."""
    table = Table(title="Badges", title_justify="left", title_style="bold", expand=True, box=None)
    table.add_column("badge", width=22, no_wrap=True)
    table.add_column("means", ratio=1)
    for shown, meaning in BADGE_MEANINGS:
        table.add_row(
            Text(f" {shown.label} ", style=palette.badge_style(badge_tier(shown.kind))),
            Text(meaning),
        )
    return table


def colours_legend(palette: Palette) -> Text:
    """The tier colours, drawn from the same palette as every screen."""
    text = Text("Colours: ", style="bold")
    for index, tier in enumerate(TIERS):
        if index:
            text.append(" · ")
        text.append("█ ", style=palette.tier_style(tier))
        text.append(f"{tier} = {TIER_MEANINGS[tier]}")
    return text


class HelpScreen(ModalScreen[None]):
    """The keys of every screen and the meaning of the badges and colours."""

    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-panel") as panel:
            panel.border_title = "Help"
            panel.border_subtitle = "esc closes"
            yield Static(_keys_table("Good to know", list(TIPS)), id="help-tips")
            yield Static(id="help-keys")
            yield Static(id="help-badges")
            yield Static(id="help-colours")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        palette = palette_of(self.app)
        self.query_one("#help-keys", Static).update(self._keys())
        self.query_one("#help-badges", Static).update(badges_table(palette))
        self.query_one("#help-colours", Static).update(colours_legend(palette))

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
