"""`switchboard demo`: a paced, narrated run of prepared prompts through the console, with the
presenter band on, that makes every path visible: local, cloud, cloud with placeholders, a
fallback after the local engine is killed mid-answer, and a budget stop.

The demo types each prompt into the real main screen (the same dispatcher, ledger and engines
as any session); a narration line in the band says what to watch. ctrl+g pauses and resumes,
ctrl+r runs the next step now. Two steps act on the system, and say so: `crash_local` kills the
local engine's worker process once its answer has started (the dispatcher falls back along the
chain), and `budget_stop` lowers the daily cloud cap to what has been spent today (the next
prompt then stays local by the budget rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType

from console.tui.app import SwitchboardApp
from policies.config import SetupError

if TYPE_CHECKING:
    from collections.abc import Callable

    from console.runtime import Runtime
    from console.tui.widgets.chat import AnswerView

#: How long one step may take before the demo moves on (a model answer takes seconds here).
STEP_DEADLINE_S = 180.0
#: How often the demo looks at an answer in progress.
POLL_S = 0.05


@dataclass(frozen=True)
class DemoStep:
    """One prompt of the demo, what the narrator says about it, and what the demo does to it."""

    prompt: str
    say: str
    crash_local: bool = False
    budget_stop: bool = False


def read_script(path: Path) -> list[DemoStep]:
    """The steps of a demo script: one JSON object a line, `prompt` and `say` (strings), and
    optionally `crash_local` / `budget_stop` (booleans)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"demo script {path}: cannot read it ({exc})") from exc
    steps: list[DemoStep] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SetupError(f"demo script {path}:{number}: not JSON ({exc.msg})") from exc
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("prompt"), str)
            or not isinstance(data.get("say", ""), str)
            or not all(isinstance(data.get(k, False), bool) for k in ("crash_local", "budget_stop"))
        ):
            raise SetupError(
                f"demo script {path}:{number}: expected "
                '{"prompt": str, "say": str, "crash_local"?: bool, "budget_stop"?: bool}'
            )
        steps.append(
            DemoStep(
                data["prompt"],
                data.get("say", ""),
                data.get("crash_local", False),
                data.get("budget_stop", False),
            )
        )
    if not steps:
        raise SetupError(f"demo script {path}: no steps")
    return steps


def cloud_note(runtime: Runtime) -> str:
    """The visible note when the "cloud" is the demo stand-in."""
    if runtime.demo is None:
        return ""
    model = runtime.store.config.cloud.model
    return (
        "Note: the demo 'cloud' is the same small model served on 127.0.0.1, "
        f"priced as {model}; answers are not a real cloud's."
    )


class DemoApp(SwitchboardApp):
    """The console running a demo script on its main screen."""

    # Priority: the prompt line (an Input) has ctrl bindings of its own, and ctrl+n / ctrl+o
    # belong to conversations on the main screen.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g", "pause", "Pause/go", priority=True),
        Binding("ctrl+r", "step", "Next step", priority=True),
    ]

    def __init__(
        self,
        runtime: Runtime | Callable[[], Runtime],
        steps: list[DemoStep],
        *,
        pace_s: float = 4.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(runtime, presenter=True, **kwargs)
        self.steps = steps
        self.pace_s = pace_s
        self.paused = False
        self.done = 0
        self.finished = False
        self._go = asyncio.Event()

    async def on_mount(self) -> None:
        # Textual also runs SwitchboardApp.on_mount (handlers are called along the MRO).
        self.run_demo()

    def action_pause(self) -> None:
        """Pause the demo after the current answer, or go on."""
        self.paused = not self.paused
        if not self.paused:
            self._go.set()
        self._narrate(self._line())

    def action_step(self) -> None:
        """Run the next step now (the demo stays paused if it was)."""
        self._go.set()

    def _line(self, say: str = "") -> str:
        state = "paused (ctrl+g goes on, ctrl+r steps)" if self.paused else "ctrl+g pauses"
        head = f"Step {min(self.done + 1, len(self.steps))}/{len(self.steps)} · {state}"
        return f"{head}\n{say}" if say else head

    def _narrate(self, text: str) -> None:
        main = self.main
        note = cloud_note(self.runtime) if self._runtime is not None else ""
        main.tally.note = f"{text}\n{note}" if note else text
        main.refresh_presenter()

    async def _between_steps(self) -> None:
        """Wait the pace (or for ctrl+r); while paused, wait for ctrl+r or ctrl+g."""
        if self.paused:
            await self._go.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._go.wait(), self.pace_s)
        self._go.clear()

    @work(exclusive=True, exit_on_error=False, group="demo")
    async def run_demo(self) -> None:
        """Play the script on the main screen (an async worker on the event loop)."""
        await self.runtime_ready.wait()
        runtime = self.runtime
        await runtime.wait_local_ready(STEP_DEADLINE_S)
        try:
            await asyncio.wait_for(runtime.wait_cloud_ready(), STEP_DEADLINE_S)
        except TimeoutError:
            self._narrate("The cloud tier is not ready: the demo goes on without it.")
        for index, step in enumerate(self.steps):
            self.done = index
            self._narrate(self._line(step.say))
            if index:
                await self._between_steps()
            if step.budget_stop:
                spent = (await asyncio.to_thread(runtime.signals)).spend_today_usd
                runtime.set_config({"budget.daily_usd": f"{spent:.9f}"})
            # Each step stands alone: an earlier step's personal data must not make a later
            # prompt's context private (the path it shows would not be its own).
            view = await self.main.ask(step.prompt, new_conversation=True)
            if step.crash_local:
                await self._crash_local_when_answering(view)
            await self._wait_answered(view)
        self.done = len(self.steps)
        self.finished = True
        self._narrate(f"Demo finished: {len(self.steps)} prompts. ctrl+q quits.")

    async def _crash_local_when_answering(self, view: AnswerView) -> None:
        """Kill the local worker once its answer has started streaming."""
        deadline = time.monotonic() + STEP_DEADLINE_S
        while not view.text and view.meta is None and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
        pid = self.runtime.local.pid
        if view.meta is None and pid is not None:
            os.kill(pid, signal.SIGKILL)

    async def _wait_answered(self, view: AnswerView) -> None:
        deadline = time.monotonic() + STEP_DEADLINE_S
        while view.meta is None and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)


__all__ = ["DemoApp", "DemoStep", "cloud_note", "read_script"]
