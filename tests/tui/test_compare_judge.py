"""The compare screen's judge (ctrl+j) over a real Runtime: the bundled model on llama.cpp as the
local tier, the demo endpoint (llama_cpp.server on 127.0.0.1, the same 270M model) as the cloud
tier and the judge, Presidio, and the SQLite ledger's evidence tables.

The 270M judge rarely writes a readable verdict mark, so "no verdict" is a valid outcome: the
tests hold that the row kept and the verdict shown agree, whatever the judge said.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from itertools import product
from pathlib import Path

import pytest
import pytest_asyncio
from textual.pilot import Pilot
from textual.widgets import Static

from console.evidence import Judgment, Preference, combine, verdict_counts
from console.runtime import Runtime
from console.tui.palette import DARK
from console.tui.screens.compare import (
    CompareScreen,
    judge_refusal,
    verdict_reason,
    verdict_text,
)
from console.tui.screens.confirm import Confirm
from console.tui.screens.help import binding_rows
from policies.config import with_changes
from tests.tui.host import Host, ready_runtime, until

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_TOKENS = 8
PROMPT = "Name a primary colour."


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Runtime]:
    """A started Runtime with every part ready."""
    async with ready_runtime(tmp_path_factory.mktemp("judge")) as runtime:
        yield runtime


def items(db: Path, local_request_id: str) -> list[tuple[str, str, str]]:
    """(verdict, cloud request id, item key) of the eval items kept for a local request."""
    verdict_counts(db)  # creates the evidence tables when nothing was kept yet
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT verdict, cloud_request_id, item_key FROM eval_items WHERE local_request_id = ?",
            (local_request_id,),
        ).fetchall()
    return [(str(v), str(c), str(k)) for v, c, k in rows]


def judgment_count(db: Path) -> int:
    verdict_counts(db)
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM eval_judgments").fetchone()[0])


def judge_box(screen: CompareScreen) -> str:
    return str(screen.query_one("#compare-judge", Static).render())


def status(screen: CompareScreen) -> str:
    return str(screen.query_one("#compare-status", Static).render())


async def compared(pilot: Pilot[None], screen: CompareScreen) -> None:
    """Go ahead with the comparison the screen opened with, until both answers are in."""
    await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the compare confirmation")
    await pilot.press("enter")
    await until(pilot, lambda: len(screen.results) == 2, "both answers")
    await until(pilot, lambda: not any(w.is_running for w in screen.workers), "the compare")


async def test_the_judge_key_is_in_the_footer_and_help() -> None:
    rows = dict(binding_rows(CompareScreen))
    assert rows.get("ctrl+j") == "Judge (asks first)"


async def test_judge_asks_first_then_keeps_one_verdict_that_the_screen_shows(
    runtime: Runtime,
) -> None:
    db = runtime.ledger_path
    assert db is not None
    screen = CompareScreen(PROMPT, max_tokens=MAX_TOKENS)
    async with Host(runtime, lambda: screen).run_test(size=(100, 30)) as pilot:
        await compared(pilot, screen)
        local, cloud = screen.results["local"], screen.results["cloud"]
        assert judge_refusal(local, cloud) is None, (local.status, cloud.status, local.answer)
        before = judgment_count(db)
        await pilot.press("ctrl+j")
        # It asks before spending: the confirmation is up and nothing was sent or kept yet.
        await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the judge confirmation")
        question = str(pilot.app.screen.query_one("#confirm-question", Static).render())
        assert "The judge (cloud tier" in question and "at most" in question
        assert judgment_count(db) == before and items(db, local.request_id) == []
        await pilot.press("enter")
        await until(pilot, lambda: screen.verdict is not None, "the verdict")
        await pilot.pause()
        shown = judge_box(screen)
        assert screen.query_one("#compare-judge", Static).display
        # A second ctrl+j does not pay for the same pair again.
        await pilot.press("ctrl+j")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, Confirm)
        assert "judged already" in status(screen)
    verdict = screen.verdict
    assert verdict is not None
    rows = items(db, local.request_id)
    assert len(rows) == 1, rows
    kept, cloud_id, key = rows[0]
    assert kept == verdict.verdict and cloud_id == cloud.request_id
    assert shown.startswith(f"judge: {kept}"), shown
    assert f"kept as evidence for the local request {local.request_id}" in shown
    with sqlite3.connect(db) as conn:
        calls = conn.execute(
            "SELECT call, first FROM eval_judgments WHERE item_key = ? ORDER BY call", (key,)
        ).fetchall()
    assert calls == [(1, "local"), (2, "cloud")]  # both orders, one row per judge call
    if kept == "no verdict":
        assert "no single [[A]], [[B]] or [[C]] mark" in shown


async def test_escape_stops_the_judge_and_keeps_no_verdict(runtime: Runtime) -> None:
    db = runtime.ledger_path
    assert db is not None
    screen = CompareScreen(PROMPT, max_tokens=MAX_TOKENS)
    async with Host(runtime, lambda: screen).run_test(size=(100, 30)) as pilot:
        await compared(pilot, screen)
        local = screen.results["local"]
        # Escape at the confirmation: nothing is sent.
        await pilot.press("ctrl+j")
        await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the confirmation")
        await pilot.press("escape")
        await until(pilot, lambda: "nothing was sent" in status(screen), "not judged")
        assert pilot.app.screen is screen
        # Escape while the judge is answering: stopped, no verdict kept, the screen stays.
        await pilot.press("ctrl+j")
        await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the confirmation")
        await pilot.press("enter")
        await until(pilot, lambda: status(screen).startswith("judging"), "the judge's call")
        await pilot.press("escape")
        await until(
            pilot, lambda: not any(w.is_running for w in screen.workers), "the judge to stop"
        )
        assert pilot.app.screen is screen
        assert screen.verdict is None
        assert "judge stopped: no verdict kept" in judge_box(screen)
    assert items(db, local.request_id) == []


async def test_no_judge_with_personal_data_or_a_spent_budget(runtime: Runtime) -> None:
    db = runtime.ledger_path
    assert db is not None
    screen = CompareScreen(PROMPT, max_tokens=MAX_TOKENS)
    async with Host(runtime, lambda: screen).run_test(size=(100, 30)) as pilot:
        await compared(pilot, screen)
        local = screen.results["local"]
        # The local model could have written personal data into its answer.
        screen.results["local"] = replace(
            local, answer="Ask Maria Gonzalez at maria.gonzalez@fastmail.com, she knows."
        )
        before = judgment_count(db)
        await pilot.press("ctrl+j")
        await until(pilot, lambda: "not judged" in judge_box(screen), "the refusal")
        assert not isinstance(pilot.app.screen, Confirm)
        shown = judge_box(screen)
        assert "personal data" in shown and "EMAIL_ADDRESS" in shown
        assert "maria" not in shown.lower()

        # With the cloud budget used up the judge is not asked either (a cap of 0 allows none).
        screen.results["local"] = local
        config = runtime.config()
        runtime.apply(with_changes(config, {"budget.daily_usd": 0}))
        try:
            await pilot.press("ctrl+j")
            await until(pilot, lambda: "budget" in judge_box(screen), "the budget refusal")
            assert not isinstance(pilot.app.screen, Confirm)
        finally:
            runtime.apply(config)
    assert judgment_count(db) == before
    assert items(db, local.request_id) == []


async def test_the_reason_follows_the_two_calls() -> None:
    preferences: tuple[Preference | None, ...] = (None, "local", "cloud", "tie")
    for first, second in product(preferences, repeat=2):
        outcome = combine(first, second)
        said = (Judgment(1, "local", first, "A"), Judgment(2, "cloud", second, "B"))
        reason = verdict_reason(outcome, said)
        if first is None or second is None:
            assert outcome.verdict == "no verdict" and "no single [[A]]" in reason
        elif first == second == "cloud":
            assert outcome.verdict == "cloud better" and "both orders preferred" in reason
        elif "cloud" in (first, second):
            assert outcome.verdict == "local as good" and "swayed" in reason
        else:
            assert outcome.verdict == "local as good" and "as good or better" in reason


async def test_what_the_judge_said_is_shown_as_text() -> None:
    hostile = "\x1b]52;c;aGk=\x07[bold red]ok[/] \x1b[2J[@click=app.quit]x[/] [[C]]"
    said = (Judgment(1, "local", "tie", hostile), Judgment(2, "cloud", "tie", hostile))
    text = verdict_text(combine("tie", "tie"), said, "cloud tier m", "r1", DARK)
    plain = text.plain
    assert "\x1b" not in plain and "\x07" not in plain
    assert "[bold red]ok[/]" in plain and "[@click=app.quit]x[/]" in plain
    assert not any("click" in str(span.style) for span in text.spans)
