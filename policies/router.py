"""The router: ordered rules turn prompt features and live signals into a Decision and its trace.

Rules, in order (the first that gives a verdict other than "pass" or "skip" decides):

1. override     a /local or /cloud prefix (never against privacy, a blocked cloud, a spent budget)
2. privacy      PII found: [pii] on_pii = local keeps it here, block refuses it, redact lets it pass
3. budget       cloud spend at a [budget] cap: stay local
4. local_ready  the local engine is not loaded yet: burst to the cloud
5. local_queue  more requests waiting for the local engine than [router] max_queue_depth: burst
6. local_cpu    the machine's CPU above [router] max_local_cpu: burst
7. complexity   score at or above [router] complexity_threshold: cloud
8. latency      a long answer local would not finish within [router] latency_target_s: cloud
9. default      [router] default_tier

A rule that would send the prompt to an unusable cloud (no API key, breaker open) is "skip" and says
why; the rules after the deciding one are still evaluated, so the trace shows every value against
its threshold, and are marked "skip" ("not reached"). The fallback chain never puts an unusable
cloud first and never contains the cloud when privacy or the budget forbids it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
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
    return f"{count} PII entit{'y' if count == 1 else 'ies'}{kinds}"


def _budget_used(spend: float, cap: float) -> float:
    # A cap of 0 means "no cloud spend at all": it is used up before the first cent.
    if cap <= 0.0:
        return math.inf if spend > 0.0 else 1.0
    return spend / cap


def decide(features: Features, signals: Signals, config: Config) -> Decision:
    """Route one prompt: run the rules in order and return the decision with its full trace."""
    router = config.router
    on_pii = config.pii.on_pii
    has_pii = features.pii_count > 0
    privacy_keeps_local = has_pii and on_pii != "redact"
    cloud_blocker = signals.cloud_blocker()

    budget = config.budget
    day_used = _budget_used(signals.spend_today_usd, budget.daily_usd)
    month_used = _budget_used(signals.spend_month_usd, budget.monthly_usd)
    budget_out = day_used >= 1.0 or month_used >= 1.0
    if budget_out:
        cloud_blocker = cloud_blocker or "cloud budget used up"
    if privacy_keeps_local:
        cloud_blocker = f"{_pii_phrase(features)} and pii.on_pii = {on_pii}"

    results: list[tuple[str, RuleValue, RuleValue, Verdict, str]] = []

    # 1. override
    override = features.override
    if override is None:
        results.append(("override", None, None, "pass", "no /local or /cloud prefix"))
    elif has_pii and on_pii == "block":
        results.append(
            ("override", override, None, "skip", f"/{override} ignored: pii.on_pii = block")
        )
    elif override == "local":
        results.append(("override", "local", None, "local", "/local prefix"))
    elif cloud_blocker:
        results.append(("override", "cloud", None, "skip", f"/cloud ignored: {cloud_blocker}"))
    else:
        redacted = " (PII redacted)" if has_pii else ""
        results.append(("override", "cloud", None, "cloud", f"/cloud prefix{redacted}"))

    # 2. privacy
    if not has_pii:
        results.append(("privacy", 0, 0, "pass", "no PII found"))
    elif on_pii == "local":
        why = f"{_pii_phrase(features)}: pii.on_pii = local keeps it on this machine"
        results.append(("privacy", features.pii_count, 0, "local", why))
    elif on_pii == "block":
        why = f"{_pii_phrase(features)}: pii.on_pii = block refuses it"
        results.append(("privacy", features.pii_count, 0, "block", why))
    else:
        why = f"{_pii_phrase(features)}: redacted if sent to the cloud"
        results.append(("privacy", features.pii_count, 0, "pass", why))

    # 3. budget
    used = max(day_used, month_used)
    spent = (
        f"{_money(signals.spend_today_usd)} of {_money(budget.daily_usd)} today, "
        f"{_money(signals.spend_month_usd)} of {_money(budget.monthly_usd)} this month"
    )
    used_value = round(used, 4) if math.isfinite(used) else 999.0
    if budget_out:
        results.append(("budget", used_value, 1.0, "local", f"cloud budget used up: {spent}"))
    else:
        results.append(("budget", used_value, 1.0, "pass", spent))

    def burst(name: str, value: RuleValue, threshold: RuleValue, reason: str) -> None:
        if cloud_blocker:
            results.append((name, value, threshold, "skip", f"{reason}, but {cloud_blocker}"))
        else:
            results.append((name, value, threshold, "cloud", reason))

    # 4-6. local load: burst to the cloud
    if signals.local_ready:
        results.append(("local_ready", True, True, "pass", "local engine ready"))
    else:
        burst("local_ready", False, True, "local engine not ready")

    depth, max_depth = signals.local_queue_depth, router.max_queue_depth
    if depth > max_depth:
        burst("local_queue", depth, max_depth, f"{depth} requests queued > {max_depth}")
    else:
        results.append(("local_queue", depth, max_depth, "pass", f"{depth} queued <= {max_depth}"))

    cpu, max_cpu = signals.local_cpu_pct, router.max_local_cpu
    if cpu > max_cpu:
        burst("local_cpu", cpu, max_cpu, f"CPU {cpu:.0f}% > {max_cpu:.0f}%")
    else:
        results.append(("local_cpu", cpu, max_cpu, "pass", f"CPU {cpu:.0f}% <= {max_cpu:.0f}%"))

    # 7. complexity
    score, limit = features.complexity, router.complexity_threshold
    top = sorted(features.signals, key=lambda signal: signal.contribution, reverse=True)[:2]
    parts = ", ".join(f"{s.name} {s.contribution:.2f}" for s in top if s.contribution > 0)
    detail = f" ({parts})" if parts else ""
    if score >= limit:
        burst("complexity", score, limit, f"complexity {score:.2f} >= {limit:.2f}{detail}")
    else:
        results.append(
            ("complexity", score, limit, "pass", f"complexity {score:.2f} < {limit:.2f}{detail}")
        )

    # 8. latency
    expected = features.expected_output_tokens
    tps = signals.local_tps if signals.local_tps else router.assumed_local_tps
    basis = "measured" if signals.local_tps else "assumed"
    local_s = round(expected / tps, 2)
    target_s = router.latency_target_s
    if expected <= router.long_output_tokens:
        why = f"~{expected} answer tokens <= {router.long_output_tokens}: not a long answer"
        results.append(("latency", local_s, target_s, "pass", why))
    elif local_s > target_s:
        why = (
            f"~{expected} tokens at {tps:.0f} tok/s ({basis}) ≈ {local_s:.0f} s > {target_s:.0f} s"
        )
        burst("latency", local_s, target_s, why)
    else:
        why = f"~{expected} tokens at {tps:.0f} tok/s ({basis}) ≈ {local_s:.0f} s within target"
        results.append(("latency", local_s, target_s, "pass", why))

    # 9. default
    default = router.default_tier
    if default == "cloud" and cloud_blocker:
        results.append(("default", "cloud", None, "local", f"default tier cloud: {cloud_blocker}"))
    else:
        results.append(("default", default, None, default, f"default tier {default}"))

    fired = ""
    verdict: Verdict = "pass"
    rules: list[RuleResult] = []
    for name, value, threshold, rule_verdict, why in results:
        if fired:
            rules.append(RuleResult(name, value, threshold, "skip", f"not reached: {why}"))
            continue
        rules.append(RuleResult(name, value, threshold, rule_verdict, why))
        if rule_verdict not in ("pass", "skip"):
            fired, verdict = name, rule_verdict

    chain: tuple[Literal["local", "cloud"], ...]
    target: Target
    if verdict == "block":
        target, chain = "blocked", ()
    elif verdict == "cloud":
        target = "cloud"
        chain = ("cloud",) if fired == "override" else ("cloud", "local")
    else:
        target = "local"
        chain = ("local",) if fired == "override" or cloud_blocker else ("local", "cloud")
    return Decision(
        target=target,
        chain=chain,
        fired=fired,
        rules=tuple(rules),
        features=features,
        signals=signals,
        redact=has_pii and on_pii == "redact" and "cloud" in chain,
    )
