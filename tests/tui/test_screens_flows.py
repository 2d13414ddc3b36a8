"""The screens that run prompts, over a real Runtime: the bundled model on llama.cpp as the local
tier, the demo endpoint (llama_cpp.server on 127.0.0.1) as the cloud tier, Presidio, SQLite.

One Runtime is shared by the module (loading the model and the analyzer is the slow part); every
answer is capped at a few tokens.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
import pytest_asyncio
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, ProgressBar, Static

from console.dispatch import RequestResult
from console.ledger import StoredRequest
from console.runtime import Runtime
from console.tui.screens.compare import CompareScreen
from console.tui.screens.inspector import InspectorScreen
from console.tui.screens.replay import ReplayScreen
from tests.tui.host import Host, ready_runtime, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_TOKENS = 6


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    """A started Runtime with every part ready."""
    async with ready_runtime(tmp_path_factory.mktemp("flows")) as runtime:
        yield runtime


async def test_inspector_shows_the_real_trace_live_and_stored(runtime: Runtime) -> None:
    result = await runtime.dispatcher.run("What is two plus two?", max_tokens=MAX_TOKENS)
    assert result.status == "ok", result.error
    decision = result.decision.to_dict()
    names = [rule["name"] for rule in decision["rules"]]
    assert runtime.ledger is not None
    stored = runtime.ledger.get(result.request_id)
    assert stored is not None

    sources: tuple[RequestResult | StoredRequest, ...] = (result, stored)
    for source in sources:
        host = Host(runtime, partial(InspectorScreen, source))
        async with host.run_test(size=(80, 40)) as pilot:
            await pilot.pause()
            screen = pilot.app.screen
            assert isinstance(screen, InspectorScreen)
            rules = screen.query_one("#inspector-rules", DataTable)
            assert rules.row_count == len(names)
            assert [str(key.value) for key in rules.rows] == names
            assert rules.cursor_row == names.index(decision["fired"])
            why = str(screen.query_one("#inspector-why", Static).render())
            fired = next(rule for rule in decision["rules"] if rule["name"] == decision["fired"])
            assert fired["why"] in why
            route = str(screen.query_one("#inspector-route", Static).render())
            assert f"target {decision['target']}" in route
            head = str(screen.query_one("#inspector-head", Static).render())
            shown_prompt = (
                source.prompt if isinstance(source, RequestResult) else source.prompt_text
            )
            assert shown_prompt and shown_prompt in head
            assert result.badge in head
    live = dict(InspectorScreen(result).trace.timings)
    assert live["PII scan"] is not None and live["PII scan"] > 0
    assert live["first token"] is not None and live["first token"] > 0


async def go_ahead(pilot: Pilot[None]) -> None:
    """Answer the spend confirmation with enter."""
    from console.tui.screens.confirm import Confirm

    await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the spend confirmation")
    await pilot.press("enter")


async def test_replay_a_jsonl_file_through_the_screen(runtime: Runtime, tmp_path: Path) -> None:
    prompts = [
        "What is GGUF?",
        "Reply to Maria Gonzalez at maria.gonzalez@fastmail.com about her refund.",
        "/cloud Name one primary colour.",
    ]
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts), encoding="utf-8")
    assert runtime.ledger is not None
    before = runtime.ledger.count()
    async with Host(runtime, ReplayScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, ReplayScreen)
        screen.query_one("#replay-path", Input).value = str(path)
        screen.query_one("#replay-max-tokens", Input).value = str(MAX_TOKENS)
        await pilot.press("ctrl+r")
        await go_ahead(pilot)
        await until(pilot, lambda: len(screen.results) == len(prompts), "three results")
        await pilot.pause()
        table = screen.query_one("#replay-results", DataTable)
        assert table.row_count == len(prompts)
        assert screen.query_one("#replay-progress", ProgressBar).progress == len(prompts)
        summary = str(screen.query_one("#replay-summary", Static).render())
        status = str(screen.query_one("#replay-status", Static).render())
    assert f"{len(prompts)} prompts" in summary
    assert f"replayed {len(prompts)} prompts" in status
    by_prompt = {result.prompt: result for result in screen.results}
    private = by_prompt[prompts[1]]
    assert private.decision.fired == "privacy" and private.tier == "local"
    assert private.sent_text is None
    forced = by_prompt[prompts[2]]
    assert forced.decision.fired == "override" and forced.tier == "cloud"
    assert "personal data: 1 kept local" in summary
    runtime.ledger.flush()
    assert runtime.ledger.count() == before + len(prompts)


async def test_compare_streams_both_tiers_side_by_side(runtime: Runtime) -> None:
    assert runtime.ledger is not None
    prompt = "Name a primary colour."
    screen = CompareScreen(prompt, max_tokens=MAX_TOKENS)
    async with Host(runtime, lambda: screen).run_test(size=(80, 24)) as pilot:
        await go_ahead(pilot)  # compare spends money: it asks first
        await until(pilot, lambda: len(screen.results) == 2, "both answers")
        await pilot.pause()
        shown = "\n".join(strip.text for strip in screen._compositor.render_strips())
        status = str(screen.query_one("#compare-status", Static).render())
    local, cloud = screen.results["local"], screen.results["cloud"]
    assert local.tier == "local" and cloud.tier == "cloud"
    assert local.decision.fired == cloud.decision.fired == "override"
    assert local.status == cloud.status == "ok"
    # Side by side: one line carries both panes' latency, and both badges are on screen.
    assert any(line.count("latency") == 2 for line in shown.splitlines()), shown
    assert "LOCAL" in shown and "CLOUD" in shown
    assert "faster" in status
    runtime.ledger.flush()
    for result in (local, cloud):
        stored = runtime.ledger.get(result.request_id)
        assert stored is not None and stored.session.endswith(":compare")


async def test_escape_stops_a_running_replay_then_closes(runtime: Runtime, tmp_path: Path) -> None:
    # Forced local: the test stops a generation of the local engine.
    prompts = ["/local Tell a long story about a lighthouse keeper and his cat."] * 3
    path = tmp_path / "long.jsonl"
    path.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in prompts), encoding="utf-8")
    assert runtime.ledger is not None
    async with Host(runtime, ReplayScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, ReplayScreen)
        screen.query_one("#replay-path", Input).value = str(path)
        screen.query_one("#replay-max-tokens", Input).value = "24"
        await pilot.press("ctrl+r")
        await go_ahead(pilot)
        await until(pilot, lambda: len(screen.results) == 1, "the first result")
        # Stop while the second prompt is generating (not while it is being scanned).
        await until(pilot, lambda: runtime.local.state == "busy", "the second generation")
        await pilot.press("escape")
        await until(
            pilot, lambda: not any(w.is_running for w in screen.workers), "the replay to stop"
        )
        assert pilot.app.screen is screen
        status = str(screen.query_one("#replay-status", Static).render())
        assert f"stopped after 1 of {len(prompts)}" in status
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen
    assert isinstance(screen, ReplayScreen)
    assert len(screen.results) == 1
    runtime.ledger.flush()
    # The generation cut short is recorded too, as cancelled.
    latest = runtime.ledger.recent(limit=1)[0]
    assert latest.status == "cancelled" and latest.session.endswith(":replay")
    assert latest.request_id != screen.results[0].request_id
