"""The console over a running Runtime: a hand edit of config.toml is toasted once, applied or
refused with its key and line, and markup-like text in it (`[router]`) is shown literally."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from console.runtime import Runtime
from console.tui.app import create_app
from console.tui.widgets.status_line import StatusLine, render_status
from policies.config import ConfigStore


async def test_hand_edits_are_toasted_in_the_console(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[router]\nmax_queue_depth = 2\n", encoding="utf-8")
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.db")
    app = create_app(runtime, manage_runtime=False, sample=False)
    async with app.run_test() as pilot:
        await runtime.start(local=False, pii=False, cloud=False)
        try:

            async def toasts_with(text: str) -> list[str]:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    found = [n.message for n in app._notifications if text in n.message]
                    if found:
                        return found
                    await pilot.pause(0.05)
                raise AssertionError(f"no toast with {text!r}")

            path.write_text("[router]\nmax_queue_depth = 5\n", encoding="utf-8")
            applied = await toasts_with("applied")
            assert applied == [f"{path}: applied the edit of [router]"]
            assert runtime.config().router.max_queue_depth == 5

            path.write_text("[router]\nmax_queue_depth = nan\n", encoding="utf-8")
            refused = await toasts_with("max_queue_depth")
            assert refused[0].startswith(f"{path}:2: 'router.max_queue_depth'")
            # Reported once per broken edit, not once a second.
            await asyncio.sleep(2.5)
            assert len([n for n in app._notifications if "max_queue_depth" in n.message]) == 1
            assert all(not n.markup for n in app._notifications)
        finally:
            await runtime.aclose()


async def test_an_invalid_proxy_shows_a_failed_cloud_not_starting(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[cloud]\nbase_url = "https://api.example.invalid/v1"\nproxy = "ftp://nope"\n', "utf-8"
    )
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.db")
    app = create_app(runtime, manage_runtime=False, sample=True)
    async with app.run_test() as pilot:
        await runtime.start(local=False, pii=False, cloud=True)
        try:
            status = app.screen.query_one(StatusLine)
            deadline = time.monotonic() + 10
            while status._view is None or status._view.cloud_state != "failed":
                assert time.monotonic() < deadline, "the cloud part never showed as failed"
                await pilot.pause(0.1)
            view = status._view
            assert view.errors and "[cloud] proxy" in view.errors[0]
            assert "starting" not in str(render_status(view))
        finally:
            await runtime.aclose()
