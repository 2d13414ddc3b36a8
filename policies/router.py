"""The router: ordered rules turn prompt features and live signals into a Decision and its trace.

Rules, in order (the first that gives a verdict other than "pass" or "skip" decides):

1. override     a /local or /cloud prefix (never against privacy, a blocked cloud, a spent budget)
2. privacy      PII found in the prompt or an earlier turn still in the context: [pii] on_pii =
                local keeps it here, block refuses it, redact lets it pass
3. context      the system prompt, the prompt and the answer reserve do not fit [local] n_ctx:
                cloud, or blocked when the cloud is out of the question
4. budget       cloud spend at a [budget] cap: stay local
5. local_ready  the local engine is not loaded yet: burst to the cloud
6. local_queue  more requests waiting for the local engine than [router] max_queue_depth: burst
7. local_cpu    the machine's CPU above [router] max_local_cpu: burst
8. complexity   score at or above [router] complexity_threshold: cloud
9. latency      a long answer local would not finish within [router] latency_target_s: cloud
10. default     [router] default_tier

A rule that would send the prompt to an unusable cloud (no API key, breaker open) is "skip" and says
why; the rules after the deciding one are still evaluated, so the trace shows every value against
its threshold, and are marked "skip" ("not reached"). The fallback chain never puts an unusable
cloud first and never contains the cloud when privacy or the budget forbids it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from policies.config import Config
from policies.features import Features, features_from_dict

Target = Literal["local", "cloud", "blocked"]
Verdict = Literal["local", "cloud", "block", "pass", "skip"]
CloudState = Literal["closed", "open", "half_open"]
RuleValue = float | int | bool | str | None

RULE_NAMES = (
    "override",
    "privacy",
    "context",
    "budget",
    "local_ready",
    "local_queue",
    "local_cpu",
    "complexity",
    "latency",
    "default",
)

_CLOUD_STATES = ("closed", "open", "half_open")
_VERDICTS = ("local", "cloud", "block", "pass", "skip")
_TARGETS = ("local", "cloud", "blocked")


@dataclass(frozen=True)
class Signals:
    """Live state the router reads: local load, cloud health and spend so far."""

    local_queue_depth: int = 0
    local_cpu_pct: float = 0.0
    local_tps: float | None = None
    local_ready: bool = True
    cloud_state: CloudState = "closed"
    cloud_available: bool = True
    cloud_unavailable_reason: str = ""
    spend_today_usd: float = 0.0
    spend_month_usd: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the decision trace."""
        return {
            "local_queue_depth": self.local_queue_depth,
            "local_cpu_pct": self.local_cpu_pct,
            "local_tps": self.local_tps,
            "local_ready": self.local_ready,
            "cloud_state": self.cloud_state,
            "cloud_available": self.cloud_available,
            "cloud_unavailable_reason": self.cloud_unavailable_reason,
            "spend_today_usd": self.spend_today_usd,
            "spend_month_usd": self.spend_month_usd,
        }

    def cloud_blocker(self) -> str:
        """Why the cloud cannot take a request now, or "" when it can."""
        if not self.cloud_available:
            return self.cloud_unavailable_reason or "cloud unavailable"
        if self.cloud_state == "open":
            return self.cloud_unavailable_reason or "breaker open"
        return ""


def signals_from_dict(data: Mapping[str, Any]) -> Signals:
    """Rebuild Signals from `Signals.to_dict()` output (a stored trace)."""
    state = data.get("cloud_state", "closed")
    if state not in _CLOUD_STATES:
        raise ValueError(f"signals.cloud_state: expected one of {_CLOUD_STATES}, got {state!r}")
    tps = data.get("local_tps")
    return Signals(
        local_queue_depth=int(data.get("local_queue_depth", 0)),
        local_cpu_pct=float(data.get("local_cpu_pct", 0.0)),
        local_tps=None if tps is None else float(tps),
        local_ready=bool(data.get("local_ready", True)),
        cloud_state=state,
        cloud_available=bool(data.get("cloud_available", True)),
        cloud_unavailable_reason=str(data.get("cloud_unavailable_reason", "")),
        spend_today_usd=float(data.get("spend_today_usd", 0.0)),
        spend_month_usd=float(data.get("spend_month_usd", 0.0)),
    )


@dataclass(frozen=True)
class RuleResult:
    """One rule's line in the trace: its measured value against its threshold, and its verdict."""

    name: str
    value: RuleValue
    threshold: RuleValue
    verdict: Verdict
    why: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of one rule in the trace."""
        return {
            "name": self.name,
            "value": self.value,
            "threshold": self.threshold,
            "verdict": self.verdict,
            "why": self.why,
        }


@dataclass(frozen=True)
class Decision:
    """Where a prompt goes, the fallback chain, the rule that decided, and every rule's result."""

    target: Target
    chain: tuple[Literal["local", "cloud"], ...]
    fired: str
    rules: tuple[RuleResult, ...]
    features: Features
    signals: Signals
    redact: bool

    def to_dict(self) -> dict[str, Any]:
        """The decision trace as JSON-ready data (DESIGN.md section 3)."""
        return {
            "target": self.target,
            "chain": list(self.chain),
            "fired": self.fired,
            "rules": [rule.to_dict() for rule in self.rules],
            "features": self.features.to_dict(),
            "signals": self.signals.to_dict(),
            "redact": self.redact,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """Rebuild a Decision from `to_dict()` output; raise ValueError on a malformed trace."""
        try:
            target = data["target"]
            if target not in _TARGETS:
                raise ValueError(f"target: expected one of {_TARGETS}, got {target!r}")
            chain = tuple(data["chain"])
            if any(tier not in ("local", "cloud") for tier in chain):
                raise ValueError(f"chain: expected 'local'/'cloud' entries, got {chain!r}")
            rules = []
            for rule in data["rules"]:
                if rule["verdict"] not in _VERDICTS:
                    raise ValueError(f"rules: unknown verdict {rule['verdict']!r}")
                rules.append(
                    RuleResult(
                        str(rule["name"]),
                        rule["value"],
                        rule["threshold"],
                        rule["verdict"],
                        str(rule["why"]),
                    )
                )
            return cls(
                target=target,
                chain=chain,
                fired=str(data["fired"]),
                rules=tuple(rules),
                features=features_from_dict(data["features"]),
                signals=signals_from_dict(data["signals"]),
                redact=bool(data.get("redact", False)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a decision trace: missing or malformed {exc}") from None


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _pii_phrase(features: Features) -> str:
    count = features.pii_count
    kinds = f" ({', '.join(features.pii_types)})" if features.pii_types else ""
    turns = features.pii_turns
    where = (
        f", in turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))} of the context"
        if turns
        else ""
    )
    return f"{count} PII entit{'y' if count == 1 else 'ies'}{kinds}{where}"


def _fits_local(features: Features, config: Config) -> bool:
    # 0 means "not measured" (traces recorded before conversations): it always fitted then.
    return features.context_tokens <= config.local.n_ctx


def _on_pii(features: Features, config: Config) -> str:
    """`[pii] on_pii`, except "block" when a secret was found and `[pii] on_secret` = block."""
    if config.pii.on_secret == "block" and "SECRET" in features.pii_types:
        return "block"
    return config.pii.on_pii


def _block_setting(features: Features, config: Config) -> str:
    """The setting that blocks: on_secret for a secret, else on_pii."""
    if config.pii.on_secret == "block" and "SECRET" in features.pii_types:
        return "pii.on_secret = block"
    return "pii.on_pii = block"


def _budget_used(spend: float, cap: float) -> float:
    # A cap of 0 means "no cloud spend at all": it is used up before the first cent.
    if cap <= 0.0:
        return math.inf if spend > 0.0 else 1.0
    return spend / cap


_Why = Callable[[], str]
_Rule = tuple[str, RuleValue, RuleValue, Verdict, _Why]


def _evaluate(features: Features, signals: Signals, config: Config) -> Iterator[_Rule]:
    """The rules in order: each with its value, threshold, verdict and a thunk for its why.

    The why is a thunk because `decide` words a rule differently once another rule has decided.
    """
    router = config.router
    on_pii = _on_pii(features, config)
    has_pii = features.pii_count > 0
    budget = config.budget
    day_used = _budget_used(signals.spend_today_usd, budget.daily_usd)
    month_used = _budget_used(signals.spend_month_usd, budget.monthly_usd)
    budget_out = day_used >= 1.0 or month_used >= 1.0

    def cloud_blocker() -> str:
        if has_pii and on_pii != "redact":
            return f"{_pii_phrase(features)} and pii.on_pii = {on_pii}"
        return signals.cloud_blocker() or ("cloud budget used up" if budget_out else "")

    cloud_blocked = _cloud_blocked(features, signals, config)
    fits_local = _fits_local(features, config)
    n_ctx = config.local.n_ctx

    def too_long() -> str:
        return f"{features.context_tokens} tokens do not fit the local context of {n_ctx}"

    # 1. override
    override = features.override
    if override is None:
        yield "override", None, None, "pass", lambda: "no /local or /cloud prefix"
    elif has_pii and on_pii == "block":
        yield (
            "override",
            override,
            None,
            "skip",
            lambda: f"/{override} ignored: {_block_setting(features, config)}",
        )
    elif override == "local" and not fits_local:
        yield "override", "local", None, "skip", lambda: f"/local ignored: {too_long()}"
    elif override == "local":
        yield "override", "local", None, "local", lambda: "/local prefix"
    elif cloud_blocked:
        yield "override", "cloud", None, "skip", lambda: f"/cloud ignored: {cloud_blocker()}"
    else:
        redacted = " (PII redacted)" if has_pii else ""
        yield "override", "cloud", None, "cloud", lambda: f"/cloud prefix{redacted}"

    # 2. privacy
    count = features.pii_count
    if not has_pii:
        yield "privacy", 0, 0, "pass", lambda: "no PII found"
    elif on_pii == "local" and not fits_local:
        yield (
            "privacy",
            count,
            0,
            "block",
            lambda: f"{_pii_phrase(features)}: pii.on_pii = local, but {too_long()}",
        )
    elif on_pii == "local":
        yield (
            "privacy",
            count,
            0,
            "local",
            lambda: f"{_pii_phrase(features)}: pii.on_pii = local keeps it on this machine",
        )
    elif on_pii == "block":
        yield (
            "privacy",
            count,
            0,
            "block",
            lambda: f"{_pii_phrase(features)}: {_block_setting(features, config)}",
        )
    else:
        yield (
            "privacy",
            count,
            0,
            "pass",
            lambda: f"{_pii_phrase(features)}: redacted if sent to the cloud",
        )

    # 3. context
    tokens = features.context_tokens

    def history() -> str:
        dropped, earlier = features.local_dropped_turns, features.earlier_turns
        if not dropped:
            return ""
        return f"; {dropped} of {earlier} earlier turns left out to fit {n_ctx:,} tokens"

    if not tokens:
        yield "context", tokens, n_ctx, "pass", lambda: "context size not measured"
    elif fits_local:
        yield (
            "context",
            tokens,
            n_ctx,
            "pass",
            lambda: f"{tokens} tokens fit the local context{history()}",
        )
    elif cloud_blocked:
        yield "context", tokens, n_ctx, "block", lambda: f"{too_long()}, and {cloud_blocker()}"
    else:
        yield "context", tokens, n_ctx, "cloud", too_long

    # 4. budget
    used = max(day_used, month_used)
    used_value = round(used, 4) if math.isfinite(used) else 999.0

    def spent() -> str:
        return (
            f"{_money(signals.spend_today_usd)} of {_money(budget.daily_usd)} today, "
            f"{_money(signals.spend_month_usd)} of {_money(budget.monthly_usd)} this month"
        )

    if budget_out:
        yield "budget", used_value, 1.0, "local", lambda: f"cloud budget used up: {spent()}"
    else:
        yield "budget", used_value, 1.0, "pass", spent

    def burst(name: str, value: RuleValue, threshold: RuleValue, reason: _Why) -> _Rule:
        if cloud_blocked:
            return name, value, threshold, "skip", lambda: f"{reason()}, but {cloud_blocker()}"
        return name, value, threshold, "cloud", reason

    # 5-7. local load: burst to the cloud
    if signals.local_ready:
        yield "local_ready", True, True, "pass", lambda: "local engine ready"
    else:
        yield burst("local_ready", False, True, lambda: "local engine not ready")

    depth, max_depth = signals.local_queue_depth, router.max_queue_depth
    if depth > max_depth:
        yield burst("local_queue", depth, max_depth, lambda: f"{depth} queued > {max_depth}")
    else:
        yield "local_queue", depth, max_depth, "pass", lambda: f"{depth} queued <= {max_depth}"

    cpu, max_cpu = signals.local_cpu_pct, router.max_local_cpu
    if cpu > max_cpu:
        yield burst("local_cpu", cpu, max_cpu, lambda: f"CPU {cpu:.0f}% > {max_cpu:.0f}%")
    else:
        yield "local_cpu", cpu, max_cpu, "pass", lambda: f"CPU {cpu:.0f}% <= {max_cpu:.0f}%"

    # 8. complexity
    score, limit = features.complexity, router.complexity_threshold

    def detail() -> str:
        top = sorted(features.signals, key=lambda signal: signal.contribution, reverse=True)[:2]
        parts = ", ".join(f"{s.name} {s.contribution:.2f}" for s in top if s.contribution > 0)
        return f" ({parts})" if parts else ""

    if score >= limit:
        yield burst(
            "complexity", score, limit, lambda: f"complexity {score:.2f} >= {limit:.2f}{detail()}"
        )
    else:
        yield (
            "complexity",
            score,
            limit,
            "pass",
            lambda: f"complexity {score:.2f} < {limit:.2f}{detail()}",
        )

    # 9. latency
    expected = features.expected_output_tokens
    tps = signals.local_tps if signals.local_tps else router.assumed_local_tps
    local_s = round(expected / tps, 2)
    target_s = router.latency_target_s

    def estimate() -> str:
        basis = "measured" if signals.local_tps else "assumed"
        return f"~{expected} tokens at {tps:.0f} tok/s ({basis}) ≈ {local_s:.0f} s"

    if expected <= router.long_output_tokens:
        long_tokens = router.long_output_tokens
        yield (
            "latency",
            local_s,
            target_s,
            "pass",
            lambda: f"~{expected} answer tokens <= {long_tokens}: not a long answer",
        )
    elif local_s > target_s:
        yield burst("latency", local_s, target_s, lambda: f"{estimate()} > {target_s:.0f} s")
    else:
        yield "latency", local_s, target_s, "pass", lambda: f"{estimate()} within target"

    # 10. default
    default = router.default_tier
    if default == "cloud" and cloud_blocked:
        yield "default", "cloud", None, "local", lambda: f"default tier cloud: {cloud_blocker()}"
    else:
        yield "default", default, None, default, lambda: f"default tier {default}"


def _cloud_blocked(features: Features, signals: Signals, config: Config) -> bool:
    """Whether the cloud is out of the question: privacy, a spent budget or an unusable cloud."""
    if features.pii_count > 0 and _on_pii(features, config) != "redact":
        return True
    budget = config.budget
    if (
        _budget_used(signals.spend_today_usd, budget.daily_usd) >= 1.0
        or _budget_used(signals.spend_month_usd, budget.monthly_usd) >= 1.0
    ):
        return True
    return bool(signals.cloud_blocker())


def decide_target(features: Features, signals: Signals, config: Config) -> Target:
    """Where `decide` sends the prompt, without building the trace: what-if's fast path.

    The same rules in the same order, written straight for speed (what-if re-decides 100,000
    rows twice); tests check it against `decide` over a grid of every rule's edge cases.
    """
    has_pii = features.pii_count > 0
    on_pii = _on_pii(features, config)
    if has_pii and on_pii == "block":
        return "blocked"
    fits_local = _fits_local(features, config)
    override = features.override
    if override == "local" and fits_local:
        return "local"
    cloud_blocked = _cloud_blocked(features, signals, config)
    if override == "cloud" and not cloud_blocked:
        return "cloud"
    if not fits_local:
        return "blocked" if cloud_blocked else "cloud"
    if cloud_blocked:
        # Privacy and the budget decide "local"; an unusable cloud leaves only local too.
        return "local"
    router = config.router
    tps = signals.local_tps if signals.local_tps else router.assumed_local_tps
    expected = features.expected_output_tokens
    if (
        not signals.local_ready
        or signals.local_queue_depth > router.max_queue_depth
        or signals.local_cpu_pct > router.max_local_cpu
        or features.complexity >= router.complexity_threshold
        or (
            expected > router.long_output_tokens
            and round(expected / tps, 2) > router.latency_target_s
        )
    ):
        return "cloud"
    return router.default_tier


def decide(features: Features, signals: Signals, config: Config) -> Decision:
    """Route one prompt: run the rules in order and return the decision with its full trace."""
    fired = ""
    verdict: Verdict = "pass"
    rules: list[RuleResult] = []
    for name, value, threshold, rule_verdict, why in _evaluate(features, signals, config):
        if fired:
            rules.append(RuleResult(name, value, threshold, "skip", f"not reached: {why()}"))
            continue
        rules.append(RuleResult(name, value, threshold, rule_verdict, why()))
        if rule_verdict not in ("pass", "skip"):
            fired, verdict = name, rule_verdict

    chain: tuple[Literal["local", "cloud"], ...]
    target: Target
    if verdict == "block":
        target, chain = "blocked", ()
    elif verdict == "cloud":
        target = "cloud"
        # A forced cloud, or a context too long for the local model, has no local fallback.
        chain = ("cloud",) if fired in ("override", "context") else ("cloud", "local")
    else:
        target = "local"
        forced = fired == "override"
        cloud_blocked = _cloud_blocked(features, signals, config)
        chain = ("local",) if forced or cloud_blocked else ("local", "cloud")
    return Decision(
        target=target,
        chain=chain,
        fired=fired,
        rules=tuple(rules),
        features=features,
        signals=signals,
        redact=features.pii_count > 0
        and _on_pii(features, config) == "redact"
        and "cloud" in chain,
    )
