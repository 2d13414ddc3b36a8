"""A prompt holding secrets, on_pii = "redact", through the real dispatcher to a real socket.

The cloud tier is a small OpenAI-compatible server this test owns, on 127.0.0.1 and a port the
OS picks: it records every request body and streams back an answer that uses the placeholders in
the forms models write them, split across chunks. Checked: no secret byte is in any body that
reached the socket, the answer shown is re-identified locally, and on_secret = "block" refuses
the prompt before any request is made.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from console.dispatch import Attempt, Conversation, Done, RequestResult
from console.runtime import Runtime
from policies.config import ConfigStore

AWS_ID = "AKIAQ7ZL2N5RT8VX3KMB"
PASSWORD = "Copper7731!Falcon"
PROMPT = (
    f"/cloud Why does this fail? export AWS_ACCESS_KEY_ID={AWS_ID}\n"
    f"psql postgres://report:{PASSWORD}@db.internal:5432/app -c 'select 1'"
)
ANSWER_CHUNKS = ["Rotate <SEC", "RET_1> first; then SECRET_", "2 in the DSN", " for [secret_2]."]

CONFIG = """\
[local]
max_tokens = 8
n_threads = 1

[cloud]
base_url = "{base_url}"
model = "gpt-4o-mini"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"
max_retries = 0
connect_timeout = 2.0

[pii]
on_pii = "redact"
on_secret = "{on_secret}"

[ledger]
store_prompts = "{store}"

[router]
max_local_cpu = 100.0
max_queue_depth = 10
"""


class RecordingServer:
    """A minimal OpenAI-compatible endpoint: GET /v1/models, streaming POST /v1/chat/completions."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self._server: asyncio.AbstractServer | None = None

    @property
    def base_url(self) -> str:
        """The endpoint's base URL (the OS-chosen port)."""
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def start(self) -> None:
        """Listen on 127.0.0.1, port 0."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        """Close the listening socket."""
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            self.bodies.append(head + body)
            if head.startswith(b"GET"):
                payload = json.dumps({"object": "list", "data": [{"id": "gpt-4o-mini"}]}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                    + payload
                )
            else:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
                )
                for chunk in ANSWER_CHUNKS:
                    event = {"choices": [{"index": 0, "delta": {"content": chunk}}]}
                    writer.write(f"data: {json.dumps(event)}\n\n".encode())
                done = {
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
                }
                writer.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    """The recording server, running for one test."""
    recording = RecordingServer()
    await recording.start()
    yield recording
    await recording.stop()


async def _runtime(
    tmp_path: Path, base_url: str, on_secret: str, store: str = "redacted"
) -> Runtime:
    config_path = tmp_path / "config.toml"
    config_path.write_text(CONFIG.format(base_url=base_url, on_secret=on_secret, store=store))
    runtime = Runtime(ConfigStore.open(config_path), db_path=tmp_path / "ledger.sqlite")
    await runtime.start()
    await runtime.wait_local_ready(60)
    await asyncio.to_thread(runtime.scanner.load)
    await runtime.wait_cloud_ready()
    return runtime


async def _ask(runtime: Runtime, prompt: str) -> tuple[list[object], RequestResult]:
    events = [e async for e in runtime.dispatcher.ask(prompt, conversation=Conversation())]
    done = events[-1]
    assert isinstance(done, Done)
    return list(events), done.result


async def test_secrets_never_reach_the_socket_and_come_back_locally(
    tmp_path: Path, server: RecordingServer
) -> None:
    runtime = await _runtime(tmp_path, server.base_url, on_secret="redact")
    try:
        _, result = await _ask(runtime, PROMPT)
        assert result.status == "ok" and result.tier == "cloud", (result.error, result.fix)
        posts = [body for body in server.bodies if body.startswith(b"POST")]
        assert len(posts) == 1
        sent = posts[0].decode()
        assert AWS_ID not in sent and PASSWORD not in sent
        assert AWS_ID[4:12] not in sent and PASSWORD[:8] not in sent
        assert "<SECRET_1>" in sent and "<SECRET_2>" in sent
        assert "report" in sent and "db.internal" in sent  # only the secrets went
        assert result.answer == (
            f"Rotate {AWS_ID} first; then {PASSWORD} in the DSN for {PASSWORD}."
        )
        assert result.pii_types == ("SECRET",)
    finally:
        await runtime.aclose()


async def test_on_secret_block_refuses_before_any_request(
    tmp_path: Path, server: RecordingServer
) -> None:
    runtime = await _runtime(tmp_path, server.base_url, on_secret="block")
    try:
        events, result = await _ask(runtime, PROMPT)
        assert result.status == "blocked"
        assert not any(isinstance(e, Attempt) for e in events)
        assert not any(body.startswith(b"POST") for body in server.bodies)
        privacy = next(r for r in result.decision.rules if r.name == "privacy")
        assert "on_secret = block" in privacy.why
    finally:
        await runtime.aclose()


async def test_a_secret_is_never_stored_even_with_store_prompts_full(
    tmp_path: Path, server: RecordingServer
) -> None:
    runtime = await _runtime(tmp_path, server.base_url, on_secret="redact", store="full")
    try:
        conversation = Conversation(saved=True)
        events = [e async for e in runtime.dispatcher.ask(PROMPT, conversation=conversation)]
        result = events[-1].result  # type: ignore[attr-defined]
        assert result.status == "ok", result.error
        plain = "/cloud What is a DSN?"
        await runtime.dispatcher.run(plain, conversation=conversation)
    finally:
        await runtime.aclose()
    data = (tmp_path / "ledger.sqlite").read_bytes()
    wal = tmp_path / "ledger.sqlite-wal"
    data += wal.read_bytes() if wal.exists() else b""
    assert AWS_ID.encode() not in data and PASSWORD.encode() not in data
    assert b"<SECRET_1>" in data  # the text was kept, with placeholders
    assert b"What is a DSN?" in data  # a prompt without a secret is kept in full
