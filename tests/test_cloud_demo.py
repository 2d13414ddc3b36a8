"""The --demo-cloud server supervisor: start, stop by pid, clear failures, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from engines.demo import DemoServer, DemoServerError
from engines.model import resolve_model

REPO = Path(__file__).resolve().parent.parent

CHILD = """
import sys
from pathlib import Path
from engines.demo import DemoServer
server = DemoServer(Path(sys.argv[1]))
server.start_blocking()
print(server.pid, flush=True)
sys.stdin.read()
"""


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pid: int, within_s: float = 15.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.1)
    return False


def test_a_missing_model_file_is_named() -> None:
    with pytest.raises(DemoServerError, match=r"nowhere\.gguf does not exist"):
        DemoServer(Path("/nowhere.gguf")).start_blocking()


def test_a_server_that_exits_is_reported_with_its_last_words(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a model at all")
    server = DemoServer(bogus, startup_timeout_s=60)
    with pytest.raises(DemoServerError, match=r"llama_cpp.server exited with code \d+: \S"):
        server.start_blocking()
    assert server.pid is None and not server.running


def test_serves_then_stops_by_pid_and_never_outlives_a_killed_parent() -> None:
    model = resolve_model("bundled").path
    # The parent is a separate Python process that starts the demo server, then is killed -9.
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(model)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        server_pid = int(parent.stdout.readline())
        assert psutil.Process(server_pid).ppid() == parent.pid
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert wait_gone(server_pid), "the demo server outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()

    with DemoServer(model) as server:
        pid = server.pid
        assert pid is not None and server.running
        answer = httpx.get(f"{server.base_url}/models", timeout=5.0)
        assert answer.status_code == 200
    assert wait_gone(pid) and server.pid is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.base_url}/models", timeout=2.0)
