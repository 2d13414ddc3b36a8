"""From the core's snapshots and results to the frozen views the widgets render.

The only TUI module that knows the shape of TelemetrySnapshot, BreakerSnapshot, the ledger
report and RequestResult; the widgets know only console.tui.widgets.views.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from console.ledger_report import build_report
from console.outcome import Outcome, badge
from console.tui.widgets.views import (
    AnswerMeta,
    CloudView,
    EntityCount,
    LedgerView,
    LocalView,
    PoolServerView,
    PoolView,
    PresenterView,
    PrivacyView,
    Span,
    StatusView,
    ThreadLoad,
)
from console.tui.words import money, reason_sentence
from policies.prices import Spend, budget_status

if TYPE_CHECKING:
    from console.dispatch import RequestResult
    from console.runtime import Runtime, RuntimeStatus
    from engines.breaker import BreakerSnapshot
    from engines.pool import PoolStatus, ServerStatus
    from engines.telemetry import TelemetrySnapshot
    from policies.config import Config
    from policies.pii import PiiScan


def answer_meta(result: RequestResult) -> AnswerMeta:
    """The badge of a finished request."""
    cost = result.cost
    return AnswerMeta(
        badge=badge(result.outcome),
        status=result.status,
        cost_usd=cost.total_usd if cost is not None else None,
        cost_known=cost.known if cost is not None else True,
        gen_tps=result.gen_tps,
        ttft_s=result.ttft_s,
        latency_s=result.latency_s,
        tokens_out=result.usage.completion_tokens if result.usage else None,
        model=result.model,
        fired=result.decision.fired,
        error=result.error if result.status != "ok" else None,
        fix=result.fix,
    )


def stored_turn_meta(tier: str) -> AnswerMeta:
    """The badge of an answer reopened from a saved conversation (only its tier is kept, so a
    pool turn's badge says POOL without its server)."""
    answered: Literal["local", "pool", "cloud"] = (
        "cloud" if tier == "cloud" else "pool" if tier == "pool" else "local"
    )
    return AnswerMeta(
        badge=badge(Outcome("ok", answered, (answered,), redacted=False)),
        status="ok",
        cost_usd=None,
        cost_known=False,
        gen_tps=None,
        ttft_s=None,
        latency_s=None,
        tokens_out=None,
        model="",
        fired="",
        error=None,
    )


def unfinished_meta(status: Literal["cancelled", "failed"], error: str) -> AnswerMeta:
    """The badge of an answer whose worker ended without a result (cancelled, crashed)."""
    return AnswerMeta(
        badge=badge(Outcome(status, "none", (), redacted=False)),
        status=status,
        cost_usd=None,
        cost_known=False,
        gen_tps=None,
        ttft_s=None,
        latency_s=None,
        tokens_out=None,
        model="",
        fired="",
        error=error,
    )


def privacy_view(result: RequestResult, scan: PiiScan | None, on_pii: str) -> PrivacyView:
    """What the prompt contained and what left the machine."""
    counts = Counter(entity.type for entity in scan.entities) if scan is not None else Counter()
    if not counts:
        counts = Counter(result.pii_types)
    return PrivacyView(
        prompt_chars=len(result.prompt),
        entities=tuple(EntityCount(kind, n) for kind, n in sorted(counts.items())),
        on_pii=on_pii,
        tier=result.tier,
        redacted=result.redacted,
        sent_text=result.sent_text,
        blocked=result.status == "blocked",
    )


def local_view(
    snapshot: TelemetrySnapshot, runtime: Runtime, tps_history: tuple[float, ...]
) -> LocalView:
    """The local engine panel from one telemetry sample."""
    local = runtime.local
    return LocalView(
        state=snapshot.engine_state,
        label=local.label,
        per_core_pct=snapshot.per_core_pct,
        process_cpu_pct=snapshot.process_cpu_pct or 0.0,
        threads=tuple(ThreadLoad(t.name, t.cpu_pct) for t in snapshot.threads),
        rss_bytes=snapshot.rss_bytes or 0,
        queue_depth=snapshot.queue_depth,
        n_threads=snapshot.n_threads,
        physical_cores=snapshot.physical_cores,
        last_tps=snapshot.last_gen_tps,
        last_ttft_s=snapshot.last_ttft_s,
        tps_history=tps_history,
        last_error=local.last_error,
    )


def cloud_view(health: BreakerSnapshot, runtime: Runtime, config: Config) -> CloudView:
    """The cloud panel from the breaker's snapshot."""
    cloud = runtime.cloud
    return CloudView(
        label=cloud.label,
        endpoint=cloud.endpoint,
        state=health.state,
        cooldown_remaining_s=health.cooldown_remaining_s,
        consecutive_failures=health.consecutive_failures,
        latency_p50_s=health.latency_p50_s,
        latency_p95_s=health.latency_p95_s,
        ttft_p50_s=health.ttft_p50_s,
        key_present=cloud.key_present,
        key_env=config.cloud.api_key_env,
        key_required=cloud.key_required,
        last_error=health.last_error,
    )


def pool_server_state(server: ServerStatus) -> str:
    """A server's state in the panel's words: an open breaker is named as such (requests are
    held back from it even while it answers health checks); otherwise the pool's own state."""
    if server.breaker == "open":
        return "breaker open"
    return server.state


def pool_view(status: PoolStatus) -> PoolView | None:
    """The pool panel from the pool's status; None when no `[[pool.servers]]` is configured."""
    if not status.servers:
        return None
    return PoolView(
        strategy=status.strategy,
        servers=tuple(
            PoolServerView(
                name=server.name,
                kind=server.kind,
                state=pool_server_state(server),
                inflight=server.inflight,
                max_inflight=server.max_inflight,
                queued=server.queued,
                tok_s=server.tok_s,
                ttft_p50_s=None if server.ttft_p50_ms is None else server.ttft_p50_ms / 1000,
                trusted=server.trusted,
                last_error=server.last_error,
            )
            for server in status.servers
        ),
        waiting=status.waiting,
    )


def status_view(status: RuntimeStatus, log_path: Path | None) -> StatusView:
    """The status line: loading states and the first error worth reading."""
    errors = tuple(
        error
        for error in (
            status.config_error,
            status.local_error,
            status.pii_error,
            status.cloud_error if status.cloud_state in ("open", "failed") else None,
            status.ledger_error,
        )
        if error
    )
    cloud_state = status.cloud_state if status.cloud_ready else "starting"
    return StatusView(
        local_state=status.local_state,
        pii_ready=status.pii_ready,
        cloud_label=status.cloud_label,
        cloud_state=cloud_state,
        errors=errors,
        log_path=str(log_path) if log_path else "",
    )


def ledger_view(runtime: Runtime, config: Config) -> LedgerView:
    """The last 24 hours from the ledger (blocking: call from a thread worker)."""
    ledger = runtime.ledger
    if ledger is None:
        budget = budget_status(Spend(0.0, 0.0), config.budget)
        return LedgerView(
            requests=0,
            spend_usd=0.0,
            counterfactual_usd=0.0,
            savings_usd=0.0,
            share_local=0.0,
            budget_daily_usd=config.budget.daily_usd,
            budget_used_fraction=budget.daily_fraction,
            budget_warn=budget.warning,
            budget_exhausted=budget.exhausted,
            error=runtime.ledger_error,
        )
    report = build_report(ledger, config, since="24h")
    return LedgerView(
        requests=report.requests,
        spend_usd=report.cost_usd,
        counterfactual_usd=report.counterfactual_usd,
        savings_usd=report.savings_usd,
        share_local=report.local_share or 0.0,
        budget_daily_usd=config.budget.daily_usd,
        budget_used_fraction=report.budget.daily_fraction,
        budget_warn=report.budget.warning,
        budget_exhausted=report.budget.exhausted,
        pending=runtime.spool.pending(),
        error=runtime.spool.last_error or ledger.last_error,
    )


@dataclass(frozen=True)
class SpendEstimate:
    """At most what sending `prompts` to the cloud model could cost."""

    prompts: int
    tokens_in: int
    tokens_out: int
    usd: float
    known: bool
    model: str

    def sentence(self, what: str) -> str:
        """The question the confirmation dialog asks, in words."""
        cost = money(self.usd, known=self.known)
        count = "1 prompt" if self.prompts == 1 else f"{self.prompts} prompts"
        return (
            f"{what} may send {count} to the cloud model {self.model}: at most {cost} "
            f"(about {self.tokens_in:,} tokens in, up to {self.tokens_out:,} out). "
            "Prompts that privacy keeps local are not sent."
        )


def spend_estimate(prompts: list[str], config: Config, max_tokens: int | None) -> SpendEstimate:
    """An upper bound of the cloud cost of `prompts`: each at its estimated prompt tokens and the
    full answer length (`max_tokens`, else `[cloud] max_tokens`), on the configured cloud model."""
    from policies.features import estimate_tokens, split_override
    from policies.prices import counterfactual_cost

    tokens_in = sum(estimate_tokens(split_override(prompt)[1]) for prompt in prompts)
    tokens_out = (max_tokens or config.cloud.max_tokens) * len(prompts)
    cost = counterfactual_cost(tokens_in, tokens_out, config)
    return SpendEstimate(
        prompts=len(prompts),
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        usd=cost.total_usd,
        known=cost.known,
        model=config.cloud.model,
    )


#: The daily volume the presenter band projects a month at (stated on the band).
PROJECTED_REQUESTS_PER_DAY = 10_000


def route_of(result: RequestResult) -> str:
    """Which segment of the presenter's split bar a result counts in."""
    if result.status in ("failed", "cancelled", "blocked") or result.tier == "none":
        return "no answer"
    if result.tier == "cloud":
        return "cloud·redacted" if result_redacted(result) else "cloud"
    return str(result.tier)


def result_redacted(result: RequestResult) -> bool:
    """Whether the text sent for `result` had personal data replaced by placeholders."""
    return result.redacted


@dataclass
class PresenterTally:
    """The session's results so far, for the presenter band (owned by the event loop)."""

    volume_per_day: int = PROJECTED_REQUESTS_PER_DAY
    note: str = ""
    split: Counter[str] = field(default_factory=Counter)
    cost_usd: float = 0.0
    counterfactual_usd: float = 0.0
    last: RequestResult | None = None
    last_scan: PiiScan | None = None

    def add(self, result: RequestResult, scan: PiiScan | None = None) -> None:
        """Count one finished request (with its PII scan, when the screen saw it)."""
        self.split[route_of(result)] += 1
        if result.cost is not None and result.cost.known:
            self.cost_usd += result.cost.total_usd
        if result.counterfactual_usd is not None:
            self.counterfactual_usd += result.counterfactual_usd
        self.last, self.last_scan = result, scan

    def view(self) -> PresenterView:
        """The band's figures now."""
        last, scan = self.last, self.last_scan
        reason = ""
        typed = sent = None
        spans: tuple[Span, ...] = ()
        if last is not None:
            redacted = result_redacted(last)
            reason = reason_sentence(
                str(last.tier),
                last.decision.fired,
                redacted=redacted,
                status=last.status,
                task=last.decision.features.task,
            )
            if redacted and scan is not None:
                typed, sent = scan.text, last.sent_text
                spans = tuple(Span(e.start, e.end) for e in scan.entities)
        return PresenterView(
            split=dict(self.split),
            cost_usd=self.cost_usd,
            counterfactual_usd=self.counterfactual_usd,
            volume_per_day=self.volume_per_day,
            reason=reason,
            typed=typed,
            pii_spans=spans,
            sent=sent,
            replaced=len(spans),
            note=self.note,
        )
