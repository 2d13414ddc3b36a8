"""The CLI keeps the ledger's promise (one row per request, always) and fails in one clear line.

Every test runs the real `switchboard` entry point in a subprocess: a real lock held by a
second process, real SIGTERM/SIGHUP/SIGKILL sent to a real `ask` mid-stream, real files with
bad bytes, a real ledger damaged on disk.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from console.ledger import Ledger
from console.spool import Spool
from engines.demo import free_port

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 120.0
PII_PROMPT = "Please write a short apology to Maria Gonzalez at maria.gonzalez@example.com."


def _env(cwd: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(cwd / "data")}


def switchboard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the console script's entry point with ARGS in `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=_env(cwd),
        timeout=DEADLINE_S,
    )


def _local_config(tmp_path: Path, model: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[local]\nmodel = "{model}"\nn_threads = 1\ntemperature = 0.0\n'
        f'[cloud]\nbase_url = "http://127.0.0.1:{free_port()}/v1"\nmax_retries = 0\n'
    )
    return config


def _rows(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT request_id, tier, status, tokens_out, usage_estimated FROM requests"
        ).fetchall()
    finally:
        conn.close()


def _one_clear_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("prompt", ["", "   \n\t", "/local", "/cloud   "])
def test_prompts_with_nothing_to_answer_are_refused_and_not_recorded(
    tmp_path: Path, prompt: str
) -> None:
    db = tmp_path / "ledger.sqlite"
    done = switchboard("--db", str(db), "ask", prompt, cwd=tmp_path)
    line = _one_clear_line(done, 2)
    assert "empty" in line and "not sent, not billed" in line
    assert done.stdout == ""
    assert not db.exists()


def test_replay_names_the_line_with_bad_bytes_or_a_lone_surrogate(tmp_path: Path) -> None:
    bad_bytes = tmp_path / "bytes.jsonl"
    bad_bytes.write_bytes(b'{"prompt": "fine"}\n{"prompt": "caf\xe9"}\n')
    line = _one_clear_line(switchboard("replay", str(bad_bytes), cwd=tmp_path), 2)
    assert f"{bad_bytes}:2: not valid UTF-8" in line
    surrogate = tmp_path / "surrogate.jsonl"
    surrogate.write_text('\n{"prompt": "hi \\ud800 there"}\n', encoding="utf-8")
    line = _one_clear_line(switchboard("replay", str(surrogate), cwd=tmp_path), 2)
    assert f"{surrogate}:2:" in line and "lone surrogate" in line
    blank = tmp_path / "blank.jsonl"
    blank.write_text('{"prompt": "/cloud"}\n', encoding="utf-8")
    line = _one_clear_line(switchboard("replay", str(blank), cwd=tmp_path), 2)
    assert f"{blank}:1:" in line and "empty" in line


def _ledger_with_rows(db: Path, count: int) -> None:
    from tests.test_spool import make_record

    with Ledger.open(db) as ledger:
        ledger.insert(make_record() for _ in range(count))


def test_ledger_after_an_outside_schema_change_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    _ledger_with_rows(db, 3)
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE hourly_totals RENAME COLUMN cost_usd TO spent")
    conn.commit()
    conn.close()
    line = _one_clear_line(switchboard("--db", str(db), "ledger", "--json", cwd=tmp_path), 2)
    assert str(db) in line and "cost_usd" in line


def test_whatif_on_a_corrupted_page_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    _ledger_with_rows(db, 400)
    size = db.stat().st_size
    with db.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5" * 4096)
    done = switchboard(
        "--db", str(db), "whatif", "--set", "router.max_local_cpu=10", "--json", cwd=tmp_path
    )
    line = _one_clear_line(done, 2)
    assert str(db) in line and "corrupt" in line


def test_finite_json_never_emits_infinity() -> None:
    from console.cli import finite

    data = {"a": float("inf"), "b": [1.0, float("nan"), {"c": -float("inf")}], "d": "x"}
    text = json.dumps(finite(data), allow_nan=False)
    assert json.loads(text) == {"a": None, "b": [1.0, None, {"c": None}], "d": "x"}


def test_demo_cloud_route_decides_like_the_console_without_a_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[cloud]\napi_key_env = "SWITCHBOARD_TEST_UNSET_KEY"\n')
    db = tmp_path / "ledger.sqlite"
    args = ("--config", str(config), "--db", str(db))
    prompt = (
        "Analyse step by step, compare and evaluate the trade-offs of three caching strategies."
    )
    plain = switchboard(*args, "route", prompt, "--json", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["signals"]["cloud_available"] is False
    demo = switchboard(*args, "--demo-cloud", "route", prompt, "--json", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    decision = json.loads(demo.stdout)
    assert decision["signals"]["cloud_available"] is True
    assert decision["signals"]["cloud_unavailable_reason"] == ""
    assert decision["target"] == "cloud", decision["fired"]
    assert not db.exists()


def test_ask_cloud_on_a_private_prompt_names_the_privacy_rule(
    tmp_path: Path, bundled_model_path: Path
) -> None:
    config = _local_config(tmp_path, bundled_model_path)
    db = tmp_path / "ledger.sqlite"
    done = switchboard(
        "--config", str(config), "--db", str(db), "ask", PII_PROMPT, "--cloud", cwd=tmp_path
    )
    line = _one_clear_line(done, 1)
    assert "rule privacy keeps this prompt local, over --cloud" in line
    assert "PERSON" in line or "EMAIL_ADDRESS" in line
    assert [row[2] for row in _rows(db)] == ["failed"]


@pytest.fixture
def write_lock(tmp_path: Path) -> subprocess.Popen[str]:
    db = tmp_path / "ledger.sqlite"
    Ledger.open(db).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "conn.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(600)\n",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    yield holder  # type: ignore[misc]
    holder.kill()
    holder.wait(DEADLINE_S)


def test_ask_with_the_ledger_locked_says_so_and_the_next_ask_writes_the_row_once(
    tmp_path: Path, bundled_model_path: Path, write_lock: subprocess.Popen[str]
) -> None:
    config = _local_config(tmp_path, bundled_model_path)
    db = tmp_path / "ledger.sqlite"
    args = ("--config", str(config), "--db", str(db), "ask", "--local", "--max-tokens", "4")
    first = switchboard(*args, "Say hello.", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["recorded"] == "spool"
    assert "kept in the spool" in first.stderr and "not lost" in first.stderr
    write_lock.kill()
    write_lock.wait(DEADLINE_S)
    second = switchboard(*args, "Say goodbye.", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "1 spooled row(s) written to the ledger" in second.stderr
    assert "already recorded" not in second.stderr
    rows = _rows(db)
    assert len(rows) == 2 and len({row[0] for row in rows}) == 2
    assert Spool(db, None).pending() == 0


def _start_streaming_ask(tmp_path: Path, model: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """An `ask --local` that is streaming its answer when this returns."""
    config = _local_config(tmp_path, model)
    db = tmp_path / "ledger.sqlite"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "console.cli", "--config", str(config), "--db", str(db),
            "ask", "--local", "--max-tokens", "400",
            "Count from 1 to 500, separated by commas.",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=_env(tmp_path),
    )  # fmt: skip
    assert process.stdout is not None
    streamed = b""
    deadline = time.monotonic() + DEADLINE_S
    while len(streamed) < 8:
        assert time.monotonic() < deadline, "no answer streamed"
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(process.stdout.fileno(), 64)
            assert chunk, process.stderr.read() if process.stderr else ""
            streamed += chunk
    return process, db


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_ask_records_the_request_as_interrupted(
    tmp_path: Path, bundled_model_path: Path, signum: signal.Signals
) -> None:
    process, db = _start_streaming_ask(tmp_path, bundled_model_path)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 128 + signum, stderr
    assert f"stopped by {signum.name}" in stderr.decode()
    rows = _rows(db)
    assert len(rows) == 1, rows
    _, tier, status, tokens_out, estimated = rows[0]
    assert (tier, status, estimated) == ("local", "interrupted", 1)
    assert isinstance(tokens_out, int) and tokens_out > 0


def test_kill_9_of_ask_mid_stream_leaves_a_row_the_next_process_records(
    tmp_path: Path, bundled_model_path: Path
) -> None:
    process, db = _start_streaming_ask(tmp_path, bundled_model_path)
    children = psutil.Process(process.pid).children(recursive=True)
    process.kill()
    process.wait(DEADLINE_S)
    _, alive = psutil.wait_procs(children, timeout=30)
    for child in alive:  # the worker must notice its parent is gone; never leave it behind
        child.kill()
    assert not alive, "the llama.cpp worker outlived a killed ask"
    assert _rows(db) == []
    ledger = Ledger.open(db)
    try:
        done = Spool(db, ledger).replay()
        assert (done.inserted, done.interrupted, done.ignored) == (1, 1, 0)
        rows = _rows(db)
        assert [row[1:3] for row in rows] == [("none", "interrupted")]
        assert Spool(db, ledger).replay().inserted == 0
    finally:
        ledger.close()
