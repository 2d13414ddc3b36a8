"""The policy editor's cost–quality plot over a small real SQLite ledger with hand-counted evidence.

Six past requests, recorded with their real decisions under the documented config.toml; the
evidence is stored through console.evidence as the console and `switchboard eval` store it:

| request  | task (route at 0.6)      | evidence                          | counts? |
|----------|--------------------------|-----------------------------------|---------|
| poem     | creative  (local)        | rated good (answered local)       | yes     |
| story    | creative  (local)        | rated bad (answered local)        | yes     |
| thanks   | chit-chat (local)        | none                              | no      |
| code     | code      (cloud)        | eval: cloud better                | yes     |
| math     | math      (cloud)        | eval: no verdict                  | no      |
| breaker  | science   (cloud)        | rated good (answered cloud)       | yes     |

By hand: 4 requests carry evidence. At the current threshold (0.6) all four are judged for the
tier they route to and 3 were good (the story was not): 75%. Sending everything to the cloud,
only code and breaker are judged (a local rating says nothing of the cloud), both good: 100%.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual_plotext import PlotextPlot

from console.evidence import ItemVerdict, item_key, rate, record_item
from console.ledger import Ledger, LedgerRecord
from console.runtime import Runtime
from console.tui.screens.policy import PolicyScreen, field_id
from console.tui.widgets.quality_plot import NO_EVIDENCE, QualityPlot
from policies.config import Config, ConfigStore
from policies.features import extract_features
from policies.router import Signals, decide
from tests.tui.host import Host

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"

PROMPTS = {
    "poem": "Write a poem about the sea, with many verses.",
    "story": "Tell me a short story about a lighthouse keeper.",
    "thanks": "Thanks a lot, that was helpful!",
    "code": "Write a Python function that parses a JSONL file and reports bad lines by number.",
    "math": "Convert 37 degrees Celsius to Fahrenheit.",
    "breaker": "Explain step by step how a circuit breaker's half-open probe works, then compare "
    "it with retry budgets and list the trade-offs.",
}
WAIT_S = 60.0


def record(ledger: Ledger, config: Config) -> None:
    """Each prompt answered where the router sends it today, with its real decision."""
    now = time.time()
    for index, (name, prompt) in enumerate(PROMPTS.items()):
        decision = decide(extract_features(prompt), Signals(), config)
        tier = decision.chain[0]
        ledger.record(
            LedgerRecord(
                ts=now - 3600 + index,
                session="plot",
                request_id=name,
                prompt_hash="0" * 64,
                prompt_text=prompt,
                decision_json=json.dumps(decision.to_dict()),
                routed_tier=tier,
                tier=tier,
                fallback_path="",
                fired_rule=decision.fired,
                model="m",
                tokens_in=20,
                tokens_out=80,
                usage_estimated=False,
                ttft_s=0.1,
                latency_s=2.0,
                tokens_per_s=40.0,
                cpu_seconds=2.0 if tier == "local" else 0.0,
                cost_usd=0.0 if tier == "local" else 0.001,
                counterfactual_usd=0.001,
                cost_known=True,
                status="ok",
                error_class=None,
                redacted=False,
                pii_count=0,
            )
        )
    assert ledger.flush()


def add_evidence(db: Path) -> None:
    """The table's evidence, stored as the console's rating keys and `switchboard eval` do."""
    assert rate(db, "poem", good=True) == "local"
    assert rate(db, "story", good=False) == "local"
    assert rate(db, "breaker", good=True) == "cloud"
    for name, outcome in (
        ("code", ItemVerdict("cloud better", False, True)),
        ("math", ItemVerdict("no verdict", None, None)),
    ):
        record_item(
            db,
            item_key(PROMPTS[name], None, "test judge"),
            prompt=PROMPTS[name],
            method="judge",
            judge="test judge",
            local_request_id=name,
            cloud_request_id=f"{name}-cloud",
            outcome=outcome,
        )


async def make_runtime(tmp_path: Path, *, evidence: bool) -> Runtime:
    config_path = tmp_path / "config.toml"
    shutil.copy(REPO_CONFIG, config_path)
    runtime = Runtime(ConfigStore.open(config_path), tmp_path / "ledger.db")
    assert runtime.ledger is not None
    record(runtime.ledger, runtime.store.config)
    if evidence:
        add_evidence(tmp_path / "ledger.db")
    return runtime


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = await make_runtime(tmp_path, evidence=True)
    yield runtime
    await runtime.aclose()


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds, or fail after WAIT_S."""
    for _ in range(int(WAIT_S * 20)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


def caption_of(screen: PolicyScreen) -> str:
    return str(screen.query_one("#quality-caption", Static).render())


def chart_text(screen: PolicyScreen) -> str:
    return str(screen.query_one(PlotextPlot).render())


async def test_the_plot_marks_the_current_setting_and_counts_the_evidence(
    runtime: Runtime,
) -> None:
    async with Host(runtime, PolicyScreen).run_test(size=(120, 48)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, PolicyScreen)
        plot = screen.query_one(QualityPlot)
        await until(pilot, lambda: plot.curve is not None, "the curve")
        curve = plot.curve
        assert curve is not None
        assert curve.evidence == 4  # the hand count of the module's table
        assert curve.current == 0.6
        caption = caption_of(screen)
        assert "current 0.6: cost" in caption
        assert "quality 75% (3 of 4 judged good)" in caption
        assert "4 requests carry evidence (of 6 re-decided); all cloud: 100%" in caption
        chart = screen.query_one(PlotextPlot)
        assert chart.display
        # Shown once the curve is in: it has a size from the next layout pass on.
        await until(pilot, lambda: chart.region.height > 0, "the chart laid out")
        assert "current 0.6" in chart_text(screen)
        assert "judged quality" in chart_text(screen)

        # Only the threshold moves: the mark moves, the sweep is not run again.
        sweeps = sum(1 for w in screen.workers if w.group == "curve")
        field = screen.query_one(f"#{field_id('router.complexity_threshold')}", Input)
        field.value = "0"
        await until(pilot, lambda: "current 0:" in caption_of(screen), "the mark to move")
        assert "quality 100% (2 of 2 judged good)" in caption_of(screen)
        assert sum(1 for w in screen.workers if w.group == "curve") == sweeps
        await pilot.pause()
        assert "current 0 " in chart_text(screen) or "current 0│" in chart_text(screen)

        # A threshold off the 0.05 grid is swept too, so its mark sits on the curve.
        field.value = "0.62"
        await until(pilot, lambda: "current 0.62: cost" in caption_of(screen), "0.62 marked")
        assert plot.curve is not None and plot.curve.point_at(0.62) is not None


async def test_without_evidence_the_plot_says_so_in_words(tmp_path: Path) -> None:
    runtime = await make_runtime(tmp_path, evidence=False)
    try:
        async with Host(runtime, PolicyScreen).run_test(size=(120, 48)) as pilot:
            screen = pilot.app.screen
            assert isinstance(screen, PolicyScreen)
            plot = screen.query_one(QualityPlot)
            await until(pilot, lambda: plot.curve is not None, "the curve")
            assert plot.curve is not None and plot.curve.evidence == 0
            assert caption_of(screen) == NO_EVIDENCE
            assert not screen.query_one(PlotextPlot).display
    finally:
        await runtime.aclose()
