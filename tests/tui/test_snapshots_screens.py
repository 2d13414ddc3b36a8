"""Snapshots of the decision inspector and the policy editor, from fixed data (no clock, no random).

The inspector's answer is built by hand around a real `decide()` on fixed features and signals;
the policy editor runs over a copy of the documented config.toml. Update the SVGs with
`pytest --snapshot-update` only after looking at them.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, Static

from console.dispatch import RequestResult, Timings
from console.runtime import Runtime
from console.tui.screens.inspector import InspectorScreen
from console.tui.screens.policy import PolicyScreen, field_id
from console.tui.widgets.quality_plot import QualityPlot
from engines.base import Usage
from policies.config import Config, ConfigStore, PriceConfig, with_changes
from policies.features import extract_features
from policies.prices import cloud_cost
from policies.router import Signals, decide
from tests.tui.host import Host

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"

PROMPT = (
    "Summarize the refund request from Maria Gonzalez (maria.gonzalez@fastmail.com): she was "
    "charged twice for invoice INV-20931 and wants a step by step explanation."
)
SENT = (
    "Summarize the refund request from <PERSON_1> (<EMAIL_ADDRESS_1>): she was charged twice "
    "for invoice INV-20931 and wants a step by step explanation."
)
PRICES = {"gpt-4o-mini": PriceConfig(input_per_mtok=0.15, output_per_mtok=0.6)}


def redacted_cloud_answer() -> RequestResult:
    """A redacted cloud answer whose decision is the real router's on fixed inputs."""
    config = with_changes(Config(), {"pii.on_pii": "redact", "router.complexity_threshold": "0.05"})
    features = extract_features(PROMPT, ("EMAIL_ADDRESS", "PERSON"))
    signals = Signals(
        local_queue_depth=1,
        local_cpu_pct=42.0,
        local_tps=38.5,
        spend_today_usd=0.12,
        spend_month_usd=3.4,
    )
    decision = decide(features, signals, config)
    assert decision.target == "cloud" and decision.redact
    cost = cloud_cost("gpt-4o-mini", 58, 96, PRICES)
    return RequestResult(
        request_id="3f2a9c41d07e4b6e",
        prompt=PROMPT,
        answer="Maria Gonzalez was charged twice; refund the duplicate charge.",
        decision=decision,
        tier="cloud",
        fallback_path=("cloud",),
        status="ok",
        error=None,
        error_class=None,
        fix=None,
        usage=Usage(58, 96),
        ttft_s=0.41,
        latency_s=2.75,
        gen_tps=41.2,
        cost=cost,
        counterfactual_usd=cost.total_usd,
        timings=Timings(pii_ms=18.4, route_ms=0.21, queue_ms=0.0, ttft_ms=410.0, gen_ms=2330.0),
        sent_text=SENT,
        model="gpt-4o-mini",
        pii_types=("EMAIL_ADDRESS", "PERSON"),
        redacted=True,
    )


def test_inspector_snapshot(snap_compare: Callable[..., bool]) -> None:
    result = redacted_cloud_answer()
    assert snap_compare(Host(None, lambda: InspectorScreen(result)), terminal_size=(80, 40))


def test_policy_editor_snapshot(snap_compare: Callable[..., bool], tmp_path: Path) -> None:
    config_path = tmp_path / "config.toml"
    shutil.copy(REPO_CONFIG, config_path)
    runtime = Runtime(ConfigStore.open(config_path), tmp_path / "ledger.db")

    async def refuse_a_value(pilot: Pilot[None]) -> None:
        field = pilot.app.screen.query_one(f"#{field_id('router.complexity_threshold')}", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"1.5", "enter")
        field.cursor_blink = False
        whatif = pilot.app.screen.query_one("#policy-whatif", Static)
        plot = pilot.app.screen.query_one(QualityPlot)
        for _ in range(100):  # the debounced what-if and the curve run in workers: wait for both
            if "ledger is empty" in str(whatif.render()) and plot.curve is not None:
                break
            await pilot.pause(0.05)
        else:
            raise AssertionError("the what-if never answered")

    try:
        assert snap_compare(
            Host(runtime, PolicyScreen), terminal_size=(80, 24), run_before=refuse_a_value
        )
    finally:
        asyncio.run(runtime.aclose())
