"""The dispatcher with every real part: llama.cpp worker, loopback OpenAI server, Presidio, SQLite.

What is checked is the dispatcher's promises: PII never leaves unredacted, a prompt that privacy
keeps local never reaches the cloud even with the engine dead, a failing tier falls back along
the chain, and every request is written to the ledger exactly once whatever happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
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
    RefusedPrompt,
    RequestResult,
    Routed,
    Scanned,
    Token,
    Waiting,
)
from console.ledger import Ledger
from console.runtime import Runtime
from engines.demo import DemoServer, free_port
from policies.config import ConfigStore
from policies.router import Decision

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
    """The ledger's rows; each request was written once (nothing was dropped as a duplicate)."""
    assert runtime.ledger is not None
    assert runtime.ledger.ignored == 0
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
    # clearly, and it is still recorded once, with the tokens that streamed (estimated).
    assert result.status == "failed" and result.error_class == "EngineCrashed"
    assert _rows(runtime)[0][1:3] == ("local", "failed")
    assert result.usage is not None and result.usage.estimated
    assert result.usage.completion_tokens > 0
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
        assert runtime.ledger is not None
        # Nothing ran: no tokens, no CPU, no cost.
        assert runtime.ledger.execute(
            "SELECT tokens_in, tokens_out, cpu_seconds, cost_usd FROM requests"
        ) == [(0, 0, 0.0, 0.0)]
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
        deadline = asyncio.get_running_loop().time() + 60
        while not seen:
            assert asyncio.get_running_loop().time() < deadline, "no event from the dispatcher"
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


async def test_a_wrong_decision_still_cannot_send_pii_to_the_cloud(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import console.dispatch as dispatch
    from policies.router import decide

    def wrong(*args: object, **kwargs: object) -> Decision:
        decision = decide(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(decision, target="cloud", chain=("cloud",), redact=False)

    monkeypatch.setattr(dispatch, "decide", wrong)
    events, result = await _collect(runtime, PII_PROMPT)
    assert result.decision.chain == ("cloud",)
    assert not any(isinstance(e, Attempt) for e in events)
    assert result.status == "failed" and result.sent_text is None and result.tier == "none"
    assert result.error is not None and "privacy keeps this prompt local" in result.error
    assert [row[:5] for row in _rows(runtime)] == [(result.request_id, "none", "failed", "", 0)]


async def test_one_entity_in_redact_mode_is_redacted(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    runtime = await _runtime(tmp_path, openai_server.base_url, on_pii="redact")
    try:
        prompt = "/cloud Write a thank-you note to maria.gonzalez@example.com."
        events, result = await _collect(runtime, prompt)
        scanned = next(e for e in events if isinstance(e, Scanned))
        assert scanned.scan.count == 1 and scanned.scan.types == ("EMAIL_ADDRESS",)
        assert result.tier == "cloud" and result.redacted and result.badge == "CLOUD·redacted"
        assert result.sent_text is not None and "example.com" not in result.sent_text
        assert "<EMAIL_ADDRESS_1>" in result.sent_text
        assert _rows(runtime)[0][4:] == (1, 1)
    finally:
        await runtime.aclose()


async def test_a_private_prompt_waits_for_an_engine_killed_before_its_first_token(
    runtime: Runtime,
) -> None:
    seen: list[DispatchEvent] = []
    killed_pid: int | None = None
    async for event in runtime.dispatcher.ask(PII_PROMPT):
        seen.append(event)
        if isinstance(event, Attempt) and killed_pid is None:
            # Attempt comes before the engine is asked: no token exists yet.
            killed_pid = runtime.local.pid
            assert killed_pid is not None
            os.kill(killed_pid, signal.SIGKILL)
    result = seen[-1].result  # type: ignore[union-attr]
    waits = [e for e in seen if isinstance(e, Waiting)]
    assert [w.what for w in waits] == ["local engine restarting"]
    assert [a.tier for a in seen if isinstance(a, Attempt)] == ["local", "local"]
    assert result.status == "ok" and result.tier == "local" and result.answer
    assert runtime.local.pid != killed_pid
    assert [row[:5] for row in _rows(runtime)] == [(result.request_id, "local", "ok", "", 0)]


async def test_a_cancelled_cloud_stream_is_billed_for_what_streamed(runtime: Runtime) -> None:
    tokens = 0

    async def consume() -> None:
        nonlocal tokens
        prompt = "Count from one to three hundred, in words."
        async for event in runtime.dispatcher.ask(prompt, force="cloud", max_tokens=200):
            if isinstance(event, Token):
                tokens += 1

    task = asyncio.create_task(consume())
    deadline = asyncio.get_running_loop().time() + 120
    while tokens < 4:
        assert asyncio.get_running_loop().time() < deadline, "the cloud never streamed"
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runtime.ledger is not None
    rows = runtime.ledger.execute(
        "SELECT tier, status, tokens_out, usage_estimated, cost_usd FROM requests"
    )
    assert len(rows) == 1
    tier, status, tokens_out, estimated, cost = rows[0]
    assert (tier, status, estimated) == ("cloud", "cancelled", 1)
    assert tokens_out > 0 and cost > 0
    assert runtime.ledger.spend().today_usd == pytest.approx(cost)


async def test_a_failure_while_preparing_is_recorded(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(text: str) -> object:
        raise RuntimeError("analyzer crashed\nwith a second line")

    monkeypatch.setattr(runtime.scanner, "scan", crash)
    events, result = await _collect(runtime, "Name three primary colours.")
    assert [type(e) for e in events] == [Done]
    assert result.status == "failed" and result.error_class == "PreparationFailed"
    assert result.error == "could not prepare the prompt: RuntimeError: analyzer crashed"
    assert _rows(runtime) == [(result.request_id, "none", "failed", "", 0, 0)]


async def test_an_empty_prompt_is_refused_before_anything_is_recorded(runtime: Runtime) -> None:
    for prompt in ("", "  ", "/local", "/cloud \n"):
        with pytest.raises(RefusedPrompt, match="empty"):
            await _collect(runtime, prompt)
    assert _rows(runtime) == []


async def test_rows_a_read_only_ledger_refuses_survive_quitting_and_are_written_later(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    db = tmp_path / "ledger.sqlite"
    Ledger.open(db).close()
    runtime = await _runtime(tmp_path, openai_server.base_url)
    assert runtime.ledger is not None
    runtime.ledger.close()
    # As `open_for_report` opens a file this user cannot write.
    runtime.ledger = runtime.spool.ledger = Ledger.open(db, read_only=True)
    try:
        done = await runtime.dispatcher.run_done("Say hello.", max_tokens=4)
        assert done.recorded == "spool" and done.record_error
        assert runtime.status().ledger_pending == 1
    finally:
        await runtime.aclose()
    # The next process (here: the next Runtime) writes it, once.
    again = await _runtime(tmp_path, openai_server.base_url)
    try:
        assert (again.spool_replay.inserted, again.spool_replay.ignored) == (1, 0)
        assert [row[0] for row in _rows(again)] == [done.result.request_id]
        assert again.status().ledger_pending == 0
    finally:
        await again.aclose()


async def test_a_megabyte_prompt_fails_in_one_line_and_is_recorded(runtime: Runtime) -> None:
    events, result = await _collect(runtime, "word " * 210_000)
    assert result.status == "failed" and result.error is not None
    assert "\n" not in result.error and len(result.error) < 300, result.error
    assert result.fix
    assert not any(isinstance(e, Attempt) and e.tier == "cloud" for e in events)
    assert [row[2] for row in _rows(runtime)] == ["failed"]
