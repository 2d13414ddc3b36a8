"""Decision inspector: the full trace of one answer, live or from the ledger.

Both a fresh `RequestResult` and a `StoredRequest` read back from the ledger are turned into one
`Trace` by a small adapter, so the screen renders a single shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from console.ledger import StoredRequest
from console.outcome import Badge, badge
from console.outside_text import as_text, clean
from console.tui.keys import ALWAYS_SHOWN
from console.tui.palette import badge_tier
from console.tui.screens import palette_of
from console.tui.words import money, privacy_outcome, privacy_verdict

if TYPE_CHECKING:
    from console.dispatch import RequestResult
    from policies.prices import CostBreakdown


@dataclass(frozen=True)
class RuleRow:
    """One router rule as evaluated for this prompt."""

    name: str
    value: str
    threshold: str
    verdict: str
    why: str


@dataclass(frozen=True)
class Trace:
    """Everything the inspector shows, whatever the answer came from."""

    request_id: str
    prompt: str
    badge: Badge
    status: str
    tier: str
    model: str
    target: str
    chain: tuple[str, ...]
    fired: str
    rules: tuple[RuleRow, ...]
    fallback_path: tuple[str, ...]
    timings: tuple[tuple[str, float | None], ...]
    cost: tuple[tuple[str, str], ...]
    error: str | None
    fix: str | None
    sent_text: str | None
    #: What privacy did, in words ("2 personal data items: kept local").
    privacy: str
    #: (role, text) of every message sent to the tier that answered, history included.
    messages: tuple[tuple[str, str], ...] = ()
    #: The pool server that answered ("" for the other tiers) and why it was the one.
    server: str = ""
    server_why: str = ""
    #: Whether that server is trusted with personal data (None: not known, for a stored row).
    server_trusted: bool | None = None


#: Rule verdicts in words: "pass" read as "privacy passed" when personal data was found.
VERDICT_WORDS: dict[str, str] = {"pass": "no effect", "skip": "skipped"}


def _show(value: object) -> str:
    """A rule's value or threshold, short and stable."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(_show(item) for item in value) or "—"
    return str(value)


def _rules(decision: dict[str, Any]) -> tuple[RuleRow, ...]:
    rows = []
    for rule in decision.get("rules", []):
        rows.append(
            RuleRow(
                name=str(rule.get("name", "?")),
                value=_show(rule.get("value")),
                threshold=_show(rule.get("threshold")),
                verdict=VERDICT_WORDS.get(str(rule.get("verdict")), _show(rule.get("verdict"))),
                why=str(rule.get("why", "")),
            )
        )
    return tuple(rows)


def _decision_parts(decision: dict[str, Any]) -> tuple[str, tuple[str, ...], str]:
    return (
        str(decision.get("target", "?")),
        tuple(str(tier) for tier in decision.get("chain", ())),
        str(decision.get("fired") or "—"),
    )


def pool_choice(decision: dict[str, Any], server: str) -> str:
    """Why the pool server `server` answered, from the trace's `pool` rule (the pick it names).

    The router previews the pick; the pool chooses again when the request runs, so a server
    that failed before its first token, or a change of load, can hand it to another one.
    """
    if not server:
        return ""
    rule = next((r for r in decision.get("rules", ()) if r.get("name") == "pool"), None)
    if rule is None:
        return "the pool rule left no trace"
    picked, why = str(rule.get("value") or ""), str(rule.get("why", ""))
    if picked and picked != server:
        return (
            f"routing picked {picked} ({why}); when the request ran the pool gave it to "
            f"{server} (the pick failed before its first token, or the load changed)"
        )
    return why


def trace_from_result(result: RequestResult) -> Trace:
    """The trace of an answer the dispatcher just produced."""
    decision = result.decision.to_dict()
    target, chain, fired = _decision_parts(decision)
    timings = result.timings
    return Trace(
        request_id=result.request_id,
        prompt=result.prompt,
        badge=badge(result.outcome),
        status=result.status,
        tier=result.tier,
        model=result.model,
        target=target,
        chain=chain,
        fired=fired,
        rules=_rules(decision),
        fallback_path=tuple(result.fallback_path),
        timings=(
            ("PII scan", timings.pii_ms),
            ("routing", timings.route_ms),
            ("queue", timings.queue_ms),
            ("first token", timings.ttft_ms),
            ("generation", timings.gen_ms),
            ("total", result.latency_s * 1000),
        ),
        cost=cost_lines(result),
        error=result.error,
        fix=result.fix,
        sent_text=result.sent_text,
        privacy=privacy_verdict(
            len(result.pii_types),
            privacy_outcome(result.status, result.tier, result.redacted),
        ),
        messages=tuple((message.role, message.content) for message in result.messages),
        server=result.server or "",
        server_why=pool_choice(decision, result.server or ""),
        # The dispatcher keeps the sent text of a pool request only when its server is untrusted.
        server_trusted=result.sent_text is None if result.server else None,
    )


def breakdown_lines(cost: CostBreakdown) -> list[tuple[str, str]]:
    """Each part of a cost: tokens x prices for the cloud, CPU-seconds x rate and energy locally."""
    if cost.tier == "cloud":
        if not cost.known or cost.price is None:
            tokens = f"{cost.tokens_in} / {cost.tokens_out}"
            return [("tokens in / out", tokens), ("price", "unknown")]
        price = cost.price
        return [
            (f"{cost.tokens_in} in × ${price.input_per_mtok:g}/Mtok", money(cost.input_usd)),
            (f"{cost.tokens_out} out × ${price.output_per_mtok:g}/Mtok", money(cost.output_usd)),
        ]
    if cost.tier == "pool":
        rate = cost.server_usd / cost.busy_share_s * 3600 if cost.busy_share_s > 0 else 0.0
        return [
            (
                f"{cost.busy_share_s:.2f} busy-s of {clean(cost.server or '?')} × {money(rate)}/h",
                money(cost.server_usd),
            )
        ]
    lines = [(f"{cost.cpu_seconds:.2f} CPU-s × core-hour rate", money(cost.cpu_usd))]
    if cost.energy_usd:
        lines.append((f"energy over {cost.wall_seconds:.1f} s", money(cost.energy_usd)))
    return lines


def cost_lines(result: RequestResult) -> tuple[tuple[str, str], ...]:
    """The cost breakdown of a live result, its total, and what the cloud alone would have cost."""
    cost = result.cost
    if cost is None:
        lines = [("total", "nothing ran")]
    else:
        lines = breakdown_lines(cost)
        lines.append(("total", money(cost.total_usd) if cost.known else "unknown price"))
    if result.counterfactual_usd is not None:
        lines.append(("all-cloud would cost", money(result.counterfactual_usd)))
    if result.savings_usd is not None:
        lines.append(("saved", money(result.savings_usd)))
    return tuple(lines)


def trace_from_stored(stored: StoredRequest) -> Trace:
    """The trace of a request read back from the ledger (its decision_json and its numbers)."""
    try:
        decision: dict[str, Any] = json.loads(stored.decision_json or "{}")
    except json.JSONDecodeError:
        decision = {}
    target, chain, fired = _decision_parts(decision)
    path = tuple(stored.fallback_path.split(">")) if stored.fallback_path else (stored.tier,)
    latency_ms = stored.latency_s * 1000 if stored.latency_s is not None else None
    ttft_ms = stored.ttft_s * 1000 if stored.ttft_s is not None else None
    gen_ms = latency_ms - ttft_ms if latency_ms is not None and ttft_ms is not None else None
    cost: list[tuple[str, str]] = [("tokens in / out", f"{stored.tokens_in} / {stored.tokens_out}")]
    if stored.tier == "local":
        cost.append(("engine CPU-seconds", f"{stored.cpu_seconds:.2f}"))
    cost.append(("total", money(stored.cost_usd) if stored.cost_known else "unknown price"))
    if stored.counterfactual_usd is not None:
        cost.append(("all-cloud would cost", money(stored.counterfactual_usd)))
        if stored.cost_known:
            cost.append(("saved", money(stored.counterfactual_usd - stored.cost_usd)))
    return Trace(
        request_id=stored.request_id,
        prompt=stored.prompt_text or f"(prompt not kept; sha256 {stored.prompt_hash[:12]}…)",
        badge=badge(stored.outcome),
        status=stored.status,
        tier=stored.tier,
        model=stored.model,
        target=target,
        chain=chain,
        fired=fired,
        rules=_rules(decision),
        fallback_path=path,
        timings=(("first token", ttft_ms), ("generation", gen_ms), ("total", latency_ms)),
        cost=tuple(cost),
        error=stored.error_class,
        fix=None,
        sent_text=None,
        privacy=privacy_verdict(
            stored.pii_count, privacy_outcome(stored.status, stored.tier, stored.redacted)
        ),
        server=stored.server,
        server_why=pool_choice(decision, stored.server),
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} ms"


class InspectorScreen(ModalScreen[None]):
    """The full routing trace, timings and cost of one answer."""

    CSS_PATH = "inspector.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        *ALWAYS_SHOWN,
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+y", "copy_trace", "Copy trace"),
    ]

    def __init__(self, result: RequestResult | StoredRequest | Trace) -> None:
        super().__init__()
        if isinstance(result, Trace):
            self.trace = result
        elif isinstance(result, StoredRequest):
            self.trace = trace_from_stored(result)
        else:
            self.trace = trace_from_result(result)

    def compose(self) -> ComposeResult:
        trace = self.trace
        with VerticalScroll(id="inspector-panel") as panel:
            panel.border_title = "Decision inspector"
            panel.border_subtitle = f"request {trace.request_id[:12]}"
            yield Static(self._head(), id="inspector-head")
            yield Static(self._route(), id="inspector-route")
            yield DataTable(id="inspector-rules", cursor_type="row", zebra_stripes=True)
            yield Static("", id="inspector-why")
            with Horizontal(id="inspector-numbers"):
                yield Static(self._timings(), id="inspector-timings")
                yield Static(self._cost(), id="inspector-cost")
            yield Static(self._outcome(), id="inspector-outcome")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#inspector-rules", DataTable)
        table.add_columns("", "rule", "value", "threshold", "verdict", "why")
        for row in self.trace.rules:
            fired = row.name == self.trace.fired
            style = palette_of(self.app).tier_style("fallback") if fired else ""
            table.add_row(
                Text("▶" if fired else " ", style=style),
                Text(row.name, style=style),
                as_text(row.value),
                as_text(row.threshold),
                as_text(row.verdict, palette_of(self.app).tier_style(row.verdict)),
                as_text(row.why),
                key=row.name,
            )
        names = [row.name for row in self.trace.rules]
        if self.trace.fired in names:
            table.move_cursor(row=names.index(self.trace.fired))
        table.focus()

    @on(DataTable.RowHighlighted, "#inspector-rules")
    def _explain(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted rule's reason in full (the table cuts long ones)."""
        rule = self.trace.rules[event.cursor_row]
        text = Text()
        text.append(f"{rule.name}: ", style="bold")
        text.append(clean(rule.why))
        self.query_one("#inspector-why", Static).update(text)

    def _head(self) -> Text:
        trace = self.trace
        text = Text()
        text.append(
            f" {trace.badge.label} ",
            style=palette_of(self.app).badge_style(badge_tier(trace.badge.kind)),
        )
        text.append(f"  {trace.status}")
        if trace.model:
            text.append(f" · {clean(trace.model)}", style="dim")
        text.append("\n")
        text.append(clean(trace.prompt))
        return text

    def _route(self) -> Text:
        trace = self.trace
        text = Text()
        text.append("target ", style="dim")
        text.append(trace.target, style=palette_of(self.app).tier_style(trace.target))
        text.append("  chain ", style="dim")
        text.append(clean(" → ".join(trace.chain)) or "—")
        text.append("  fired ", style="dim")
        text.append(clean(trace.fired), style="bold")
        text.append("  path ", style="dim")
        text.append(clean(" → ".join(trace.fallback_path)) or "—")
        if trace.server:
            text.append("\nserver ", style="dim")
            text.append(clean(trace.server), style=palette_of(self.app).tier_style("pool"))
            text.append("  ")
            text.append(clean(trace.server_why))
        return text

    def _timings(self) -> Table:
        table = Table(title="Timings", title_justify="left", box=None, expand=True)
        table.add_column("step")
        table.add_column("time", justify="right")
        for name, value in self.trace.timings:
            table.add_row(name, _ms(value))
        return table

    def _cost(self) -> Table:
        table = Table(title="Cost", title_justify="left", box=None, expand=True)
        table.add_column("item")
        table.add_column("amount", justify="right")
        for name, value in self.trace.cost:
            table.add_row(name, value)
        return table

    def _outcome(self) -> Text:
        trace = self.trace
        text = Text()
        if trace.error:
            text.append("error  ", style=palette_of(self.app).tier_style("failed"))
            text.append(clean(trace.error))
            if trace.fix:
                text.append("\nfix    ", style="bold")
                text.append(clean(trace.fix))
            text.append("\n")
        text.append(trace.privacy + "\n", style="bold")
        server = clean(trace.server)
        if trace.sent_text is not None:
            where = f"the untrusted lab server {server}" if trace.server else "the cloud"
            text.append(
                f"sent to {where}, exactly:\n",
                style=palette_of(self.app).tier_style("redacted"),
            )
            text.append(clean(trace.sent_text))
        elif trace.tier == "pool" and trace.server_trusted:
            text.append(
                f"sent as typed to {server}, a trusted lab server",
                style=palette_of(self.app).tier_style("pool"),
            )
        elif trace.tier == "local":
            text.append("nothing left this machine", style=palette_of(self.app).tier_style("local"))
        if len(trace.messages) > 1:
            text.append(f"\n\nmessages sent ({len(trace.messages)}, history included):\n")
            for role, content in trace.messages:
                text.append(f"{clean(role)}: ", style="bold")
                text.append(clean(content) + "\n")
        return text

    def action_copy_trace(self) -> None:
        """Copy the rule table as tab-separated text to the terminal clipboard."""
        lines = ["rule\tvalue\tthreshold\tverdict\twhy"]
        lines += [
            f"{row.name}\t{row.value}\t{row.threshold}\t{row.verdict}\t{row.why}"
            for row in self.trace.rules
        ]
        self.app.copy_to_clipboard("\n".join(lines))
        self.notify("trace copied")
