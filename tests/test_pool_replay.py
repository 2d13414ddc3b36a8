"""`switchboard replay FILE --concurrency N` with a pool of two servers, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pool_servers import FakeServers

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
[cloud]
base_url = "https://api.invalid.example/v1"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"

[local]
n_threads = 1

[pool]
max_tokens = 6

[[pool.servers]]
name = "a"
base_url = "{a}"
model = "m"
kind = "llama.cpp"
max_inflight = 2

[[pool.servers]]
name = "b"
base_url = "{b}"
model = "m"
kind = "llama.cpp"
max_inflight = 2
"""


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[FakeServers]:
    servers = FakeServers(tmp_path)
    try:
        yield servers
    finally:
        servers.close()


def test_replay_runs_conversations_at_once_within_each_servers_limit(
    fakes: FakeServers, tmp_path: Path
) -> None:
    a = fakes.start("a", slots=8, tokens=6, token_delay=0.05)
    b = fakes.start("b", slots=8, tokens=6, token_delay=0.05)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(a=a.base_url, b=b.base_url))
    prompts = tmp_path / "prompts.jsonl"
    lines = [{"prompt": f"/pool Say hello number {n}."} for n in range(10)]
    lines.append({"turns": ["/pool Name a colour.", "/pool And another one."]})
    prompts.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "ledger.sqlite"),
            "replay",
            str(prompts),
            "--concurrency",
            "6",
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["summary"]["prompts"] == 12
    assert report["summary"]["by_tier"] == {"pool": 12}
    # Six at once against two servers of two slots each: never more than two on either.
    assert a.stats()["peak"] <= 2 and b.stats()["peak"] <= 2
    assert a.stats()["requests"] + b.stats()["requests"] == 12
    assert a.stats()["requests"] > 0 and b.stats()["requests"] > 0
    # The two turns of the conversation went in order, the second with the first as history.
    bodies = a.bodies() + b.bodies()
    second = next(
        body
        for body in bodies
        if "And another one." in str(body["messages"][-1])  # type: ignore[index]
    )
    assert "Name a colour." in json.dumps(second["messages"])
