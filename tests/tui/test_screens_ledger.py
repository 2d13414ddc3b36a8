"""Ledger, help and replay-file screens over a real SQLite ledger (no model needed)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Literal

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from console.ledger import Ledger, LedgerRecord
from console.ledger_report import DaySpend
from console.runtime import Runtime
from console.tui.palette import DARK
from console.tui.screens.compare import CompareScreen
from console.tui.screens.help import HelpScreen, binding_rows
from console.tui.screens.inspector import InspectorScreen
from console.tui.screens.ledger import LedgerScreen, spend_bars
from console.tui.screens.policy import PolicyScreen
from console.tui.screens.replay import ReplayScreen
from policies.config import Config, ConfigStore, with_changes
from policies.features import extract_features
from policies.router import Signals, decide
from tests.tui.host import Host

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
DAY = 86_400.0

#: (days ago, prompt, PII types, cost) of the seeded requests; tiers come from real decisions.
HISTORY = (
    (0.1, "What is GGUF?", (), 0.0),
    (
        0.2,
        "Reply to Maria Gonzalez at maria.gonzalez@fastmail.com",
        ("PERSON", "EMAIL_ADDRESS"),
        0.0,
    ),
    (
        1.2,
        "Explain step by step, in depth, how to design a cost ledger for an AI gateway.",
        (),
        0.004,
    ),
    (
        2.3,
        "Analyze in detail the trade-offs of local versus cloud inference for a team.",
        (),
        0.002,
    ),
    (9.0, "Convert 37 degrees Celsius to Fahrenheit.", (), 0.0),
)


def seed(ledger: Ledger, config: Config, now: float) -> list[LedgerRecord]:
    """Record HISTORY with real routing decisions (a low complexity threshold sends some out)."""
    records = []
    for index, (days_ago, prompt, pii, cost) in enumerate(HISTORY):
        decision = decide(extract_features(prompt, pii), Signals(), config)
        tier: Literal["local", "cloud"] = "cloud" if cost else "local"
        records.append(
            LedgerRecord(
                ts=now - days_ago * DAY,
                session="seed",
                request_id=f"seed-{index}",
                prompt_hash="0" * 64,
                prompt_text=prompt,
                decision_json=json.dumps(decision.to_dict()),
                routed_tier=decision.chain[0],
                tier=tier,
                fallback_path="",
                fired_rule=decision.fired,
                model="gpt-4o-mini" if cost else "gemma-3-270m",
                tokens_in=30 + index,
                tokens_out=100 + index,
                usage_estimated=False,
                ttft_s=0.2,
                latency_s=2.0,
                tokens_per_s=40.0,
                cpu_seconds=0.0 if cost else 2.5,
                cost_usd=cost or 0.00001,
                counterfactual_usd=0.003,
                cost_known=True,
                status="ok",
                error_class=None,
                redacted=False,
                pii_count=len(pii),
            )
        )
    ledger.record_many(records)
    assert ledger.flush()
    return records


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    config_path = tmp_path / "config.toml"
    shutil.copy(REPO_CONFIG, config_path)
    runtime = Runtime(ConfigStore.open(config_path), tmp_path / "ledger.db")
    assert runtime.ledger is not None
    config = with_changes(runtime.store.config, {"router.complexity_threshold": "0.2"})
    seed(runtime.ledger, config, time.time())
    yield runtime
    await runtime.aclose()


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (workers and timers finish), or fail."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_ledger_report_by_tier_and_day(runtime: Runtime) -> None:
    screen_records = runtime.ledger.recent(limit=100)  # type: ignore[union-attr]
    async with Host(runtime, LedgerScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, LedgerScreen)
        await until(pilot, lambda: screen.report is not None, "the 30d report")
        assert screen.report is not None
        assert screen.report.requests == len(HISTORY)
        headline = text_of(screen.query_one("#ledger-headline", Static))
        assert f"{len(HISTORY)} requests" in headline
        tiers = screen.query_one("#ledger-tiers", DataTable)
        assert tiers.row_count == 2
        chart = text_of(screen.query_one("#ledger-chart", Static))
        days = {row.day for row in screen.report.daily}
        assert days == {date.fromtimestamp(record.ts).isoformat() for record in screen_records}
        assert sum(line[:5].count("-") == 1 for line in chart.splitlines()) == len(days)

        first = screen.report
        screen.query_one("#ledger-since", Select).value = "24h"
        await until(pilot, lambda: screen.report is not first, "the 24h report")
        assert screen.report.since == "24h"
        assert screen.report.requests == 2


async def test_top_prompt_opens_the_inspector_on_its_stored_trace(runtime: Runtime) -> None:
    async with Host(runtime, LedgerScreen).run_test(size=(80, 30)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, LedgerScreen)
        await until(pilot, lambda: screen.report is not None, "the report")
        top = screen.query_one("#ledger-top", DataTable)
        top.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, InspectorScreen), "inspector")
        inspector = pilot.app.screen
        assert isinstance(inspector, InspectorScreen)
        # The costliest request is the cloud one of 1.2 days ago.
        assert inspector.trace.request_id == "seed-2"
        stored = json.loads(runtime.ledger.get("seed-2").decision_json)  # type: ignore[union-attr]
        rules = inspector.query_one("#inspector-rules", DataTable)
        assert rules.row_count == len(stored["rules"])
        assert inspector.trace.fired == stored["fired"]
        assert rules.cursor_row == [r["name"] for r in stored["rules"]].index(stored["fired"])
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, LedgerScreen)


def test_spend_bars_are_to_scale() -> None:
    daily = [
        DaySpend("2026-11-20", "cloud", 3, 0.004, 0.006),
        DaySpend("2026-11-20", "local", 5, 0.0, 0.002),
        DaySpend("2026-11-21", "cloud", 1, 0.001, 0.001),
        DaySpend("2026-11-21", "local", 2, 0.001, 0.001),
    ]
    lines = spend_bars(daily, DARK, width=40).plain.splitlines()
    assert lines[0].startswith("11-20 ") and lines[1].startswith("11-21 ")
    assert lines[0].count("█") == 40
    assert lines[1].count("█") == 20
    assert lines[0].rstrip().endswith("$0.0040") and lines[1].rstrip().endswith("$0.0020")


async def test_help_lists_every_screens_keys(runtime: Runtime) -> None:
    assert ("ctrl+s", "Save") in binding_rows(PolicyScreen)
    assert ("escape", "Close") in binding_rows(LedgerScreen)
    async with Host(runtime, HelpScreen).run_test(size=(80, 120)) as pilot:
        await pilot.pause()
        shown = "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())
    for title in ("Decision inspector", "Policy editor", "Replay", "Compare", "Ledger"):
        assert title in shown
    assert "Revert" in shown and "Copy trace" in shown
    assert "CLOUD·redacted" in shown and "placeholders" in shown


async def test_replay_file_with_a_bad_line_names_it(runtime: Runtime, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "What is GGUF?"}\n{"prompt": 3}\n', encoding="utf-8")
    count = runtime.ledger.count()  # type: ignore[union-attr]
    async with Host(runtime, ReplayScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        screen.query_one("#replay-path", Input).value = str(prompts)
        await pilot.press("ctrl+r")
        await pilot.pause()
        status = screen.query_one("#replay-status", Static)
        assert f"{prompts}:2:" in text_of(status)
        assert status.has_class("-error")
        assert screen.query_one("#replay-results", DataTable).row_count == 0
    assert runtime.ledger.count() == count  # type: ignore[union-attr]


async def test_replay_from_the_ledger_filters_by_tier(runtime: Runtime) -> None:
    async with Host(runtime, ReplayScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, ReplayScreen)
        screen.query_one("#replay-tier").value = "cloud"  # type: ignore[attr-defined]
        screen.query_one("#replay-since").value = "30d"  # type: ignore[attr-defined]
        await pilot.press("ctrl+l")
        await pilot.pause()
        status = text_of(screen.query_one("#replay-status", Static))
    cloud = [prompt for days, prompt, _, cost in HISTORY if cost and days <= 30]
    assert screen.prompts == list(reversed(cloud))  # oldest first
    assert "2 prompts from the ledger" in status


async def test_every_screen_opens_from_the_console_and_escape_closes_it(runtime: Runtime) -> None:
    from console.tui.app import SwitchboardApp

    app = SwitchboardApp(runtime, manage_runtime=False, sample=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        main = pilot.app.screen
        for action, screen_type in (
            ("policy", PolicyScreen),
            ("replay", ReplayScreen),
            ("compare", CompareScreen),
            ("ledger", LedgerScreen),
            ("help", HelpScreen),
        ):
            await pilot.app.run_action(action)
            await pilot.pause()
            assert isinstance(pilot.app.screen, screen_type), action
            await pilot.press("escape")
            await pilot.pause()
            assert pilot.app.screen is main, action
