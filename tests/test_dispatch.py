"""The dispatcher with every real part: llama.cpp worker, loopback OpenAI server, Presidio, SQLite.

What is checked is the dispatcher's promises: PII never leaves unredacted, a prompt that privacy
keeps local never reaches the cloud even with the engine dead, a failing tier falls back along
the chain, and every request is written to the ledger exactly once whatever happened.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.dispatch import (
    Attempt,
    Conversation,
    DispatchEvent,
    Done,
    FellBack,
    RequestResult,
    Routed,
    Scanned,
    Token,
    Waiting,
)
from console.runtime import Runtime
from engines.demo import DemoServer, free_port
from policies.config import ConfigStore

CONFIG = """\
# test config
[local]
max_tokens = 24
temperature = 0.0
n_threads = 1

[cloud]
base_url = "{base_url}"
model = "gpt-4o-mini"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"
max_retries = 0
connect_timeout = 2.0
max_tokens = 24
temperature = 0.0

[breaker]
failure_threshold = 50

[pii]
on_pii = "{on_pii}"

[router]
max_local_cpu = 100.0
max_queue_depth = 10
"""

PII_PROMPT = "Please write a short apology to Maria Gonzalez at maria.gonzalez@example.com."


async def _runtime(tmp_path: Path, base_url: str, on_pii: str = "local") -> Runtime:
    config_path = tmp_path / "config.toml"
    config_path.write_text(CONFIG.format(base_url=base_url, on_pii=on_pii))
    runtime = Runtime(ConfigStore.open(config_path), db_path=tmp_path / "ledger.sqlite")
    await runtime.start()
    await runtime.wait_local_ready(60)
    await asyncio.to_thread(runtime.scanner.load)
    await runtime.wait_cloud_ready()
    assert runtime.local.state == "ready", runtime.local.last_error
    return runtime


@pytest.fixture
async def runtime(tmp_path: Path, openai_server: DemoServer) -> AsyncIterator[Runtime]:
    rt = await _runtime(tmp_path, openai_server.base_url)
    yield rt
    await rt.aclose()


async def _collect(
    runtime: Runtime, prompt: str, **kwargs: object
) -> tuple[list[DispatchEvent], RequestResult]:
    events = [event async for event in runtime.dispatcher.ask(prompt, **kwargs)]  # type: ignore[arg-type]
    done = events[-1]
    assert isinstance(done, Done)
    return events, done.result


def _rows(runtime: Runtime) -> list[tuple[object, ...]]:
    assert runtime.ledger is not None
    return runtime.ledger.execute(
        "SELECT request_id, tier, status, fallback_path, redacted, pii_count FROM requests"
    )


async def test_plain_prompt_answers_locally_and_is_recorded_once(runtime: Runtime) -> None:
    events, result = await _collect(runtime, "Name three primary colours.")
    kinds = [type(event) for event in events]
    assert kinds[:3] == [Scanned, Routed, Attempt]
    assert Token in kinds
    assert result.status == "ok" and result.tier == "local" and result.badge == "LOCAL"
    assert result.answer.strip()
    assert result.answer == "".join(e.text for e in events if isinstance(e, Token))
    assert result.cost is not None and result.cost.tier == "local" and result.cost.cpu_seconds > 0
    rows = _rows(runtime)
    assert rows == [(result.request_id, "local", "ok", "", 0, 0)]
    trace = json.loads(runtime.ledger.execute("SELECT decision_json FROM requests")[0][0])  # type: ignore[union-attr]
    assert trace["target"] == "local" and trace["fired"] == "default"
    assert {"features", "signals", "rules", "chain"} <= trace.keys()


async def test_forced_cloud_streams_from_the_server(runtime: Runtime) -> None:
    events, result = await _collect(runtime, "Name a colour.", force="cloud")
    attempts = [e for e in events if isinstance(e, Attempt)]
    assert [a.tier for a in attempts] == ["cloud"]
    assert result.tier == "cloud" and result.status == "ok"
    assert result.sent_text == "Name a colour."
    assert result.usage is not None and result.usage.completion_tokens > 0
    assert result.cost is not None and result.cost.known and result.cost.total_usd > 0


async def test_privacy_keeps_pii_local_even_when_forced_to_cloud(runtime: Runtime) -> None:
    events, result = await _collect(runtime, PII_PROMPT, force="cloud")
    scanned = next(e for e in events if isinstance(e, Scanned))
    assert {"PERSON", "EMAIL_ADDRESS"} <= set(scanned.scan.types)
    assert [a.tier for a in events if isinstance(a, Attempt)] == ["local"]
    assert result.tier == "local" and result.sent_text is None
    assert result.decision.chain == ("local",)


async def test_privacy_waits_for_a_killed_engine_instead_of_using_the_cloud(
    runtime: Runtime,
) -> None:
    seen: list[DispatchEvent] = []
    killed = False
    async for event in runtime.dispatcher.ask(PII_PROMPT):
        seen.append(event)
        if isinstance(event, Token) and not killed:
            pid = runtime.local.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed = True
    result = seen[-1].result  # type: ignore[union-attr]
    assert killed
    assert all(a.tier == "local" for a in seen if isinstance(a, Attempt))
    assert not any(isinstance(e, FellBack) for e in seen)
    # The stream broke after tokens were shown: no retry duplicates them, the request fails
    # clearly, and it is still recorded once.
    assert result.status == "failed" and result.error_class == "EngineCrashed"
    assert _rows(runtime)[0][1:3] == ("none", "failed")
    # The engine restarts by itself and the next private prompt is answered locally.
    _, again = await _collect(runtime, PII_PROMPT)
    assert again.tier == "local" and again.status == "ok"


async def test_killed_engine_falls_back_to_the_cloud(runtime: Runtime) -> None:
    seen: list[DispatchEvent] = []
    # A prompt the router keeps local (creative writing), so that there is a local answer to kill.
    async for event in runtime.dispatcher.ask("Write a poem about the sea, with many verses."):
        seen.append(event)
        busy = runtime.local.pid is not None and runtime.local.state == "busy"
        if isinstance(event, Token) and busy and not any(isinstance(e, FellBack) for e in seen):
            os.kill(runtime.local.pid, signal.SIGKILL)  # type: ignore[arg-type]
    result = seen[-1].result  # type: ignore[union-attr]
    fell = [e for e in seen if isinstance(e, FellBack)]
    assert len(fell) == 1 and (fell[0].from_tier, fell[0].to_tier) == ("local", "cloud")
    assert result.status == "fallback" and result.tier == "cloud"
    assert result.badge == "FALLBACK local→cloud"
    assert _rows(runtime) == [(result.request_id, "cloud", "fallback", "local>cloud", 0, 0)]


async def test_cancel_is_recorded_once(runtime: Runtime) -> None:
    started = asyncio.Event()

    async def consume() -> None:
        async for event in runtime.dispatcher.ask("Count from one to one hundred."):
            if isinstance(event, Token):
                started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = _rows(runtime)
    assert len(rows) == 1 and rows[0][2] == "cancelled"
    # The engine is still usable after the cancel.
    _, result = await _collect(runtime, "Say hello.")
    assert result.status == "ok"


async def test_redact_mode_sends_placeholders_only(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    runtime = await _runtime(tmp_path, openai_server.base_url, on_pii="redact")
    try:
        conversation = Conversation()
        _events, result = await _collect(runtime, "/cloud " + PII_PROMPT, conversation=conversation)
        assert result.tier == "cloud" and result.badge == "CLOUD·redacted"
        assert result.sent_text is not None
        assert "Maria" not in result.sent_text and "example.com" not in result.sent_text
        assert "<PERSON_1>" in result.sent_text and "<EMAIL_ADDRESS_1>" in result.sent_text
        assert _rows(runtime)[0][4:] == (1, 2)
        assert runtime.ledger is not None
        stored = runtime.ledger.get(result.request_id)
        assert stored is not None and stored.prompt_text is not None
        assert "<EMAIL_ADDRESS_1>" in stored.prompt_text
        assert "maria.gonzalez@example.com" not in stored.prompt_text
    finally:
        await runtime.aclose()


async def test_blocked_prompt_is_recorded(tmp_path: Path, openai_server: DemoServer) -> None:
    runtime = await _runtime(tmp_path, openai_server.base_url, on_pii="block")
    try:
        events, result = await _collect(runtime, PII_PROMPT)
        assert not any(isinstance(e, Attempt) for e in events)
        assert result.status == "blocked" and result.badge == "BLOCKED"
        assert _rows(runtime)[0][1:3] == ("none", "blocked")
    finally:
        await runtime.aclose()


async def test_dead_cloud_endpoint_falls_back_to_local(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    runtime = await _runtime(tmp_path, dead)
    try:
        events, result = await _collect(
            runtime,
            "Analyse step by step, compare and evaluate "
            "the trade-offs of three caching strategies.",
        )
        assert result.decision.target == "cloud", result.decision.fired
        fell = [e for e in events if isinstance(e, FellBack)]
        assert len(fell) == 1 and "127.0.0.1" in fell[0].error
        assert result.tier == "local" and result.status == "fallback"
        assert not any(isinstance(e, Waiting) and "cloud" in e.what for e in events)
    finally:
        await runtime.aclose()


async def test_cancel_while_the_analyzer_loads_is_recorded_with_its_decision(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    config_path = tmp_path / "config.toml"
    config_path.write_text(CONFIG.format(base_url=openai_server.base_url, on_pii="local"))
    runtime = Runtime(ConfigStore.open(config_path), db_path=tmp_path / "ledger.sqlite")
    await runtime.start(local=False, pii=False, cloud=False)
    try:
        seen: list[DispatchEvent] = []

        async def consume() -> None:
            async for event in runtime.dispatcher.ask(PII_PROMPT):
                seen.append(event)

        task = asyncio.create_task(consume())
        while not seen:
            await asyncio.sleep(0.01)
        assert isinstance(seen[0], Waiting) and "PII" in seen[0].what
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert _rows(runtime)[0][2] == "cancelled"
        assert runtime.ledger is not None
        trace = json.loads(runtime.ledger.execute("SELECT decision_json FROM requests")[0][0])
        assert trace["fired"] == "privacy"
    finally:
        await runtime.aclose()
