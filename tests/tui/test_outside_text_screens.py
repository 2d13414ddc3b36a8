"""Outside text is data on every screen (issue 9, findings 1 and 2), over real parts: a loopback
OpenAI-compatible server whose answers carry OSC 52, OSC 2, OSC 8, CSI 2J, DCS and 8-bit C1
sequences split across chunks plus Textual markup, the bundled model as the local tier, Presidio
and a SQLite ledger that stores prompts such as `[@click=app.quit]x[/]` and `[/]`.

The chat, the ledger report, the inspector, replay and compare must show that text literally,
without control codes and without crashing or quitting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from console.runtime import Runtime
from console.tui.app import SwitchboardApp, create_app
from console.tui.screens.compare import CompareScreen
from console.tui.screens.confirm import Confirm
from console.tui.screens.inspector import InspectorScreen
from console.tui.screens.ledger import LedgerScreen
from console.tui.screens.replay import ReplayScreen
from console.tui.widgets.chat import AnswerView, ChatLog
from console.tui.widgets.prompt_input import PromptInput
from policies.config import ConfigStore
from tests.tui.hostile_server import SHOWN, hostile_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONFIG = """\
[local]
max_tokens = 6
temperature = 0.0
n_threads = 1

[cloud]
base_url = "{base_url}"
model = "gpt-4o-mini"
api_key_env = "SWITCHBOARD_HOSTILE_TEST_UNSET_KEY"
max_retries = 0
max_tokens = 16

[router]
max_local_cpu = 100.0
max_queue_depth = 10

[ledger]
store_prompts = "full"
"""

MARKUP_PROMPTS = ("/cloud [@click=app.quit]x[/] please", "/cloud [/]")
DEADLINE_S = 120.0
#: Characters that must never reach a screen: ESC, BEL, the C1 range.
CONTROLS = ["\x1b", "\x07", *(chr(c) for c in range(0x80, 0xA0))]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with hostile_server() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime(
    tmp_path_factory: pytest.TempPathFactory, base_url: str
) -> AsyncIterator[Runtime]:
    home = tmp_path_factory.mktemp("hostile")
    (home / "config.toml").write_text(CONFIG.format(base_url=base_url))
    rt = Runtime(ConfigStore.open(home / "config.toml"), home / "ledger.sqlite")
    await rt.start()
    await rt.wait_local_ready(120)
    await asyncio.to_thread(rt.scanner.load)
    await rt.wait_cloud_ready()
    assert rt.local.state == "ready", rt.local.last_error
    # The stored prompts the screens will read back, asked through the real dispatcher.
    for prompt in MARKUP_PROMPTS:
        async for _ in rt.dispatcher.ask(prompt):
            pass
    yield rt
    await rt.aclose()


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def screen_text(pilot: Pilot[None]) -> str:
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


def assert_clean(text: str) -> None:
    found = [repr(c) for c in CONTROLS if c in text]
    assert not found, found


def table_text(table: DataTable[object]) -> str:
    return "\n".join(
        " | ".join(str(getattr(cell, "plain", cell)) for cell in table.get_row_at(row))
        for row in range(table.row_count)
    )


async def confirm(pilot: Pilot[None]) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, Confirm), "the spend confirmation")
    question = str(pilot.app.screen.query_one("#confirm-question", Static).render())
    assert "to the cloud model gpt-4o-mini: at most $" in question
    await pilot.press("enter")


async def test_hostile_answer_shows_as_text_in_the_chat(runtime: Runtime) -> None:
    app = create_app(runtime, manage_runtime=False, sample=False)
    async with app.run_test(size=(120, 40)) as pilot:
        prompt = app.main.query_one(PromptInput)
        prompt.value = "/cloud tell me something"
        await pilot.press("enter")
        chat = app.main.query_one(ChatLog)
        await until(pilot, lambda: chat.answers and chat.answers[-1].meta is not None, "answer")
        view: AnswerView = chat.answers[-1]
        assert view.meta is not None and view.meta.badge.label == "CLOUD", view.meta
        assert view.text == SHOWN
        await pilot.pause()
        shown = screen_text(pilot)
        assert_clean(shown)
        words = " ".join(shown.split())  # the chat wraps lines
        assert "[@click=app.quit]quit-link[/] [/] [bold]not bold[/bold] done." in words
        # The would-be link is text: clicking it does nothing.
        await pilot.click(AnswerView)
        await pilot.pause()
        assert app.is_running and isinstance(app, SwitchboardApp)


async def test_stored_markup_shows_literally_on_ledger_and_inspector(runtime: Runtime) -> None:
    app = create_app(runtime, manage_runtime=False, sample=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(LedgerScreen("all"))
        screen = app.screen
        assert isinstance(screen, LedgerScreen)
        await until(pilot, lambda: screen.report is not None, "the ledger report")
        top = screen.query_one("#ledger-top", DataTable)
        await until(pilot, lambda: top.row_count >= 2, "the top prompts")
        cells = table_text(top)
        assert "[@click=app.quit]x[/] please" in cells and "/cloud [/]" in cells
        await pilot.pause()
        shown = screen_text(pilot)
        assert "[@click=app.quit]x[/] please" in shown
        assert_clean(shown)

        stored = [r for r in runtime.ledger.recent(10) if r.prompt_text == MARKUP_PROMPTS[1]]  # type: ignore[union-attr]
        await app.push_screen(InspectorScreen(stored[0]))
        await pilot.pause()
        head = str(app.screen.query_one("#inspector-head", Static).render())
        assert "/cloud [/]" in head
        assert app.is_running


async def test_replay_and_compare_show_markup_and_answers_literally(runtime: Runtime) -> None:
    app = create_app(runtime, manage_runtime=False, sample=False, presenter=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(ReplayScreen())
        replay = app.screen
        assert isinstance(replay, ReplayScreen)
        replay.query_one("#replay-tier").value = "cloud"  # type: ignore[attr-defined]
        await pilot.press("ctrl+r")
        await confirm(pilot)
        table = replay.query_one("#replay-results", DataTable)
        await until(pilot, lambda: len(replay.results) == len(replay.prompts) > 0, "the replay")
        cells = table_text(table)
        assert "[@click=app.quit]x[/] please" in cells and "/cloud [/]" in cells
        assert "$0.0" in cells  # rounded money, not $0.000000
        # The presenter band grew live with the replay, here and on the console's tally.
        band = str(replay.query_one("#replay-presenter", Static).render())
        count = len(replay.results)
        assert f"cloud {count} (100%)" in band and app.main.tally.split == {"cloud": count}
        shown = screen_text(pilot)
        assert_clean(shown)
        assert "[@click=app.quit]x[/]" in shown
        await pilot.press("escape")

        compare = CompareScreen("[/] and [@click=app.quit]x[/]", max_tokens=6)
        await app.push_screen(compare)
        await confirm(pilot)
        await until(pilot, lambda: len(compare.results) == 2, "both sides of compare")
        cloud = str(compare.query_one("#compare-cloud-answer", Static).render())
        assert cloud == SHOWN
        status = str(compare.query_one("#compare-status", Static).render())
        assert "local ran on this machine, cloud on gpt-4o-mini" in status
        shown = screen_text(pilot)
        assert_clean(shown)
        assert "[@click=app.quit]quit-link[/]" in shown
        assert app.is_running
