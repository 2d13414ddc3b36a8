"""Conversations: history in every request, privacy over the whole context, context fitting, and
saved conversations — with the real llama.cpp worker, a real loopback OpenAI server behind a
recording proxy, Presidio, and real SQLite files."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.conversations import ConversationError, ConversationStore, StoredTurn
from console.dispatch import Attempt, Conversation, Done, RequestResult
from console.ledger import Ledger
from console.runtime import Runtime
from engines.demo import DemoServer, free_port
from policies.config import ConfigStore
from policies.context import Turn, fit, pii_turns, prompt_tokens
from policies.pii import PiiEntity, PiiScan
from tests.faultproxy import Fault, FaultProxy
from tests.sqlite_lock import held_write_lock

CONFIG = """\
[local]
max_tokens = {max_tokens}
temperature = 0.0
n_threads = 1
n_ctx = {n_ctx}

[cloud]
base_url = "{base_url}"
model = "gpt-4o-mini"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"
max_retries = 0
max_tokens = 16
temperature = 0.0

[breaker]
failure_threshold = 50

[pii]
on_pii = "{on_pii}"

[ledger]
store_prompts = "{store}"

[router]
max_local_cpu = 100.0
max_queue_depth = 10
"""

NAME_PROMPT = (
    "Please draft a reply to Maria Gonzalez at maria.gonzalez@example.com about her order."
)


async def _runtime(
    tmp_path: Path,
    base_url: str,
    *,
    on_pii: str = "local",
    n_ctx: int = 2048,
    max_tokens: int = 16,
    store: str = "full",
) -> Runtime:
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        CONFIG.format(
            base_url=base_url, on_pii=on_pii, n_ctx=n_ctx, max_tokens=max_tokens, store=store
        )
    )
    runtime = Runtime(ConfigStore.open(config_path), db_path=tmp_path / "ledger.sqlite")
    await runtime.start()
    await runtime.wait_local_ready(120)
    await asyncio.to_thread(runtime.scanner.load)
    await runtime.wait_cloud_ready()
    assert runtime.local.state == "ready", runtime.local.last_error
    return runtime


@pytest.fixture
async def proxy(openai_server: DemoServer) -> AsyncIterator[FaultProxy]:
    """A recording proxy in front of the real loopback server: it logs every request body."""
    recorder = await FaultProxy(upstream_port=openai_server.port).start()
    yield recorder
    await recorder.stop()


def _chat_bodies(proxy: FaultProxy) -> list[dict[str, object]]:
    return [
        json.loads(seen.body)
        for seen in proxy.seen
        if seen.method == "POST" and "chat/completions" in seen.target
    ]


async def _ask(
    runtime: Runtime, prompt: str, conversation: Conversation, **kwargs: object
) -> tuple[list[object], RequestResult]:
    events = [
        event
        async for event in runtime.dispatcher.ask(prompt, conversation=conversation, **kwargs)  # type: ignore[arg-type]
    ]
    done = events[-1]
    assert isinstance(done, Done)
    return events, done.result


# -- pure parts -------------------------------------------------------------------------------


def _turn(words: int, pii: bool = False) -> Turn:
    text = " ".join(["word"] * words)
    scan = PiiScan(text, (PiiEntity("PERSON", 0, 4, 0.9),) if pii else ())
    return Turn(text, text, "local", scan, PiiScan(text, ()))


def test_fit_keeps_the_newest_turns_and_always_the_prompt() -> None:
    turns = [_turn(100) for _ in range(6)]
    each = turns[0].tokens
    room = prompt_tokens("sys", "hello") + 10 + 2 * each + each // 2
    fitted = fit(turns, "sys", "hello", room, reserve=10)
    assert fitted.dropped == 4 and fitted.turns == tuple(turns[4:])
    assert fitted.tokens <= room - 10
    everything = fit(turns, "", "hello", 100_000, reserve=10)
    assert everything.dropped == 0 and len(everything.turns) == 6
    nothing = fit(turns, "", "hello " * 500, 200, reserve=10)
    assert nothing.dropped == 6 and nothing.turns == ()


def test_pii_turns_numbers_the_turns_with_personal_data() -> None:
    turns = [_turn(3), _turn(3, pii=True), _turn(3), _turn(3, pii=True)]
    assert pii_turns(turns) == (2, 4)
    assert pii_turns(turns[2:], offset=2) == (4,)


def test_store_keeps_turns_in_order_and_lists_newest_first(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite")
    for conv, base in (("a", 1.0), ("b", 5.0)):
        for turn in (1, 2):
            store.add_turn(
                conv,
                StoredTurn(turn, f"{conv}{turn}", base + turn, "local", 0.5, f"p{turn}", "x"),
                title=f"title {conv}",
            )
    assert [c.id for c in store.list()] == ["b", "a"]
    loaded = store.load("a")
    assert [t.turn for t in loaded.turns] == [1, 2] and loaded.summary.turns == 2
    assert loaded.summary.cost_usd == pytest.approx(1.0) and loaded.summary.tiers == ("local",)
    store.rename("a", "renamed")
    assert store.load("a").summary.title == "renamed"
    store.delete("a")
    with pytest.raises(ConversationError, match="no conversation 'a'"):
        store.load("a")
    assert store.load("b").summary.turns == 2
    # A request is one turn, never two: its second write is refused and changes nothing.
    assert not store.add_turn("b", StoredTurn(3, "b1", 9.0, "local", 0.0, None, None))
    assert store.load("b").summary.turns == 2 and store.load("b").summary.updated == 7.0


# -- real engines ------------------------------------------------------------------------------


async def test_a_follow_up_sees_the_first_turn_on_the_local_model(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    runtime = await _runtime(tmp_path, openai_server.base_url)
    try:
        conversation = Conversation(saved=True)
        _, first = await _ask(runtime, "The secret word is pelican.", conversation, force="local")
        assert first.status == "ok" and first.turn == 1
        events, second = await _ask(
            runtime, "What is the secret word?", conversation, force="local"
        )
        assert second.turn == 2 and second.conversation_id == conversation.session
        assert [m.role for m in second.messages] == ["user", "assistant", "user"]
        assert second.messages[0].content == "The secret word is pelican."
        assert "pelican" in second.answer.lower()
        attempt = next(e for e in events if isinstance(e, Attempt))
        assert attempt.turns == 1 and attempt.dropped == 0
        # Without the first turn the model has no way to know the word.
        _, alone = await _ask(runtime, "What is the secret word?", Conversation(), force="local")
        assert "pelican" not in alone.answer.lower()
        # Saved: both turns are in the conversation tables and agree with the ledger.
        assert runtime.ledger is not None
        stored = runtime.dispatcher.resume(conversation.session)
        assert [(t.prompt, t.answer) for t in stored.turns] == [
            ("The secret word is pelican.", first.answer),
            ("What is the secret word?", second.answer),
        ]
    finally:
        await runtime.aclose()


async def test_the_cloud_request_carries_every_turn(tmp_path: Path, proxy: FaultProxy) -> None:
    runtime = await _runtime(tmp_path, proxy.base_url)
    try:
        conversation = Conversation(system_prompt="Answer in one short sentence.")
        _, first = await _ask(runtime, "Name a colour of the sky.", conversation, force="local")
        assert first.status == "ok"
        _, second = await _ask(runtime, "And of grass?", conversation, force="cloud")
        assert second.tier == "cloud" and second.status == "ok"
        bodies = _chat_bodies(proxy)
        assert len(bodies) == 1
        assert bodies[0]["messages"] == [
            {"role": "system", "content": "Answer in one short sentence."},
            {"role": "user", "content": "Name a colour of the sky."},
            {"role": "assistant", "content": first.answer},
            {"role": "user", "content": "And of grass?"},
        ]
    finally:
        await runtime.aclose()


async def test_pii_in_turn_one_keeps_a_harmless_turn_two_local(
    tmp_path: Path, proxy: FaultProxy
) -> None:
    runtime = await _runtime(tmp_path, proxy.base_url, on_pii="local")
    try:
        conversation = Conversation()
        _, first = await _ask(runtime, NAME_PROMPT, conversation)
        assert first.tier == "local" and first.decision.fired == "privacy"
        _, second = await _ask(runtime, "/cloud Now make it shorter.", conversation)
        assert second.tier == "local" and second.decision.fired == "privacy"
        assert second.decision.chain == ("local",)
        privacy = next(r for r in second.decision.rules if r.name == "privacy")
        assert "turn 1 of the context" in privacy.why
        assert second.decision.features.pii_turns == (1,)
        assert _chat_bodies(proxy) == []
    finally:
        await runtime.aclose()


async def test_redact_mode_sends_the_history_with_placeholders_and_restores_the_answer(
    tmp_path: Path, proxy: FaultProxy
) -> None:
    runtime = await _runtime(tmp_path, proxy.base_url, on_pii="redact")
    try:
        conversation = Conversation()
        _, first = await _ask(runtime, NAME_PROMPT, conversation, force="local")
        assert first.status == "ok"
        # The cloud answers with the placeholder it was given; the user must see the name.
        proxy.queue(
            Fault(
                "sse",
                events=(
                    '{"choices":[{"index":0,"delta":{"content":"Dear <PERSON_1>, sorry."}}]}',
                    '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
                    '"usage":{"prompt_tokens":40,"completion_tokens":5}}',
                    "[DONE]",
                ),
            )
        )
        _, second = await _ask(runtime, "Make it shorter.", conversation, force="cloud")
        assert second.tier == "cloud" and second.status == "ok", second.error
        body = json.dumps(_chat_bodies(proxy))
        assert "Maria" not in body and "Gonzalez" not in body and "example.com" not in body
        messages = _chat_bodies(proxy)[0]["messages"]
        assert isinstance(messages, list) and "<PERSON_1>" in messages[0]["content"]
        assert second.answer == "Dear Maria Gonzalez, sorry."
    finally:
        await runtime.aclose()


async def test_a_long_history_drops_the_oldest_turns_and_says_so(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    runtime = await _runtime(tmp_path, openai_server.base_url, n_ctx=512, max_tokens=8)
    try:
        filler = "The weather report said it would be mild and dry all week. " * 6
        conversation = Conversation(turns=[Turn(filler, "Noted.") for _ in range(8)])
        events, result = await _ask(runtime, "Say hello.", conversation, force="local")
        assert result.status == "ok", result.error
        attempt = next(e for e in events if isinstance(e, Attempt))
        assert attempt.dropped > 0 and attempt.turns + attempt.dropped == 8
        assert result.context_dropped == attempt.dropped
        context = next(r for r in result.decision.rules if r.name == "context")
        assert f"{attempt.dropped} of 8 earlier turns left out to fit 512 tokens" in context.why
        assert len(result.messages) == 2 * attempt.turns + 1
    finally:
        await runtime.aclose()


async def test_an_over_long_prompt_with_pii_fails_clearly_and_never_reaches_the_cloud(
    tmp_path: Path, proxy: FaultProxy
) -> None:
    runtime = await _runtime(tmp_path, proxy.base_url, on_pii="local", n_ctx=256)
    try:
        prompt = NAME_PROMPT + " Here is the full history of the case. " * 40
        _, result = await _ask(runtime, prompt, Conversation())
        assert result.status == "blocked" and result.tier == "none"
        privacy = next(r for r in result.decision.rules if r.name == "privacy")
        assert privacy.verdict == "block"
        assert "do not fit the local context of 256" in privacy.why
        # Without PII the same length goes to the cloud, with no local fallback.
        _, plain = await _ask(runtime, "Summarise. " + "Lorem ipsum dolor. " * 80, Conversation())
        assert plain.decision.fired == "context" and plain.decision.chain == ("cloud",)
        assert all("Maria" not in json.dumps(body) for body in _chat_bodies(proxy))
    finally:
        await runtime.aclose()


def _switchboard(tmp_path: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from console.cli import main; main()",
        "--config",
        str(tmp_path / "config.toml"),
        "--db",
        str(tmp_path / "ledger.sqlite"),
        *args,
    ]


def test_kill_9_mid_conversation_keeps_every_answered_turn(
    tmp_path: Path, openai_server: DemoServer
) -> None:
    (tmp_path / "config.toml").write_text(
        CONFIG.format(
            base_url=openai_server.base_url,
            on_pii="local",
            n_ctx=2048,
            max_tokens=16,
            store="full",
        )
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    first = subprocess.run(
        _switchboard(tmp_path, "ask", "--local", "--conversation", "new", "--json", "Say hi."),
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert first.returncode == 0, first.stderr
    conversation_id = json.loads(first.stdout)["conversation_id"]
    long_answer = subprocess.Popen(
        _switchboard(
            tmp_path,
            "ask",
            "--local",
            "--max-tokens",
            "400",
            "--conversation",
            conversation_id,
            "Write a long story about a lighthouse keeper.",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert long_answer.stdout is not None
        # The first streamed byte: turn 2 is generating (pytest-timeout bounds the wait).
        assert long_answer.stdout.read(1)
        os.kill(long_answer.pid, signal.SIGKILL)
    finally:
        long_answer.kill()
        long_answer.wait(30)
    shown = subprocess.run(
        _switchboard(tmp_path, "conversations", "show", conversation_id, "--json"),
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert shown.returncode == 0, shown.stderr
    turns = json.loads(shown.stdout)["turns"]
    assert [t["turn"] for t in turns] == [1] and turns[0]["prompt"] == "Say hi."
    with sqlite3.connect(tmp_path / "ledger.sqlite") as db:
        answered = {
            row[0]
            for row in db.execute(
                "SELECT request_id FROM requests"
                " WHERE session = ? AND status IN ('ok', 'fallback')",
                (conversation_id,),
            )
        }
    assert answered == {t["request_id"] for t in turns}


def test_a_turn_asked_while_another_process_locks_the_ledger_is_kept_and_written_once(
    tmp_path: Path,
) -> None:
    """`ask --conversation` under a real BEGIN EXCLUSIVE of a second process: the turn goes to
    the spool with its row, and the next `ask` of the conversation writes both, once, and sees
    the first turn as history."""
    (tmp_path / "config.toml").write_text(
        CONFIG.format(
            base_url=f"http://127.0.0.1:{free_port()}/v1",
            on_pii="local",
            n_ctx=2048,
            max_tokens=8,
            store="full",
        )
    )
    db = tmp_path / "ledger.sqlite"
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    Ledger.open(db).close()
    with held_write_lock(db) as holder:
        first = subprocess.run(
            _switchboard(tmp_path, "ask", "--local", "--conversation", "new", "--json", "Say hi."),
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert first.returncode == 0, first.stderr
        asked = json.loads(first.stdout)
        assert (asked["recorded"], asked["status"], asked["turn"]) == ("spool", "ok", 1)
        conversation_id = asked["conversation_id"]
        holder.release()
        second = subprocess.run(
            _switchboard(
                tmp_path, "ask", "--local", "--conversation", conversation_id, "--json", "Again."
            ),
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
    assert second.returncode == 0, second.stderr
    assert "1 spooled row(s) written to the ledger" in second.stderr
    assert "1 conversation turn(s) with them" in second.stderr
    again = json.loads(second.stdout)
    # Turn 2: the replay ran before the conversation was resumed, so turn 1 was its history.
    assert (again["recorded"], again["turn"]) == ("ledger", 2)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT request_id FROM requests ORDER BY id").fetchall()
        turns = conn.execute(
            "SELECT turn, request_id, prompt FROM conversation_turns"
            " WHERE conversation_id = ? ORDER BY turn",
            (conversation_id,),
        ).fetchall()
        summary = conn.execute(
            "SELECT turns FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
    assert [row[0] for row in rows] == [asked["request_id"], again["request_id"]]
    assert turns == [
        (1, asked["request_id"], "Say hi."),
        (2, again["request_id"], "Again."),
    ]
    assert summary == (2,)
    assert not list((tmp_path / "state").rglob("*.jsonl"))
