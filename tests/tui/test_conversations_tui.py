"""Conversations in the console, through Pilot over the real parts: every chat is saved as it
goes, ctrl+n starts a new one, ctrl+o lists them and reopens one, and the next prompt continues
it with its history (the inspector shows the exact messages sent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from console.runtime import Runtime
from console.tui.screens.conversations import ConversationsScreen
from console.tui.screens.inspector import trace_from_result
from console.tui.widgets.chat import ChatLog
from engines.demo import DemoServer
from policies.config import ConfigStore
from tests.tui.test_app_main import CONFIG, answered, app_over, ask, until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def runtime(
    tmp_path_factory: pytest.TempPathFactory, openai_server: DemoServer
) -> AsyncIterator[Runtime]:
    tmp = tmp_path_factory.mktemp("tui-conversations")
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


async def test_chats_are_saved_listed_and_continued(runtime: Runtime) -> None:
    store = runtime.dispatcher.conversation_store()
    assert store is not None
    app = app_over(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        await answered(pilot, await ask(pilot, "/local The secret word is pelican."))
        second = await answered(pilot, await ask(pilot, "/local What is the secret word?"))
        assert second.result is not None and second.result.turn == 2
        first_id = second.result.conversation_id
        assert [(c.id, c.turns) for c in store.list()] == [(first_id, 2)]

        await pilot.press("ctrl+n")
        await until(pilot, lambda: not app.main.query_one(ChatLog).answers, "an empty chat")
        other = await answered(pilot, await ask(pilot, "/local Name a fruit."))
        assert other.result is not None and other.result.turn == 1
        assert other.result.conversation_id != first_id
        assert {c.id for c in store.list()} == {first_id, other.result.conversation_id}

        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConversationsScreen), "the list")
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        await until(pilot, lambda: len(screen.summaries) == 2, "both conversations listed")
        row = [s.id for s in screen.summaries].index(first_id)
        screen.query_one("#conversations-table").move_cursor(row=row)  # type: ignore[attr-defined]
        await pilot.press("enter")
        chat = app.main.query_one(ChatLog)
        await until(pilot, lambda: len(chat.answers) == 2, "the reopened turns")
        assert [view.prompt for view in chat.answers] == [
            "The secret word is pelican.",
            "What is the secret word?",
        ]
        third = await answered(pilot, await ask(pilot, "/local Say it once more."))
        assert third.result is not None
        assert third.result.conversation_id == first_id and third.result.turn == 3
        trace = trace_from_result(third.result)
        assert [role for role, _ in trace.messages] == ["user", "assistant"] * 2 + ["user"]
        assert trace.messages[0] == ("user", "The secret word is pelican.")
        assert store.load(first_id).summary.turns == 3


async def test_an_answer_is_rated_from_the_keyboard(runtime: Runtime) -> None:
    from console.evidence import rating

    assert runtime.ledger_path is not None
    app = app_over(runtime)
    async with app.run_test(size=(120, 40)) as pilot:
        view = await answered(pilot, await ask(pilot, "/local Write a two-line poem about rain."))
        assert view.result is not None
        request_id = view.result.request_id
        assert rating(runtime.ledger_path, request_id) is None
        await pilot.press("f12")
        await until(
            pilot, lambda: rating(runtime.ledger_path, request_id) is False, "the bad rating"
        )
        await pilot.press("f11")  # a second rating replaces the first
        await until(
            pilot, lambda: rating(runtime.ledger_path, request_id) is True, "the good rating"
        )
