"""`switchboard serve` in a real headless Chromium (Debian's chromium + chromium-driver, selenium).

The console runs in the browser through textual-serve: a prompt typed into the page is answered
by the demo cloud endpoint, and its badge is drawn. xterm.js draws on a canvas, so the test
reads what the console sent to the page: a script injected before the page's own wraps the
WebSocket and keeps the terminal output, which is decoded and stripped of escape codes.
Screenshots go to test-artifacts/ (or $SWITCHBOARD_ARTIFACTS). The same browser then opens the
HTML report of that ledger and must log no console error.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("SWITCHBOARD_ARTIFACTS", ROOT / "test-artifacts"))
#: Keeps the terminal output the console sends to the page (xterm.js draws it on a canvas).
CAPTURE_JS = """
window.__sbText = "";
(() => {
  const Native = window.WebSocket;
  const decoder = new TextDecoder();
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") {
          window.__sbText += decoder.decode(new Uint8Array(event.data), {stream: true});
        }
      });
    }
  };
})();
"""
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until(predicate: Any, timeout: float, what: str, step: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Debian's chromium and chromedriver, installed with apt-get when missing."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env, timeout=900)
        subprocess.run(
            ["apt-get", "install", "-y", "chromium", "chromium-driver"],
            check=True,
            env=env,
            timeout=1800,
        )
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert browser and driver, "apt-get did not install chromium and chromedriver"
    return browser, driver


@pytest.fixture
def browser(chromium: tuple[str, str]) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager must not try to download a driver: Debian's is given.
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium[0]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1500,1000",
        "--disable-gpu",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromium[1]))
    try:
        yield driver
    finally:
        driver.quit()


def _switchboard(tmp_path: Path, *args: str, **popen: Any) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    env.pop("OPENAI_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "console.cli", "--config", str(tmp_path / "config.toml"), *args],
        cwd=tmp_path,
        env=env,
        text=True,
        **popen,
    )


def _stop_group(process: subprocess.Popen[str]) -> None:
    """Stop the server and the consoles it started (their own process group, by its id)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # The consoles textual-serve started belong to the same group; make sure none is left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def test_console_in_the_browser_and_the_report(
    tmp_path: Path, browser: Any, bundled_model_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    (tmp_path / "config.toml").write_text(
        f'[local]\nmodel = "{bundled_model_path}"\nn_threads = 1\n'
        "[cloud]\nmax_tokens = 12\ntemperature = 0.0\n"
    )
    db = tmp_path / "ledger.sqlite"
    port = _free_port()
    server = _switchboard(
        tmp_path,
        "--db",
        str(db),
        "--demo-cloud",
        "serve",
        "--port",
        str(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:

        def listening() -> bool:
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        _wait_until(lambda: listening() or server.poll() is not None, 60, "the server")
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE_JS})
        browser.get(f"http://127.0.0.1:{port}/")

        def screen() -> str:
            raw = browser.execute_script("return window.__sbText || ''")
            return _ESCAPES.sub("", str(raw))

        # The footer is drawn once the console is up; its prompt input has focus from the start,
        # and xterm.js takes keys through its helper textarea.
        _wait_until(lambda: "Quit" in screen(), 120, "the console in the page")
        keys = browser.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        typed_at = len(screen())
        keys.send_keys("/cloud What is the capital of France?")
        keys.send_keys(Keys.ENTER)
        # The badge (" CLOUD ", upper case: the panels say "Cloud") is drawn when the answer ends.
        _wait_until(lambda: "CLOUD" in screen()[typed_at:], 240, "the answer's badge")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "serve_console.png"))
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as ledger:
            rows = ledger.execute("SELECT tier, fired_rule, status FROM requests").fetchall()
        assert rows == [("cloud", "override", "ok")]
    finally:
        _stop_group(server)

    report = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--db", str(db), "report", "--html", str(report)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    browser.get_log("browser")  # drop the console page's messages
    for scheme in ("light", "dark"):
        browser.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )
        browser.get(report.as_uri())
        assert browser.title.startswith("Switchboard report")
        heading = browser.find_element(By.TAG_NAME, "h1").text
        assert heading == "Switchboard report"
        background = browser.execute_script(
            "return getComputedStyle(document.body).backgroundColor"
        )
        assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(20, 24, 28)")
        svg_count = browser.execute_script("return document.querySelectorAll('svg').length")
        assert svg_count >= 5
        browser.save_screenshot(str(ARTIFACTS / f"report_{scheme}.png"))
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_serve_refuses_a_busy_port_and_warns_off_loopback(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = _switchboard(
            tmp_path, "serve", "--port", str(port), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _, err = busy.communicate(timeout=60)
    assert busy.returncode == 2
    assert err.strip().count("\n") == 0 and f"port {port}" in err and "busy" in err
    # 127.0.0.2 is this machine's loopback too, but not the default: an explicit --host warns.
    other = _switchboard(
        tmp_path,
        "serve",
        "--host",
        "127.0.0.2",
        "--port",
        str(_free_port()),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert other.stderr is not None
        warning = other.stderr.readline()
        assert "without authentication" in warning and "127.0.0.2" in warning
    finally:
        _stop_group(other)
