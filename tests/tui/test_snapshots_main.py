"""Snapshots of the main screen at 80×24 (panels in tabs) and 160×48 (panels beside the chat).

The app runs over a real Runtime that is never started; the panels and the chat are fed fixed
views, so nothing depends on the machine, the clock or a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.outcome import Outcome, badge
from console.runtime import Runtime
from console.tui.app import SwitchboardApp, create_app
from console.tui.widgets.chat import ChatLog
from console.tui.widgets.cloud_panel import CloudPanel
from console.tui.widgets.ledger_panel import LedgerPanel
from console.tui.widgets.local_panel import LocalPanel
from console.tui.widgets.privacy_panel import PrivacyPanel
from console.tui.widgets.prompt_input import PromptInput
from console.tui.widgets.status_line import StatusLine
from console.tui.widgets.views import (
    AnswerMeta,
    CloudView,
    EntityCount,
    LedgerView,
    LocalView,
    PrivacyView,
    StatusView,
    ThreadLoad,
)
from policies.config import ConfigStore

LOCAL = LocalView(
    state="busy",
    label="gemma-3-270m-q4_k_m.gguf",
    per_core_pct=(87.5, 42.0),
    process_cpu_pct=96.0,
    threads=(ThreadLoad("llama-0", 48.0), ThreadLoad("llama-1", 47.5), ThreadLoad("main", 0.5)),
    rss_bytes=412 * 1024 * 1024,
    queue_depth=1,
    n_threads=4,
    physical_cores=2,
    last_tps=38.4,
    last_ttft_s=0.21,
    tps_history=(30.0, 35.0, 38.0, 40.0, 38.4, 12.0, 0.0, 36.0, 39.0),
)
CLOUD = CloudView(
    label="demo endpoint",
    endpoint="http://127.0.0.1:8765/v1",
    state="open",
    cooldown_remaining_s=12.0,
    consecutive_failures=3,
    latency_p50_s=0.82,
    latency_p95_s=1.4,
    ttft_p50_s=0.12,
    key_present=False,
    key_env="OPENAI_API_KEY",
    key_required=False,
    last_error="demo endpoint refused the connection",
)
PRIVACY = PrivacyView(
    prompt_chars=82,
    entities=(EntityCount("EMAIL_ADDRESS", 1), EntityCount("PERSON", 1)),
    on_pii="redact",
    tier="cloud",
    redacted=True,
    sent_text="Please write a short apology to <PERSON_1> at <EMAIL_ADDRESS_1>.",
)
LEDGER = LedgerView(
    requests=12,
    spend_usd=0.0123,
    counterfactual_usd=0.0456,
    savings_usd=0.0333,
    share_local=0.75,
    budget_daily_usd=2.0,
    budget_used_fraction=0.82,
    budget_warn=True,
    budget_exhausted=False,
)
STATUS = StatusView(
    local_state="busy", pii_ready=True, cloud_label="demo endpoint", cloud_state="open"
)


def meta(
    shown: Outcome, cost: float, tps: float, ttft: float, tokens: int, model: str, rule: str
) -> AnswerMeta:
    return AnswerMeta(
        badge(shown), shown.status, cost, True, tps, ttft, ttft * 4, tokens, model, rule
    )


async def feed(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, SwitchboardApp)
    main = app.main
    main.query_one(PromptInput).cursor_blink = False
    main.query_one(LocalPanel).show(LOCAL)
    main.query_one(CloudPanel).show(CLOUD)
    main.query_one(PrivacyPanel).show(PRIVACY)
    main.query_one(LedgerPanel).show(LEDGER)
    main.query_one(StatusLine).show(STATUS)
    chat = main.query_one(ChatLog)
    first = await chat.add_answer(0, "What is the capital of France?")
    await first.append("The capital of France is **Paris**.")
    await first.finish(
        meta(
            Outcome("ok", "local", ("local",), redacted=False),
            0.0000008,
            38.4,
            0.21,
            9,
            "gemma-3-270m-q4_k_m.gguf",
            "default",
        )
    )
    second = await chat.add_answer(
        1, "Please write a short apology to Maria Gonzalez at maria@example.com."
    )
    await second.append("Dear Maria,\n\n- we are sorry for the delay\n- your refund is on its way")
    await second.finish(
        meta(
            Outcome("fallback", "cloud", ("local", "cloud"), redacted=False),
            0.00031,
            55.0,
            0.4,
            40,
            "gpt-4o-mini",
            "privacy",
        )
    )
    await pilot.pause()


@pytest.fixture
def app(tmp_path: Path) -> SwitchboardApp:
    store = ConfigStore.open(None)
    return create_app(
        Runtime(store, db_path=tmp_path / "ledger.sqlite"), manage_runtime=False, sample=False
    )


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(app: SwitchboardApp, size: tuple[int, int], snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=size, run_before=feed)
