"""End to end: the real `switchboard --demo-cloud` command in a tmux session we create.

A prompt is typed into the console, the answer and its badge are read back from the screen with
`tmux capture-pane` (polled with a deadline, never fixed sleeps), then the console quits with
ctrl+q. Only the tmux session created here is killed.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

CONFIG = """\
[local]
max_tokens = 16
temperature = 0.0
n_threads = 1

[cloud]
max_tokens = 16
temperature = 0.0
"""

REPO = Path(__file__).resolve().parents[2]

#: Generous: the console loads the model and starts the demo server in the background.
DEADLINE_S = 90.0


def switchboard_command() -> list[str]:
    """The installed console script next to this Python, else the same entry point via -c."""
    script = Path(sys.executable).parent / "switchboard"
    if script.exists():
        return [str(script)]
    found = shutil.which("switchboard")
    if found:
        return [found]
    return [sys.executable, "-c", "from console.cli import main; main()"]


class Tmux:
    """One detached tmux session running a command at a fixed size."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name).stdout

    def alive(self) -> bool:
        return self.run("has-session", "-t", self.name).returncode == 0

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.name, *(["-l"] if literal else []), *keys)

    def wait(self, condition: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            text = self.screen()
            if condition(text):
                return text
            if time.monotonic() > deadline or not self.alive():
                pytest.fail(f"timed out waiting for {what}; screen:\n{text}")
            time.sleep(0.1)  # poll interval, not a timing assumption


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the end-to-end console test")
    session = Tmux(f"switchboard-test-{uuid.uuid4().hex[:8]}")
    (tmp_path / "config.toml").write_text(CONFIG)
    # pytest exports COLUMNS/LINES (80x24), which the console would believe over the window.
    command = [
        *("env", "-u", "COLUMNS", "-u", "LINES"),
        *switchboard_command(),
        "--config",
        str(tmp_path / "config.toml"),
        "--db",
        str(tmp_path / "ledger.sqlite"),
        "--demo-cloud",
    ]
    started = session.run(
        "new-session", "-d", "-s", session.name, "-x", "120", "-y", "40",
        "-e", "TERM=xterm-256color", "-e", f"PYTHONPATH={REPO}",
        "-c", str(tmp_path), shlex.join(command),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        yield session
    except BaseException:
        print(session.screen())
        raise
    finally:
        if session.alive():
            session.run("kill-session", "-t", session.name)


def test_console_answers_with_a_badge_and_quits(tmux: Tmux) -> None:
    tmux.wait(lambda s: "Ask anything" in s, "the prompt line")
    tmux.keys("/local What is the capital of France?", literal=True)
    tmux.keys("Enter")
    screen = tmux.wait(lambda s: "LOCAL " in s and "tok/s" in s, "the LOCAL badge")
    assert "› /local What is the capital of France?" in screen

    tmux.keys("/cloud Name one primary colour.", literal=True)
    tmux.keys("Enter")
    screen = tmux.wait(lambda s: "CLOUD " in s, "the CLOUD badge (demo endpoint)")
    # The status line always names the demo endpoint: the answer's own badge line must.
    lines = screen.splitlines()
    at = next(index for index, line in enumerate(lines) if "CLOUD " in line)
    badge_text = " ".join(line.strip() for line in lines[at : at + 2])  # it may wrap once
    assert "rule override" in badge_text and "demo endpoint (priced as" in badge_text, badge_text

    tmux.keys("C-q")
    deadline = time.monotonic() + DEADLINE_S
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux.alive(), "ctrl+q did not end the console"
