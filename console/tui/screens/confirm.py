"""Ask once before anything spends money (or drops work): what will happen, and what it costs.

Compare, a replay that may route to the cloud and an evaluation open this dialog first; enter
goes ahead, escape cancels. The estimate is an upper bound from console.tui.adapters
(`spend_estimate`): every prompt priced on the cloud model at its full answer length.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from console.outside_text import as_text
from console.tui.keys import ALWAYS_SHOWN


class Confirm(ModalScreen[bool]):
    """A yes/no question before spending money or discarding edits; True means go ahead."""

    DEFAULT_CSS = """
    Confirm {
        align: center middle;
        background: $background 60%;
    }
    #confirm-panel {
        width: 64;
        max-width: 100%;
        height: auto;
        border: round $warning;
        padding: 0 1;
        background: $surface;
    }
    #confirm-question {
        height: auto;
    }
    #confirm-keys {
        height: 1;
        margin-top: 1;
        color: $text-muted;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("enter", "answer(True)", "Go ahead", priority=True),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, title: str, question: str, *, go: str = "go ahead") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.go = go

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-panel") as panel:
            panel.border_title = self.title_text
            yield Static(as_text(self.question), id="confirm-question")
            yield Static(as_text(f"enter: {self.go} · escape: cancel"), id="confirm-keys")
        yield Footer(compact=True, show_command_palette=False)

    def action_answer(self, go: bool) -> None:
        """Close the dialog with the user's answer."""
        self.dismiss(go)
