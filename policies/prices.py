"""What a request cost, what it would have cost in the cloud, and how much budget is left.

Cloud prices come from the genai-prices package's bundled data snapshot (no network: the
package only fetches when `UpdatePrices` is started, which Switchboard never does), and
`[prices."model"]` in config.toml overrides or adds a model. A model with no known price gives
`None` / `known=False`: unknown is never priced at zero silently.

The local tier is not free either: engine CPU-seconds at an amortized hardware rate per
core-hour, plus optional energy (the machine's extra draw while generating). Nor is the pool: a
lab server costs `cost_per_hour` whether busy or not, and each request is charged the busy
seconds apportioned to it (while n requests share the server, each accrues 1/n of the time).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from policies.config import BudgetConfig, Config, LocalCostConfig, PriceConfig

if TYPE_CHECKING:
    from genai_prices.types import ModelInfo

_PER_MTOK = 1_000_000
_SECONDS_PER_HOUR = 3600.0
_JOULES_PER_KWH = 3.6e6


@dataclass(frozen=True)
class Price:
    """A cloud model's price in USD per million tokens, and where it came from."""

    model: str
    input_per_mtok: float
    output_per_mtok: float
    source: Literal["config", "genai-prices"]


@dataclass(frozen=True)
class CostBreakdown:
    """What one request cost, part by part (the inspector shows each part).

    Cloud: `input_usd` + `output_usd` (tokens x prices). Local: `cpu_usd` (CPU-seconds x rate)
    + `energy_usd` (watts x wall seconds x kWh price). Pool: `server_usd` (the server's busy
    seconds apportioned to this request x its hourly rate). `known` is False when the cloud
    model has no known price; the USD parts are then 0.0 and must not be read as "free".
    """

    tier: Literal["local", "pool", "cloud"]
    known: bool
    tokens_in: int
    tokens_out: int
    price: Price | None = None
    input_usd: float = 0.0
    output_usd: float = 0.0
    cpu_seconds: float = 0.0
    cpu_usd: float = 0.0
    wall_seconds: float = 0.0
    energy_usd: float = 0.0
    server: str | None = None
    busy_share_s: float = 0.0
    server_usd: float = 0.0

    @property
    def total_usd(self) -> float:
        """The sum of the parts (0.0 when not `known`)."""
        return self.input_usd + self.output_usd + self.cpu_usd + self.energy_usd + self.server_usd


@functools.lru_cache(maxsize=256)
def _genai_model(model: str) -> tuple[Any, ModelInfo] | None:
    """The genai-prices provider and model matching `model`, or None when it is not listed."""
    from genai_prices import data_snapshot

    try:
        provider, info = data_snapshot.get_snapshot().find_provider_model(model, None, None, None)
    except LookupError:
        return None
    return provider, info


def _when(at: float | None) -> datetime:
    return datetime.now(tz=UTC) if at is None else datetime.fromtimestamp(at, tz=UTC)


def _base_per_mtok(value: object) -> float | None:
    """A genai-prices per-MTok field as a float (the base rate of a tiered price)."""
    if isinstance(value, Decimal):
        return float(value)
    base = getattr(value, "base", None)
    return float(base) if isinstance(base, Decimal) else None


def price_for(
    model: str, overrides: Mapping[str, PriceConfig], at: float | None = None
) -> Price | None:
    """The price of `model`: a `[prices."model"]` override first, else genai-prices, else None.

    `at` (unix time) selects the price in force then (providers change prices); default now.
    """
    override = overrides.get(model)
    if override is not None:
        return Price(model, override.input_per_mtok, override.output_per_mtok, "config")
    found = _genai_model(model)
    if found is None:
        return None
    prices = found[1].get_prices(_when(at))
    input_rate = _base_per_mtok(getattr(prices, "input_mtok", None))
    output_rate = _base_per_mtok(getattr(prices, "output_mtok", None))
    if input_rate is None or output_rate is None:
        return None
    return Price(model, input_rate, output_rate, "genai-prices")


def cloud_cost(
    model: str,
    tokens_in: int,
    tokens_out: int,
    overrides: Mapping[str, PriceConfig],
    at: float | None = None,
) -> CostBreakdown:
    """What `tokens_in` prompt and `tokens_out` answer tokens cost on the cloud `model`.

    genai-prices computes the amounts itself so tiered ("cliff") prices apply as the provider
    bills them; an override is a flat rate.
    """
    price = price_for(model, overrides, at)
    if price is None:
        return CostBreakdown("cloud", False, tokens_in, tokens_out)
    if price.source == "config":
        input_usd = tokens_in * price.input_per_mtok / _PER_MTOK
        output_usd = tokens_out * price.output_per_mtok / _PER_MTOK
    else:
        from genai_prices import Usage

        found = _genai_model(model)
        assert found is not None  # price_for found it a moment ago (cached)
        provider, info = found
        calc = info.calc_price(
            Usage(input_tokens=tokens_in, output_tokens=tokens_out),
            provider,
            genai_request_timestamp=_when(at),
        )
        input_usd, output_usd = float(calc.input_price), float(calc.output_price)
    return CostBreakdown(
        "cloud", True, tokens_in, tokens_out, price, input_usd=input_usd, output_usd=output_usd
    )


def local_cost(
    cpu_seconds: float,
    wall_seconds: float,
    rates: LocalCostConfig,
    tokens_in: int = 0,
    tokens_out: int = 0,
) -> CostBreakdown:
    """The local tier's cost: CPU-seconds x `core_hour_usd`/3600 + watts x wall s x kWh price."""
    cpu_usd = cpu_seconds * rates.core_hour_usd / _SECONDS_PER_HOUR
    energy_usd = rates.watts * wall_seconds * rates.kwh_usd / _JOULES_PER_KWH
    return CostBreakdown(
        "local",
        True,
        tokens_in,
        tokens_out,
        cpu_seconds=cpu_seconds,
        cpu_usd=cpu_usd,
        wall_seconds=wall_seconds,
        energy_usd=energy_usd,
    )


def pool_cost(
    server: str,
    busy_share_s: float,
    cost_per_hour: float,
    wall_seconds: float = 0.0,
    tokens_in: int = 0,
    tokens_out: int = 0,
) -> CostBreakdown:
    """A pool request's cost: its share of the server's busy seconds x `cost_per_hour`/3600.

    `busy_share_s` comes from the pool engine, which splits each stretch of wall time equally
    among the requests running on the server then; a server with no rate is priced at zero
    (known: the operator said it costs nothing extra).
    """
    return CostBreakdown(
        "pool",
        True,
        tokens_in,
        tokens_out,
        wall_seconds=wall_seconds,
        server=server,
        busy_share_s=busy_share_s,
        server_usd=busy_share_s * cost_per_hour / _SECONDS_PER_HOUR,
    )


def apportion_busy_seconds(intervals: Sequence[tuple[float, float]]) -> list[float]:
    """Each interval's share of the busy time of one server (for pricing what ran outside).

    `intervals` are (start, end) times of requests on the same server; while n of them overlap,
    each accrues 1/n of the elapsed time, so the shares add up to the time the server was busy.
    """
    points = sorted({t for start, end in intervals for t in (start, end)})
    shares = [0.0] * len(intervals)
    for left, right in itertools.pairwise(points):
        active = [i for i, (start, end) in enumerate(intervals) if start <= left and end >= right]
        for index in active:
            shares[index] += (right - left) / len(active)
    return shares


def counterfactual_cost(
    tokens_in: int, tokens_out: int, config: Config, at: float | None = None
) -> CostBreakdown:
    """What the same tokens would have cost on the configured cloud model (`[cloud] model`)."""
    return cloud_cost(config.cloud.model, tokens_in, tokens_out, config.prices, at)


def savings_usd(counterfactual: CostBreakdown, actual: CostBreakdown) -> float | None:
    """Counterfactual minus actual; None when either side has no known price."""
    if not (counterfactual.known and actual.known):
        return None
    return counterfactual.total_usd - actual.total_usd


@dataclass(frozen=True)
class Spend:
    """Cloud spend in USD over the current local calendar day and month."""

    today_usd: float
    month_usd: float


@dataclass(frozen=True)
class BudgetStatus:
    """Cloud spend against the `[budget]` caps; the router reads `remaining_usd`/`exhausted`.

    A cap of 0 allows no cloud spend at all (it is exhausted from the start).
    """

    daily_used_usd: float
    daily_limit_usd: float
    daily_remaining_usd: float
    daily_fraction: float
    monthly_used_usd: float
    monthly_limit_usd: float
    monthly_remaining_usd: float
    monthly_fraction: float
    warning: bool
    exhausted: bool

    @property
    def remaining_usd(self) -> float:
        """What may still be spent now: the smaller of the daily and monthly remainders."""
        return min(self.daily_remaining_usd, self.monthly_remaining_usd)


def _fraction(used: float, limit: float) -> float:
    if limit <= 0:
        return 1.0
    return used / limit


def budget_status(spend: Spend, budget: BudgetConfig) -> BudgetStatus:
    """Compare `spend` with the caps: fractions, remainders, warning and exhausted flags."""
    daily_fraction = _fraction(spend.today_usd, budget.daily_usd)
    monthly_fraction = _fraction(spend.month_usd, budget.monthly_usd)
    exhausted = daily_fraction >= 1.0 or monthly_fraction >= 1.0
    return BudgetStatus(
        daily_used_usd=spend.today_usd,
        daily_limit_usd=budget.daily_usd,
        daily_remaining_usd=max(0.0, budget.daily_usd - spend.today_usd),
        daily_fraction=daily_fraction,
        monthly_used_usd=spend.month_usd,
        monthly_limit_usd=budget.monthly_usd,
        monthly_remaining_usd=max(0.0, budget.monthly_usd - spend.month_usd),
        monthly_fraction=monthly_fraction,
        warning=exhausted or max(daily_fraction, monthly_fraction) >= budget.warn_fraction,
        exhausted=exhausted,
    )


def local_day_bounds(now: float) -> tuple[float, float, float, float]:
    """Unix times of the start and end of the local calendar day and month containing `now`."""
    # Naive datetimes are local time; .timestamp() maps them back through the zone's DST rules.
    moment = datetime.fromtimestamp(now)
    day = datetime(moment.year, moment.month, moment.day)
    month = datetime(moment.year, moment.month, 1)
    next_month = datetime(moment.year + moment.month // 12, moment.month % 12 + 1, 1)
    return (
        day.timestamp(),
        (day + timedelta(days=1)).timestamp(),
        month.timestamp(),
        next_month.timestamp(),
    )
