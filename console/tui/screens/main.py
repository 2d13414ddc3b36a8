"""The main screen: status line, chat with streamed answers, and the live panels.

All model, network, PII and database work happens off the event loop: the dispatcher's events
are consumed by an async worker that only posts `Dispatched` messages, telemetry and ledger
figures are sampled by thread workers that only post `TelemetrySampled` / `LedgerSummarized`.
The handlers here own every widget.

Keys cannot surprise: a printable key typed anywhere on this screen goes to the prompt line
(focus returns to it), and actions sit on function keys, ctrl-combinations and the palette. Below
a height threshold the panels shrink to one summary line (f9 toggles them); the chat scrolls from
the prompt line with PageUp/PageDown and shift+up/down.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input
from textual.worker import Worker, WorkerState, get_current_worker

from console.tui.adapters import (
    PresenterTally,
    answer_meta,
    cloud_view,
    ledger_view,
    local_view,
    pool_view,
    privacy_view,
    status_view,
    stored_turn_meta,
    unfinished_meta,
)
from console.tui.keys import ALWAYS_SHOWN
from console.tui.messages import (
    ConversationOpened,
    Dispatched,
    LedgerSummarized,
    TelemetrySampled,
)
from console.tui.screens import host_of
from console.tui.widgets.chat import AnswerView, ChatLog
from console.tui.widgets.cloud_panel import CloudPanel
from console.tui.widgets.ledger_panel import LedgerPanel
from console.tui.widgets.local_panel import LocalPanel
from console.tui.widgets.panel_deck import PanelDeck
from console.tui.widgets.panel_summary import PanelSummary
from console.tui.widgets.pool_panel import PoolPanel
from console.tui.widgets.presenter import PresenterBand
from console.tui.widgets.privacy_panel import PrivacyPanel
from console.tui.widgets.prompt_input import PromptInput
from console.tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from console.dispatch import Conversation, RequestResult
    from console.runtime import Runtime
    from console.tui.widgets.views import PoolView
    from policies.pii import PiiScan

#: Points of tokens/s history the sparkline keeps.
TPS_HISTORY = 60
#: Seconds between ledger summaries when nothing happens here (another console may write).
LEDGER_REFRESH_S = 15.0
#: Below this many rows the panels collapse to one summary line (80×24 included).
PANELS_MIN_HEIGHT = 32


class MainScreen(Screen[None]):
    """Chat on the left, panels on the right (or in tabs below the chat on narrow terminals)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (PANELS_MIN_HEIGHT, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "cancel", "Cancel", show=False),
        Binding("f2", "app.inspect", "Why"),
        Binding("f3", "app.policy", "Policy"),
        Binding("f4", "app.replay", "Replay"),
        Binding("f5", "app.compare", "Compare"),
        Binding("f6", "app.ledger", "Ledger"),
        # f7 and f9 are named where they act (the privacy panel, the summary line): the footer
        # keeps room at 80 columns for help, quit and the screens.
        Binding("f7", "toggle_sent", "Sent text", show=False),
        Binding("f8", "next_panel", "Panel", show=False),
        Binding("f9", "toggle_panels", "Panels", show=False),
        Binding("f10", "toggle_presenter", "Show", show=False),
        Binding("ctrl+y", "app.copy_answer", "Copy", show=False),
        Binding("pageup", "scroll_chat('page_up')", "Scroll up", show=False, priority=True),
        Binding("pagedown", "scroll_chat('page_down')", "Scroll down", show=False, priority=True),
        Binding("shift+up", "scroll_chat('up')", "Line up", show=False, priority=True),
        Binding("shift+down", "scroll_chat('down')", "Line down", show=False, priority=True),
        Binding("ctrl+n", "new_conversation", "New chat", show=False),
        Binding("ctrl+o", "open_conversation", "Chats", show=False),
        Binding("f11", "rate(True)", "Rate answer good", show=False),
        Binding("f12", "rate(False)", "Rate answer bad", show=False),
        Binding("ctrl+p", "app.command_palette", "Palette"),
    ]

    def __init__(self, *, sample: bool = True, presenter: bool = False) -> None:
        super().__init__()
        self.tally = PresenterTally()
        self._presenter = presenter
        #: None follows the height threshold; True/False is the user's choice (f9).
        self._panels_open: bool | None = None
        self._sample = sample
        self._conversation: Conversation | None = None
        self._next_answer_id = 0
        self._asking: int | None = None
        self._scans: dict[int, PiiScan] = {}
        self._tps_history: deque[float] = deque(maxlen=TPS_HISTORY)
        self._stop_sampling = threading.Event()
        self.last_result: RequestResult | None = None

    @property
    def runtime(self) -> Runtime:
        """The headless core this screen drives."""
        return host_of(self.app).runtime

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        band = PresenterBand(id="presenter")
        band.display = self._presenter
        yield band
        with Horizontal(id="body"):
            with Vertical(id="chat-column"):
                yield ChatLog(id="chat")
                yield PromptInput(
                    placeholder="Ask anything · /local or /cloud forces a tier · ↑↓ history",
                    id="prompt",
                    # Focus comes back with a typed key: selecting the line would let it
                    # replace what was there.
                    select_on_focus=False,
                )
            yield PanelDeck(id="panels")
        yield PanelSummary(id="panel-summary")
        # The palette key is the last binding above, not Textual's docked one (which took the
        # last cells of an 80-column footer and left a stray character).
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(PromptInput).focus()
        self.query_one(PresenterBand).show(self.tally.view())
        self._apply_panels()

    def on_resize(self) -> None:
        self._apply_panels()

    def runtime_ready(self) -> None:
        """The core is built: start the telemetry and ledger refreshes, and show the keys that
        needed it as enabled (the footer does not know the core changed)."""
        self.refresh_bindings()
        if self._sample:
            self.sample_telemetry()
            self.summarize_ledger()
            self.set_interval(LEDGER_REFRESH_S, self.summarize_ledger)

    def on_unmount(self) -> None:
        self._stop_sampling.set()

    # -- asking ----------------------------------------------------------------------------
    @property
    def generating(self) -> bool:
        """Whether an answer is being produced."""
        return self._asking is not None

    def on_key(self, event: events.Key) -> None:
        """A printable key typed while something else has the focus goes to the prompt line:
        it is text, never an action."""
        prompt = self.query_one(PromptInput)
        if not event.is_printable or event.character is None or self.focused is prompt:
            return
        if isinstance(self.focused, Input):
            return
        event.stop()
        event.prevent_default()
        prompt.focus()
        prompt.insert_text_at_cursor(event.character)

    def action_scroll_chat(self, how: str) -> None:
        """Scroll the chat without leaving the prompt line."""
        chat = self.query_one(ChatLog)
        if how == "page_up":
            chat.scroll_page_up()
        elif how == "page_down":
            chat.scroll_page_down()
        elif how == "up":
            chat.scroll_up()
        else:
            chat.scroll_down()

    @on(Input.Submitted, "#prompt")
    async def submit(self, event: Input.Submitted) -> None:
        """Send the prompt to the dispatcher (one at a time; escape cancels the current one).

        An empty prompt, or one that is only a /local or /cloud prefix, is not sent (it would be
        recorded and, on the cloud, billed for nothing).
        """
        from policies.features import split_override

        prompt = event.value.strip()
        if not prompt:
            return
        override, text = split_override(prompt)
        if not text.strip():
            self.notify(
                f"Nothing to send: type a prompt after /{override}.",
                severity="warning",
                markup=False,
            )
            return
        if self.generating:
            self.notify(
                "Not sent: still answering the last prompt (escape cancels it); "
                "your prompt stays in the line.",
                severity="warning",
                markup=False,
            )
            return
        prompt_input = self.query_one(PromptInput)
        prompt_input.remember(prompt)
        prompt_input.value = ""
        if prompt == "/system" or prompt.startswith("/system "):
            self._set_system_prompt(prompt.removeprefix("/system").strip())
            return
        await self.ask(prompt)

    def _conversation_now(self) -> Conversation:
        """The conversation the chat continues (a new, saved one at first)."""
        from console.dispatch import Conversation

        if self._conversation is None:
            self._conversation = Conversation(saved=True)
        return self._conversation

    def _set_system_prompt(self, text: str) -> None:
        """`/system TEXT` sets this conversation's system prompt; `/system` alone clears it."""
        self._conversation_now().system_prompt = text or None
        self.notify(
            f"system prompt: {text}" if text else "system prompt: [chat] default", markup=False
        )

    async def ask(self, prompt: str, *, new_conversation: bool = False) -> AnswerView:
        """Show `prompt` in the chat and start answering it; with `new_conversation` it starts
        a conversation of its own (no earlier turns sent), the chat above staying on screen."""
        if new_conversation:
            self._conversation = None
        answer_id = self._next_answer_id
        self._next_answer_id += 1
        view = await self.query_one(ChatLog).add_answer(answer_id, prompt)
        ready = host_of(self.app).runtime_ready.is_set()
        view.set_progress("scanning for PII…" if ready else "waiting: console starting…")
        self._asking = answer_id
        self.run_ask(answer_id, prompt)
        return view

    @work(exclusive=True, exit_on_error=False, group="ask")
    async def run_ask(self, answer_id: int, prompt: str) -> None:
        """Consume the dispatcher's events; only posts messages."""
        await host_of(self.app).runtime_ready.wait()
        conversation = self._conversation_now()
        async for event in self.runtime.dispatcher.ask(prompt, conversation=conversation):
            self.post_message(Dispatched(answer_id, event))

    async def on_dispatched(self, message: Dispatched) -> None:
        """Render one dispatcher event into its answer and the panels."""
        from console.dispatch import Attempt, Done, FellBack, Routed, Scanned, Token, Waiting

        view = self.query_one(ChatLog).answer(message.answer_id)
        if view is None:
            return
        event = message.event
        if isinstance(event, Token):
            await view.append(event.text)
        elif isinstance(event, Waiting):
            view.set_progress(f"waiting: {event.what}…")
        elif isinstance(event, Scanned):
            self._scans[message.answer_id] = event.scan
        elif isinstance(event, Routed):
            decision = event.decision
            view.set_progress(f"routed to {decision.target} by rule '{decision.fired}'…")
        elif isinstance(event, Attempt):
            redacted = " (redacted)" if event.redacted else ""
            left_out = (
                f" · {event.dropped} earlier turns left out to fit {event.context_limit:,} tokens"
                if event.dropped
                else ""
            )
            view.set_progress(f"{event.tier}: {event.label}{redacted}…{left_out}")
        elif isinstance(event, FellBack):
            await view.restart()
            view.set_progress(f"⚠ {event.from_tier} failed ({event.error}) → {event.to_tier}…")
        elif isinstance(event, Done):
            await self._finish(view, event.result)

    async def _finish(self, view: AnswerView, result: RequestResult) -> None:
        if not view.text and result.answer:
            await view.append(result.answer)
        await view.finish(answer_meta(result), result)
        if self._asking == view.answer_id:
            self._asking = None
        self.last_result = result
        scan = self._scans.pop(view.answer_id, None)
        config = self.runtime.config()
        privacy = privacy_view(result, scan, config.pii.on_pii)
        self.query_one(PrivacyPanel).show(privacy)
        self.query_one(PanelSummary).show(privacy=privacy)
        self.count_result(result, scan)
        self.summarize_ledger()

    def count_result(self, result: RequestResult, scan: PiiScan | None = None) -> None:
        """Add a finished request to the presenter band (the chat's, a replay's, the demo's)."""
        self.tally.add(result, scan)
        self.refresh_presenter()

    def refresh_presenter(self) -> None:
        """Render the presenter band from the tally (after a result or a new narration)."""
        self.query_one(PresenterBand).show(self.tally.view())

    @on(Worker.StateChanged)
    async def _ask_ended(self, event: Worker.StateChanged) -> None:
        """An answer whose worker was cancelled or failed still gets its badge.

        The message goes on to the app, which notifies errors with their fix.
        """
        worker = event.worker
        if worker.group != "ask" or event.state not in (WorkerState.CANCELLED, WorkerState.ERROR):
            return
        answer_id = self._asking
        self._asking = None
        view = self.query_one(ChatLog).answer(answer_id) if answer_id is not None else None
        if view is None or view.meta is not None:
            return
        if event.state == WorkerState.CANCELLED:
            await view.finish(unfinished_meta("cancelled", "cancelled by you"))
        else:
            await view.finish(unfinished_meta("failed", str(worker.error)))
        self.summarize_ledger()

    def action_cancel(self) -> None:
        """Cancel the answer being generated (the ledger still records it, as cancelled)."""
        if self.generating:
            self.workers.cancel_group(self, "ask")

    # -- quality evidence ------------------------------------------------------------------
    def action_rate(self, good: bool) -> None:
        """Rate the selected answer (else the last one) good or bad, stored with its request."""
        result = self.selected_result()
        if result is None or result.tier == "none":
            self.notify("No answer to rate yet.", severity="warning")
            return
        self.rate_answer(result.request_id, good)

    @work(exit_on_error=False, group="rate")
    async def rate_answer(self, request_id: str, good: bool) -> None:
        """Store the rating off the event loop (console.evidence); what-if reads it back."""
        from console.evidence import rate

        path = self.runtime.ledger_path
        if path is None:
            self.notify("No ledger is open: ratings cannot be kept.", severity="warning")
            return
        tier = await asyncio.to_thread(rate, path, request_id, good)
        self.notify(f"Rated this {tier} answer {'good' if good else 'bad'}: kept in the ledger.")

    # -- conversations ---------------------------------------------------------------------
    async def action_new_conversation(self) -> None:
        """Start a new conversation: an empty chat, no history sent."""
        if self.generating:
            self.notify("Still answering: escape cancels it first.", severity="warning")
            return
        self._conversation = None
        self.last_result = None
        await self.query_one(ChatLog).remove_children()
        self.notify("new conversation")

    def action_open_conversation(self) -> None:
        """Pick a saved conversation to continue."""
        from console.tui.screens.conversations import ConversationsScreen

        if self.generating:
            self.notify("Still answering: escape cancels it first.", severity="warning")
            return
        self.app.push_screen(ConversationsScreen(), self._chosen)

    def _chosen(self, conversation_id: str | None) -> None:
        if conversation_id:
            self.load_conversation(conversation_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="conversation")
    def load_conversation(self, conversation_id: str) -> None:
        """Read a saved conversation off the event loop; only posts a message."""
        self.post_message(ConversationOpened(self.runtime.dispatcher.resume(conversation_id)))

    async def on_conversation_opened(self, message: ConversationOpened) -> None:
        """Show the reopened conversation's turns; the next prompt continues it."""
        conversation = message.conversation
        chat = self.query_one(ChatLog)
        await chat.remove_children()
        self._conversation = conversation
        self.last_result = None
        for turn in conversation.turns:
            view = await chat.add_answer(self._next_answer_id, turn.prompt)
            self._next_answer_id += 1
            await view.append(turn.answer)
            await view.finish(stored_turn_meta(turn.tier))
        self.notify(f"continuing a conversation of {len(conversation.turns)} turns")

    # -- panels ----------------------------------------------------------------------------
    @property
    def panels_open(self) -> bool:
        """Whether the panels show (else their one-line summary)."""
        if self._panels_open is not None:
            return self._panels_open
        return self.size.height >= PANELS_MIN_HEIGHT or self.has_class("-wide")

    def _apply_panels(self) -> None:
        is_open = self.panels_open
        self.query_one(PanelDeck).display = is_open
        self.query_one(PanelSummary).display = not is_open

    def action_toggle_panels(self) -> None:
        """Show the panels, or shrink them to one summary line (more room for the chat)."""
        self._panels_open = not self.panels_open
        self._apply_panels()

    @property
    def presenter(self) -> bool:
        """Whether the presenter band shows."""
        return self.query_one(PresenterBand).display

    def action_toggle_presenter(self) -> None:
        """Show or hide the presenter band (routing split, savings, reason, redaction)."""
        band = self.query_one(PresenterBand)
        band.display = not band.display

    def action_next_panel(self) -> None:
        """Show the next panel when they are in tabs (narrow terminals)."""
        self.query_one(PanelDeck).next_panel()

    def action_toggle_sent(self) -> None:
        """Show or hide the exact text the last prompt sent to the cloud."""
        panel = self.query_one(PrivacyPanel)
        panel.reveal = not panel.reveal
        deck = self.query_one(PanelDeck)
        if panel.reveal and not self.panels_open:
            self._panels_open = True
            self._apply_panels()
        if self.has_class("-narrow"):
            deck.show_panel("privacy-panel")

    def selected_answer(self) -> AnswerView | None:
        """The focused answer, else the last one."""
        focused = self.focused
        if isinstance(focused, AnswerView):
            return focused
        answers = self.query_one(ChatLog).answers
        return answers[-1] if answers else None

    def selected_result(self) -> RequestResult | None:
        """The focused answer's result, else the last one."""
        focused = self.focused
        if isinstance(focused, AnswerView) and focused.result is not None:
            return focused.result
        return self.last_result

    def draft_or_last_prompt(self) -> str:
        """The prompt being typed, else the last one sent (what compare starts from)."""
        draft = self.query_one(PromptInput).value.strip()
        if draft:
            return draft
        history = self.query_one(PromptInput).history
        return history[-1] if history else ""

    # -- telemetry and ledger (thread workers that only post messages) ----------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="telemetry")
    def sample_telemetry(self) -> None:
        """Sample the engines at [ui] telemetry_hz until the screen goes away."""
        worker = get_current_worker()
        runtime = self.runtime
        while not worker.is_cancelled and not self._stop_sampling.is_set():
            config = runtime.config()
            snapshot = runtime.telemetry()
            if snapshot.last_gen_tps is not None:
                self._tps_history.append(snapshot.last_gen_tps)
            self.post_message(
                TelemetrySampled(
                    local_view(snapshot, runtime, tuple(self._tps_history)),
                    cloud_view(runtime.cloud_health(), runtime, config),
                    status_view(runtime.status(), host_of(self.app).log_path),
                    pool_view(runtime.pool_status()),
                )
            )
            self._stop_sampling.wait(1.0 / config.ui.telemetry_hz)

    def on_telemetry_sampled(self, message: TelemetrySampled) -> None:
        self.query_one(LocalPanel).show(message.local)
        self.query_one(CloudPanel).show(message.cloud)
        self.query_one(StatusLine).show(message.status)
        self.query_one(PanelSummary).show(local=message.local, cloud=message.cloud)
        self.show_pool(message.pool)

    def show_pool(self, view: PoolView | None) -> None:
        """The pool panel and the summary's pool health; the panel leaves the deck (and the f8
        cycle) while no `[[pool.servers]]` is configured, and comes back with a live edit."""
        deck = self.query_one(PanelDeck)
        deck.pool_shown = view is not None
        if view is not None:
            self.query_one(PoolPanel).show(view)
        summary = self.query_one(PanelSummary)
        if view != summary.pool:
            summary.show_pool(view)

    @work(thread=True, exclusive=True, exit_on_error=False, group="ledger")
    def summarize_ledger(self) -> None:
        """Summarize today's ledger rows off the event loop."""
        runtime = self.runtime
        self.post_message(LedgerSummarized(ledger_view(runtime, runtime.config())))

    def on_ledger_summarized(self, message: LedgerSummarized) -> None:
        self.query_one(LedgerPanel).show(message.ledger)
        self.query_one(PanelSummary).show(ledger=message.ledger)
