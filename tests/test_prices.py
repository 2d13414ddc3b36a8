"""Prices and costs: genai-prices offline, config overrides, unknown models, local cost, budget."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from policies.config import BudgetConfig, CloudConfig, Config, LocalCostConfig, PriceConfig
from policies.prices import (
    Spend,
    budget_status,
    cloud_cost,
    counterfactual_cost,
    local_cost,
    local_day_bounds,
    price_for,
    savings_usd,
)

REPO = Path(__file__).resolve().parents[1]


def test_known_model_is_priced_from_genai_prices() -> None:
    price = price_for("gpt-4o-mini", {})
    assert price is not None and price.source == "genai-prices"
    assert 0 < price.input_per_mtok < price.output_per_mtok
    cost = cloud_cost("gpt-4o-mini", 1_000, 500, {})
    assert cost.known and cost.price == price
    assert cost.input_usd == pytest.approx(1_000 * price.input_per_mtok / 1e6)
    assert cost.output_usd == pytest.approx(500 * price.output_per_mtok / 1e6)
    assert cost.total_usd == pytest.approx(cost.input_usd + cost.output_usd)


def test_config_override_wins_and_adds_models() -> None:
    overrides = {
        "gpt-4o-mini": PriceConfig(input_per_mtok=1.0, output_per_mtok=2.0),
        "my-vllm-model": PriceConfig(input_per_mtok=0.5, output_per_mtok=0.25),
    }
    assert cloud_cost("gpt-4o-mini", 2_000_000, 1_000_000, overrides).total_usd == 4.0
    mine = cloud_cost("my-vllm-model", 1_000_000, 4_000_000, overrides)
    assert mine.known and mine.price is not None and mine.price.source == "config"
    assert mine.total_usd == pytest.approx(1.5)


def test_unknown_model_is_unknown_not_free() -> None:
    assert price_for("gemma-3-270m-on-my-laptop", {}) is None
    cost = cloud_cost("gemma-3-270m-on-my-laptop", 100, 100, {})
    assert not cost.known and cost.price is None
    local = local_cost(1.0, 1.0, LocalCostConfig())
    assert savings_usd(cost, local) is None


def test_local_cost_is_cpu_plus_energy() -> None:
    rates = LocalCostConfig(core_hour_usd=0.02, watts=100.0, kwh_usd=0.30)
    cost = local_cost(cpu_seconds=1800.0, wall_seconds=36.0, rates=rates, tokens_out=10)
    assert cost.tier == "local" and cost.known
    assert cost.cpu_usd == pytest.approx(0.01)  # half a core-hour
    assert cost.energy_usd == pytest.approx(100 * 36 / 3.6e6 * 0.30)  # 1 Wh at 0.30/kWh
    assert cost.total_usd == pytest.approx(cost.cpu_usd + cost.energy_usd)


def test_counterfactual_uses_the_configured_cloud_model() -> None:
    config = Config(
        cloud=CloudConfig(model="house-model"),
        prices={"house-model": PriceConfig(input_per_mtok=10.0, output_per_mtok=20.0)},
    )
    what_if = counterfactual_cost(100_000, 50_000, config)
    assert what_if.total_usd == pytest.approx(2.0)
    actual = local_cost(3600.0, 10.0, config.local_cost)
    assert savings_usd(what_if, actual) == pytest.approx(2.0 - 0.01)


def test_budget_status() -> None:
    caps = BudgetConfig(daily_usd=2.0, monthly_usd=10.0, warn_fraction=0.8)
    calm = budget_status(Spend(today_usd=0.5, month_usd=5.0), caps)
    assert (calm.daily_fraction, calm.monthly_fraction) == (0.25, 0.5)
    assert not calm.warning and not calm.exhausted
    assert calm.remaining_usd == 1.5
    warned = budget_status(Spend(today_usd=0.5, month_usd=8.5), caps)
    assert warned.warning and not warned.exhausted
    spent = budget_status(Spend(today_usd=2.5, month_usd=3.0), caps)
    assert spent.exhausted and spent.daily_remaining_usd == 0.0 and spent.remaining_usd == 0.0
    no_cloud = budget_status(Spend(0.0, 0.0), BudgetConfig(daily_usd=0.0))
    assert no_cloud.exhausted


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_local_day_bounds_follow_daylight_saving() -> None:
    # 2026-03-08: clocks go forward in New York, the day has 23 hours.
    day_start, day_end, month_start, month_end = local_day_bounds(
        datetime(2026, 3, 8, 12, 0).timestamp()
    )
    assert day_end - day_start == 23 * 3600
    assert datetime.fromtimestamp(month_start) == datetime(2026, 3, 1)
    assert datetime.fromtimestamp(month_end) == datetime(2026, 4, 1)
    december = local_day_bounds(datetime(2026, 12, 31, 23, 59).timestamp())
    assert datetime.fromtimestamp(december[3]) == datetime(2027, 1, 1)


_NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise AssertionError(f"network call: {{args!r}}")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.getaddrinfo = refuse
socket.create_connection = refuse
sys.path.insert(0, {repo!r})
from policies.prices import cloud_cost, price_for
assert price_for("gpt-4o-mini", {{}}) is not None
assert price_for("claude-3-5-haiku-latest", {{}}) is not None
assert cloud_cost("gpt-4o", 10, 10, {{}}).known
assert not cloud_cost("nobody-knows-me", 10, 10, {{}}).known
print("offline ok")
"""


def test_prices_make_no_network_call() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK.format(repo=str(REPO))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "offline ok"
