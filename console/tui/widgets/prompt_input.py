"""The prompt line, with the history of this session's prompts on up/down."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class PromptInput(Input):
    """An Input that remembers submitted prompts; up/down walk through them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "history(-1)", "Previous prompt", show=False),
        Binding("down", "history(1)", "Next prompt", show=False),
    ]

    def __init__(
        self,
        history: list[str] | None = None,
        *,
        placeholder: str = "",
        id: str | None = None,
        select_on_focus: bool = True,
    ) -> None:
        super().__init__(placeholder=placeholder, id=id, select_on_focus=select_on_focus)
        self.history: list[str] = list(history or [])
        self._position = len(self.history)
        self._draft = ""

    def remember(self, prompt: str) -> None:
        """Add a submitted prompt (not twice in a row) and go back to a blank line."""
        if prompt and (not self.history or self.history[-1] != prompt):
            self.history.append(prompt)
        self._position = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        """Replace the line with an older (-1) or newer (+1) prompt; past the newest, the draft."""
        if not self.history:
            return
        if self._position == len(self.history):
            self._draft = self.value
        position = min(max(self._position + step, 0), len(self.history))
        if position == self._position:
            return
        self._position = position
        self.value = self._draft if position == len(self.history) else self.history[position]
        self.cursor_position = len(self.value)
