"""Compare: one prompt to both tiers, the answers side by side with latency and cost.

The two requests run one after the other (local first, so they don't share the CPU) and stream
into their panes; both are recorded in the ledger, tagged "compare". Asking the cloud spends
money, so every run asks once first (Confirm) with the estimated cost. Each pane and the
verdict say where the answer actually ran: privacy may keep the "cloud" side on this machine.
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
from console.outside_text import as_text
from console.tui.adapters import spend_estimate
from console.tui.keys import ALWAYS_SHOWN
from console.tui.palette import Palette
from console.tui.screens import palette_of, runtime_of
from console.tui.screens.confirm import Confirm
from console.tui.words import money, percent
from policies.features import split_override

if TYPE_CHECKING:
    from console.dispatch import RequestResult

PaneTier = Literal["local", "cloud"]
TIERS: tuple[PaneTier, ...] = ("local", "cloud")


def ran_where(asked: PaneTier, result: RequestResult) -> str:
    """Where one side's answer actually ran, in words."""
    if result.status == "blocked":
        return "blocked: nothing was sent"
    if result.tier == "none":
        return f"asked {asked}: no answer"
    if result.tier == asked:
        return f"ran on {result.tier}"
    why = f" ({result.decision.fired} rule)" if result.decision.fired else ""
    return f"asked {asked}, ran on {result.tier}{why}"


def result_table(result: RequestResult, palette: Palette) -> Table:
    """Latency, speed, tokens and cost of one side."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim")
    table.add_column()
    table.add_row(
        "route", Text(f" {result.badge} ", style=palette.badge_style(badge(result.outcome).kind))
    )
    if result.model:
        # One line, so the figures of both panes stay level with each other.
        model = as_text(result.model)
        model.no_wrap, model.overflow = True, "ellipsis"
        table.add_row("model", model)
    table.add_row("latency", f"{result.latency_s:.2f} s")
    table.add_row("first token", "—" if result.ttft_s is None else f"{result.ttft_s:.2f} s")
    if result.usage is not None:
        usage = result.usage
        table.add_row("tokens", f"{usage.prompt_tokens} in / {usage.completion_tokens} out")
    table.add_row("speed", "—" if result.gen_tps is None else f"{result.gen_tps:.1f} tok/s")
    cost = result.cost
    table.add_row("cost", money(None) if cost is None else money(cost.total_usd, known=cost.known))
    if result.error:
        table.add_row(Text("error", style=palette.tier_style("failed")), as_text(result.error))
    if result.fix:
        table.add_row("fix", as_text(result.fix))
    return table


def compare_verdict(local: RequestResult | None, cloud: RequestResult | None) -> str:
    """The comparison in one line, naming where each answer actually ran: when privacy kept
    the "cloud" side local there is no cloud figure to compare, and the line says so."""
    if local is None or cloud is None:
        return ""
    if cloud.tier != "cloud":
        where = ran_where("cloud", cloud)
        return f"the cloud side {where}: nothing went to the cloud, so there is nothing to compare"
    if local.tier != "local":
        return f"the local side {ran_where('local', local)}"
    faster = "local" if local.latency_s <= cloud.latency_s else "cloud"
    parts = [
        f"local ran on this machine, cloud on {cloud.model or 'the cloud'}",
        f"{faster} was faster ({local.latency_s:.2f} s vs {cloud.latency_s:.2f} s)",
    ]
    if local.cost is not None and cloud.cost is not None and cloud.cost.known:
        local_usd, cloud_usd = local.cost.total_usd, cloud.cost.total_usd
        saving = f", {percent(1 - local_usd / cloud_usd)} less" if cloud_usd > 0 else ""
        parts.append(f"local cost {money(local_usd)}, cloud {money(cloud_usd)}{saving}")
    return " · ".join(parts)


class CompareScreen(ModalScreen[None]):
    """Ask both tiers the same prompt and compare the answers, their latency and their cost."""

    CSS_PATH = "compare.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "close", "Close / stop"),
        Binding("ctrl+r", "run", "Run (asks first)"),
    ]

    def __init__(self, prompt: str = "", *, max_tokens: int | None = None) -> None:
        super().__init__()
        self.initial_prompt = prompt
        self.max_tokens = max_tokens
        self.results: dict[PaneTier, RequestResult] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-panel") as panel:
            panel.border_title = "Compare local and cloud"
            panel.border_subtitle = "enter runs · asks before spending"
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
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#compare-prompt", Input).focus()
        if self.initial_prompt.strip():
            self.action_run()

    @on(Input.Submitted, "#compare-prompt")
    def action_run(self) -> None:
        """After asking once with the estimated cost, send the prompt to local, then cloud."""
        prompt = self.query_one("#compare-prompt", Input).value.strip()
        if not split_override(prompt)[1].strip():
            self._status("type a prompt first (a /local or /cloud prefix alone is not sent)")
            return
        estimate = spend_estimate([prompt], runtime_of(self.app).store.config, self.max_tokens)

        def answered(go: bool | None) -> None:
            if go:
                self.results = {}
                self.run_compare(prompt)
            else:
                self._status("not run: nothing was sent")

        self.app.push_screen(
            Confirm("Compare asks the cloud", estimate.sentence("Compare")), answered
        )

    def _status(self, message: str) -> None:
        self.query_one("#compare-status", Static).update(as_text(message))

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
                    stats.update(as_text(f"waiting: {event.what}", "italic"))
                elif isinstance(event, Token):
                    pieces.append(event.text)
                    answer.update(as_text("".join(pieces)))
                elif isinstance(event, Done):
                    self.results[tier] = event.result
                    answer.update(as_text(event.result.answer or "(no answer)"))
                    stats.update(result_table(event.result, palette_of(self.app)))
                    side = self.query_one(f"#compare-{tier}", VerticalScroll)
                    side.border_subtitle = ran_where(tier, event.result)
        self._status(self._verdict())

    def _verdict(self) -> str:
        """What ran where, then which side was faster and cheaper, in one line."""
        return compare_verdict(self.results.get("local"), self.results.get("cloud"))

    def action_close(self) -> None:
        """Stop a running comparison; close the screen when nothing runs."""
        running = [w for w in self.workers if w.group == "compare" and w.is_running]
        if running:
            for worker in running:
                worker.cancel()
            self._status("stopped")
            return
        self.dismiss()
