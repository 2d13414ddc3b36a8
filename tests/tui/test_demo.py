"""`switchboard demo`: its script format, its errors (one line, exit 2), and a real run to the end
in a tmux pane with the demo cloud, where every path shows: local, cloud, cloud with
placeholders, a fallback after the local engine is killed, and a budget stop."""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.tui.demo import DemoStep, read_script
from policies.config import SetupError
from tests.tui.test_e2e_tmux import REPO, switchboard_command

DEADLINE_S = 300.0
EXAMPLES = REPO / "examples"


def test_the_shipped_script_reads(tmp_path: Path) -> None:
    steps = read_script(EXAMPLES / "demo_script.jsonl")
    assert sum(step.crash_local for step in steps) == 1
    assert sum(step.budget_stop for step in steps) == 1
    assert all(step.say for step in steps)
    (tmp_path / "one.jsonl").write_text('{"prompt": "hi", "say": "x", "crash_local": true}\n\n')
    assert read_script(tmp_path / "one.jsonl") == [DemoStep("hi", "x", crash_local=True)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "no steps"),
        ("{nope\n", ":1: not JSON"),
        ('{"prompt": "hi"}\n{"prompt": 3}\n', ":2: expected"),
        ('{"prompt": "hi", "crash_local": "yes"}\n', ":1: expected"),
    ],
)
def test_bad_scripts_name_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "script.jsonl"
    path.write_text(content)
    with pytest.raises(SetupError, match=message):
        read_script(path)


def test_a_bad_script_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "script.jsonl"
    path.write_text('{"prompt": 3}\n')
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "from console.cli import main; main()",
            "demo",
            "--script",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and f"{path}:1: expected" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.fixture
def tmux() -> Iterator[str]:
    socket = f"switchboard-demo-{uuid.uuid4().hex[:8]}"
    try:
        yield socket
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)


def test_demo_runs_to_the_end_showing_every_path(tmux: str, tmp_path: Path) -> None:
    def run(*args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", tmux, *args], capture_output=True, text=True, check=False
        ).stdout

    command = [
        "env", "-u", "COLUMNS", "-u", "LINES",
        *switchboard_command(), "--db", str(tmp_path / "ledger.sqlite"),
        "demo", "--demo-cloud", "--pace", "0",
    ]  # fmt: skip
    run(
        "new-session", "-d", "-s", "demo", "-x", "160", "-y", "60",
        "-e", "TERM=xterm-256color", "-e", f"PYTHONPATH={REPO}", "-c", str(tmp_path),
        shlex.join(command),
    )  # fmt: skip
    deadline = time.monotonic() + DEADLINE_S
    screen = ""
    while "Demo finished" not in screen:
        screen = run("capture-pane", "-p", "-t", "demo")
        if time.monotonic() > deadline:
            pytest.fail(f"the demo did not finish; screen:\n{screen}")
        time.sleep(0.2)  # poll interval, not a timing assumption
    assert "the demo 'cloud' is the same small model" in screen
    for badge in (" LOCAL ", " CLOUD ", " CLOUD·redacted ", " FALLBACK local→cloud "):
        assert badge in screen, badge
    assert "rule budget" in screen  # the budget stop kept a hard prompt local
    assert "local 3 (50%) · cloud 2 (33%) · cloud·redacted 1 (17%)" in screen, screen
    run("send-keys", "-t", "demo", "C-q")
    alive = ["tmux", "-L", tmux, "has-session", "-t", "demo"]
    while subprocess.run(alive, capture_output=True, check=False).returncode == 0:
        if time.monotonic() > deadline:
            pytest.fail("ctrl+q did not end the demo")
        time.sleep(0.1)
