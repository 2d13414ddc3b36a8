"""What-if: re-decide past requests under changed thresholds and price the difference.

Each ledger row stores its decision trace (features and live signals at the time), and since
ledger schema 3 a compact copy of just the router's inputs, so it can be re-decided without
calling a model; rows without the compact copy are re-decided from the trace. A row is decided
twice, under the baseline and under the changed config, so the result isolates the effect of the
change (not of older edits). Rows whose tier does not change keep their recorded cost. A row
moving to the cloud is priced at the cloud model's rate for its tokens; a row moving to the local
tier costs its recorded engine CPU-seconds when it ran locally, else CPU-seconds estimated from
the local rows of the same history (or, with none, from the configured threads and tokens/s) —
the result says how many of each.

The pool tier is re-decided from the pool signals each row recorded (since compact inputs
version 3): which servers were configured, trusted, free, full or out. Under a config with the
same servers the recorded picks stand; with servers added, removed or (un)trusted the pick is
re-made from the recorded availability (a server the row never saw is assumed free: the
result names such servers). Rows recorded before the pool signals are re-decided as if no pool
was configured then. A row moving to the pool costs its recorded pool cost when it ran there,
else the USD per answer token of the history's pool rows (or, with none, its server's
`cost_per_hour` for the answer at `router.assumed_local_tps`, the request alone on the server)
— again, the result says how many of each. Ratings and verdicts speak for the local and cloud
tiers only, so a row routed to the pool counts as unjudged.

policies must not import the console, so the ledger's row type is described here as a Protocol.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol

import orjson

from policies.config import Config, LocalCostConfig, PriceConfig
from policies.features import Features, features_from_dict
from policies.prices import Price, local_cost, pool_cost, price_for
from policies.router import (
    PoolSignals,
    Signals,
    decide_target,
    pool_server,
    pool_signals_from_dict,
    signals_from_dict,
)
from policies.trace_inputs import NO_POOL, RouterInputs, decode_row

#: How many changed request ids the result keeps as examples.
SAMPLE_SIZE = 20


class HistoryRow(Protocol):
    """One past request as the ledger streams it (console.ledger.HistoryRow).

    `inputs` is UTF-8 JSON bytes, which orjson parses as they are: the compact router inputs
    (`policies.trace_inputs`, a JSON array) when the row has them, else the full stored trace (a
    JSON object: rows recorded before the ledger kept the compact form).
    """

    @property
    def request_id(self) -> str: ...
    @property
    def inputs(self) -> bytes: ...
    @property
    def tier(self) -> str: ...
    @property
    def tokens_in(self) -> int: ...
    @property
    def tokens_out(self) -> int: ...
    @property
    def cost_usd(self) -> float: ...
    @property
    def counterfactual_usd(self) -> float | None: ...
    @property
    def cpu_seconds(self) -> float: ...


class CostModel(Protocol):
    """Prices a request on either tier."""

    def cloud_usd(self, tokens_in: int, tokens_out: int) -> float | None:
        """USD of these tokens on the configured cloud model; None when it has no known price."""
        ...

    def local_usd(self, cpu_seconds: float, wall_seconds: float) -> float:
        """USD of this much local engine work."""
        ...


@dataclass(frozen=True)
class ConfigCostModel:
    """Costs from a config: `[cloud] model` priced by genai-prices or `[prices]`, `[local_cost]`.

    The cloud price is looked up once and applied as a flat per-token rate, which keeps a scan of
    100,000 rows fast (a tiered "cliff" price is read at its base rate).
    """

    model: str
    price: Price | None
    rates: LocalCostConfig

    @classmethod
    def of(
        cls, config: Config, overrides: Mapping[str, PriceConfig] | None = None
    ) -> ConfigCostModel:
        """The cost model of `config` (its own `[prices]` unless `overrides` is given)."""
        prices = config.prices if overrides is None else overrides
        return cls(config.cloud.model, price_for(config.cloud.model, prices), config.local_cost)

    def cloud_usd(self, tokens_in: int, tokens_out: int) -> float | None:
        """USD of these tokens on the cloud model; None when it has no known price."""
        if self.price is None:
            return None
        return (
            tokens_in * self.price.input_per_mtok + tokens_out * self.price.output_per_mtok
        ) / 1_000_000

    def local_usd(self, cpu_seconds: float, wall_seconds: float) -> float:
        """USD of local engine work: CPU-seconds and energy at the `[local_cost]` rates."""
        return local_cost(cpu_seconds, wall_seconds, self.rates).total_usd


@dataclass(frozen=True)
class WhatIfResult:
    """What the changed config would have done to the history.

    Costs are totals in USD over the rows read. `cost_unknown` counts changed rows the cloud
    model has no known price for: moved to the cloud they are priced at 0, and the savings leave
    them out; read the figures with that in mind.
    """

    total: int
    changed: int
    to_local: int
    to_cloud: int
    to_blocked: int
    from_blocked: int
    cost_before_usd: float
    cost_after_usd: float
    savings_before_usd: float
    savings_after_usd: float
    sample_request_ids: tuple[str, ...]
    local_cpu_recorded: int = 0
    local_cpu_estimated: int = 0
    local_cpu_basis: str = ""
    cost_unknown: int = 0
    unreadable: int = 0
    transitions: tuple[tuple[str, str, int], ...] = field(default=())
    local_before: int = 0
    local_after: int = 0
    quality_before: QualityEstimate | None = None
    quality_after: QualityEstimate | None = None
    quality_all_cloud: QualityEstimate | None = None
    pool_before: int = 0
    pool_after: int = 0
    cloud_before: int = 0
    cloud_after: int = 0
    pool_cost_recorded: int = 0
    pool_cost_estimated: int = 0
    pool_cost_basis: str = ""
    #: Configured pool servers some rows did not have on record (assumed free then), and how
    #: many rows that is.
    pool_servers_assumed: tuple[str, ...] = ()
    pool_assumed_rows: int = 0

    @property
    def decided(self) -> int:
        """Rows re-decided (readable)."""
        return self.total - self.unreadable

    @property
    def to_pool(self) -> int:
        """Rows the change sends to the pool."""
        return sum(n for _, after, n in self.transitions if after == "pool")

    @property
    def from_pool(self) -> int:
        """Rows the change takes off the pool."""
        return sum(n for before, _, n in self.transitions if before == "pool")

    def _share(self, count: int) -> float | None:
        return count / self.decided if self.decided else None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (`switchboard whatif --json`)."""
        return {
            "total": self.total,
            "changed": self.changed,
            "to_local": self.to_local,
            "to_cloud": self.to_cloud,
            "to_blocked": self.to_blocked,
            "from_blocked": self.from_blocked,
            "to_pool": self.to_pool,
            "from_pool": self.from_pool,
            "transitions": [
                {"from": before, "to": after, "count": count}
                for before, after, count in self.transitions
            ],
            "cost_before_usd": self.cost_before_usd,
            "cost_after_usd": self.cost_after_usd,
            "savings_before_usd": self.savings_before_usd,
            "savings_after_usd": self.savings_after_usd,
            "sample_request_ids": list(self.sample_request_ids),
            "local_cpu_recorded": self.local_cpu_recorded,
            "local_cpu_estimated": self.local_cpu_estimated,
            "local_cpu_basis": self.local_cpu_basis,
            "cost_unknown": self.cost_unknown,
            "unreadable": self.unreadable,
            "local_share_before": self._share(self.local_before),
            "local_share_after": self._share(self.local_after),
            "pool_share_before": self._share(self.pool_before),
            "pool_share_after": self._share(self.pool_after),
            "cloud_share_before": self._share(self.cloud_before),
            "cloud_share_after": self._share(self.cloud_after),
            "pool_cost_recorded": self.pool_cost_recorded,
            "pool_cost_estimated": self.pool_cost_estimated,
            "pool_cost_basis": self.pool_cost_basis,
            "pool_servers_assumed": list(self.pool_servers_assumed),
            "pool_assumed_rows": self.pool_assumed_rows,
            "quality_before": self.quality_before.to_dict() if self.quality_before else None,
            "quality_after": self.quality_after.to_dict() if self.quality_after else None,
            "quality_all_cloud": (
                self.quality_all_cloud.to_dict() if self.quality_all_cloud else None
            ),
        }


def _trace_inputs_part(decision_json: bytes) -> Any:
    """What the router needs of a stored trace: the object from its "features" key on, parsed.

    The rules before that key are about half the text and are not needed to re-decide. A quote
    inside a JSON string is escaped (and no byte of a multi-byte UTF-8 character is ASCII), so
    `"features":` is the top-level key; from a top-level key to the closing brace is a valid
    object once "{" is put before it. Should the cut ever land elsewhere, parsing fails or a key
    is missing, and the whole trace is parsed instead.
    """
    start = decision_json.rfind(b'"features":')
    if start > 0:
        try:
            part = orjson.loads(b"{" + decision_json[start:])
        except orjson.JSONDecodeError:
            part = None
        if isinstance(part, dict) and "features" in part and "signals" in part:
            return part
    return orjson.loads(decision_json)


def _row_inputs(inputs: bytes) -> RouterInputs:
    """The router's inputs of one row: compact when it starts with "[", else a full trace."""
    if inputs[:1] == b"[":
        return decode_row(inputs)
    return _inputs(_trace_inputs_part(inputs))


def _trace_pool(data: Any) -> tuple[PoolSignals, bool]:
    """A stored trace's pool signals without their explanations, and whether they are on
    record (traces from before the server list was kept count as "no pool then")."""
    if not data or "servers" not in data:
        return NO_POOL, False
    pool = pool_signals_from_dict(data)
    if not pool.configured:
        return NO_POOL, True
    return replace(pool, why="", trusted_why=""), True


def _inputs(trace: Any) -> RouterInputs:
    """The router's inputs from a stored trace, quickly: what-if reads 100,000 of them.

    A trace as `Decision.to_dict` writes it is read by plain indexing; anything else (an older
    shape, a missing key) goes through the checked `features_from_dict`/`signals_from_dict`.
    """
    f, s = trace["features"], trace["signals"]
    pool, recorded = _trace_pool(s.get("pool"))
    try:
        features = Features(
            f["chars"],
            f["est_tokens"],
            f["pii_count"],
            tuple(f["pii_types"]),
            f["complexity"],
            (),
            f["expected_output_tokens"],
            f["override"],
            context_tokens=f.get("context_tokens", 0),
            task=f.get("task", ""),
            task_probability=f.get("task_probability", 0.0),
            task_top=tuple((name, prob) for name, prob in f.get("task_top", ())),
        )
        signals = Signals(
            s["local_queue_depth"],
            s["local_cpu_pct"],
            s["local_tps"],
            s["local_ready"],
            s["cloud_state"],
            s["cloud_available"],
            s["cloud_unavailable_reason"],
            s["spend_today_usd"],
            s["spend_month_usd"],
            pool,
        )
    except (KeyError, TypeError):
        signals = replace(signals_from_dict(s), pool=pool)
        return RouterInputs(features_from_dict(f, with_signals=False), signals, recorded)
    return RouterInputs(features, signals, recorded)


def _threads(config: Config) -> int:
    return config.local.n_threads or os.cpu_count() or 1


@dataclass(frozen=True)
class TierEvidence:
    """What the quality evidence says of one request: whether each tier was good enough.

    None where nothing is known (a rating speaks only for the tier that answered). `eval_pair`
    marks the forced-local request of a `switchboard eval` prompt: it is re-decided without the
    forcing, as the router would have routed the prompt.
    """

    local_good: bool | None
    cloud_good: bool | None
    eval_pair: bool = False


@dataclass(frozen=True)
class QualityEstimate:
    """Judged quality of a routing over the requests that carry evidence.

    `judged` counts the evidence rows whose routed tier's quality is known; `good` those whose
    routed tier was good enough. `quality` is good / judged (None with no judged row).
    """

    evidence: int
    judged: int
    good: int

    @property
    def quality(self) -> float | None:
        """Share of judged requests whose routed tier was good enough."""
        return self.good / self.judged if self.judged else None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "evidence": self.evidence,
            "judged": self.judged,
            "good": self.good,
            "quality": self.quality,
        }


class _Row(NamedTuple):
    """One history row, parsed once (a sweep re-decides it many times); a NamedTuple because
    100,000 of them are built per scan."""

    request_id: str
    tier: str
    tokens_in: int
    tokens_out: int
    cost: float
    counterfactual: float | None
    cpu_seconds: float
    features: Features | None
    signals: Signals | None
    #: Whether `signals.pool` is on record (else the row predates the pool signals).
    pool_recorded: bool


@dataclass(frozen=True)
class ParsedHistory:
    """A history read once: its rows, the local CPU-seconds per answer token it shows, and the
    pool's USD per answer token (over the rows that ran there)."""

    rows: tuple[_Row, ...]
    local_cpu: float
    local_tokens: float
    pool_usd: float = 0.0
    pool_tokens: float = 0.0
    pool_rows: int = 0


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a history is parsed and decided.

    A parse allocates about fifteen containers per row (orjson's lists, Features, Signals, the
    row) and keeps them all, none in a reference cycle. Left on, the collector walks that
    growing heap again and again: 0.7 of 2.1 CPU-seconds over 100,000 rows went to it (the
    regression that came with the task signal's extra lists), and deciding them afterwards
    walked it once more. Reference counting still frees every temporary; the collector resumes
    (if it was on) afterwards. Nested pauses leave it to the outermost.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def read_history(history: Iterable[HistoryRow]) -> ParsedHistory:
    """Parse every row's router inputs once; unreadable rows keep `features` None."""
    with _collector_paused():
        return _read_history(history)


def _read_history(history: Iterable[HistoryRow]) -> ParsedHistory:
    rows: list[_Row] = []
    append = rows.append
    # A NamedTuple built in C: its Python `__new__` costs ~0.5 µs a row (as in console.ledger).
    make = functools.partial(tuple.__new__, _Row)
    local_cpu = local_tokens = pool_usd = pool_tokens = 0.0
    pool_rows = 0
    for row in history:
        tier, tokens_out = row.tier, row.tokens_out
        if tier == "local" and row.cpu_seconds > 0 and tokens_out > 0:
            local_cpu += row.cpu_seconds
            local_tokens += tokens_out
        elif tier == "pool" and tokens_out > 0:
            pool_usd += row.cost_usd
            pool_tokens += tokens_out
            pool_rows += 1
        try:
            features, signals, recorded = _row_inputs(row.inputs)
        except (ValueError, TypeError, KeyError):  # orjson.JSONDecodeError is a ValueError
            features, signals, recorded = None, None, False
        append(
            make(
                (
                    row.request_id,
                    tier,
                    row.tokens_in,
                    tokens_out,
                    row.cost_usd,
                    row.counterfactual_usd,
                    row.cpu_seconds,
                    features,
                    signals,
                    recorded,
                )
            )
        )
    return ParsedHistory(tuple(rows), local_cpu, local_tokens, pool_usd, pool_tokens, pool_rows)


def _pick(
    states: tuple[tuple[str, bool, str], ...], previous: str, trusted_only: bool
) -> tuple[str, bool, str]:
    """The server, full flag and unavailable reason the pool would give, as `PoolEngine` chooses:
    among servers not out (trusted ones only when asked), those that passed their health check
    (else all), with a free slot; the previous pick when it still qualifies."""
    usable = [
        (name, state)
        for name, trusted, state in states
        if state != "out" and (trusted or not trusted_only)
    ]
    healthy = [item for item in usable if item[1] != "down"] or usable
    room = [name for name, state in healthy if state != "full"]
    if room:
        return (previous if previous in room else room[0]), False, ""
    if healthy:
        return "", True, "all at max_inflight"
    return "", False, "no pool server can take it" if states else "no [[pool.servers]] configured"


class _PoolView:
    """The pool as one config configures it, applied to the pool state each row recorded."""

    def __init__(self, config: Config) -> None:
        self.servers = tuple((server.name, server.trusted) for server in config.pool.servers)
        self.assumed: set[str] = set()
        #: The ids of the recorded pools the `assumed` servers were added to.
        self.assumed_in: set[int] = set()
        # By the recorded object's id (rows with equal states share one: trace_inputs interns
        # them), kept beside it so the id cannot be reused: hashing a PoolSignals per row
        # would cost more than the decision.
        self._derived: dict[int, tuple[PoolSignals, PoolSignals]] = {}

    def pool(self, row: _Row) -> PoolSignals | None:
        """The row's pool as this config would have it; None to keep `row.signals.pool`."""
        if not row.pool_recorded or row.signals is None:
            return None  # no pool then (or unreadable)
        recorded = row.signals.pool
        if not self.servers and not recorded.configured:
            return None
        entry = self._derived.get(id(recorded))
        if entry is None or entry[0] is not recorded:
            entry = self._derived[id(recorded)] = (recorded, self._derive(recorded))
        return entry[1]

    def signals(self, row: _Row) -> Signals | None:
        """The row's signals with its pool as this config would have it."""
        signals, pool = row.signals, self.pool(row)
        if signals is None or pool is None or pool is signals.pool:
            return signals
        return replace(signals, pool=pool)

    def _derive(self, recorded: PoolSignals) -> PoolSignals:
        if tuple((name, trusted) for name, trusted, _ in recorded.servers) == self.servers:
            return recorded  # the servers as they were: the balancer's own picks stand
        if not self.servers:
            return NO_POOL
        known = {name: state for name, _, state in recorded.servers}
        unknown = [name for name, _ in self.servers if name not in known]
        if unknown:
            self.assumed.update(unknown)
            self.assumed_in.add(id(recorded))
        states = tuple((name, trusted, known.get(name, "ok")) for name, trusted in self.servers)
        server, full, reason = _pick(states, recorded.server, trusted_only=False)
        trusted_server, trusted_full, _ = _pick(states, recorded.trusted_server, trusted_only=True)
        return PoolSignals(
            configured=True,
            server=server,
            trusted_server=trusted_server,
            unavailable_reason=reason,
            full=full,
            trusted_full=trusted_full,
            servers=states,
        )


def whatif(
    history: Iterable[HistoryRow] | ParsedHistory,
    base: Config,
    changed: Config,
    prices: CostModel | None = None,
    evidence: Mapping[str, TierEvidence] | None = None,
) -> WhatIfResult:
    """Re-decide every row of `history` under `base` and `changed`; count and price the moves.

    `prices` defaults to the changed config's own cost model (`ConfigCostModel.of(changed)`).
    With `evidence` (request id -> TierEvidence), the result also estimates the judged quality
    of both routings and of sending everything to the cloud.
    """
    with _collector_paused():
        # In a function of its own: a history parsed here is freed before the collector
        # resumes, which would otherwise walk all of it once more.
        return _whatif(history, base, changed, prices, evidence)


def _whatif(
    history: Iterable[HistoryRow] | ParsedHistory,
    base: Config,
    changed: Config,
    prices: CostModel | None,
    evidence: Mapping[str, TierEvidence] | None,
) -> WhatIfResult:
    parsed = history if isinstance(history, ParsedHistory) else read_history(history)
    prepared = _prepare(parsed, base, evidence or {})
    view = _PoolView(changed)
    return _evaluate(prepared, changed, prices, _targets(parsed, changed, view), view)


def _targets(
    parsed: ParsedHistory, config: Config, view: _PoolView | None = None
) -> list[str | None]:
    """Each row's tier under `config` (None for unreadable rows)."""
    view = view or _PoolView(config)
    pool = view.pool
    return [
        None
        if row.features is None or row.signals is None
        else decide_target(
            row.features, row.signals, config, pool(row) if row.pool_recorded else None
        )
        for row in parsed.rows
    ]


@dataclass(frozen=True)
class _Prepared:
    """A history decided under the baseline: what every setting of a sweep compares with."""

    parsed: ParsedHistory
    base: Config
    befores: list[str | None]
    cost_before: float
    savings_before: float
    #: (its evidence, the features of its quality decision, its row) per evidence row.
    evidence: list[tuple[TierEvidence, Features, _Row]]
    #: The baseline tier of each evidence row's quality decision.
    evidence_before: list[str]


def _prepare(
    parsed: ParsedHistory, base: Config, evidence: Mapping[str, TierEvidence]
) -> _Prepared:
    view = _PoolView(base)
    befores = _targets(parsed, base, view)
    cost_before = savings_before = 0.0
    for row in parsed.rows:
        cost_before += row.cost
        if row.counterfactual is not None:
            savings_before += row.counterfactual - row.cost
    found: list[tuple[TierEvidence, Features, _Row]] = []
    if evidence:
        for row in parsed.rows:
            item = evidence.get(row.request_id)
            if item is not None and row.features is not None and row.signals is not None:
                # An eval prompt ran forced on both tiers: judge where the router would send it.
                features = replace(row.features, override=None) if item.eval_pair else row.features
                found.append((item, features, row))
    evidence_before: list[str] = [_decide(features, row, base, view) for _, features, row in found]
    return _Prepared(parsed, base, befores, cost_before, savings_before, found, evidence_before)


def _decide(features: Features, row: _Row, config: Config, view: _PoolView) -> str:
    """The tier of a readable row (with `features` in place of its own) under `config`."""
    assert row.signals is not None  # readable rows only
    return decide_target(features, row.signals, config, view.pool(row))


def _quality(
    prepared: _Prepared, config: Config, view: _PoolView, routed: list[str] | None = None
) -> tuple[QualityEstimate, QualityEstimate, QualityEstimate]:
    """Judged quality before, under `config` (or as `routed`), and all-cloud, over the
    evidence rows.

    The evidence speaks for the local and the cloud tier: a row routed to the pool is unjudged.
    """
    if routed is None:
        routed = [_decide(features, row, config, view) for _, features, row in prepared.evidence]
    counts = {"before": [0, 0], "after": [0, 0], "cloud": [0, 0]}
    for (item, _, _), before, after in zip(
        prepared.evidence, prepared.evidence_before, routed, strict=True
    ):
        for name, tier in (("before", before), ("after", after), ("cloud", "cloud")):
            good = (
                item.local_good if tier == "local" else item.cloud_good if tier == "cloud" else None
            )
            if good is not None:
                counts[name][0] += 1
                counts[name][1] += good
    total = len(prepared.evidence)
    return (
        QualityEstimate(total, *counts["before"]),
        QualityEstimate(total, *counts["after"]),
        QualityEstimate(total, *counts["cloud"]),
    )


def _evaluate(
    prepared: _Prepared,
    changed: Config,
    prices: CostModel | None,
    afters: list[str | None],
    view: _PoolView,
    candidates: Iterable[int] | None = None,
    routed_evidence: list[str] | None = None,
) -> WhatIfResult:
    """Count and price the rows whose tier differs between the baseline and `afters`.

    Rows that keep their tier keep their recorded cost, so only the moved rows are visited:
    those of `candidates` (ascending row indices; all rows when None) whose tier differs.
    `view` is the pool as `changed` configures it; `routed_evidence` the evidence rows' tiers
    under it, when known.
    """
    costs = prices if prices is not None else ConfigCostModel.of(changed)
    assumed_tps = changed.router.assumed_local_tps
    parsed, befores = prepared.parsed, prepared.befores
    rows = parsed.rows
    pool = _PoolPricing(parsed, changed, view)
    changed_count = cost_unknown = recorded = 0
    cost_after, savings_after = prepared.cost_before, prepared.savings_before
    transitions: dict[tuple[str, str], int] = {}
    sample: list[str] = []
    pending_tokens = pending_wall = 0.0
    pending_rows = 0
    if candidates is None:
        candidates = range(len(rows))
    for index in candidates:
        before, after = befores[index], afters[index]
        if before == after or before is None or after is None:
            continue
        row = rows[index]
        features, signals = row.features, row.signals
        assert features is not None and signals is not None  # readable: it has a tier
        changed_count += 1
        transitions[(before, after)] = transitions.get((before, after), 0) + 1
        if len(sample) < SAMPLE_SIZE:
            sample.append(row.request_id)
        cost_after -= row.cost
        if row.counterfactual is not None:
            savings_after -= row.counterfactual - row.cost
        # A request that never ran (blocked, failed early) has no usage: use the prompt's estimates.
        tokens_in = row.tokens_in or features.est_tokens
        tokens_out = row.tokens_out or features.expected_output_tokens
        cloud = costs.cloud_usd(tokens_in, tokens_out)
        if cloud is None:
            cost_unknown += 1
        if after == "cloud":
            new_cost = cloud or 0.0
        elif after == "pool":
            new_cost = pool.cost(row, features, tokens_out)
        elif after == "local":
            wall = tokens_out / (signals.local_tps or assumed_tps)
            if row.tier == "local" and row.cpu_seconds > 0:
                recorded += 1
                new_cost = costs.local_usd(row.cpu_seconds, wall)
            else:
                pending_rows += 1
                pending_tokens += tokens_out
                pending_wall += wall
                new_cost = 0.0
        else:
            new_cost = 0.0
        cost_after += new_cost
        if cloud is not None:
            savings_after += cloud - new_cost

    if parsed.local_tokens > 0:
        per_token = parsed.local_cpu / parsed.local_tokens
        basis = f"{per_token:.4f} CPU-s per answer token, from the history's local requests"
    else:
        per_token = _threads(changed) / assumed_tps
        basis = (
            f"{per_token:.4f} CPU-s per answer token, assumed: {_threads(changed)} threads "
            f"at router.assumed_local_tps = {assumed_tps:g}"
        )
    if pending_rows:
        estimated = costs.local_usd(pending_tokens * per_token, pending_wall)
        cost_after += estimated
        savings_after -= estimated
    cost_after += pool.pending_usd()
    savings_after -= pool.pending_usd()
    quality_before, quality_after, quality_cloud = _quality(
        prepared, changed, view, routed_evidence
    )
    return WhatIfResult(
        total=len(rows),
        changed=changed_count,
        to_local=sum(n for (_, after), n in transitions.items() if after == "local"),
        to_cloud=sum(n for (_, after), n in transitions.items() if after == "cloud"),
        to_blocked=sum(n for (_, after), n in transitions.items() if after == "blocked"),
        from_blocked=sum(n for (before, _), n in transitions.items() if before == "blocked"),
        cost_before_usd=prepared.cost_before,
        cost_after_usd=cost_after,
        savings_before_usd=prepared.savings_before,
        savings_after_usd=savings_after,
        sample_request_ids=tuple(sample),
        local_cpu_recorded=recorded,
        local_cpu_estimated=pending_rows,
        local_cpu_basis=basis if pending_rows else "",
        cost_unknown=cost_unknown,
        unreadable=befores.count(None),
        transitions=tuple(
            (before, after, count) for (before, after), count in sorted(transitions.items())
        ),
        local_before=befores.count("local"),
        local_after=afters.count("local"),
        quality_before=quality_before,
        quality_after=quality_after,
        quality_all_cloud=quality_cloud,
        pool_before=befores.count("pool"),
        pool_after=afters.count("pool"),
        cloud_before=befores.count("cloud"),
        cloud_after=afters.count("cloud"),
        pool_cost_recorded=pool.recorded,
        pool_cost_estimated=pool.estimated,
        pool_cost_basis=pool.basis() if pool.estimated else "",
        pool_servers_assumed=tuple(sorted(view.assumed)),
        pool_assumed_rows=_assumed_rows(rows, view.assumed_in),
    )


def _assumed_rows(rows: tuple[_Row, ...], assumed_in: set[int]) -> int:
    """How many rows recorded one of the pools (by id) a view added unseen servers to."""
    if not assumed_in:
        return 0
    return sum(
        row.pool_recorded and row.signals is not None and id(row.signals.pool) in assumed_in
        for row in rows
    )


class _PoolPricing:
    """The cost of rows moving to the pool under one config.

    A row that ran on the pool keeps its recorded cost (its share of the server's busy time).
    Any other is estimated: at the USD per answer token of the history's pool rows, or, with
    none, at its server's `cost_per_hour` for its answer at `router.assumed_local_tps` with
    the server to itself (the pool splits busy time among concurrent requests, so the estimate
    is an upper bound).
    """

    def __init__(self, parsed: ParsedHistory, config: Config, view: _PoolView) -> None:
        self.parsed, self.config, self.view = parsed, config, view
        self.rates = {server.name: server.cost_per_hour for server in config.pool.servers}
        self.recorded = self.estimated = 0
        self._tokens = self._assumed_usd = 0.0

    def cost(self, row: _Row, features: Features, tokens_out: int) -> float:
        """The row's cost on the pool now, or 0.0 when it joins `pending_usd` instead."""
        if row.tier == "pool":
            self.recorded += 1
            return row.cost
        self.estimated += 1
        if self.parsed.pool_tokens > 0:
            self._tokens += tokens_out
            return 0.0
        signals = self.view.signals(row)
        assert signals is not None  # a readable row
        server = pool_server(features, signals, self.config)
        busy = tokens_out / self.config.router.assumed_local_tps
        self._assumed_usd += pool_cost(server, busy, self.rates.get(server, 0.0)).total_usd
        return 0.0

    def pending_usd(self) -> float:
        """The estimated cost of the rows `cost` left pending."""
        if self.parsed.pool_tokens > 0:
            return self._tokens * self.parsed.pool_usd / self.parsed.pool_tokens
        return self._assumed_usd

    def basis(self) -> str:
        """How the estimate was made, in a sentence."""
        parsed = self.parsed
        if parsed.pool_tokens > 0:
            per_k = 1000 * parsed.pool_usd / parsed.pool_tokens
            return (
                f"${per_k:.6f} per 1,000 answer tokens, from the history's "
                f"{parsed.pool_rows} pool request(s)"
            )
        tps = self.config.router.assumed_local_tps
        return (
            "assumed: each server's pool cost_per_hour for the answer at "
            f"router.assumed_local_tps = {tps:g} tok/s, alone on the server (no pool request "
            "in the history)"
        )


@dataclass(frozen=True)
class SweepPoint:
    """One setting of a sweep and what it would have done."""

    value: float
    result: WhatIfResult

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form: the value, then the what-if figures."""
        return {"value": self.value, **self.result.to_dict()}


def sweep_values(spec: str) -> tuple[str, list[float]]:
    """Parse `KEY=START:STOP:STEP` into the key and its values (STOP included when reached).

    Raises ValueError with a sentence naming the problem.
    """
    key, sep, span = spec.partition("=")
    parts = span.split(":")
    if not sep or not key.strip() or len(parts) != 3:
        raise ValueError(f"{spec!r}: expected KEY=START:STOP:STEP")
    try:
        start, stop, step = (float(part) for part in parts)
    except ValueError:
        raise ValueError(f"{spec!r}: START, STOP and STEP must be numbers") from None
    if step <= 0 or stop < start:
        raise ValueError(f"{spec!r}: need STEP > 0 and STOP >= START")
    count = round((stop - start) / step + 1e-9) + 1
    if count > 1000:
        raise ValueError(f"{spec!r}: {count} settings; at most 1000")
    return key.strip(), [round(start + i * step, 10) for i in range(count)]


def _with_threshold(config: Config, threshold: float) -> Config:
    """`config` with any complexity threshold, even outside [0, 1] (not validated: internal)."""
    router = config.router.model_copy(update={"complexity_threshold": threshold})
    return config.model_copy(update={"router": router})


def sweep(
    history: Iterable[HistoryRow] | ParsedHistory,
    base: Config,
    configs: Iterable[tuple[float, Config]],
    prices: CostModel | None = None,
    evidence: Mapping[str, TierEvidence] | None = None,
) -> list[SweepPoint]:
    """What-if for each (value, config): the history is read and decided under `base` once.

    When the configs differ only in `router.complexity_threshold` (the usual sweep), each row
    is decided twice in all, with the complexity rule always and never firing: under any
    threshold its tier is the first when its score reaches the threshold, else the second.
    """
    with _collector_paused():
        # In a function of its own: a history parsed here is freed before the collector
        # resumes (see `whatif`).
        return _sweep(history, base, list(configs), prices, evidence)


def _sweep(
    history: Iterable[HistoryRow] | ParsedHistory,
    base: Config,
    settings: list[tuple[float, Config]],
    prices: CostModel | None,
    evidence: Mapping[str, TierEvidence] | None,
) -> list[SweepPoint]:
    parsed = history if isinstance(history, ParsedHistory) else read_history(history)
    prepared = _prepare(parsed, base, evidence or {})
    if not settings:
        return []
    first = _with_threshold(settings[0][1], 0.0)
    if any(_with_threshold(config, 0.0) != first for _, config in settings):
        points = []
        for value, config in settings:
            view = _PoolView(config)
            afters = _targets(parsed, config, view)
            points.append(SweepPoint(value, _evaluate(prepared, config, prices, afters, view)))
        return points
    # The complexity rule fires at threshold -1 when reached, never at 2 (scores are in [0, 1]).
    view = _PoolView(first)
    fires = _targets(parsed, _with_threshold(first, -1.0), view)
    never = _targets(parsed, _with_threshold(first, 2.0), view)
    scores = [0.0 if row.features is None else row.features.complexity for row in parsed.rows]
    # Only rows whose two tiers differ depend on the threshold: highest score first, so a
    # setting takes the "fires" tier of a prefix of them. Only those and the rows that
    # differ from the baseline anyway can move.
    differ = [i for i, (on, off) in enumerate(zip(fires, never, strict=True)) if on != off]
    by_score = sorted(differ, key=scores.__getitem__, reverse=True)
    moved = {
        i
        for i, (before, off) in enumerate(zip(prepared.befores, never, strict=True))
        if before != off
    }
    candidates = sorted(moved.union(differ))
    evidence_fires, evidence_never = (
        [_decide(features, row, config, view) for _, features, row in prepared.evidence]
        for config in (_with_threshold(first, -1.0), _with_threshold(first, 2.0))
    )
    points = []
    for value, config in settings:
        limit = config.router.complexity_threshold
        afters = list(never)
        for index in by_score:
            if scores[index] < limit:
                break
            afters[index] = fires[index]
        routed = [
            on if on != off and features.complexity >= limit else off
            for (_, features, _), on, off in zip(
                prepared.evidence, evidence_fires, evidence_never, strict=True
            )
        ]
        result = _evaluate(prepared, config, prices, afters, view, candidates, routed)
        points.append(SweepPoint(value, result))
    return points
