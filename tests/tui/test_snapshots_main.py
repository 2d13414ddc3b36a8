"""Snapshots of the main screen, the presenter view and the demo, at 80×24 (panels folded to one
line) and 160×48 (panels beside the chat), in the dark and the light theme.

The app runs over a real Runtime that is never started. Answers are real routed results (the
router decides on fixed features and signals, tests/tui/results.py) turned into what the screen
shows by the console's own adapters, so every snapshot is a state the console can reach: the
prompt with personal data is kept local by the privacy rule, the redacted one went to the cloud
with its placeholders. Only the machine's live figures (CPU, breaker) are fixed views. Update the
SVGs with `pytest --snapshot-update` only after looking at them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.runtime import Runtime
from console.tui.adapters import answer_meta, privacy_view
from console.tui.app import SwitchboardApp, create_app
from console.tui.demo import DemoApp, read_script
from console.tui.widgets.chat import ChatLog
from console.tui.widgets.cloud_panel import CloudPanel
from console.tui.widgets.ledger_panel import LedgerPanel
from console.tui.widgets.local_panel import LocalPanel
from console.tui.widgets.panel_summary import PanelSummary
from console.tui.widgets.privacy_panel import PrivacyPanel
from console.tui.widgets.prompt_input import PromptInput
from console.tui.widgets.status_line import StatusLine
from console.tui.widgets.views import CloudView, LedgerView, LocalView, StatusView, ThreadLoad
from policies.config import ConfigStore
from policies.pii import PiiEntity, PiiScan
from tests.tui.results import cloud_answer, config, local_answer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIZES = [(80, 24), (160, 48)]
SIZE_IDS = ["80x24", "160x48"]
THEMES = ["dark", "light"]

LOCAL = LocalView(
    state="ready",
    label="gemma-3-270m-q4_k_m.gguf",
    per_core_pct=(61.5, 42.0),
    process_cpu_pct=96.0,
    threads=(ThreadLoad("llama-0", 48.0), ThreadLoad("llama-1", 47.5), ThreadLoad("main", 0.5)),
    rss_bytes=412 * 1024 * 1024,
    queue_depth=0,
    n_threads=2,
    physical_cores=2,
    last_tps=38.4,
    last_ttft_s=0.21,
    tps_history=(30.0, 35.0, 38.0, 40.0, 38.4, 12.0, 0.0, 36.0, 39.0),
)
CLOUD = CloudView(
    label="demo endpoint",
    endpoint="http://127.0.0.1:8765/v1",
    state="closed",
    cooldown_remaining_s=0.0,
    consecutive_failures=0,
    latency_p50_s=0.82,
    latency_p95_s=1.4,
    ttft_p50_s=0.12,
    key_present=False,
    key_env="OPENAI_API_KEY",
    key_required=False,
)
STATUS = StatusView(
    local_state="ready", pii_ready=True, cloud_label="demo endpoint", cloud_state="closed"
)

PII_PROMPT = "Reply to Maria Gonzalez at maria.gonzalez@example.com: her refund is on its way."
REDACTED_PROMPT = (
    "Analyze step by step how to answer Maria Gonzalez (maria@example.com) about her late "
    "refund, then compare a full refund with a store credit."
)
REDACTED_SENT = REDACTED_PROMPT.replace("Maria Gonzalez", "<PERSON_1>").replace(
    "maria@example.com", "<EMAIL_ADDRESS_1>"
)


def scan_of(prompt: str) -> PiiScan:
    """The scan a real scanner gives these prompts (a name and an email address)."""
    name = prompt.index("Maria Gonzalez")
    email = prompt.index("maria")
    email = prompt.index("maria", name + 1) if email == name else email
    end = prompt.index(".com", email) + 4
    return PiiScan(
        prompt,
        (PiiEntity("PERSON", name, name + 14, 0.85), PiiEntity("EMAIL_ADDRESS", email, end, 1.0)),
    )


def ledger_view(spend: float, counterfactual: float, requests: int, local: float) -> LedgerView:
    return LedgerView(
        requests=requests,
        spend_usd=spend,
        counterfactual_usd=counterfactual,
        savings_usd=counterfactual - spend,
        share_local=local,
        budget_daily_usd=2.0,
        budget_used_fraction=spend / 2.0,
        budget_warn=False,
        budget_exhausted=False,
    )


async def feed(pilot: Pilot[None], *, redacted_last: bool = False) -> None:
    """Three answers through the console's adapters, the live panels, the presenter tally."""
    app = pilot.app
    assert isinstance(app, SwitchboardApp)
    main = app.main
    main.query_one(PromptInput).cursor_blink = False
    main.query_one(LocalPanel).show(LOCAL)
    main.query_one(CloudPanel).show(CLOUD)
    main.query_one(StatusLine).show(STATUS)
    main.query_one(PanelSummary).show(local=LOCAL, cloud=CLOUD)
    kept_config = config()
    results = [
        (
            local_answer("Write a two-line poem about rain.", "Rain on the **roof**."),
            None,
        ),
        (
            local_answer(
                PII_PROMPT,
                "Dear Maria,\n\n- we are sorry for the delay\n- your refund is on its way",
                pii_types=("PERSON", "EMAIL_ADDRESS"),
                cfg=kept_config,
            ),
            scan_of(PII_PROMPT),
        ),
    ]
    if redacted_last:
        results.append(
            (
                cloud_answer(
                    REDACTED_PROMPT,
                    "Offer Maria Gonzalez the full refund first; a store credit second.",
                    sent_text=REDACTED_SENT,
                    pii_types=("PERSON", "EMAIL_ADDRESS"),
                ),
                scan_of(REDACTED_PROMPT),
            )
        )
    chat = main.query_one(ChatLog)
    on_pii = "redact" if redacted_last else "local"
    for index, (result, scan) in enumerate(results):
        view = await chat.add_answer(index, result.prompt)
        await view.append(result.answer)
        await view.finish(answer_meta(result), result)
        privacy = privacy_view(result, scan, on_pii)
        main.query_one(PrivacyPanel).show(privacy)
        main.query_one(PanelSummary).show(privacy=privacy)
        main.count_result(result, scan)
    spend = sum(r.cost.total_usd for r, _ in results if r.cost is not None)
    counterfactual = sum(r.counterfactual_usd or 0.0 for r, _ in results)
    local_share = sum(r.tier == "local" for r, _ in results) / len(results)
    ledger = ledger_view(spend, counterfactual, len(results), local_share)
    main.query_one(LedgerPanel).show(ledger)
    main.query_one(PanelSummary).show(ledger=ledger)
    await settle(pilot)


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the chat's layout stops changing (Markdown lays answers out after they
    arrive, the presenter band changes the chat's height), then pin the chat to its end, so
    the scrollbar does not depend on how fast the layout went."""
    chat = pilot.app.screen.query_one(ChatLog)
    # The thumb of a scrollbar a few rows high moves with sub-cell layout differences between
    # runs; the snapshots are about what the chat shows, so they show it without one.
    chat.styles.scrollbar_size_vertical = 0
    last = (-1, -1.0)
    for _ in range(50):  # bounded: 50 pauses of 20 ms at most
        await pilot.pause(0.02)
        chat.scroll_end(animate=False, immediate=True)
        now = (chat.virtual_size.height, chat.scroll_y)
        if now == last:
            break
        last = now
    await pilot.pause()


def app_over(tmp_path: Path, theme: str, *, presenter: bool = False) -> SwitchboardApp:
    store = ConfigStore.open(None)
    runtime = Runtime(store, db_path=tmp_path / "ledger.sqlite")
    return create_app(runtime, manage_runtime=False, sample=False, theme=theme, presenter=presenter)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_main_screen(tmp_path: Path, size: tuple[int, int], theme: str, snap_compare: Any) -> None:
    assert snap_compare(app_over(tmp_path, theme), terminal_size=size, run_before=feed)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_presenter_view(
    tmp_path: Path, size: tuple[int, int], theme: str, snap_compare: Any
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await feed(pilot, redacted_last=True)

    app = app_over(tmp_path, theme, presenter=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_demo(tmp_path: Path, size: tuple[int, int], theme: str, snap_compare: Any) -> None:
    steps = read_script(EXAMPLES / "demo_script.jsonl")
    runtime = Runtime(ConfigStore.open(None), db_path=tmp_path / "ledger.sqlite")
    app = DemoApp(runtime, steps, manage_runtime=False, sample=False, theme=theme)

    async def run_before(pilot: Pilot[None]) -> None:
        # The script does not run here (it needs the engines): the narration of step 3 and
        # the answers so far are put in place as the demo would.
        app.workers.cancel_group(app, "demo")
        await feed(pilot, redacted_last=True)
        app.done = 2
        app._narrate(app._line(steps[2].say))
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
