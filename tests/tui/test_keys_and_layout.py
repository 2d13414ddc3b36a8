"""Keys that cannot surprise and 80×24 first, driven through Pilot over a real (unstarted)
Runtime: nothing here needs a model, so every check is about the console itself."""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from console.outcome import Badge
from console.runtime import Runtime
from console.tui.app import SwitchboardApp, create_app
from console.tui.screens.compare import CompareScreen
from console.tui.screens.confirm import Confirm
from console.tui.screens.conversations import ConversationsScreen
from console.tui.screens.help import HelpScreen
from console.tui.screens.inspector import InspectorScreen
from console.tui.screens.ledger import LedgerScreen
from console.tui.screens.main import MainScreen
from console.tui.screens.policy import PolicyScreen
from console.tui.screens.replay import ReplayScreen
from console.tui.widgets.chat import ChatLog
from console.tui.widgets.panel_deck import PanelDeck
from console.tui.widgets.panel_summary import PanelSummary
from console.tui.widgets.prompt_input import PromptInput
from console.tui.widgets.views import AnswerMeta
from policies.config import ConfigStore
from tests.tui.results import local_answer

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"
ALL_SCREENS: tuple[type[Screen[object]], ...] = (
    MainScreen,
    HelpScreen,
    InspectorScreen,
    PolicyScreen,
    ReplayScreen,
    CompareScreen,
    LedgerScreen,
    Confirm,
    ConversationsScreen,
)
#: Keys that send no printable character.
NAMED = {
    "escape", "enter", "tab", "up", "down", "left", "right", "pageup", "pagedown", "home",
    "end", "delete", "backspace", "insert",
}  # fmt: skip


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    shutil.copy(REPO_CONFIG, tmp_path / "config.toml")
    runtime = Runtime(ConfigStore.open(tmp_path / "config.toml"), tmp_path / "ledger.db")
    yield runtime
    await runtime.aclose()


def console(runtime: Runtime) -> SwitchboardApp:
    return create_app(runtime, manage_runtime=False, sample=False)


def footer_text(pilot: Pilot[None]) -> str:
    footer = pilot.app.screen.query_one(Footer)
    return " ".join(
        f"{key.key_display} {key.description}" for key in footer.query(FooterKey) if key.display
    )


def screen_text(pilot: Pilot[None]) -> str:
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}")


def printable(key: str) -> bool:
    """Whether pressing `key` types a character (a single letter, digit or symbol name)."""
    return (not key.startswith(("ctrl+", "f", "shift+", "alt+")) and key not in NAMED) or (
        len(key) == 1
    )


def test_no_single_letter_bindings_anywhere() -> None:
    offenders = []
    for node in (SwitchboardApp, *ALL_SCREENS, PromptInput, ChatLog):
        for cls in node.__mro__:
            if cls.__module__.startswith("textual."):
                continue
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
                if printable(binding.key):
                    offenders.append(f"{cls.__name__}: {binding.key} → {binding.action}")
    assert not offenders, offenders


async def answered(app: SwitchboardApp, prompt: str = "Write a two-line poem about rain.") -> None:
    """Put one finished exchange in the chat (the badge comes from a real routed result)."""
    from console.tui.adapters import answer_meta

    result = local_answer(prompt, "Rain on the roof.")
    view = await app.main.query_one(ChatLog).add_answer(0, prompt)
    await view.append(result.answer)
    await view.finish(answer_meta(result), result)


async def test_printable_keys_always_reach_the_prompt(runtime: Runtime) -> None:
    app = console(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await answered(app)
        chat = app.main.query_one(ChatLog)
        chat.answers[0].focus()
        await pilot.pause()
        await pilot.press(*"can you l")
        prompt = app.main.query_one(PromptInput)
        assert prompt.value == "can you l"
        assert app.focused is prompt
        assert isinstance(app.screen, MainScreen)  # no compare, no ledger opened

        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "p", "r")
        assert isinstance(app.screen, MainScreen)
        assert prompt.value == "can you lpr"


async def test_empty_and_prefix_only_prompts_are_not_sent(runtime: Runtime) -> None:
    app = console(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.main.query_one(ChatLog)
        for typed in ("   ", "/local", "/cloud   ", "/local \t"):
            prompt = app.main.query_one(PromptInput)
            prompt.value = typed
            await pilot.press("enter")
            await pilot.pause()
        assert chat.answers == []
        assert not app.main.generating
        assert any("Nothing to send" in n.message for n in app._notifications)


async def test_every_screen_at_80x24_shows_help_and_quit(runtime: Runtime) -> None:
    result = local_answer("Write a two-line poem about rain.", "Rain on the roof.")
    openers: list[tuple[str, Callable[[], Screen[object]] | None]] = [
        ("main", None),
        ("help", HelpScreen),
        ("inspector", lambda: InspectorScreen(result)),
        ("policy", PolicyScreen),
        ("replay", ReplayScreen),
        ("compare", CompareScreen),
        ("ledger", LedgerScreen),
        ("confirm", lambda: Confirm("Compare asks the cloud", "at most $0.0001")),
        ("conversations", ConversationsScreen),
    ]
    app = console(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for name, make in openers:
            if make is not None:
                await app.push_screen(make())
            await until(
                pilot,
                lambda: "^q Quit" in screen_text(pilot).splitlines()[-1],
                f"{name}'s footer on the last line",
            )
            keys = footer_text(pilot)
            assert "f1 Help" in keys and "^q Quit" in keys, (name, keys)
            last_line = screen_text(pilot).splitlines()[-1]
            assert last_line.startswith("f1 Help ^q Quit"), (name, last_line)
            if make is not None:
                app.pop_screen()
                await pilot.pause()


async def test_panels_collapse_on_short_terminals_and_toggle(runtime: Runtime) -> None:
    app = console(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        main = app.main
        deck, summary = main.query_one(PanelDeck), main.query_one(PanelSummary)
        assert not deck.display and summary.display
        assert summary.region.height == 1
        chat_height = main.query_one(ChatLog).region.height
        await pilot.press("f9")
        assert deck.display and not summary.display
        assert main.query_one(ChatLog).region.height < chat_height
        await pilot.press("f9")
        assert not deck.display
        await pilot.resize_terminal(80, 40)
        await pilot.pause()
        assert not deck.display  # the user's choice (f9) stands
    app = console(runtime)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.main.query_one(PanelDeck).display


async def test_chat_scrolls_from_the_prompt(runtime: Runtime) -> None:
    app = console(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        chat = app.main.query_one(ChatLog)
        for index in range(12):
            view = await chat.add_answer(index, f"question {index}")
            await view.append("line one\n\nline two\n\nline three")
            meta = AnswerMeta(Badge("LOCAL", "local"), "ok", 0.0, True, 40.0, 0.2, 1.0, 9, "m", "x")
            await view.finish(meta)
        await pilot.pause()
        prompt = app.main.query_one(PromptInput)
        assert app.focused is prompt
        await until(pilot, lambda: chat.scroll_y == chat.max_scroll_y > 0, "chat at the bottom")
        bottom = chat.scroll_y
        await pilot.press("pageup")
        await until(pilot, lambda: chat.scroll_y < bottom, "pageup scrolled")
        after_page = chat.scroll_y
        await pilot.press("shift+down")
        await until(pilot, lambda: chat.scroll_y > after_page, "shift+down scrolled")
        await pilot.press("pagedown", "pagedown")
        await until(pilot, lambda: chat.scroll_y == bottom, "back at the bottom")
        assert app.focused is prompt


async def test_footer_enables_screen_keys_when_the_core_is_ready(runtime: Runtime) -> None:
    release = threading.Event()

    def build() -> Runtime:
        release.wait(30)
        return runtime

    app = SwitchboardApp(build, manage_runtime=False, sample=False)

    def f2_disabled() -> bool:
        keys = [k for k in app.screen.query(FooterKey) if k.key == "f2"]
        return bool(keys) and keys[0].has_class("-disabled")

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, f2_disabled, "f2 shown disabled while the core starts")
        release.set()
        await until(pilot, app.runtime_ready.is_set, "the core built")
        await until(pilot, lambda: not f2_disabled(), "f2 enabled without opening a screen")
