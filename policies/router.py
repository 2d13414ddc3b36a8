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
8. task         the task type's entry in [router.tasks] says the local model cannot take it
9. complexity   score at or above [router] complexity_threshold: cloud
10. latency     a long answer local would not finish within [router] latency_target_s: cloud
11. default     [router] default_tier

Then the pool (the lab's own servers, `[[pool.servers]]`), when one is configured: what would go
to the cloud goes to the pool first (`[pool] route = "before_cloud"`, except a /cloud prefix), a
local engine that is not ready or overloaded bursts to the pool before the cloud, the pool joins
the fallback chains, and a /pool prefix sends a prompt there. Personal data reaches only trusted
servers unless `[pii] on_pii = "redact"` (untrusted servers then get the redacted text, as the
cloud does). The trace's last rule, `pool`, names the server the pool would pick and why.

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

from engines.base import Tier
from policies.config import Config, TaskProfile
from policies.features import Features, features_from_dict

Target = Literal["local", "pool", "cloud", "blocked"]
Verdict = Literal["local", "pool", "cloud", "block", "pass", "skip"]
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
    "task",
    "complexity",
    "latency",
    "default",
)

_CLOUD_STATES = ("closed", "open", "half_open")
_VERDICTS = ("local", "pool", "cloud", "block", "pass", "skip")
_TARGETS = ("local", "pool", "cloud", "blocked")
_TIERS = ("local", "pool", "cloud")


@dataclass(frozen=True)
class PoolSignals:
    """The pool tier as the router sees it: which server would take a request now, and why.

    `server` is the pick among all servers, `trusted_server` among those trusted with personal
    data; "" when none can take one (`unavailable_reason` says why). `full` / `trusted_full`:
    every usable server is at its max_inflight, so a request would wait for a slot; the router
    then looks elsewhere, except for a /pool prefix, which waits.
    """

    configured: bool = False
    server: str = ""
    why: str = ""
    trusted_server: str = ""
    trusted_why: str = ""
    unavailable_reason: str = ""
    full: bool = False
    trusted_full: bool = False
    #: Every server as (name, trusted, availability: "ok", "full", "down" or "out"), in
    #: configured order: what a what-if needs to re-pick when the servers change. Empty in
    #: traces recorded before it was kept.
    servers: tuple[tuple[str, bool, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the decision trace."""
        return {
            "configured": self.configured,
            "server": self.server,
            "why": self.why,
            "trusted_server": self.trusted_server,
            "trusted_why": self.trusted_why,
            "unavailable_reason": self.unavailable_reason,
            "full": self.full,
            "trusted_full": self.trusted_full,
            "servers": [list(server) for server in self.servers],
        }


def pool_signals_from_dict(data: Mapping[str, Any] | None) -> PoolSignals:
    """Rebuild PoolSignals from `PoolSignals.to_dict()` output (absent in older traces)."""
    if not data:
        return PoolSignals()
    return PoolSignals(
        configured=bool(data.get("configured", False)),
        server=str(data.get("server", "")),
        why=str(data.get("why", "")),
        trusted_server=str(data.get("trusted_server", "")),
        trusted_why=str(data.get("trusted_why", "")),
        unavailable_reason=str(data.get("unavailable_reason", "")),
        full=bool(data.get("full", False)),
        trusted_full=bool(data.get("trusted_full", False)),
        servers=tuple(
            (str(name), bool(trusted), str(state))
            for name, trusted, state in data.get("servers", ())
        ),
    )


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
    pool: PoolSignals = PoolSignals()

    def __post_init__(self) -> None:
        # `Signals(**signals.to_dict())` must give the signals back: the pool comes as a dict.
        if isinstance(self.pool, Mapping):
            object.__setattr__(self, "pool", pool_signals_from_dict(self.pool))

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
            "pool": self.pool.to_dict(),
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
        pool=pool_signals_from_dict(data.get("pool")),
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
    chain: tuple[Tier, ...]
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
            if any(tier not in _TIERS for tier in chain):
                raise ValueError(f"chain: expected 'local'/'pool'/'cloud' entries, got {chain!r}")
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
    elif override == "pool":
        server = _pool_server(features, signals.pool, config) or (
            "waits for a slot" if _pool_full(features, signals.pool, config) else ""
        )
        if server:
            yield "override", "pool", None, "pool", lambda: f"/pool prefix ({server})"
        else:
            yield (
                "override",
                "pool",
                None,
                "skip",
                lambda: f"/pool ignored: {_pool_blocker(features, signals, config)}",
            )
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

    # 8. task: the capability profile
    yield _task_rule(features, config, burst)

    # 9. complexity
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

    # 10. latency
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

    # 11. default
    default = router.default_tier
    if default == "cloud" and cloud_blocked:
        yield "default", "cloud", None, "local", lambda: f"default tier cloud: {cloud_blocker()}"
    else:
        yield "default", default, None, default, lambda: f"default tier {default}"


#: The task types a profile sends to the cloud, per profile object: what-if asks 100,000 times
#: per scan, and a profile is immutable (frozen), so the set is computed once per profile.
_CLOUD_TYPES: dict[int, tuple[TaskProfile, frozenset[str]]] = {}


def _cloud_types(profile: TaskProfile) -> frozenset[str]:
    cached = _CLOUD_TYPES.get(id(profile))
    if cached is None or cached[0] is not profile:
        if len(_CLOUD_TYPES) > 256:  # configs come and go with live edits and sweeps
            _CLOUD_TYPES.clear()
        types = frozenset(
            name for name in TaskProfile.model_fields if profile.route_for(name) == "cloud"
        )
        cached = _CLOUD_TYPES[id(profile)] = (profile, types)
    return cached[1]


def cloud_task_mass(features: Features, config: Config) -> float:
    """The probability that the prompt is of a type `[router.tasks]` sends to the cloud.

    Summed over the head's best few types, so a prompt the head cannot tell between math and
    code (both "cloud") still counts as surely hard.
    """
    cloud = _cloud_types(config.router.tasks)
    top = features.task_top or ((features.task, features.task_probability),)
    return round(sum(p for task, p in top if task in cloud), 4)


def task_needs_cloud(features: Features, config: Config) -> bool | None:
    """Whether the `[router.tasks]` profile sends this prompt to the cloud.

    Cloud when the probability of the profile's "cloud" types reaches `min_confidence`, or when
    the top type has a number and its probability is below it. None when there is no task
    signal (a trace recorded before the head) and the profile cannot act.
    """
    if not features.task:
        return None
    profile = config.router.tasks
    if cloud_task_mass(features, config) >= profile.min_confidence:
        return True
    route = profile.route_for(features.task)
    return isinstance(route, float) and features.task_probability < route


def _task_rule(
    features: Features, config: Config, burst: Callable[[str, RuleValue, RuleValue, _Why], _Rule]
) -> _Rule:
    """The task rule's line: the cloud types' probability against `min_confidence`, and why."""
    task, prob = features.task, features.task_probability
    if not task:
        return "task", None, None, "pass", lambda: "no task signal"
    profile = config.router.tasks
    mass, limit = cloud_task_mass(features, config), profile.min_confidence
    top = features.task_top or ((task, prob),)
    label = ", ".join(f"{name} {p:.2f}" for name, p in top)
    route = profile.route_for(task)
    if mass >= limit:
        return burst(
            "task",
            mass,
            limit,
            lambda: f"{label}: cloud types (router.tasks) {mass:.2f} >= {limit:.2f}",
        )
    if isinstance(route, float) and prob < route:
        return burst(
            "task",
            prob,
            route,
            lambda: f"{label}: {task} {prob:.2f} < router.tasks.{task} = {route:.2f}",
        )
    return (
        "task",
        mass,
        limit,
        "pass",
        lambda: f"{label}: cloud types {mass:.2f} < {limit:.2f}; {task} suits local",
    )


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


def _private(features: Features, config: Config) -> bool:
    """Whether the prompt may reach trusted pool servers only (PII that is not to be redacted)."""
    return features.pii_count > 0 and _on_pii(features, config) != "redact"


def _pool_server(features: Features, pool: PoolSignals, config: Config) -> str:
    """The pool server that would take the prompt now ("" when none may or can)."""
    if not pool.configured:
        return ""
    return pool.trusted_server if _private(features, config) else pool.server


def pool_server(features: Features, signals: Signals, config: Config) -> str:
    """The pool server that would take the prompt now ("" when none may or can): the trusted
    pick for personal data that is not to be redacted, else the pick among all servers."""
    return _pool_server(features, signals.pool, config)


def _pool_full(features: Features, pool: PoolSignals, config: Config) -> bool:
    """Every server the prompt may reach is at its max_inflight (a request would wait)."""
    return pool.configured and (pool.trusted_full if _private(features, config) else pool.full)


def _pool_blocker(features: Features, signals: Signals, config: Config) -> str:
    """Why the pool cannot take the prompt."""
    pool = signals.pool
    if not pool.configured:
        return "no [[pool.servers]] configured"
    if _private(features, config) and pool.server and not pool.trusted_server:
        return f"{_pii_phrase(features)} and no trusted pool server can take it"
    return pool.unavailable_reason or "no pool server can take it"


def _pool_cloud_blocker(features: Features, signals: Signals, config: Config) -> str:
    if _private(features, config):
        return f"{_pii_phrase(features)} may not reach the cloud"
    return signals.cloud_blocker() or "cloud budget used up"


def _local_overloaded(signals: Signals, config: Config) -> bool:
    """The local engine is not ready, or its queue or the CPU is over the limit (a burst)."""
    router = config.router
    return (
        not signals.local_ready
        or signals.local_queue_depth > router.max_queue_depth
        or signals.local_cpu_pct > router.max_local_cpu
    )


def _with_pool(
    target: Target,
    fired: str,
    features: Features,
    signals: Signals,
    config: Config,
    pool: PoolSignals,
) -> Target:
    """Where the prompt goes once the pool is considered (the same for `decide` and what-if)."""
    if target == "blocked" or target == "pool" or fired == "override":
        return target
    if not _pool_server(features, pool, config):
        return target
    before_cloud = config.pool.route == "before_cloud"
    if target == "cloud":
        return "pool" if before_cloud or fired in _BURST_RULES else "cloud"
    if _local_overloaded(signals, config):
        return "pool"
    if before_cloud and _wants_stronger(features, signals, config):
        # The complexity or latency rule would have sent it to a cloud that is out of the
        # question (privacy, budget, no key): the lab's servers are the next best thing.
        return "pool"
    return target


def _wants_stronger(features: Features, signals: Signals, config: Config) -> bool:
    """The task, complexity or latency rule's condition for leaving the local engine."""
    router = config.router
    if task_needs_cloud(features, config) or features.complexity >= router.complexity_threshold:
        return True
    expected = features.expected_output_tokens
    tps = signals.local_tps if signals.local_tps else router.assumed_local_tps
    return (
        expected > router.long_output_tokens and round(expected / tps, 2) > router.latency_target_s
    )


_BURST_RULES = frozenset(("local_ready", "local_queue", "local_cpu"))


def _pool_rule(
    base: Target,
    target: Target,
    chain: tuple[Tier, ...],
    fired: str,
    features: Features,
    signals: Signals,
    config: Config,
) -> RuleResult:
    """The trace's `pool` line: which server, and why the pool did or did not take the prompt."""
    pool = signals.pool
    server = _pool_server(features, pool, config)
    why = pool.trusted_why if _private(features, config) else pool.why
    if target == "pool" and fired == "override":
        why = (
            why if server else f"every server busy, it waits for a slot ({pool.unavailable_reason})"
        )
        return RuleResult("pool", server or None, None, "pool", f"/pool prefix: {why}")
    if not server:
        return RuleResult("pool", None, None, "skip", _pool_blocker(features, signals, config))
    if target == "pool" and _local_overloaded(signals, config):
        return RuleResult("pool", server, None, "pool", f"local engine busy, burst: {why}")
    if target == "pool" and base == "cloud":
        return RuleResult("pool", server, None, "pool", f"the pool before the cloud: {why}")
    if target == "pool":
        blocker = _pool_cloud_blocker(features, signals, config)
        return RuleResult("pool", server, None, "pool", f"beyond the local model, {blocker}: {why}")
    if "pool" not in chain:
        reason = f"/{features.override} prefix" if fired == "override" else "not in the chain"
        return RuleResult("pool", server, None, "skip", f"not asked: {reason}")
    return RuleResult("pool", server, None, "pass", f"in the fallback chain: {why}")


def decide_target(
    features: Features, signals: Signals, config: Config, pool: PoolSignals | None = None
) -> Target:
    """Where `decide` sends the prompt, without building the trace: what-if's fast path.

    `pool`, when given, stands in for `signals.pool`: what-if re-picks the pool per config
    without copying every row's signals.
    """
    pool = signals.pool if pool is None else pool
    target, fired = _decide_target(features, signals, config, pool)
    if fired == "default" and target == "local":
        # The default rule is reached with a usable cloud, a local engine neither busy nor
        # unready, and no task, complexity or latency reason to leave it: the pool would not
        # take the prompt either (the most common case, so what-if skips asking).
        return target
    return _with_pool(target, fired, features, signals, config, pool)


def _decide_target(
    features: Features, signals: Signals, config: Config, pool: PoolSignals
) -> tuple[Target, str]:
    """The two-tier target and whether an override decided ("override", else "").

    The same rules in the same order, written straight for speed (what-if re-decides 100,000
    rows twice); tests check it against `decide` over a grid of every rule's edge cases.
    """
    has_pii = features.pii_count > 0
    on_pii = _on_pii(features, config)
    if has_pii and on_pii == "block":
        return "blocked", ""
    fits_local = _fits_local(features, config)
    override = features.override
    if override == "local" and fits_local:
        return "local", "override"
    if override == "pool" and (
        _pool_server(features, pool, config) or _pool_full(features, pool, config)
    ):
        return "pool", "override"
    cloud_blocked = _cloud_blocked(features, signals, config)
    if override == "cloud" and not cloud_blocked:
        return "cloud", "override"
    if not fits_local:
        return ("blocked", "") if cloud_blocked else ("cloud", "context")
    if cloud_blocked:
        # Privacy and the budget decide "local"; an unusable cloud leaves only local too.
        return "local", ""
    router = config.router
    tps = signals.local_tps if signals.local_tps else router.assumed_local_tps
    expected = features.expected_output_tokens
    if not signals.local_ready:
        return "cloud", "local_ready"
    if (
        signals.local_queue_depth > router.max_queue_depth
        or signals.local_cpu_pct > router.max_local_cpu
    ):
        return "cloud", "local_queue"
    if (
        task_needs_cloud(features, config)
        or features.complexity >= router.complexity_threshold
        or (
            expected > router.long_output_tokens
            and round(expected / tps, 2) > router.latency_target_s
        )
    ):
        return "cloud", "complexity"
    return router.default_tier, "default"


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

    chain: tuple[Tier, ...]
    target: Target
    forced = fired == "override"
    cloud_blocked = _cloud_blocked(features, signals, config)
    if verdict == "block":
        target, chain = "blocked", ()
    elif verdict == "pool":
        target, chain = "pool", ("pool",)
    elif verdict == "cloud":
        target = "cloud"
        # A forced cloud, or a context too long for the local model, has no local fallback.
        chain = ("cloud",) if fired in ("override", "context") else ("cloud", "local")
    else:
        target = "local"
        chain = ("local",) if forced or cloud_blocked else ("local", "cloud")
    if signals.pool.configured and target != "blocked":
        base = target
        target = _with_pool(target, fired, features, signals, config, signals.pool)
        pool_ok = bool(_pool_server(features, signals.pool, config))
        if target == "pool" and not forced:
            # Bursting goes local -> pool -> cloud; the local engine stays the last resort
            # (unless the context is too long for it).
            cloud_part: tuple[Tier, ...] = () if cloud_blocked else ("cloud",)
            local_part: tuple[Tier, ...] = () if fired == "context" else ("local",)
            chain = ("pool", *cloud_part, *local_part)
        elif pool_ok and not forced:
            chain = (*chain[:1], "pool", *chain[1:])
        rules.append(_pool_rule(base, target, chain, fired, features, signals, config))
    return Decision(
        target=target,
        chain=chain,
        fired=fired,
        rules=tuple(rules),
        features=features,
        signals=signals,
        redact=features.pii_count > 0
        and _on_pii(features, config) == "redact"
        and ("cloud" in chain or "pool" in chain),
    )
