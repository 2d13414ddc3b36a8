"""The policy editor against a real config.toml, a real SQLite ledger and the real what-if."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from console.ledger import Ledger, LedgerRecord
from console.runtime import Runtime
from console.tui.screens.policy import PolicyScreen, error_id, field_id
from policies.config import Config, ConfigStore, with_changes
from policies.features import extract_features
from policies.router import Signals, decide
from policies.whatif import whatif
from tests.tui.host import Host

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"

#: Past prompts of the seeded ledger: plain ones the router keeps local by default.
PROMPTS = (
    "Write a poem about the sea, with many verses.",
    "Explain step by step how a circuit breaker's half-open probe works, then compare it with "
    "retry budgets and list the trade-offs.",
    "Write a Python function that parses a JSONL file and reports bad lines by number.",
    "Convert 37 degrees Celsius to Fahrenheit.",
)


def seed(ledger: Ledger, config: Config) -> None:
    """Record the PROMPTS as answered locally, with their real decisions."""
    now = time.time()
    for index, prompt in enumerate(PROMPTS):
        decision = decide(extract_features(prompt), Signals(), config)
        ledger.record(
            LedgerRecord(
                ts=now - 3600 + index,
                session="seed",
                request_id=f"seed-{index}",
                prompt_hash="0" * 64,
                prompt_text=prompt,
                decision_json=json.dumps(decision.to_dict()),
                routed_tier=decision.chain[0],
                tier=decision.chain[0],
                fallback_path="",
                fired_rule=decision.fired,
                model="seed",
                tokens_in=20,
                tokens_out=80,
                usage_estimated=False,
                ttft_s=0.1,
                latency_s=2.0,
                tokens_per_s=40.0,
                cpu_seconds=2.0,
                cost_usd=0.0,
                counterfactual_usd=0.0001,
                cost_known=True,
                status="ok",
                error_class=None,
                redacted=False,
                pii_count=0,
            )
        )
    assert ledger.flush()


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A Runtime over a copy of the documented config.toml and a fresh ledger (nothing started)."""
    config_path = tmp_path / "config.toml"
    shutil.copy(REPO_CONFIG, config_path)
    runtime = Runtime(ConfigStore.open(config_path), tmp_path / "ledger.db")
    assert runtime.ledger is not None
    seed(runtime.ledger, runtime.store.config)
    yield runtime
    await runtime.aclose()


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


async def until(pilot: object, condition: Callable[[], bool], what: str) -> None:
    """Let the app run until `condition` holds (workers and timers finish), or fail."""
    from textual.pilot import Pilot

    assert isinstance(pilot, Pilot)
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_edit_threshold_saves_file_with_comments(runtime: Runtime) -> None:
    path = runtime.store.path
    before = path.read_text(encoding="utf-8")
    async with Host(runtime, PolicyScreen).run_test(size=(80, 24)) as pilot:
        field = pilot.app.screen.query_one(f"#{field_id('router.complexity_threshold')}", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"0.35", "enter")
        await pilot.pause()
        status = str(pilot.app.screen.query_one("#policy-status", Static).render())
        assert "saved router.complexity_threshold" in status
    after = path.read_text(encoding="utf-8")
    assert "complexity_threshold = 0.35" in after
    assert "complexity_threshold = 0.6" in before
    assert comments(after) == comments(before)
    assert runtime.config().router.complexity_threshold == 0.35
    assert ConfigStore.open(path).config.router.complexity_threshold == 0.35


async def test_bad_value_is_refused_and_file_untouched(runtime: Runtime) -> None:
    path = runtime.store.path
    before = path.read_bytes()
    async with Host(runtime, PolicyScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        field = screen.query_one(f"#{field_id('pii.score_threshold')}", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"1.7", "enter")
        await pilot.pause()
        error = screen.query_one(f"#{error_id('pii.score_threshold')}", Static)
        assert error.has_class("-shown")
        assert "less than or equal to 1" in str(error.render())
        assert "not saved" in str(screen.query_one("#policy-status", Static).render())
        # ctrl+s with one good and one bad field saves neither.
        good = screen.query_one(f"#{field_id('budget.daily_usd')}", Input)
        good.value = "3.5"
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert path.read_bytes() == before
    assert runtime.config().pii.score_threshold == 0.4
    assert runtime.config().budget.daily_usd == 2.0


async def test_whatif_counts_requests_that_change_tier(runtime: Runtime) -> None:
    assert runtime.ledger is not None
    base = runtime.store.config
    changed = with_changes(base, {"router.complexity_threshold": "0.0"})
    expected = whatif(runtime.ledger.iter_history(), base, changed)
    assert expected.total == len(PROMPTS) and expected.changed > 0
    async with Host(runtime, PolicyScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        field = screen.query_one(f"#{field_id('router.complexity_threshold')}", Input)
        field.focus()
        field.value = ""
        await pilot.press(*"0.0")
        whatif_box = screen.query_one("#policy-whatif", Static)
        # A what-if of the half-typed form may show first (the debounce can end between keys
        # on a busy machine): wait for the one of the finished value.
        sentence = f"{expected.changed} of the last {expected.total} requests change tier"
        await until(pilot, lambda: sentence in str(whatif_box.render()), "the what-if of 0.0")
        text = str(whatif_box.render())
    assert f"{expected.to_cloud} to cloud" in text


async def test_whatif_lists_the_prompts_that_move(runtime: Runtime) -> None:
    assert runtime.ledger is not None
    async with Host(runtime, PolicyScreen).run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        field = screen.query_one(f"#{field_id('router.complexity_threshold')}", Input)
        field.focus()
        field.value = "0.0"
        whatif_box = screen.query_one("#policy-whatif", Static)
        await until(pilot, lambda: "Prompts that move" in str(whatif_box.render()), "the list")
        text = str(whatif_box.render())
    moved = [prompt for prompt in PROMPTS if f"was local: {prompt[:40]}" in text]
    assert moved, text


async def test_escape_with_unsaved_edits_asks_before_discarding(runtime: Runtime) -> None:
    from console.tui.screens.confirm import Confirm

    path = runtime.store.path
    before = path.read_bytes()
    async with Host(runtime, PolicyScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        field = screen.query_one(f"#{field_id('budget.daily_usd')}", Input)
        field.focus()
        field.value = "7.5"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the question")
        question = str(pilot.app.screen.query_one("#confirm-question", Static).render())
        assert "budget.daily_usd" in question
        await pilot.press("escape")  # keep editing
        await until(pilot, lambda: pilot.app.screen is screen, "back in the editor")
        assert field.value == "7.5"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the question again")
        await pilot.press("enter")  # discard
        await until(pilot, lambda: pilot.app.screen is not screen, "the editor closed")
    assert path.read_bytes() == before


async def test_selects_save_like_text_fields(runtime: Runtime) -> None:
    from textual.widgets import Select

    path = runtime.store.path
    before = path.read_bytes()
    async with Host(runtime, PolicyScreen).run_test(size=(80, 24)) as pilot:
        screen = pilot.app.screen
        select = screen.query_one(f"#{field_id('pii.on_pii')}", Select)
        select.value = "redact"
        await pilot.pause()
        assert path.read_bytes() == before, "a select must not save on its own"
        status = str(screen.query_one("#policy-status", Static).render())
        assert "unsaved changes" in status
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert 'on_pii = "redact"' in path.read_text(encoding="utf-8")
    assert runtime.config().pii.on_pii == "redact"


async def test_focused_field_shows_its_explanation_from_config_toml(runtime: Runtime) -> None:
    from console.tui.field_help import comments_by_key

    documented = comments_by_key(REPO_CONFIG.read_text(encoding="utf-8"))
    async with Host(runtime, PolicyScreen).run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        help_box = screen.query_one("#policy-help", Static)
        for key in ("router.complexity_threshold", "budget.warn_fraction", "pii.allow_list"):
            screen.query_one(f"#{field_id(key)}", Input).focus()
            await until(pilot, lambda k=key: str(help_box.render()).startswith(k), key)
            assert str(help_box.render()) == f"{key}: {documented[key]}"


async def test_the_task_profile_is_edited_live_with_its_what_if(runtime: Runtime) -> None:
    assert runtime.ledger is not None
    base = runtime.store.config
    assert base.router.tasks.code == "cloud"
    changed = with_changes(base, {"router.tasks.code": "local"})
    expected = whatif(runtime.ledger.iter_history(), base, changed)
    path = runtime.store.path
    async with Host(runtime, PolicyScreen).run_test(size=(120, 40)) as pilot:
        screen = pilot.app.screen
        field = screen.query_one(f"#{field_id('router.tasks.code')}", Input)
        assert field.value == "cloud"
        field.focus()
        field.value = ""
        await pilot.press(*"gpu", "enter")
        await pilot.pause()
        error = screen.query_one(f"#{error_id('router.tasks.code')}", Static)
        assert '"local", "pool", "cloud" or a probability' in str(error.render())
        field.value = ""
        await pilot.press(*"local")
        whatif_box = screen.query_one("#policy-whatif", Static)
        sentence = f"{expected.changed} of the last {expected.total} requests change tier"
        await until(pilot, lambda: sentence in str(whatif_box.render()), "the what-if of local")
        await pilot.press("enter")
        await pilot.pause()
    assert 'code = "local"' in path.read_text(encoding="utf-8")
    assert runtime.config().router.tasks.code == "local"
