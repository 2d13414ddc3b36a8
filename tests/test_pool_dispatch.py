"""The pool through the dispatcher: real server processes, real Presidio, a real SQLite ledger.

The local engine is not started (no model load): the router sees it "not ready" and bursts to
the pool, which is what these tests exercise. The cloud has no key, so it is out of the chain.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from console.dispatch import Attempt, Done, FellBack, RequestResult, Token
from console.ledger_report import build_report, render_text
from console.runtime import Runtime
from policies.config import ConfigStore
from tests.pool_servers import FakeServer, FakeServers

PII_PROMPT = "Please write a short apology to Maria Gonzalez at maria.gonzalez@example.com."
PLAIN_PROMPT = "Say hello to the team."

CONFIG = """\
[cloud]
base_url = "https://api.invalid.example/v1"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"

[pii]
on_pii = "{on_pii}"

[pool]
strategy = "round_robin"
max_tokens = 4

[[pool.servers]]
name = "vault"
base_url = "{vault}"
model = "m"
kind = "llama.cpp"
trusted = true
cost_per_hour = 36.0

[[pool.servers]]
name = "lab"
base_url = "{lab}"
model = "m"
kind = "llama.cpp"
trusted = false
"""


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[FakeServers]:
    servers = FakeServers(tmp_path)
    try:
        yield servers
    finally:
        servers.close()


async def make_runtime(tmp_path: Path, vault: FakeServer, lab: FakeServer, on_pii: str) -> Runtime:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(on_pii=on_pii, vault=vault.base_url, lab=lab.base_url))
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.sqlite")
    await runtime.start(local=False, cloud=False)
    await asyncio.to_thread(runtime.scanner.load)
    return runtime


@pytest.fixture
async def runtimes() -> AsyncIterator[list[Runtime]]:
    made: list[Runtime] = []
    yield made
    for runtime in made:
        await runtime.aclose()


def ledger_rows(tmp_path: Path) -> list[tuple[str, str, str, int, float, str]]:
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        return db.execute(
            "SELECT request_id, tier, server, redacted, cost_usd, status FROM requests"
        ).fetchall()


async def run(runtime: Runtime, prompt: str) -> RequestResult:
    return await runtime.dispatcher.run(prompt)


async def test_untrusted_pool_servers_get_redacted_text_trusted_ones_the_real_text(
    fakes: FakeServers, runtimes: list[Runtime], tmp_path: Path
) -> None:
    vault, lab = fakes.start("vault"), fakes.start("lab")
    runtime = await make_runtime(tmp_path, vault, lab, "redact")
    runtimes.append(runtime)
    results = [await run(runtime, PII_PROMPT) for _ in range(4)]
    assert {result.tier for result in results} == {"pool"}
    assert {result.server for result in results} == {"vault", "lab"}
    seen_by_lab = lab.received_text()
    assert "Maria" not in seen_by_lab and "gonzalez" not in seen_by_lab.lower()
    assert "<PERSON_1>" in seen_by_lab
    assert "Maria Gonzalez" in vault.received_text()
    for result in results:
        # What the F7 screen shows as sent: the redacted text, for the untrusted server only.
        if result.server == "lab":
            assert result.sent_text is not None and "Maria" not in result.sent_text
            assert result.badge == "POOL lab·redacted"
        else:
            assert result.sent_text is None
            assert result.badge == "POOL vault"
    rows = ledger_rows(tmp_path)
    assert len(rows) == 4
    assert sorted(row[2] for row in rows) == ["lab", "lab", "vault", "vault"]
    by_server = {row[2]: row for row in rows}
    assert by_server["lab"][3] == 1 and by_server["vault"][3] == 0
    # The trusted server costs 36 USD an hour: its busy seconds are priced, the other's are free.
    assert by_server["vault"][4] > 0 and by_server["lab"][4] == 0
    assert runtime.ledger is not None
    report = build_report(runtime.ledger, runtime.config(), "all")
    assert [(s.server, s.requests) for s in report.by_server] == [("lab", 2), ("vault", 2)]
    assert report.by_server[1].cost_usd == pytest.approx(
        sum(r.cost.total_usd for r in results if r.server == "vault" and r.cost)
    )
    assert "pool vault: 2 request(s)" in render_text(report)


async def test_with_on_pii_local_personal_data_reaches_the_trusted_server_only(
    fakes: FakeServers, runtimes: list[Runtime], tmp_path: Path
) -> None:
    vault, lab = fakes.start("vault"), fakes.start("lab")
    runtime = await make_runtime(tmp_path, vault, lab, "local")
    runtimes.append(runtime)
    private = await asyncio.gather(*(run(runtime, PII_PROMPT) for _ in range(4)))
    assert {result.server for result in private} == {"vault"}
    assert lab.bodies() == []
    decision = private[0].decision
    assert decision.chain == ("pool", "local")
    assert next(r for r in decision.rules if r.name == "pool").value == "vault"
    public = [await run(runtime, PLAIN_PROMPT) for _ in range(4)]
    assert {result.server for result in public} == {"vault", "lab"}
    assert len(ledger_rows(tmp_path)) == 8


async def test_a_server_killed_mid_stream_fails_clearly_with_one_ledger_row(
    fakes: FakeServers, runtimes: list[Runtime], tmp_path: Path
) -> None:
    vault = fakes.start("vault", tokens=40, token_delay=0.05)
    lab = fakes.start("lab", tokens=40, token_delay=0.05)
    runtime = await make_runtime(tmp_path, vault, lab, "local")
    runtimes.append(runtime)
    events = []
    killed = ""
    async for event in runtime.dispatcher.ask(PLAIN_PROMPT, max_tokens=40):
        events.append(event)
        if isinstance(event, Token) and not killed:
            killed = next(s.name for s in runtime.pool_status().servers if s.inflight)
            victim = vault if killed == "vault" else lab
            assert victim.process is not None
            os.kill(victim.process.pid, signal.SIGKILL)
    done = events[-1]
    assert isinstance(done, Done)
    result = done.result
    assert next(e.tier for e in events if isinstance(e, Attempt)) == "pool"
    # No retry on another pool server after the first token; the chain's next tier (the
    # local engine, not started here) fails too, and the request fails clearly.
    assert any(isinstance(e, FellBack) and e.from_tier == "pool" for e in events)
    assert result.status == "failed"
    assert result.error
    survivor = lab if killed == "vault" else vault
    assert survivor.bodies() == []
    rows = ledger_rows(tmp_path)
    assert len(rows) == 1 and rows[0][0] == result.request_id and rows[0][5] == "failed"
