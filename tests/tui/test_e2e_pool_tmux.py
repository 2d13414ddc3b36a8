"""End to end: the real `switchboard` command in a tmux session we create, with a pool of two
real loopback servers (tests/fake_pool_server.py, killed by pid).

The pool panel is read back from the screen with `tmux capture-pane` (polled with a deadline,
never fixed sleeps): both servers up, then one killed and shown down, then a `/pool` prompt
answered with the surviving server's badge. Only the tmux session created here is killed.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pool_servers import FakeServers
from tests.tui.test_e2e_tmux import REPO, Tmux, switchboard_command

CONFIG = """\
[local]
max_tokens = 8
n_threads = 1

[cloud]
base_url = "https://api.invalid.example/v1"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"

[pool]
max_tokens = 4
poll_interval_s = 0.3
health_timeout_s = 1.0

[[pool.servers]]
name = "vault"
base_url = "{vault}"
model = "m"
kind = "llama.cpp"
trusted = true

[[pool.servers]]
name = "lab"
base_url = "{lab}"
model = "m"
kind = "llama.cpp"
trusted = false
"""


def server_line(screen: str, name: str) -> str:
    """The pool panel's first line of server `name`, inside the panel's border ("" when not on
    screen)."""
    line = next((line for line in screen.splitlines() if f"● {name} " in line), "")
    return line.rsplit("│", 2)[-2].strip() if line.count("│") >= 2 else line.strip()


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[FakeServers]:
    servers = FakeServers(tmp_path)
    try:
        yield servers
    finally:
        servers.close()


def test_the_pool_panel_on_a_real_terminal(fakes: FakeServers, tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for the end-to-end console test")
    vault, lab = fakes.start("vault"), fakes.start("lab")
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(vault=vault.base_url, lab=lab.base_url))
    command = [
        *switchboard_command(),
        "--config", str(config), "--db", str(tmp_path / "ledger.sqlite"),
    ]  # fmt: skip
    session = Tmux(f"switchboard-pool-test-{vault.port}-{lab.port}")
    # Under pytest COLUMNS=80 and LINES=24 are set, and the console would believe them over the
    # window: the panels need the wide layout.
    started = session.run(
        "new-session", "-d", "-s", session.name, "-x", "160", "-y", "48",
        "-e", "TERM=xterm-256color", "-e", f"PYTHONPATH={REPO}",
        "-e", "COLUMNS=160", "-e", "LINES=48",
        "-c", str(tmp_path), shlex.join(command),
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        screen = session.wait(
            lambda s: (
                server_line(s, "vault").endswith("up") and server_line(s, "lab").endswith("up")
            ),
            "both servers up in the pool panel",
        )
        assert "pool 2/2 up" in screen

        lab.kill()
        screen = session.wait(
            lambda s: server_line(s, "lab").endswith(("down", "breaker open")),
            "the killed server shown down",
        )
        assert server_line(screen, "vault").endswith("up")
        assert "pool 1/2 up" in screen

        session.keys("/pool Say hello to the team.", literal=True)
        session.keys("Enter")
        screen = session.wait(lambda s: "POOL vault" in s, "the POOL vault badge")
        assert "POOL lab" not in screen
    except BaseException:
        print(session.screen())
        raise
    finally:
        if session.alive():
            session.run("kill-session", "-t", session.name)
