"""Compare: one prompt to both tiers, the answers side by side with latency and cost.

The two requests run one after the other (local first, so they don't share the CPU) and stream
into their panes; both are recorded in the ledger, tagged "compare". Asking the cloud spends
money, so every run asks once first (Confirm) with the estimated cost. Each pane and the
verdict say where the answer actually ran: privacy may keep the "cloud" side on this machine.

Once both answers are in, ctrl+j asks the judge (the cloud tier's model, console/judge.py) to
compare them: two calls with the answers in both orders (the MT-Bench method), after asking
once with the estimated cost. The judge is the cloud, so a prompt or answer holding personal
data is never sent to it. The verdict ("local as good", "cloud better", "no verdict" when the
judge's answer cannot be read) is shown under the answers with its reason and kept in the
ledger as quality evidence for the local request (console.evidence, as `switchboard eval`
keeps its verdicts), which the what-if, calibrate and the policy editor's plot read.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
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
from console.tui.screens import one_line, palette_of, runtime_of
from console.tui.screens.confirm import Confirm
from console.tui.words import money, percent
from engines.base import SwitchboardError
from policies.features import split_override

if TYPE_CHECKING:
    from console.dispatch import RequestResult
    from console.evidence import ItemVerdict, Judgment
    from console.judge import Judge
    from console.runtime import Runtime

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


def judge_refusal(local: RequestResult | None, cloud: RequestResult | None) -> str | None:
    """Why this pair of answers cannot be judged (None: it can)."""
    if local is None or cloud is None:
        return "run a comparison first (ctrl+r): the judge compares its two answers"
    if local.tier != "local":
        return f"the local side {ran_where('local', local)}: there is no local answer to judge"
    if cloud.tier != "cloud":
        return f"the cloud side {ran_where('cloud', cloud)}: there is no cloud answer to judge"
    if local.status != "ok" or cloud.status != "ok":
        return "an answer was cut short (stopped or failed): run the comparison again"
    if not local.answer.strip() or not cloud.answer.strip():
        return "an answer is empty: there is nothing to judge"
    return None


def _preferred(judgment: Judgment) -> str:
    said = {None: "unreadable", "tie": "a tie"}.get(
        judgment.preference, f"{judgment.preference} better"
    )
    return f"{judgment.first} first: {said}"


def verdict_reason(outcome: ItemVerdict, judgments: tuple[Judgment, ...]) -> str:
    """Why the two judge calls (answers in both orders) add up to `outcome`, in one sentence."""
    calls = "; ".join(_preferred(judgment) for judgment in judgments)
    if outcome.verdict == "no verdict":
        return f"no single [[A]], [[B]] or [[C]] mark in the judge's answer ({calls})"
    if outcome.verdict == "cloud better":
        return f"both orders preferred the cloud answer ({calls})"
    if "cloud" in {judgment.preference for judgment in judgments}:
        return f"the order swayed the judge, which counts as a tie ({calls})"
    return f"in both orders the local answer was as good or better ({calls})"


def verdict_text(
    outcome: ItemVerdict,
    judgments: tuple[Judgment, ...],
    judge: str,
    request_id: str,
    palette: Palette,
) -> Text:
    """The verdict box: the verdict, where it is kept, its reason, what the judge said."""
    colour = {"local as good": palette.success, "cloud better": palette.warning}
    style = f"bold {colour.get(outcome.verdict, palette.text)}"
    text = Text.assemble(("judge: ", "dim"), (outcome.verdict, style), (f"  ({judge})", "dim"))
    text.append(f"\nkept as evidence for the local request {request_id}", style="dim")
    text.append("\n")
    text.append_text(as_text(verdict_reason(outcome, judgments)))
    said = next((j.raw for j in judgments if j.raw.strip()), "")
    if said:
        text.append("\nit said: ", style="dim")
        text.append_text(as_text(one_line(said, 160)))
    return text


class CompareScreen(ModalScreen[None]):
    """Ask both tiers the same prompt and compare the answers, their latency and their cost."""

    CSS_PATH = "compare.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "close", "Close / stop"),
        Binding("ctrl+r", "run", "Run (asks first)"),
        Binding("ctrl+j", "judge", "Judge (asks first)"),
    ]

    def __init__(self, prompt: str = "", *, max_tokens: int | None = None) -> None:
        super().__init__()
        self.initial_prompt = prompt
        self.max_tokens = max_tokens
        self.results: dict[PaneTier, RequestResult] = {}
        #: The verdict on the pair in `results`, once judged (a pair is judged once).
        self.verdict: ItemVerdict | None = None

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
            judge = Static("", id="compare-judge")
            judge.border_title = "Judge"
            yield judge
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
                self.verdict = None
                self.query_one("#compare-judge", Static).remove_class("-shown")
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

    # -- judge ---------------------------------------------------------------------------
    def action_judge(self) -> None:
        """Ask the judge which answer is better (asks first: the judge is the paid cloud)."""
        if any(w.is_running for w in self.workers if w.group in ("compare", "judge")):
            self._status("wait: a comparison or a judgment is still running (escape stops it)")
            return
        local, cloud = self.results.get("local"), self.results.get("cloud")
        refusal = judge_refusal(local, cloud)
        if refusal is not None:
            self._judge_says(Text(f"not judged: {refusal}"))
            return
        assert local is not None and cloud is not None
        if self.verdict is not None:
            self._status(f"this pair is judged already: {self.verdict.verdict}")
            return
        self.run_judge(local, cloud)

    def _judge_says(self, text: Text) -> None:
        box = self.query_one("#compare-judge", Static)
        box.update(text)
        box.add_class("-shown")

    @work(exclusive=True, exit_on_error=False, group="judge")
    async def run_judge(self, local: RequestResult, cloud: RequestResult) -> None:
        """Check for personal data, ask before spending, judge, keep and show the verdict."""
        from console.judge import Judge

        runtime = runtime_of(self.app)
        prompt = split_override(local.prompt)[1]
        db = runtime.ledger_path
        if db is None:
            self._judge_says(Text("not judged: no ledger is open to keep the verdict in"))
            return
        self._status("judge: looking for personal data first…")
        try:
            unusable = await asyncio.to_thread(_cloud_refusal, runtime)
            found = (
                ()
                if unusable
                else await asyncio.to_thread(
                    _pii_types, runtime, (prompt, local.answer, cloud.answer)
                )
            )
        except SwitchboardError as exc:
            self._judge_says(as_text(f"not judged: {exc}"))
            return
        if unusable:
            self._judge_says(as_text(f"not judged: the judge is the cloud, and {unusable}"))
            self._status("")
            return
        if found:
            self._judge_says(
                Text(
                    f"not judged: the prompt or an answer holds personal data "
                    f"({', '.join(found)}), and the judge is the cloud: nothing was sent"
                )
            )
            self._status("")
            return
        judge = Judge.for_cloud(runtime)
        go = await self.app.push_screen_wait(
            Confirm(
                "The judge asks the cloud", _judge_question(judge, runtime, prompt, local, cloud)
            )
        )
        if not go:
            self._status("not judged: nothing was sent")
            return
        self._judge_says(Text(f"judge: asking {judge.label}, answers in both orders…", "italic"))
        self._status("judging… (escape stops)")
        try:
            outcome, said = await _judge_and_keep(judge, db, prompt, local, cloud)
        except SwitchboardError as exc:
            self._judge_says(as_text(f"not judged: {exc}"))
            self._status("")
            return
        self.verdict = outcome
        self._judge_says(
            verdict_text(outcome, said, judge.label, local.request_id, palette_of(self.app))
        )
        self._status(f"judged: {outcome.verdict}")

    def action_close(self) -> None:
        """Stop a running comparison or judgment; close the screen when nothing runs."""
        running = [w for w in self.workers if w.group in ("compare", "judge") and w.is_running]
        if running:
            for worker in running:
                worker.cancel()
            judging = any(worker.group == "judge" for worker in running)
            self._status("judge stopped: no verdict kept" if judging else "stopped")
            if judging:
                self._judge_says(Text("judge stopped: no verdict kept"))
            return
        self.dismiss()


def _cloud_refusal(runtime: Runtime) -> str:
    """Why the cloud cannot judge now ("" when it can): no key, unusable, or budget spent.

    The router sends nothing to the cloud in these states; the judge does not either. Run in a
    thread: today's spend is read from the ledger.
    """
    from policies.prices import budget_status

    config, engine = runtime.config(), runtime.cloud
    if engine.key_missing:
        return f"${config.cloud.api_key_env} is not set"
    if engine.unusable_reason:
        return f"it cannot take requests ({engine.unusable_reason})"
    if engine.health().state == "open":
        return "its breaker is open after failures (it is retried later)"
    if (
        runtime.ledger is not None
        and budget_status(runtime.ledger.spend(), config.budget).exhausted
    ):
        return "the cloud budget ([budget]) is used up"
    return ""


def _pii_types(runtime: Runtime, texts: tuple[str, ...]) -> tuple[str, ...]:
    """The personal data types found in any of `texts` (in a thread: the scan takes a while)."""
    found: set[str] = set()
    for text in texts:
        found.update(runtime.scanner.scan(text).types)
    return tuple(sorted(found))


def _judge_question(
    judge: Judge, runtime: Runtime, prompt: str, local: RequestResult, cloud: RequestResult
) -> str:
    """The confirmation: what the judge is sent, at most what it costs, where the verdict goes."""
    from console.evidence import judge_messages

    calls = [
        "\n".join(m["content"] for m in judge_messages(prompt, first, second))
        for first, second in ((local.answer, cloud.answer), (cloud.answer, local.answer))
    ]
    estimate = spend_estimate(calls, runtime.config(), judge.max_tokens)
    cost = money(estimate.usd, known=estimate.known)
    return (
        f"The judge ({judge.label}) reads the prompt and both answers twice, in both orders: "
        f"at most {cost} (about {estimate.tokens_in:,} tokens in, up to "
        f"{estimate.tokens_out:,} out). Its verdict is kept in the ledger as quality evidence."
    )


async def _judge_and_keep(
    judge: Judge, db: Path, prompt: str, local: RequestResult, cloud: RequestResult
) -> tuple[ItemVerdict, tuple[Judgment, ...]]:
    """Judge the pair (two calls, each kept as a judgment row), then keep the verdict as an
    eval item of its own: one per compared pair, evidence for the local request."""
    from console.evidence import item_key, judgments, record_item
    from console.judge import judge_pair

    # The pair's own identity: another comparison of the same prompt is other requests, other
    # evidence; `switchboard eval` resuming on a prompt is not affected.
    key = item_key(prompt, None, f"{judge.label} compare {local.request_id}")
    async with judge.client() as client:
        outcome = await judge_pair(
            client, judge, prompt, local.answer, cloud.answer, db=db, key=key
        )
    await asyncio.to_thread(
        record_item,
        db,
        key,
        prompt=prompt,
        method="judge",
        judge=judge.label,
        local_request_id=local.request_id,
        cloud_request_id=cloud.request_id,
        outcome=outcome,
    )
    return outcome, await asyncio.to_thread(judgments, db, key)
