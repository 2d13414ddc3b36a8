"""`switchboard doctor`: each check on real files and endpoints, and the command end to end."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from console.doctor import check_database, check_key, check_local_engine, check_proxy, run_checks
from engines.cloud import CloudEngine
from engines.demo import free_port
from policies.config import Config

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-doctor-SECRET-0b1c2d3e"


def switchboard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from console.cli import main; main()", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


def test_database_check_accepts_sqlite_and_missing_files(tmp_path: Path) -> None:
    fresh = tmp_path / "deeper" / "ledger.sqlite"
    assert check_database(fresh).ok and "will be created" in check_database(fresh).detail
    existing = tmp_path / "ledger.sqlite"
    sqlite3.connect(existing).execute("create table t (x)").connection.close()
    assert check_database(existing).ok
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert check_database(empty).ok


def test_database_check_rejects_other_files_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my precious notes\n")
    check = check_database(notes)
    assert not check.ok and str(notes) in check.detail and "not an SQLite" in check.detail
    assert check.fix and notes.read_bytes() == b"my precious notes\n"
    directory = check_database(tmp_path)
    assert not directory.ok and "is a directory" in directory.detail
    blocked = check_database(notes / "ledger.sqlite")
    assert not blocked.ok and "cannot be created" in blocked.detail


def test_proxy_check_reports_the_route_without_credentials() -> None:
    config = Config.model_validate({"cloud": {"proxy": "http://me:pw@gw.corp:8080"}})
    check = check_proxy(config, config.cloud.base_url, {})
    assert check.ok and "via http://***@gw.corp:8080" in check.detail and "pw" not in check.detail
    env_check = check_proxy(Config(), "https://api.openai.com/v1", {"HTTPS_PROXY": "http://p:1"})
    assert env_check.detail.endswith("via http://p:1 (HTTPS_PROXY)")
    bad = check_proxy(Config.model_validate({"cloud": {"proxy": "maybe"}}), "https://x/v1", {})
    assert not bad.ok and bad.fix


def test_key_check_names_the_variable_never_the_value() -> None:
    config = Config.model_validate({"cloud": {"api_key_env": "DOCTOR_KEY"}})
    missing = check_key(CloudEngine(config.cloud, config.breaker, environ={}), None)
    assert not missing.ok and "$DOCTOR_KEY is not set" in missing.detail
    assert "export DOCTOR_KEY=" in missing.fix
    engine = CloudEngine(config.cloud, config.breaker, environ={"DOCTOR_KEY": SECRET})
    present = check_key(engine, None)
    assert present.ok and SECRET not in present.detail
    local = Config.model_validate({"cloud": {"base_url": "http://127.0.0.1:9/v1"}})
    assert check_key(CloudEngine(local.cloud, local.breaker, environ={}), None).ok


async def test_local_engine_check_fails_on_a_file_llama_cannot_load(tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + b"\x00" * 64)
    check = await check_local_engine(fake)
    assert not check.ok and "cannot load fake.gguf" in check.detail and check.fix
    skipped = await check_local_engine(None)
    assert not skipped.ok and "not tried" in skipped.detail


async def test_run_checks_reports_a_dead_endpoint_and_a_bad_model(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    config = Config.model_validate(
        {"local": {"model": str(tmp_path / "missing.gguf")}, "cloud": {"base_url": url}}
    )
    checks = {c.name: c for c in await run_checks(config, tmp_path / "l.sqlite", environ={})}
    assert list(checks) == [
        "model file",
        "local engine",
        "cloud endpoint",
        "API key",
        "proxy",
        "database",
        "ledger spool",
    ]
    assert not checks["model file"].ok and "missing.gguf" in checks["model file"].detail
    assert not checks["local engine"].ok
    cloud = checks["cloud endpoint"]
    assert not cloud.ok and f"cannot reach {url}" in cloud.detail and "base_url" in cloud.fix
    assert checks["API key"].ok and checks["proxy"].ok and checks["database"].ok


def test_doctor_command_with_the_demo_endpoint_passes(tmp_path: Path) -> None:
    result = switchboard(
        "--db", str(tmp_path / "ledger.sqlite"), "--demo-cloud", "doctor", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    cloud = next(c for c in report["checks"] if c["name"] == "cloud endpoint")
    assert cloud["detail"].startswith("demo endpoint: http://127.0.0.1:")


def test_doctor_command_table_shows_fixes_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[local]\nmodel = "{tmp_path / "nope.gguf"}"\n'
        f'[cloud]\nbase_url = "https://api.example.invalid/v1"\napi_key_env = "DOCTOR_KEY"\n'
    )
    not_sqlite = tmp_path / "ledger.sqlite"
    not_sqlite.write_text("hello")
    env = {"PATH": "/usr/bin:/bin", "DOCTOR_KEY": SECRET, "COLUMNS": "160"}
    result = switchboard("--config", str(config), "--db", str(not_sqlite), "doctor", env=env)
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "nope.gguf" in out and "fix: set [local] model" in out
    assert "is not an SQLite database" in out and "$DOCTOR_KEY is set (value not shown)" in out
    assert SECRET not in out + result.stderr


@pytest.mark.parametrize("bad", ["[cloud]\nproxy = 3\n", "[cloud]\nbase_url = 'ftp://x'\n"])
def test_doctor_with_a_broken_config_is_one_line_exit_2(tmp_path: Path, bad: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(bad)
    result = switchboard("--config", str(config), "doctor")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "config.toml:2" in result.stderr


def test_the_spool_check_counts_the_rows_waiting_for_the_ledger(tmp_path: Path) -> None:
    from console.doctor import check_spool
    from console.spool import Spool
    from tests.test_spool import make_record

    db = tmp_path / "ledger.sqlite"
    empty = check_spool(db)
    assert empty.ok and empty.detail.startswith("empty")
    spool = Spool(db, None)
    assert spool.record(make_record()) == "spool"
    assert spool.record(make_record()) == "spool"
    waiting = check_spool(db)
    assert waiting.ok and waiting.detail.startswith("2 row(s) waiting in ")
    assert "next command that records" in waiting.detail
