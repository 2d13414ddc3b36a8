"""End to end, in a real terminal: a model answer carrying OSC 52 (clipboard), OSC 2 (title),
CSI 2J, OSC 8, DCS and 8-bit C1 sequences reaches the console running in a tmux pane, and the
terminal sees none of them: tmux gains no paste buffer and the pane title does not change.

The test owns its tmux server (`tmux -L <unique>`, with set-clipboard on, so an OSC 52 that got
through would create a buffer) and proves the detection works with a control pane that prints
the same bytes raw.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.hostile_server import CLIPBOARD_PAYLOAD, HOSTILE, TITLE_PAYLOAD, hostile_server
from tests.tui.test_e2e_tmux import REPO, switchboard_command

DEADLINE_S = 120.0

CONFIG = """\
[local]
max_tokens = 8
n_threads = 1

[cloud]
base_url = "{base_url}"
model = "gpt-4o-mini"
api_key_env = "SWITCHBOARD_HOSTILE_TMUX_UNSET_KEY"
max_retries = 0
"""


class Server:
    """A private tmux server (its own socket), so buffers and titles are ours alone."""

    def __init__(self) -> None:
        self.socket = f"switchboard-hostile-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )

    def buffers(self) -> str:
        return self.run("list-buffers", "-F", "#{buffer_sample}").stdout

    def title(self, target: str) -> str:
        return self.run("display-message", "-p", "-t", target, "#{pane_title}").stdout.strip()

    def screen(self, target: str) -> str:
        return self.run("capture-pane", "-p", "-t", target).stdout

    def wait(self, condition: Callable[[], bool], what: str, target: str) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}; screen:\n{self.screen(target)}")
            time.sleep(0.1)  # poll interval, not a timing assumption


@pytest.fixture
def server() -> Iterator[Server]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the end-to-end console test")
    tmux = Server()
    try:
        yield tmux
    finally:
        tmux.run("kill-server")


def test_control_pane_shows_the_detection_works(server: Server, tmp_path: Path) -> None:
    """The same bytes printed raw do set the clipboard and the title: the probes can fail."""
    raw = tmp_path / "hostile.bin"
    raw.write_text(HOSTILE, encoding="utf-8")
    started = server.run(
        "new-session", "-d", "-s", "control", "-x", "80", "-y", "24",
        f"cat {shlex.quote(str(raw))}; sleep 30",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    server.run("set-option", "-g", "set-clipboard", "on")
    server.run("set-option", "-g", "allow-passthrough", "off")
    # Printed again once the options are set (the first print may precede them).
    server.run("respawn-pane", "-k", "-t", "control", f"cat {shlex.quote(str(raw))}; sleep 30")
    server.wait(lambda: CLIPBOARD_PAYLOAD in server.buffers(), "a paste buffer", "control")
    server.wait(lambda: server.title("control") == TITLE_PAYLOAD, "the title", "control")


def test_hostile_answer_leaves_the_terminal_alone(server: Server, tmp_path: Path) -> None:
    with hostile_server() as base_url:
        (tmp_path / "config.toml").write_text(CONFIG.format(base_url=base_url))
        # pytest's COLUMNS/LINES would override the pane's real size for Rich and Textual.
        command = [
            "env", "-u", "COLUMNS", "-u", "LINES",
            *switchboard_command(),
            "--config", str(tmp_path / "config.toml"),
            "--db", str(tmp_path / "ledger.sqlite"),
        ]  # fmt: skip
        started = server.run(
            "new-session", "-d", "-s", "console", "-x", "120", "-y", "40",
            "-e", "TERM=xterm-256color", "-e", f"PYTHONPATH={REPO}",
            "-c", str(tmp_path), shlex.join(command),
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        server.run("set-option", "-g", "set-clipboard", "on")
        title = server.title("console")
        buffers = server.buffers()
        server.wait(lambda: "Ask anything" in server.screen("console"), "the prompt", "console")
        server.run("send-keys", "-t", "console", "-l", "/cloud tell me something")
        server.run("send-keys", "-t", "console", "Enter")
        server.wait(
            lambda: (
                "quit-link" in server.screen("console") and "CLOUD " in server.screen("console")
            ),
            "the hostile answer and its badge",
            "console",
        )
        # Repaints (the panels fold to one line and back) must not replay anything either.
        server.run("send-keys", "-t", "console", "F9")
        server.wait(lambda: "f9 panels" in server.screen("console"), "the summary", "console")
        server.run("send-keys", "-t", "console", "F9")
        server.wait(lambda: "f9 panels" not in server.screen("console"), "the panels", "console")
        screen = server.screen("console")
        assert "[@click=app.quit]quit-link[/]" in screen
        assert server.buffers() == buffers
        assert CLIPBOARD_PAYLOAD not in server.buffers()
        assert server.title("console") == title != TITLE_PAYLOAD
        server.run("send-keys", "-t", "console", "C-q")
        server.wait(
            lambda: server.run("has-session", "-t", "console").returncode != 0,
            "ctrl+q to end the console",
            "console",
        )
