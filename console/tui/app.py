"""The Switchboard console: a Textual app that renders and dispatches, over a headless Runtime.

`create_app(runtime)` is the one factory the CLI (`run_tui`) and the tests share, as in Posting.
Screens reach the core through `app.runtime`. Worker errors become notifications with their fix;
unexpected exceptions are written to a log file whose path the user is shown, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message
from textual.worker import Worker, WorkerState

from console.outside_text import clean
from console.tui.palette import THEME_NAMES
from console.tui.screens.main import MainScreen
from console.tui.themes import THEMES as TEXTUAL_THEMES
from engines.base import SwitchboardError

if TYPE_CHECKING:
    from console.cli_context import CliContext
    from console.runtime import ConfigNotice, Runtime

log = logging.getLogger("switchboard.tui")

THEMES: dict[str, str] = {name: theme for name, theme in THEME_NAMES.items()}

#: The interpreter's thread switch interval while the console runs (Python's default: 5 ms).
UI_SWITCH_INTERVAL_S = 0.001


@dataclass(frozen=True)
class PaletteCommand:
    """One action offered in the command palette."""

    title: str
    help: str
    action: str


PALETTE: tuple[PaletteCommand, ...] = (
    PaletteCommand(
        "Inspect answer", "The routing trace of the selected (or last) answer", "inspect"
    ),
    PaletteCommand(
        "Edit policy", "Thresholds of the router, PII and budget, with what-if", "policy"
    ),
    PaletteCommand("Replay prompts", "Past or prepared prompts through today's policy", "replay"),
    PaletteCommand("Compare tiers", "One prompt to local and cloud, side by side", "compare"),
    PaletteCommand("Ledger report", "Spend, savings and budget by tier and day", "ledger"),
    PaletteCommand("Help", "Keys of every screen, what badges and colours mean", "help"),
    PaletteCommand("Cancel generation", "Stop the answer being generated", "cancel"),
    PaletteCommand(
        "Toggle sent text", "Show the exact text the last prompt sent to the cloud", "toggle_sent"
    ),
    PaletteCommand(
        "Next panel",
        "Cycle local / pool / cloud / privacy / ledger on narrow terminals",
        "next_panel",
    ),
    PaletteCommand(
        "Toggle panels (f9)", "Show the panels, or shrink them to one summary line", "toggle_panels"
    ),
    PaletteCommand(
        "Presenter view (f10)",
        "A headline band: routing split, savings, projection, the reason for each answer",
        "toggle_presenter",
    ),
    PaletteCommand(
        "Copy answer (ctrl+y)",
        "Copy the selected (or last) answer; also saved to a file in the state directory",
        "copy_answer",
    ),
    # Rating the selected answer good/bad and a compare "judge" belong here (and on ctrl keys)
    # once the ledger can store quality evidence.
    PaletteCommand("Toggle theme", "Switch between the dark and the light theme", "toggle_theme"),
    PaletteCommand("Quit", "Leave Switchboard", "quit"),
)


#: Actions that open screens reaching into the core: unavailable until it is built.
NEEDS_RUNTIME = frozenset({"inspect", "policy", "replay", "compare", "ledger"})


class RuntimeBuilt(Message):
    """The core is built (posted by the thread that imported and constructed it)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime


class SwitchboardCommands(Provider):
    """Every Switchboard action, for the command palette."""

    def _run(self, action: str) -> Callable[[], object]:
        app = self.app
        return partial(
            app.run_action, action if hasattr(app, f"action_{action}") else f"screen.{action}"
        )

    async def discover(self) -> Hits:
        """All actions, when nothing is typed yet."""
        for command in PALETTE:
            yield DiscoveryHit(command.title, self._run(command.action), help=command.help)

    async def search(self, query: str) -> Hits:
        """Actions whose title matches `query`."""
        matcher = self.matcher(query)
        for command in PALETTE:
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    self._run(command.action),
                    help=command.help,
                )


class SwitchboardApp(App[None]):
    """The console; `runtime` is the headless core every screen drives."""

    TITLE = "Switchboard"
    CSS_PATH = [  # noqa: RUF012
        "app.tcss",
        "widgets/chat.tcss",
        "widgets/panels.tcss",
    ]
    COMMANDS = App.COMMANDS | {SwitchboardCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "cancel", "Cancel", show=False, priority=True),
        # Shown first by every screen's own bindings (console/tui/keys.py), so not twice here.
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("f1", "help", "Help", show=False),
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),
        Binding("ctrl+y", "copy_answer", "Copy answer", show=False),
        # Declared here so Textual adds no hidden one of its own; screens list it last.
        Binding("ctrl+p", "command_palette", "Palette", priority=True),
    ]

    def __init__(
        self,
        runtime: Runtime | Callable[[], Runtime],
        *,
        theme: str | None = None,
        manage_runtime: bool = True,
        sample: bool = True,
        log_path: Path | None = None,
        presenter: bool = False,
    ) -> None:
        super().__init__()
        for textual_theme in TEXTUAL_THEMES:
            self.register_theme(textual_theme)
        self._presenter = presenter
        self._runtime: Runtime | None = None
        self._build_runtime: Callable[[], Runtime] | None = None
        if callable(runtime):
            self._build_runtime = runtime
        else:
            self._runtime = runtime
            theme = theme or runtime.store.config.ui.theme
        self.runtime_ready = asyncio.Event()
        self.log_path = log_path
        self._manage_runtime = manage_runtime
        self._switch_interval = sys.getswitchinterval()
        self._sample = sample
        self.theme = THEMES[theme or "dark"]

    @property
    def runtime(self) -> Runtime:
        """The headless core every screen drives (built in the background at launch)."""
        if self._runtime is None:
            raise LookupError("the console is still starting")
        return self._runtime

    async def on_mount(self) -> None:
        # PII scans run in a thread and hold the GIL in stretches of Python (Presidio's
        # recognizers); a shorter switch interval hands it back to the event loop sooner, so a
        # keystroke is echoed within milliseconds while a prompt is being scanned.
        sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
        await self.push_screen(MainScreen(sample=self._sample, presenter=self._presenter))
        if self._runtime is None:
            # The imports hold the GIL: let the first frame reach the terminal before them.
            self.call_after_refresh(self.build_runtime)
        else:
            await self._start_core(self._runtime)

    @work(exclusive=True, exit_on_error=False, group="runtime")
    async def build_runtime(self) -> None:
        """Import and build the core in a thread, so the screen is up before those imports
        (Presidio, spaCy, llama.cpp) are done; only posts a message."""
        assert self._build_runtime is not None
        runtime = await asyncio.to_thread(self._build_runtime)
        self.post_message(RuntimeBuilt(runtime))

    async def on_runtime_built(self, message: RuntimeBuilt) -> None:
        self._runtime = message.runtime
        await self._start_core(message.runtime)

    async def _start_core(self, runtime: Runtime) -> None:
        runtime.config_listeners.append(self._config_notice)
        if self._manage_runtime:
            await runtime.start()
        self.runtime_ready.set()
        self.main.runtime_ready()

    async def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)
        if self._runtime is not None and self._config_notice in self._runtime.config_listeners:
            self._runtime.config_listeners.remove(self._config_notice)
        if self._manage_runtime and self._runtime is not None:
            await self._runtime.aclose()

    @property
    def main(self) -> MainScreen:
        """The main screen (under whatever is pushed on top of it)."""
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    # -- actions -----------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+c cancels only while generating; otherwise it keeps its usual meaning (copy).
        The screens that need the core wait for it (shown disabled in the footer)."""
        if action == "cancel":
            return any(isinstance(s, MainScreen) and s.generating for s in self.screen_stack)
        if action in NEEDS_RUNTIME and self._runtime is None:
            return None
        return True

    def action_cancel(self) -> None:
        """Cancel the answer being generated."""
        self.main.action_cancel()

    def action_toggle_theme(self) -> None:
        """Switch between the light and the dark theme."""
        self.theme = THEMES["light"] if self.theme == THEMES["dark"] else THEMES["dark"]

    def action_inspect(self) -> None:
        """The decision inspector for the selected (or last) answer."""
        from console.tui.screens.inspector import InspectorScreen

        result = self.main.selected_result()
        if result is None:
            self.notify("No answer to inspect yet.", severity="warning")
            return
        self.push_screen(InspectorScreen(result))

    def action_policy(self) -> None:
        """The policy editor."""
        from console.tui.screens.policy import PolicyScreen

        self.push_screen(PolicyScreen())

    def action_replay(self) -> None:
        """Replay past or prepared prompts."""
        from console.tui.screens.replay import ReplayScreen

        self.push_screen(ReplayScreen())

    def action_compare(self) -> None:
        """Compare both tiers on the prompt being typed (or the last one)."""
        from console.tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen(self.main.draft_or_last_prompt()))

    def action_ledger(self) -> None:
        """The ledger report."""
        from console.tui.screens.ledger import LedgerScreen

        self.push_screen(LedgerScreen())

    def action_help(self) -> None:
        """Keys and meanings (not opened twice)."""
        from console.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_copy_answer(self) -> None:
        """Copy the selected (or last) answer to the clipboard with OSC 52, which the terminal
        may refuse without telling us, so it is also saved to a file whose path is shown."""
        from console.tui.clipboard import save_copy

        view = self.main.selected_answer()
        if view is None or not view.text:
            self.notify("No answer to copy yet.", severity="warning", markup=False)
            return
        self.copy_to_clipboard(view.text)
        try:
            path = save_copy(view.text, f"answer-{view.answer_id}")
        except OSError as exc:
            self.notify(f"Copied (if the terminal allows); not saved: {exc}", markup=False)
            return
        self.notify(f"Copied (if the terminal allows) and saved to {path}", markup=False)

    def action_save_screenshot(self) -> None:
        """Save an SVG of the screen in the state directory and say where."""
        from console.tui.clipboard import state_dir

        folder = state_dir() / "screenshots"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = Path(self.save_screenshot(path=str(folder)))
        except OSError as exc:
            self.notify(f"Screenshot not saved: {exc}", severity="error", markup=False)
            return
        self.notify(f"Screenshot saved to {path}", markup=False)

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """The palette's "Screenshot": Textual would write to ~/Downloads, which servers lack,
        and fail without a reason; the console saves to its state directory and says where."""
        self.action_save_screenshot()
        return None

    # -- errors -------------------------------------------------------------------------------
    @on(Worker.StateChanged)
    def worker_failed(self, event: Worker.StateChanged) -> None:
        """A worker's error becomes a notification with its fix; the details go to the log."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        fix = error.fix if isinstance(error, SwitchboardError) else ""
        if not isinstance(error, SwitchboardError):
            log.error("worker %s failed", event.worker.name, exc_info=error)
            where = f" (details in {self.log_path})" if self.log_path else ""
            fix = f"unexpected error{where}"
        # An error may quote a server's body: never markup.
        self.notify(
            f"{error}" + (f"\n{fix}" if fix else ""), severity="error", timeout=10, markup=False
        )

    def _config_notice(self, notice: ConfigNotice) -> None:
        """A hand edit of config.toml was applied or refused (called on the event loop)."""
        self.notify(
            clean(notice.message),
            severity="error" if notice.error else "information",
            timeout=10 if notice.error else 5,
            markup=False,
        )

    def _fatal_error(self) -> None:
        # Textual would print a traceback on exit; the user gets one line and the log the rest.
        error = sys.exc_info()[1]
        log.error("unexpected error", exc_info=error)
        where = f" (details in {self.log_path})" if self.log_path else ""
        self.exit(return_code=1, message=f"switchboard: unexpected error: {error}{where}")


def create_app(
    runtime: Runtime,
    *,
    manage_runtime: bool = True,
    sample: bool = True,
    log_path: Path | None = None,
    theme: str | None = None,
    presenter: bool = False,
) -> SwitchboardApp:
    """The console over `runtime`: started and closed by the app unless `manage_runtime` is False
    (tests share one runtime); `sample=False` leaves the panels to be fed by hand (snapshots);
    `presenter` opens with the presenter band shown."""
    return SwitchboardApp(
        runtime,
        manage_runtime=manage_runtime,
        sample=sample,
        log_path=log_path,
        theme=theme,
        presenter=presenter,
    )


def default_log_path() -> Path:
    """Where unexpected errors are written: the per-user log directory."""
    import platformdirs

    return Path(platformdirs.user_log_dir("switchboard")) / "console.log"


def _log_to(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger("switchboard")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def run_tui(cli_ctx: CliContext, app_factory: Callable[..., SwitchboardApp] | None = None) -> None:
    """Open the console for the `switchboard` command (setup errors surface before the screen);
    `app_factory` (same arguments as SwitchboardApp) opens another face of it, such as the demo."""
    from multiprocessing import resource_tracker

    from console.runtime import Runtime

    log_path = default_log_path()
    _log_to(log_path)
    # The engine's spawned worker needs multiprocessing's resource tracker, which is started
    # with sys.stderr's file descriptor; under Textual sys.stderr is a capture without one
    # ("bad value(s) in fds_to_keep"), so the tracker is started before the app takes over.
    resource_tracker.ensure_running()

    def build() -> Runtime:

        return Runtime(cli_ctx.store, db_path=cli_ctx.db_path, demo_cloud=cli_ctx.demo_cloud)

    app = (app_factory or SwitchboardApp)(build, theme=cli_ctx.config.ui.theme, log_path=log_path)
    app.run()
    if app.return_code:
        sys.exit(app.return_code)
