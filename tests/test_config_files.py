"""Config files that are not config files: devices, FIFOs, huge files, a BOM, infinite numbers.

Each goes through the real `switchboard` entry point in a subprocess, with a deadline: one
clear line naming the file (and key and line where there is one), exit code 2, no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from policies.config import ConfigError, ConfigStore, load_config, parse_config

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", "from console.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in expected:
        assert part in lines[0]


def test_dev_zero_is_not_a_regular_file() -> None:
    result = run_cli("--config", "/dev/zero", "route", "hello")
    assert_one_line_exit_2(result, "/dev/zero", "not a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "config.fifo"
    os.mkfifo(fifo)
    result = run_cli("--config", str(fifo), "route", "hello", timeout=30.0)
    assert_one_line_exit_2(result, str(fifo), "not a regular file")


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * 200_000, encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_config(path)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[local]\nmodel = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin1\.toml:2: not UTF-8"):
        load_config(path)


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf[router]\nmax_queue_depth = 7\n")
    assert load_config(path).router.max_queue_depth == 7
    store = ConfigStore.open(path)
    store.set({"router.max_queue_depth": "3"})
    assert load_config(path).router.max_queue_depth == 3


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[budget]\ndaily_usd = inf\n", ":2: 'budget.daily_usd'"),
        ("[budget]\nwarn_fraction = 0.8\nmonthly_usd = 1e400\n", ":3: 'budget.monthly_usd'"),
        ("[cloud]\ntotal_timeout = nan\n", ":2: 'cloud.total_timeout'"),
        ("[local]\nstall_timeout_s = inf\n", ":2: 'local.stall_timeout_s'"),
        ('[prices."m"]\ninput_per_mtok = inf\noutput_per_mtok = 1\n', ":2: 'prices.m.input"),
    ],
)
def test_infinite_and_nan_numbers_are_refused_with_key_and_line(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.toml")
    assert str(caught.value).startswith("config.toml" + where)
    assert "finite" in str(caught.value)


def test_an_infinite_budget_through_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[budget]\ndaily_usd = 1e400\n", encoding="utf-8")
    result = run_cli("--config", str(path), "--db", str(tmp_path / "l.db"), "ledger", "--json")
    assert_one_line_exit_2(result, f"{path}:2: 'budget.daily_usd'", "finite")
