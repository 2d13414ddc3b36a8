"""`switchboard ask --local` and model errors, through the real command in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def switchboard(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `python -m console.cli ARGS` (the console script's entry point) in `cwd`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(cwd / "data")}
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def config_with_model(tmp_path: Path, model: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[local]\nmodel = "{model}"\nn_threads = 2\ntemperature = 0.0\n')
    return config


def test_ask_local_json_end_to_end(tmp_path: Path, bundled_model_path: Path) -> None:
    config = config_with_model(tmp_path, bundled_model_path)
    done = switchboard(
        "--config", str(config), "ask", "What is the capital of France?", "--local",
        "--max-tokens", "12", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["tier"] == "local"
    assert result["model"] == "gemma-3-270m-q4_k_m.gguf"
    assert "Paris" in result["answer"]
    assert 1 <= result["usage"]["completion_tokens"] <= 12
    assert result["usage"]["prompt_tokens"] > 20
    timings = result["timings"]
    assert 0 < timings["ttft_s"] <= timings["total_s"]
    assert timings["gen_tps"] > 0 and timings["cpu_seconds"] > 0
    summary = done.stderr.strip().splitlines()[-1]
    assert "tokens" in summary and "tok/s" in summary and "first token" in summary


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        (b"plain text, not a model", "not a GGUF file"),
        (b"GGUF\x03\x00\x00\x00\x05\x00", "truncated GGUF file"),
    ],
)
def test_bad_model_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes | None, expected: str
) -> None:
    model = tmp_path / "model.gguf"
    if content is not None:
        model.write_bytes(content)
    done = switchboard(
        "--config", str(config_with_model(tmp_path, model)), "ask", "hi", "--local", cwd=tmp_path
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(model) in lines[0] and expected in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_ask_cloud_without_a_key_names_the_variable(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[cloud]\napi_key_env = "SWITCHBOARD_TEST_UNSET_KEY"\n')
    done = switchboard("--config", str(config), "ask", "hi", "--cloud", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "$SWITCHBOARD_TEST_UNSET_KEY" in lines[0]
    assert "api.openai.com" in lines[0] and "Traceback" not in done.stderr


def test_ask_cloud_on_the_demo_endpoint_is_recorded(tmp_path: Path) -> None:
    done = switchboard(
        "--db", str(tmp_path / "ledger.sqlite"), "--demo-cloud",
        "ask", "Name a fruit.", "--cloud", "--max-tokens", "8", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["tier"] == "cloud" and result["badge"] == "CLOUD"
    assert result["model"] == "demo endpoint (priced as gpt-4o-mini)"
    assert result["usage"]["completion_tokens"] >= 1
    assert result["cost_usd"] > 0 and result["fired"] == "override"
    ledger = switchboard("--db", str(tmp_path / "ledger.sqlite"), "ledger", "--json", cwd=tmp_path)
    assert ledger.returncode == 0, ledger.stderr
    report = json.loads(ledger.stdout)
    assert report["requests"] == 1
    by_tier = {row["tier"]: row for row in report["by_tier"]}
    assert by_tier["cloud"]["requests"] == 1
    assert by_tier["cloud"]["cost_usd"] == pytest.approx(result["cost_usd"])


def test_bench_threads_json_sweeps_every_logical_core(
    tmp_path: Path, bundled_model_path: Path
) -> None:
    config = config_with_model(tmp_path, bundled_model_path)
    done = switchboard(
        "--config", str(config), "bench", "threads", "--json", "--max-tokens", "4",
        "--repeats", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    sweep = json.loads(done.stdout)
    assert sweep["model"] == "gemma-3-270m-q4_k_m.gguf"
    counts = [r["n_threads"] for r in sweep["results"]]
    assert counts == list(range(1, sweep["logical_cores"] + 1))
    assert all(r["gen_tps"] > 0 and r["completion_tokens"] == 4 for r in sweep["results"])
    fastest = max(sweep["results"], key=lambda r: r["gen_tps"])
    assert sweep["best_n_threads"] == fastest["n_threads"]
