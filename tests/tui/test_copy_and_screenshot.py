"""Copy (ctrl+y) and screenshots write to the state directory and say where; the clipboard gets
the answer through Textual's OSC 52 support, which a terminal may silently refuse."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.runtime import Runtime
from console.tui.adapters import answer_meta
from console.tui.app import create_app
from console.tui.widgets.chat import ChatLog
from policies.config import ConfigStore
from tests.tui.results import local_answer

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.toml"


@pytest.fixture
async def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    shutil.copy(REPO_CONFIG, tmp_path / "config.toml")
    runtime = Runtime(ConfigStore.open(tmp_path / "config.toml"), tmp_path / "ledger.db")
    yield runtime
    await runtime.aclose()


async def test_copy_puts_the_selected_answer_on_the_clipboard_and_in_a_file(
    runtime: Runtime, tmp_path: Path
) -> None:
    app = create_app(runtime, manage_runtime=False, sample=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+y")
        assert any("No answer to copy" in n.message for n in app._notifications)
        chat = app.main.query_one(ChatLog)
        for index, answer in enumerate(("First answer.", "Second [/] answer.")):
            result = local_answer(f"question {index}", answer)
            view = await chat.add_answer(index, result.prompt)
            await view.append(answer)
            await view.finish(answer_meta(result), result)
        chat.answers[0].focus()
        await pilot.press("ctrl+y")
        assert app.clipboard == "First answer."
        app.main.query_one("#prompt").focus()
        await pilot.press("ctrl+y")
        assert app.clipboard == "Second [/] answer."
        saved = sorted((tmp_path / "state" / "switchboard" / "copies").iterdir())
        assert [p.read_text(encoding="utf-8") for p in saved] == [
            "First answer.",
            "Second [/] answer.",
        ]
        assert any(str(saved[-1]) in n.message for n in app._notifications)


async def test_screenshot_goes_to_the_state_directory_and_says_where(
    runtime: Runtime, tmp_path: Path
) -> None:
    app = create_app(runtime, manage_runtime=False, sample=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.deliver_screenshot()  # what the palette's "Screenshot" command calls
        await pilot.pause()
        shots = list((tmp_path / "state" / "switchboard" / "screenshots").glob("*.svg"))
        assert len(shots) == 1 and "<svg" in shots[0].read_text(encoding="utf-8")
        assert any(str(shots[0]) in n.message for n in app._notifications)
