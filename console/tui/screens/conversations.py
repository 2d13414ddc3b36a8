"""Conversations: the saved ones, newest first, to reopen, rename or delete.

The list is read from the ledger file (console.conversations) in a thread worker; choosing one
dismisses the screen with its id, and the main screen reopens it. Text shown is outside text:
titles are rendered as data, never markup.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from console.outside_text import as_text
from console.tui.keys import ALWAYS_SHOWN
from console.tui.screens import palette_of, runtime_of
from console.tui.words import money

if TYPE_CHECKING:
    from console.conversations import ConversationStore, ConversationSummary


class ConversationsScreen(ModalScreen[str | None]):
    """Pick a saved conversation (enter), rename it (f2) or delete it (ctrl+d twice)."""

    CSS_PATH = "conversations.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "dismiss_none", "Close"),
        Binding("f2", "rename", "Rename"),
        Binding("ctrl+d", "delete", "Delete"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.summaries: list[ConversationSummary] = []
        self._delete_armed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="conversations-panel"):
            yield Static("loading…", id="conversations-status")
            yield DataTable(id="conversations-table", cursor_type="row", zebra_stripes=True)
            yield Input(placeholder="new title, enter saves", id="conversations-rename")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("updated", "title", "turns", "tiers", "cost")
        self.query_one("#conversations-rename", Input).display = False
        self.load()

    def _store(self) -> ConversationStore:
        store = runtime_of(self.app).dispatcher.conversation_store()
        if store is None:
            raise LookupError("no ledger is open: conversations cannot be saved")
        return store

    @work(thread=True, exclusive=True, exit_on_error=False, group="conversations")
    def load(
        self, rename: tuple[str, str] | None = None, delete: str | None = None
    ) -> list[ConversationSummary]:
        """Apply a rename or a delete, then read the list: all off the event loop."""
        store = self._store()
        if rename is not None:
            store.rename(*rename)
        if delete is not None:
            store.delete(delete)
        return store.list()

    @on(Worker.StateChanged)
    def _loaded(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "conversations":
            return
        status = self.query_one("#conversations-status", Static)
        if event.state == WorkerState.ERROR:
            status.update(
                as_text(str(event.worker.error), palette_of(self.app).tier_style("failed"))
            )
        elif event.state == WorkerState.SUCCESS:
            self.summaries = list(event.worker.result or [])
            self._show()

    def _show(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row in self.summaries:
            table.add_row(
                time.strftime("%Y-%m-%d %H:%M", time.localtime(row.updated)),
                as_text(row.title),
                str(row.turns),
                "+".join(row.tiers) or "-",
                money(row.cost_usd),
                key=row.id,
            )
        count = len(self.summaries)
        self.query_one("#conversations-status", Static).update(
            Text(
                f"{count} saved conversation{'s' if count != 1 else ''}"
                " · enter opens · f2 renames · ctrl+d deletes"
                if count
                else "no saved conversations yet: every chat is saved as you go"
            )
        )

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.summaries or table.cursor_row >= len(self.summaries):
            return None
        return self.summaries[table.cursor_row].id

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        self.dismiss(str(event.row_key.value))

    def action_dismiss_none(self) -> None:
        """Close without opening anything."""
        self.dismiss(None)

    def action_rename(self) -> None:
        """Ask for a new title for the selected conversation."""
        chosen = self._selected()
        if chosen is None:
            return
        field = self.query_one("#conversations-rename", Input)
        field.value = next(s.title for s in self.summaries if s.id == chosen)
        field.display = True
        field.focus()

    @on(Input.Submitted, "#conversations-rename")
    def _renamed(self, event: Input.Submitted) -> None:
        chosen = self._selected()
        event.input.display = False
        self.query_one(DataTable).focus()
        if chosen is not None and event.value.strip():
            self.load(rename=(chosen, event.value))

    def action_delete(self) -> None:
        """Delete the selected conversation; the first press arms, the second deletes."""
        chosen = self._selected()
        if chosen is None:
            return
        if self._delete_armed != chosen:
            self._delete_armed = chosen
            self.notify("ctrl+d again deletes this conversation (the ledger keeps its costs)")
            return
        self._delete_armed = None
        self.load(delete=chosen)
