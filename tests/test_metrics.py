"""Prometheus metrics, scraped over HTTP from a running `switchboard replay` process.

The cloud tier is a small OpenAI-compatible server the test owns (tests/openai_stub.py) that
holds the last prompt: while it is held, every earlier request is recorded and the process is
still serving /metrics. The local tier is the real llama.cpp engine on the bundled model.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.openai_stub import COMPLETION_TOKENS, PROMPT_TOKENS, OpenAIStub

ROOT = Path(__file__).resolve().parent.parent
PII_PROMPT = "Please write to John Smith at john.smith@example.com about the outage."
PROMPTS = [
    "/cloud Say hello to the team.",
    "/cloud Name one colour.",
    PII_PROMPT,
    "/local Say hi.",
    "/cloud HOLD this one until the scrape is done.",
]
#: Stub prices (USD per million tokens) and so the cost of one cloud request.
INPUT_PER_MTOK, OUTPUT_PER_MTOK = 1.0, 2.0
CLOUD_REQUEST_USD = (PROMPT_TOKENS * INPUT_PER_MTOK + COMPLETION_TOKENS * OUTPUT_PER_MTOK) / 1e6

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def env_for(tmp_path: Path) -> dict[str, str]:
    """The subprocess environment: this worktree first, a stub key, a private data directory."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "OPENAI_API_KEY": "sk-test-stub-key",
    }


def write_config(tmp_path: Path, model: Path | None, stub: OpenAIStub, extra: str) -> Path:
    """A config with the stub as the cloud tier (priced) and `extra` TOML appended."""
    local = f'[local]\nmodel = "{model}"\nn_threads = 2\ntemperature = 0.0\n' if model else ""
    config = tmp_path / "config.toml"
    config.write_text(
        f"{local}"
        f'[cloud]\nbase_url = "{stub.base_url}"\nmodel = "stub-model"\n'
        f'[prices."stub-model"]\ninput_per_mtok = {INPUT_PER_MTOK}\n'
        f"output_per_mtok = {OUTPUT_PER_MTOK}\n{extra}"
    )
    return config


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, keyed by name and labels."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    """The sum of a metric over all its label sets."""
    return sum(v for (n, _), v in samples.items() if n == name)


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    server = OpenAIStub().start()
    try:
        yield server
    finally:
        server.stop()


def test_scrape_counts_exactly_the_requests_made(
    tmp_path: Path, bundled_model_path: Path, stub: OpenAIStub
) -> None:
    port = free_port()
    config = write_config(
        tmp_path, bundled_model_path, stub, f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
    )
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"prompt": p}) + "\n" for p in PROMPTS))
    db = tmp_path / "ledger.sqlite"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--config",
            str(config),
            "--db",
            str(db),
            "replay",
            str(prompts),
            "--max-tokens",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env_for(tmp_path),
    )
    try:
        assert stub.held.wait(timeout=240), "the held prompt never reached the stub"
        # The held request reached the stub, so the four before it were recorded.
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert response.status_code == 200
        body = response.text
        samples = parse(body)
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as ledger:
            rows = ledger.execute(
                "SELECT tier, fired_rule, status, tokens_in, tokens_out FROM requests"
            ).fetchall()
    finally:
        stub.release()
        _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err

    assert len(rows) == 4
    assert total(samples, "switchboard_requests_total") == 4
    assert (
        value(samples, "switchboard_requests_total", tier="cloud", rule="override", outcome="ok")
        == 2
    )
    assert (
        value(samples, "switchboard_requests_total", tier="local", rule="override", outcome="ok")
        == 1
    )
    assert (
        value(samples, "switchboard_requests_total", tier="local", rule="privacy", outcome="ok")
        == 1
    )
    # Tokens: the stub's fixed usage for the cloud; the ledger's own rows for the local engine.
    assert value(samples, "switchboard_input_tokens_total", tier="cloud") == 2 * PROMPT_TOKENS
    assert value(samples, "switchboard_output_tokens_total", tier="cloud") == 2 * COMPLETION_TOKENS
    local_in = sum(row[3] for row in rows if row[0] == "local")
    local_out = sum(row[4] for row in rows if row[0] == "local")
    assert local_in > 0 and local_out > 0
    assert value(samples, "switchboard_input_tokens_total", tier="local") == local_in
    assert value(samples, "switchboard_output_tokens_total", tier="local") == local_out
    assert value(samples, "switchboard_cost_usd_total", tier="cloud") == pytest.approx(
        2 * CLOUD_REQUEST_USD
    )
    # What the two local requests would have cost on the (stub-priced) cloud model.
    local_cloud_only = (local_in * INPUT_PER_MTOK + local_out * OUTPUT_PER_MTOK) / 1e6
    assert value(samples, "switchboard_cloud_only_cost_usd_total", tier="local") == pytest.approx(
        local_cloud_only
    )
    assert value(samples, "switchboard_pii_detections_total", type="PERSON") == 1
    assert value(samples, "switchboard_pii_detections_total", type="EMAIL_ADDRESS") == 1
    assert value(samples, "switchboard_pii_entities_total") >= 2
    assert value(samples, "switchboard_time_to_first_token_seconds_count", tier="cloud") == 2
    assert value(samples, "switchboard_time_to_first_token_seconds_count", tier="local") == 2
    assert value(samples, "switchboard_request_duration_seconds_count", tier="cloud") == 2
    assert total(samples, "switchboard_fallbacks_total") == 0
    assert value(samples, "switchboard_breaker_state", server="cloud", state="closed") == 1
    assert value(samples, "switchboard_breaker_state", server="cloud", state="open") == 0
    assert value(samples, "switchboard_local_engine_ready") == 1
    assert value(samples, "switchboard_local_queue_depth") == 0
    assert value(samples, "switchboard_local_tokens_per_second") > 0
    assert value(samples, "switchboard_process_resident_memory_bytes", process="console") > 0
    assert value(samples, "switchboard_process_resident_memory_bytes", process="local_engine") > 0
    assert value(samples, "switchboard_process_cpu_seconds_total", process="local_engine") > 0
    # No prompt text, PII or request ids in any label or help text.
    for secret in ("John", "Smith", "john.smith", "HOLD", "colour", "sk-test"):
        assert secret not in body
    assert all(row[2] == "ok" for row in rows)


def test_busy_metrics_port_is_one_warning_line_and_the_prompt_still_runs(
    tmp_path: Path, stub: OpenAIStub
) -> None:
    """The console usually holds the port while `ask` runs beside it: `ask` must still work."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, None, stub, f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "console.cli",
                "--config",
                str(config),
                "--db",
                str(tmp_path / "ledger.sqlite"),
                "ask",
                "hello",
                "--cloud",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=env_for(tmp_path),
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello from the stub."
    warnings = [line for line in done.stderr.splitlines() if "metrics" in line]
    assert len(warnings) == 1, done.stderr
    assert f'metrics.listen = "127.0.0.1:{port}"' in warnings[0]
    assert "busy" in warnings[0] and "no metrics from this process" in warnings[0]
    assert "Traceback" not in done.stderr
    assert len(stub.bodies) == 1
    with sqlite3.connect(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 1


def test_invalid_metrics_listen_names_the_key_and_line(tmp_path: Path, stub: OpenAIStub) -> None:
    config = write_config(tmp_path, None, stub, '[metrics]\nlisten = "9464"\n')
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", str(config), "ask", "hi", "--cloud"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env_for(tmp_path),
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line_no = config.read_text().splitlines().index('listen = "9464"') + 1
    assert f"config.toml:{line_no}" in lines[0] and "metrics.listen" in lines[0]
    assert "HOST:PORT" in lines[0]


def test_fallbacks_failures_and_unpriced_are_counted(tmp_path: Path) -> None:
    """Results the e2e run does not produce, counted by a real registry and its text format."""
    import dataclasses

    from prometheus_client import generate_latest

    from console.dispatch import RequestResult, Timings
    from console.metrics import Metrics
    from console.runtime import Runtime
    from engines.base import Usage
    from policies.config import ConfigStore
    from policies.features import extract_features
    from policies.prices import CostBreakdown
    from policies.router import Signals, decide

    runtime = Runtime(ConfigStore.open(None), db_path=tmp_path / "ledger.sqlite")
    metrics = Metrics(runtime)
    decision = decide(extract_features("Explain the outage."), Signals(), runtime.config())
    fell_back = RequestResult(
        request_id="r1",
        prompt="Explain the outage.",
        answer="...",
        decision=decision,
        tier="local",
        fallback_path=("cloud", "local"),
        status="fallback",
        error=None,
        error_class=None,
        fix=None,
        usage=Usage(prompt_tokens=30, completion_tokens=5),
        ttft_s=0.3,
        latency_s=1.5,
        gen_tps=20.0,
        cost=CostBreakdown("local", True, 30, 5, cpu_usd=0.0001),
        counterfactual_usd=0.0004,
        timings=Timings(1.0, 0.1, 0.0, 300.0, 1000.0),
        sent_text=None,
        model="gemma",
        pii_types=(),
        redacted=False,
    )
    failed = dataclasses.replace(
        fell_back,
        request_id="r2",
        tier="none",
        fallback_path=("local", "cloud"),
        status="failed",
        usage=None,
        cost=None,
        counterfactual_usd=None,
        ttft_s=None,
        error_class="BreakerOpen",
    )
    unpriced = dataclasses.replace(
        fell_back,
        request_id="r3",
        tier="cloud",
        fallback_path=("cloud",),
        status="ok",
        cost=CostBreakdown("cloud", False, 30, 5),
        counterfactual_usd=None,
    )
    for result in (fell_back, failed, unpriced):
        metrics.on_result(result)
    samples = parse(generate_latest(metrics.registry).decode())
    assert runtime.ledger is not None
    runtime.ledger.close()
    rule = decision.fired
    assert (
        value(samples, "switchboard_requests_total", tier="local", rule=rule, outcome="fallback")
        == 1
    )
    assert (
        value(samples, "switchboard_requests_total", tier="none", rule=rule, outcome="failed") == 1
    )
    assert value(samples, "switchboard_fallbacks_total", from_tier="cloud", to_tier="local") == 1
    assert value(samples, "switchboard_fallbacks_total", from_tier="local", to_tier="cloud") == 1
    assert value(samples, "switchboard_unpriced_requests_total", tier="cloud") == 1
    assert value(samples, "switchboard_cost_usd_total", tier="cloud") == 0
    assert value(samples, "switchboard_cost_usd_total", tier="local") == pytest.approx(0.0001)
    assert value(samples, "switchboard_cloud_only_cost_usd_total", tier="local") == pytest.approx(
        0.0004
    )
    assert value(samples, "switchboard_input_tokens_total", tier="local") == 30
    assert value(samples, "switchboard_time_to_first_token_seconds_count", tier="none") == 0
    assert value(samples, "switchboard_request_duration_seconds_count", tier="none") == 1
