"""Messages the main screen's workers post; handlers on the screen own all widget state.

Telemetry and ledger messages collapse (`can_replace`) so a burst queued behind a busy event
loop is rendered once, with the latest figures, as Toolong does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from console.tui.widgets.views import CloudView, LedgerView, LocalView, PoolView, StatusView

if TYPE_CHECKING:
    from console.dispatch import Conversation, DispatchEvent


class TelemetrySampled(Message):
    """A fresh sample of the local engine, the cloud endpoint, the loading state and the pool
    (`pool` is None when no `[[pool.servers]]` is configured)."""

    def __init__(
        self, local: LocalView, cloud: CloudView, status: StatusView, pool: PoolView | None = None
    ) -> None:
        super().__init__()
        self.local = local
        self.cloud = cloud
        self.status = status
        self.pool = pool

    def can_replace(self, message: Message) -> bool:
        """An older sample still queued is worthless once this one exists."""
        return isinstance(message, TelemetrySampled)


class LedgerSummarized(Message):
    """Today's ledger figures, summarized off the event loop."""

    def __init__(self, ledger: LedgerView) -> None:
        super().__init__()
        self.ledger = ledger

    def can_replace(self, message: Message) -> bool:
        """Only the latest summary matters."""
        return isinstance(message, LedgerSummarized)


class Dispatched(Message):
    """One event of the dispatcher for the answer `answer_id` (never collapsed: tokens add up)."""

    def __init__(self, answer_id: int, event: DispatchEvent) -> None:
        super().__init__()
        self.answer_id = answer_id
        self.event = event


class ConversationOpened(Message):
    """A saved conversation, read back off the event loop, to continue in the chat."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation
