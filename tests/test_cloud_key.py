"""An API key with a line break or a non-ASCII character is never printed, anywhere.

Real `switchboard` subprocesses (`ask --cloud`, `doctor --json`) with the key in their
environment; the engine itself against a real loopback endpoint that records what it received.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engines.base import ConfigurationProblem, GenerationRequest, Message
from engines.cloud import CloudEngine, api_key_problem
from policies.config import BreakerConfig, CloudConfig
from tests.faultproxy import Fault, FaultProxy

REPO = Path(__file__).resolve().parent.parent
SECRET = "sk-Zq8SECRETVALUE"
BAD_KEYS = {
    "newline": (f"{SECRET}\n{SECRET}2", "a line break"),
    "non_ascii": (f"{SECRET}é", "a non-ASCII character"),
    "inner_space": (f"{SECRET} x", "a space or control character"),
}


def run_cli(tmp_path: Path, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    # An endpoint that cannot be reached: nothing may be sent with a key that cannot be sent.
    config.write_text(
        '[cloud]\nbase_url = "https://api.example.invalid/v1"\nproxy = "none"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "OPENAI_API_KEY": key}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from console.cli import main; main()",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "ledger.db"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("kind", ["newline", "non_ascii"])
def test_ask_cloud_names_the_variable_and_never_the_key(tmp_path: Path, kind: str) -> None:
    key, what = BAD_KEYS[kind]
    result = run_cli(tmp_path, key, "ask", "--cloud", "What is DNS?")
    output = result.stdout + result.stderr
    assert SECRET not in output
    assert "Traceback" not in output
    assert result.returncode in (1, 2)
    assert f"the key in $OPENAI_API_KEY contains {what}; re-export it" in result.stderr


def test_doctor_json_says_what_is_wrong_without_the_key(tmp_path: Path) -> None:
    key, what = BAD_KEYS["newline"]
    result = run_cli(tmp_path, key, "doctor", "--json")
    assert SECRET not in result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["API key"]["ok"] is False
    assert what in checks["API key"]["detail"]


@pytest.mark.parametrize("kind", sorted(BAD_KEYS))
async def test_the_engine_refuses_before_sending_and_the_panel_text_is_clean(
    kind: str,
) -> None:
    key, what = BAD_KEYS[kind]
    endpoint = await FaultProxy(default=Fault(kind="status", status=500)).start()
    try:
        engine = CloudEngine(
            CloudConfig(base_url=endpoint.base_url, api_key_env="SB_KEY", proxy="none"),
            BreakerConfig(),
            environ={"SB_KEY": key},
        )
        assert engine.unusable_reason is not None and what in engine.unusable_reason
        request = GenerationRequest((Message("user", "hi"),), max_tokens=4, temperature=0.0)
        with pytest.raises(ConfigurationProblem) as caught:
            async for _ in engine.stream(request):
                pass
        probe = await engine.probe()
        await engine.aclose()
        shown = " ".join(
            [str(caught.value), caught.value.fix, probe.detail, repr(engine), str(engine.health())]
        )
        assert SECRET not in shown
        assert endpoint.seen == []  # nothing was sent, not even the probe
        assert engine.health().state == "closed"  # the endpoint is not to blame
    finally:
        await endpoint.stop()


def test_good_keys_pass() -> None:
    assert api_key_problem("sk-proj-abc_DEF-123", "K") is None
