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

policies must not import the console, so the ledger's row type is described here as a Protocol.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from policies.config import Config, LocalCostConfig, PriceConfig
from policies.features import Features, features_from_dict
from policies.prices import Price, local_cost, price_for
from policies.router import Signals, decide_target, signals_from_dict
from policies.trace_inputs import decode_inputs

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

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (`switchboard whatif --json`)."""
        return {
            "total": self.total,
            "changed": self.changed,
            "to_local": self.to_local,
            "to_cloud": self.to_cloud,
            "to_blocked": self.to_blocked,
            "from_blocked": self.from_blocked,
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


def _row_inputs(inputs: bytes) -> tuple[Features, Signals]:
    """The router's inputs of one row: compact when it starts with "[", else a full trace."""
    if inputs[:1] == b"[":
        return decode_inputs(inputs)
    return _inputs(_trace_inputs_part(inputs))


def _inputs(trace: Any) -> tuple[Features, Signals]:
    """The router's inputs from a stored trace, quickly: what-if reads 100,000 of them.

    A trace as `Decision.to_dict` writes it is read by plain indexing; anything else (an older
    shape, a missing key) goes through the checked `features_from_dict`/`signals_from_dict`.
    """
    f, s = trace["features"], trace["signals"]
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
            task=f.get("task", ""),
            task_probability=f.get("task_probability", 0.0),
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
        )
    except (KeyError, TypeError):
        return features_from_dict(f, with_signals=False), signals_from_dict(s)
    return features, signals


def _threads(config: Config) -> int:
    return config.local.n_threads or os.cpu_count() or 1


def whatif(
    history: Iterable[HistoryRow],
    base: Config,
    changed: Config,
    prices: CostModel | None = None,
) -> WhatIfResult:
    """Re-decide every row of `history` under `base` and `changed`; count and price the moves.

    `prices` defaults to the changed config's own cost model (`ConfigCostModel.of(changed)`).
    """
    costs = prices if prices is not None else ConfigCostModel.of(changed)
    assumed_tps = changed.router.assumed_local_tps
    total = changed_count = unreadable = cost_unknown = recorded = 0
    cost_before = cost_after = savings_before = savings_after = 0.0
    transitions: dict[tuple[str, str], int] = {}
    sample: list[str] = []
    # Local rows of the history give the CPU-seconds per answer token of this machine; rows moved
    # to local without their own figure are priced with it once the whole history is read.
    local_cpu = local_tokens = 0.0
    pending_tokens = pending_wall = 0.0
    pending_rows = 0
    for row in history:
        total += 1
        cost = row.cost_usd
        counterfactual = row.counterfactual_usd
        cost_before += cost
        if counterfactual is not None:
            savings_before += counterfactual - cost
        if row.tier == "local" and row.cpu_seconds > 0 and row.tokens_out > 0:
            local_cpu += row.cpu_seconds
            local_tokens += row.tokens_out
        try:
            features, signals = _row_inputs(row.inputs)
        except (ValueError, TypeError, KeyError):  # orjson.JSONDecodeError is a ValueError
            unreadable += 1
            cost_after += cost
            if counterfactual is not None:
                savings_after += counterfactual - cost
            continue
        before = decide_target(features, signals, base)
        after = decide_target(features, signals, changed)
        if before == after:
            cost_after += cost
            if counterfactual is not None:
                savings_after += counterfactual - cost
            continue
        changed_count += 1
        transitions[(before, after)] = transitions.get((before, after), 0) + 1
        if len(sample) < SAMPLE_SIZE:
            sample.append(row.request_id)
        # A request that never ran (blocked, failed early) has no usage: use the prompt's estimates.
        tokens_in = row.tokens_in or features.est_tokens
        tokens_out = row.tokens_out or features.expected_output_tokens
        cloud = costs.cloud_usd(tokens_in, tokens_out)
        if cloud is None:
            cost_unknown += 1
        if after == "cloud":
            new_cost = cloud or 0.0
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

    if local_tokens > 0:
        per_token = local_cpu / local_tokens
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
    return WhatIfResult(
        total=total,
        changed=changed_count,
        to_local=sum(n for (_, after), n in transitions.items() if after == "local"),
        to_cloud=sum(n for (_, after), n in transitions.items() if after == "cloud"),
        to_blocked=sum(n for (_, after), n in transitions.items() if after == "blocked"),
        from_blocked=sum(n for (before, _), n in transitions.items() if before == "blocked"),
        cost_before_usd=cost_before,
        cost_after_usd=cost_after,
        savings_before_usd=savings_before,
        savings_after_usd=savings_after,
        sample_request_ids=tuple(sample),
        local_cpu_recorded=recorded,
        local_cpu_estimated=pending_rows,
        local_cpu_basis=basis if pending_rows else "",
        cost_unknown=cost_unknown,
        unreadable=unreadable,
        transitions=tuple(
            (before, after, count) for (before, after), count in sorted(transitions.items())
        ),
    )
