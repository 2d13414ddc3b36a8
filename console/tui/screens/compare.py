"""Compare: one prompt to both tiers, the answers side by side with latency and cost.

The two requests run one after the other (local first, so they don't share the CPU) and stream
into their panes; both are recorded in the ledger, tagged "compare", like `Dispatcher.compare`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from console.outcome import badge
from console.tui.screens import badge_style, money, runtime_of

if TYPE_CHECKING:
    from console.dispatch import RequestResult

PaneTier = Literal["local", "cloud"]
TIERS: tuple[PaneTier, ...] = ("local", "cloud")


def result_table(result: RequestResult) -> Table:
    """Latency, speed, tokens and cost of one side."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim")
    table.add_column()
    table.add_row("route", Text(result.badge, style=badge_style(badge(result.outcome))))
    if result.model:
        # One line, so the figures of both panes stay level with each other.
        table.add_row("model", Text(result.model, no_wrap=True, overflow="ellipsis"))
    table.add_row("latency", f"{result.latency_s:.2f} s")
    table.add_row("first token", "—" if result.ttft_s is None else f"{result.ttft_s:.2f} s")
    if result.usage is not None:
        usage = result.usage
        table.add_row("tokens", f"{usage.prompt_tokens} in / {usage.completion_tokens} out")
    table.add_row("speed", "—" if result.gen_tps is None else f"{result.gen_tps:.1f} tok/s")
    cost = result.cost
    table.add_row(
        "cost", "—" if cost is None else money(cost.total_usd) if cost.known else "unknown price"
    )
    if result.error:
        table.add_row(Text("error", style="red"), result.error)
    if result.fix:
        table.add_row("fix", result.fix)
    return table


class CompareScreen(ModalScreen[None]):
    """Ask both tiers the same prompt and compare the answers, their latency and their cost."""

    CSS_PATH = "compare.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close / stop"),
        Binding("ctrl+r", "run", "Run"),
    ]

    def __init__(self, prompt: str = "", *, max_tokens: int | None = None) -> None:
        super().__init__()
        self.initial_prompt = prompt
        self.max_tokens = max_tokens
        self.results: dict[PaneTier, RequestResult] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-panel") as panel:
            panel.border_title = "Compare local and cloud"
            panel.border_subtitle = "enter runs"
            yield Input(
                self.initial_prompt, placeholder="a prompt for both tiers", id="compare-prompt"
            )
            with Horizontal(id="compare-sides"):
                for tier in TIERS:
                    with VerticalScroll(id=f"compare-{tier}", classes="compare-side") as side:
                        side.border_title = tier
                        yield Static("", id=f"compare-{tier}-stats", classes="compare-stats")
                        yield Static("", id=f"compare-{tier}-answer", classes="compare-answer")
            yield Static("", id="compare-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#compare-prompt", Input).focus()
        if self.initial_prompt.strip():
            self.action_run()

    @on(Input.Submitted, "#compare-prompt")
    def action_run(self) -> None:
        """Send the prompt to the local tier, then to the cloud tier."""
        prompt = self.query_one("#compare-prompt", Input).value.strip()
        if not prompt:
            self._status("type a prompt first")
            return
        self.results = {}
        self.run_compare(prompt)

    def _status(self, message: str) -> None:
        self.query_one("#compare-status", Static).update(Text(message))

    @work(exclusive=True, exit_on_error=False, group="compare")
    async def run_compare(self, prompt: str) -> None:
        """Stream both answers into their panes, one tier after the other."""
        from console.dispatch import Conversation, Done, Token, Waiting

        dispatcher = runtime_of(self.app).dispatcher
        conversation = Conversation()
        for tier in TIERS:
            self.query_one(f"#compare-{tier}-answer", Static).update("")
            self.query_one(f"#compare-{tier}-stats", Static).update(Text("waiting…", style="dim"))
        for tier in TIERS:
            answer = self.query_one(f"#compare-{tier}-answer", Static)
            stats = self.query_one(f"#compare-{tier}-stats", Static)
            self._status(f"asking {tier}…")
            pieces: list[str] = []
            async for event in dispatcher.ask(
                prompt,
                force=tier,
                max_tokens=self.max_tokens,
                conversation=conversation,
                tag="compare",
            ):
                if isinstance(event, Waiting):
                    stats.update(Text(f"waiting: {event.what}", style="yellow"))
                elif isinstance(event, Token):
                    pieces.append(event.text)
                    answer.update(Text("".join(pieces)))
                elif isinstance(event, Done):
                    self.results[tier] = event.result
                    answer.update(Text(event.result.answer or "(no answer)"))
                    stats.update(result_table(event.result))
        self._status(self._verdict())

    def _verdict(self) -> str:
        """Which side was faster and which was cheaper, in one line."""
        local, cloud = self.results.get("local"), self.results.get("cloud")
        if local is None or cloud is None:
            return ""
        faster = "local" if local.latency_s <= cloud.latency_s else "cloud"
        parts = [f"latency local {local.latency_s:.2f} s, cloud {cloud.latency_s:.2f} s"]
        if local.cost is not None and cloud.cost is not None and cloud.cost.known:
            parts.append(
                f"cost local {money(local.cost.total_usd)}, cloud {money(cloud.cost.total_usd)}"
            )
        return f"{faster} was faster · " + " · ".join(parts)

    def action_close(self) -> None:
        """Stop a running comparison; close the screen when nothing runs."""
        running = [w for w in self.workers if w.group == "compare" and w.is_running]
        if running:
            for worker in running:
                worker.cancel()
            self._status("stopped")
            return
        self.dismiss()
