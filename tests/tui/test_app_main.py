"""The main screen driven through Pilot over every real part: the llama.cpp worker, the loopback
OpenAI-compatible server as the cloud, Presidio and a SQLite ledger.

One runtime serves the whole module (model, analyzer and server load once); each test opens its
own app over it. Waiting is on conditions (an answer's badge, a panel's text), never on sleeps.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from textual.pilot import Pilot

from console.runtime import Runtime
from console.tui.app import SwitchboardApp, create_app
from console.tui.widgets.chat import AnswerView, ChatLog
from console.tui.widgets.cloud_panel import CloudPanel
from console.tui.widgets.ledger_panel import LedgerPanel
from console.tui.widgets.local_panel import LocalPanel
from console.tui.widgets.privacy_panel import PrivacyPanel
from console.tui.widgets.prompt_input import PromptInput
from engines.demo import DemoServer
from policies.config import ConfigStore

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONFIG = """\
[local]
max_tokens = 48
temperature = 0.0
n_threads = 1

[cloud]
base_url = "{base_url}"
model = "gpt-4o-mini"
api_key_env = "SWITCHBOARD_TUI_TEST_UNSET_KEY"
max_retries = 0
connect_timeout = 2.0
max_tokens = 16
temperature = 0.0

[breaker]
failure_threshold = 50

[router]
max_local_cpu = 100.0
max_queue_depth = 10
long_output_tokens = 100000

[ui]
telemetry_hz = 2.0
"""

PII_PROMPT = "Please write a short apology to Maria Gonzalez at maria.gonzalez@example.com."
#: Deadline for one condition: a model answer on this machine takes about a second.
DEADLINE_S = 30.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime(
    tmp_path_factory: pytest.TempPathFactory, openai_server: DemoServer
) -> AsyncIterator[Runtime]:
    tmp = tmp_path_factory.mktemp("tui")
    config_path = tmp / "config.toml"
    config_path.write_text(CONFIG.format(base_url=openai_server.base_url))
    rt = Runtime(ConfigStore.open(config_path), db_path=tmp / "ledger.sqlite")
    await rt.start()
    await rt.wait_local_ready(60)
    await asyncio.to_thread(rt.scanner.load)
    await rt.wait_cloud_ready()
    assert rt.local.state == "ready", rt.local.last_error
    yield rt
    await rt.aclose()


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def ask(pilot: Pilot[None], prompt: str) -> AnswerView:
    """Type `prompt`, press enter, and return its (still running) answer."""
    app = pilot.app
    assert isinstance(app, SwitchboardApp)
    before = len(app.main.query_one(ChatLog).answers)
    prompt_input = app.main.query_one(PromptInput)
    prompt_input.focus()
    prompt_input.value = prompt
    await pilot.press("enter")
    await until(pilot, lambda: len(app.main.query_one(ChatLog).answers) > before, "the answer")
    return app.main.query_one(ChatLog).answers[-1]


async def answered(pilot: Pilot[None], view: AnswerView) -> AnswerView:
    await until(pilot, lambda: view.meta is not None, f"the badge of {view.prompt!r}")
    return view


def rendered(widget: object) -> str:
    """The plain text a Static-like widget shows."""
    from textual.widgets import Static

    assert isinstance(widget, Static)
    return str(widget.render())


def ledger_rows(runtime: Runtime) -> list[tuple[object, ...]]:
    assert runtime.ledger is not None
    return runtime.ledger.execute("SELECT request_id, tier, status, fallback_path FROM requests")


def app_over(runtime: Runtime) -> SwitchboardApp:
    return create_app(runtime, manage_runtime=False)


async def test_local_answer_streams_with_badge_and_panels(runtime: Runtime) -> None:
    app = app_over(runtime)
    async with app.run_test(size=(140, 44)) as pilot:
        before = len(ledger_rows(runtime))
        view = await answered(pilot, await ask(pilot, "/local What is the capital of France?"))
        assert view.meta is not None and view.meta.badge.label == "LOCAL", view.meta
        assert view.text.strip()
        badge = rendered(view.query_one(".badge"))
        assert "LOCAL" in badge and "tok/s" in badge and "ttft" in badge
        assert view.result is not None and view.result.tier == "local"
        assert len(ledger_rows(runtime)) == before + 1
        local = app.main.query_one(LocalPanel)
        await until(
            pilot,
            lambda: "physical cores" in rendered(local.query_one("#local-figures")),
            "the local panel's figures",
        )
        await until(
            pilot,
            lambda: f"of {before + 1} requests" in rendered(app.main.query_one(LedgerPanel)),
            "the ledger panel counting the request",
        )
        assert "closed" in rendered(app.main.query_one(CloudPanel))


async def test_keys_and_palette_open_every_screen(runtime: Runtime) -> None:
    from console.tui.screens.compare import CompareScreen
    from console.tui.screens.help import HelpScreen
    from console.tui.screens.inspector import InspectorScreen
    from console.tui.screens.ledger import LedgerScreen
    from console.tui.screens.policy import PolicyScreen
    from console.tui.screens.replay import ReplayScreen

    app = app_over(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen), "compare (f5)")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main, "back to the main screen")
        await pilot.press("f2")
        assert app.screen is app.main, "nothing to inspect yet"
        await answered(pilot, await ask(pilot, "/local Say yes."))
        for key, screen in [
            ("f2", InspectorScreen),
            ("f3", PolicyScreen),
            ("f4", ReplayScreen),
            ("f6", LedgerScreen),
            ("f1", HelpScreen),
        ]:
            await pilot.press(key)
            await until(pilot, lambda s=screen: isinstance(app.screen, s), f"{screen.__name__}")
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.main, f"closing {screen.__name__}")
        await pilot.press("ctrl+p")
        await pilot.press(*"ledger report")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LedgerScreen), "the palette's ledger")
        await pilot.press("escape")
        dark = app.theme
        await pilot.press("ctrl+t")
        assert app.theme != dark
        await pilot.press("ctrl+t")
        assert app.theme == dark


async def test_cloud_answer_through_the_loopback_server(runtime: Runtime) -> None:
    app = app_over(runtime)
    async with app.run_test(size=(140, 44)) as pilot:
        view = await answered(pilot, await ask(pilot, "/cloud Name one primary colour."))
        assert view.meta is not None and view.meta.badge.label == "CLOUD", view.meta
        assert view.result is not None and view.result.sent_text == "Name one primary colour."
        assert view.text.strip()
        cloud = app.main.query_one(CloudPanel)
        await until(
            pilot,
            lambda: "latency p50 —" not in rendered(cloud),
            "the cloud latency",
        )


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_cancel_mid_generation_keeps_the_app_and_records(runtime: Runtime, key: str) -> None:
    app = app_over(runtime)
    async with app.run_test(size=(140, 44)) as pilot:
        view = await ask(pilot, "/local Count from 1 to 300, separated by commas.")
        await until(pilot, lambda: view.text.strip() or view.meta is not None, "the first token")
        assert view.meta is None, "the answer ended before it could be cancelled"
        await pilot.press(key)
        await answered(pilot, view)
        assert view.meta is not None and view.meta.badge.label == "CANCELLED"
        assert app.is_running and not app.main.generating
        await until(
            pilot,
            lambda: any(row[2] == "cancelled" for row in ledger_rows(runtime)),
            "the cancelled request in the ledger",
        )
        again = await answered(pilot, await ask(pilot, "/local Say yes."))
        assert again.meta is not None and again.meta.badge.label == "LOCAL"


async def test_engine_killed_mid_answer_falls_back_to_cloud(runtime: Runtime) -> None:
    app = app_over(runtime)
    async with app.run_test(size=(140, 44)) as pilot:
        view = await ask(pilot, "Write a poem about the sea, with many verses.")
        await until(pilot, lambda: view.text.strip() or view.meta is not None, "the first token")
        pid = runtime.local.pid
        assert pid is not None and view.meta is None
        os.kill(pid, signal.SIGKILL)
        await answered(pilot, view)
        assert view.meta is not None and view.meta.badge.label == "FALLBACK local→cloud", view.meta
        assert view.result is not None and view.result.status == "fallback"
        assert view.text == view.result.answer and view.text.strip()
        rows = [row for row in ledger_rows(runtime) if row[0] == view.result.request_id]
        assert rows == [(view.result.request_id, "cloud", "fallback", "local>cloud")]
    await runtime.wait_local_ready(60)
    assert runtime.local.state == "ready"


async def test_typing_letters_and_history_never_trigger_bindings(runtime: Runtime) -> None:
    app = app_over(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"ipr clf")
        prompt_input = app.main.query_one(PromptInput)
        assert prompt_input.value == "ipr clf"
        assert app.screen is app.main
        prompt_input.remember("first")
        prompt_input.remember("second")
        prompt_input.value = "draft"
        await pilot.press("up")
        assert prompt_input.value == "second"
        await pilot.press("up", "up")
        assert prompt_input.value == "first"
        await pilot.press("down", "down")
        assert prompt_input.value == "draft"
        await pilot.press("ctrl+c")
        assert app.is_running, "ctrl+c must not quit"


async def test_pii_prompt_fills_the_privacy_panel_and_reveals_sent_text(runtime: Runtime) -> None:
    # Last in the module: it switches [pii] on_pii to "redact" (written to the test's config).
    app = app_over(runtime)
    async with app.run_test(size=(140, 44)) as pilot:
        panel = app.main.query_one(PrivacyPanel)
        kept = await answered(pilot, await ask(pilot, PII_PROMPT))
        assert kept.meta is not None and kept.meta.badge.label == "LOCAL", kept.meta
        assert kept.result is not None and kept.result.sent_text is None
        text = rendered(panel)
        assert "PERSON" in text and "EMAIL_ADDRESS" in text
        assert "2 personal data items: kept local" in text and "nothing left the machine" in text

        runtime.set_config({"pii.on_pii": "redact"})
        view = await answered(pilot, await ask(pilot, "/cloud " + PII_PROMPT))
        assert view.meta is not None and view.meta.badge.label == "CLOUD·redacted", view.meta
        text = rendered(panel)
        assert "replaced before sending to the cloud" in text and "Maria" not in text
        await pilot.press("f7")
        revealed = rendered(panel)
        assert "<PERSON_1>" in revealed and "<EMAIL_ADDRESS_1>" in revealed
        assert "Maria" not in revealed and "maria.gonzalez" not in revealed
