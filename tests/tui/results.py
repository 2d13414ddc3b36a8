"""Finished requests for screen tests and snapshots, each decided by the real router on fixed
features and signals, so a snapshot can only show a state the console can reach (a prompt that
privacy keeps local is answered locally, a redacted one by the cloud with its sent text)."""

from __future__ import annotations

from console.dispatch import RequestResult, Timings
from engines.base import Usage
from policies.config import Config, LocalCostConfig, PriceConfig, with_changes
from policies.features import extract_features
from policies.prices import cloud_cost, counterfactual_cost, local_cost
from policies.router import Signals, decide

PRICES = {"gpt-4o-mini": PriceConfig(input_per_mtok=0.15, output_per_mtok=0.6)}
SIGNALS = Signals(
    local_queue_depth=0,
    local_cpu_pct=12.0,
    local_tps=38.5,
    spend_today_usd=0.12,
    spend_month_usd=3.4,
)


def config(**changes: str) -> Config:
    """The default config with `changes` (dotted keys) and a known price for the cloud model."""
    base = with_changes(Config(), dict(changes))
    cloud = base.cloud.model_copy(update={"model": "gpt-4o-mini"})
    return base.model_copy(update={"prices": PRICES, "cloud": cloud})


def local_answer(
    prompt: str,
    answer: str,
    *,
    pii_types: tuple[str, ...] = (),
    gen_tps: float = 38.4,
    ttft_s: float = 0.21,
    tokens: tuple[int, int] = (12, 9),
    cfg: Config | None = None,
) -> RequestResult:
    """A prompt the real router sends to the local tier, answered there."""
    cfg = cfg or config()
    decision = decide(extract_features(prompt, pii_types), SIGNALS, cfg)
    assert decision.target == "local", decision.fired
    cost = local_cost(0.4, 0.5, LocalCostConfig(), *tokens)
    counterfactual = counterfactual_cost(*tokens, cfg)
    return RequestResult(
        request_id=f"local-{abs(hash(prompt)) % 10**8:08d}",
        prompt=prompt,
        answer=answer,
        decision=decision,
        tier="local",
        fallback_path=("local",),
        status="ok",
        error=None,
        error_class=None,
        fix=None,
        usage=Usage(*tokens),
        ttft_s=ttft_s,
        latency_s=ttft_s + tokens[1] / gen_tps,
        gen_tps=gen_tps,
        cost=cost,
        counterfactual_usd=counterfactual.total_usd,
        timings=Timings(pii_ms=14.0, route_ms=0.2, queue_ms=0.0, ttft_ms=ttft_s * 1000, gen_ms=240),
        sent_text=None,
        model="gemma-3-270m-q4_k_m.gguf",
        pii_types=pii_types,
        redacted=False,
    )


def cloud_answer(
    prompt: str,
    answer: str,
    *,
    sent_text: str | None = None,
    pii_types: tuple[str, ...] = (),
    gen_tps: float = 55.0,
    ttft_s: float = 0.41,
    tokens: tuple[int, int] = (58, 96),
    cfg: Config | None = None,
    fallback_from_local: bool = False,
) -> RequestResult:
    """A prompt the real router sends to the cloud (redacted when it has PII), answered there;
    with `fallback_from_local`, a local-first prompt whose local attempt failed."""
    cfg = cfg or config(**{"pii.on_pii": "redact", "router.complexity_threshold": "0.05"})
    decision = decide(extract_features(prompt, pii_types), SIGNALS, cfg)
    if fallback_from_local:
        assert decision.chain[:2] == ("local", "cloud"), decision.chain
    else:
        assert decision.target == "cloud", decision.fired
        assert decision.redact == bool(pii_types)
    cost = cloud_cost("gpt-4o-mini", *tokens, PRICES)
    return RequestResult(
        request_id=f"cloud-{abs(hash(prompt)) % 10**8:08d}",
        prompt=prompt,
        answer=answer,
        decision=decision,
        tier="cloud",
        fallback_path=("local", "cloud") if fallback_from_local else ("cloud",),
        status="fallback" if fallback_from_local else "ok",
        error=None,
        error_class=None,
        fix=None,
        usage=Usage(*tokens),
        ttft_s=ttft_s,
        latency_s=ttft_s + tokens[1] / gen_tps,
        gen_tps=gen_tps,
        cost=cost,
        counterfactual_usd=cost.total_usd,
        timings=Timings(
            pii_ms=18.4, route_ms=0.21, queue_ms=0.0, ttft_ms=ttft_s * 1000, gen_ms=2330
        ),
        sent_text=sent_text if sent_text is not None else prompt,
        model="gpt-4o-mini",
        pii_types=pii_types,
        redacted=bool(pii_types),
    )
