"""The local engine on the bundled model: streaming, cancel, crash and restart, queue, reload."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from engines._worker import THREAD_NAME
from engines.base import (
    Chunk,
    Engine,
    EngineBusy,
    EngineCrashed,
    EngineError,
    Finished,
    GenerationRequest,
    Message,
    StreamEvent,
)
from engines.local import LocalEngine, physical_cores
from engines.model import ModelError
from engines.telemetry import TelemetrySampler
from engines.thread_sweep import counting_request, sweep_threads
from policies.config import LocalConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Greedy and without repeat penalty, so the counting conversation runs to max_tokens.
CONFIG = LocalConfig(n_threads=2, temperature=0.0, repeat_penalty=1.0, queue_size=1, n_ctx=512)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(bundled_model_path: Path) -> AsyncIterator[LocalEngine]:
    local = LocalEngine(CONFIG)
    await local.start()
    yield local
    await local.aclose()


def ask(text: str, max_tokens: int = 16) -> GenerationRequest:
    return GenerationRequest(
        messages=(Message("user", text),), max_tokens=max_tokens, temperature=0.0
    )


async def collect(events: AsyncIterator[StreamEvent]) -> tuple[str, Finished]:
    parts: list[str] = []
    async for event in events:
        if isinstance(event, Finished):
            return "".join(parts), event
        parts.append(event.text)
    raise AssertionError("no Finished")


async def settle(engine: LocalEngine) -> None:
    """Wait (bounded) until the worker has ended every request, cancelled ones included."""
    for _ in range(3000):
        if engine.queue_depth == 0 and engine.state == "ready":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"engine never settled: {engine.state}, depth {engine.queue_depth}")


async def test_streams_an_answer_with_figures(
    engine: LocalEngine, bundled_model_path: Path
) -> None:
    assert isinstance(engine, Engine)
    assert engine.state == "ready"
    assert engine.model_path == bundled_model_path
    assert engine.label == "gemma-3-270m-q4_k_m.gguf"
    assert engine.n_threads == 2
    assert engine.pid is not None and engine.pid != os.getpid()
    events = [e async for e in engine.stream(ask("What is the capital of France?"))]
    chunks, finished = events[:-1], events[-1]
    assert chunks and all(isinstance(c, Chunk) for c in chunks)
    assert isinstance(finished, Finished)
    answer = "".join(c.text for c in chunks if isinstance(c, Chunk))
    assert "Paris" in answer
    assert finished.finish_reason == "stop"
    assert finished.model == "gemma-3-270m-q4_k_m.gguf"
    assert finished.usage.prompt_tokens > 20
    assert 1 <= finished.usage.completion_tokens <= 16
    assert finished.ttft_s is not None and 0 < finished.ttft_s <= finished.total_s
    assert finished.prompt_tps and finished.prompt_tps > 0
    assert finished.gen_tps and finished.gen_tps > 0
    assert finished.cpu_seconds and finished.cpu_seconds > 0
    assert engine.last_gen_tps == finished.gen_tps
    assert engine.last_ttft_s == finished.ttft_s


async def test_max_tokens_ends_a_long_answer(engine: LocalEngine) -> None:
    text, finished = await collect(engine.stream(counting_request(1, 12)))
    assert finished.finish_reason == "length"
    assert finished.usage.completion_tokens == 12
    assert text.startswith("11, 12, 13")


async def test_cancel_mid_stream_stops_the_worker_and_it_serves_the_next(
    engine: LocalEngine,
) -> None:
    stream = engine.stream(counting_request(2, 400))
    seen = 0
    async for event in stream:
        assert isinstance(event, Chunk)
        seen += 1
        if seen == 3:
            break
    await stream.aclose()
    await settle(engine)
    cancelled = engine.last_finished
    assert cancelled is not None and cancelled.finish_reason == "cancelled"
    assert cancelled.usage.completion_tokens < 100
    text, finished = await collect(engine.stream(ask("What is the capital of France?")))
    assert "Paris" in text and finished.finish_reason == "stop"


async def test_cancelling_the_consuming_task_cancels_the_generation(engine: LocalEngine) -> None:
    first_chunk = asyncio.Event()

    async def consume() -> None:
        async for _ in engine.stream(counting_request(3, 400)):
            first_chunk.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_chunk.wait(), 30)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await settle(engine)
    last = engine.last_finished
    assert last is not None and last.finish_reason == "cancelled"
    assert last.usage.completion_tokens < 100


async def test_full_queue_is_refused(engine: LocalEngine) -> None:
    running = engine.stream(counting_request(4, 400))
    assert isinstance(await running.__anext__(), Chunk)
    waiting = engine.stream(ask("Who wrote Hamlet?"))
    waiting_task = asyncio.create_task(waiting.__anext__())
    for _ in range(100):
        if engine.queue_depth == 2:
            break
        await asyncio.sleep(0.01)
    assert engine.queue_depth == 2
    assert engine.state == "busy"
    refused = engine.stream(ask("Name three colors."))
    with pytest.raises(EngineBusy, match="queue is full"):
        await refused.__anext__()
    await running.aclose()
    first = await asyncio.wait_for(waiting_task, 60)
    assert isinstance(first, Chunk)
    text, finished = await collect(waiting)
    assert isinstance(first, Chunk) and (first.text + text).strip()
    assert finished.finish_reason in ("stop", "length")
    await settle(engine)


async def test_telemetry_sees_the_engine_threads_while_generating(engine: LocalEngine) -> None:
    sampler = TelemetrySampler(engine)
    idle = sampler.sample()
    assert idle.pid == engine.pid
    assert idle.n_threads == 2
    assert idle.physical_cores == physical_cores()
    assert idle.rss_bytes is not None and idle.rss_bytes > 100 << 20
    stream = engine.stream(counting_request(5, 400))
    seen = 0
    async for _ in stream:
        seen += 1
        if seen == 20:
            break
    busy = sampler.sample()
    await stream.aclose()
    assert busy.queue_depth == 1 and busy.engine_state == "busy"
    assert len(busy.per_core_pct) == idle.logical_cores
    assert max(busy.per_core_pct) > 0
    assert busy.process_cpu_pct is not None and busy.process_cpu_pct > 10
    working = [t for t in busy.threads if t.cpu_pct > 5]
    assert working, busy.threads
    assert len(busy.threads) >= engine.n_threads
    assert all(str(t.tid) in t.name for t in busy.threads)
    # Named by the worker, not "python3": llama.cpp's threads inherit the name.
    assert all(t.name.startswith(f"{THREAD_NAME}:") for t in busy.threads), busy.threads
    await settle(engine)


async def test_a_prompt_beyond_the_context_fails_alone(engine: LocalEngine) -> None:
    pid = engine.pid
    with pytest.raises(EngineError, match="the context holds 512") as failed:
        await collect(engine.stream(ask("word " * 1000)))
    assert not isinstance(failed.value, EngineCrashed)
    text, _ = await collect(engine.stream(ask("What is the capital of France?")))
    assert "Paris" in text and engine.pid == pid


async def test_kill_9_mid_stream_crashes_the_request_and_restarts(engine: LocalEngine) -> None:
    old_pid = engine.pid
    assert old_pid is not None
    streamed: list[str] = []
    with pytest.raises(EngineCrashed) as crashed:
        async for event in engine.stream(counting_request(6, 400)):
            assert isinstance(event, Chunk)
            streamed.append(event.text)
            if len(streamed) == 3:
                os.kill(old_pid, signal.SIGKILL)
    assert crashed.value.partial == "".join(streamed)
    assert crashed.value.partial.startswith("11")
    assert "signal 9" in str(crashed.value)
    assert engine.state == "restarting"
    text, finished = await collect(engine.stream(ask("What is the capital of France?")))
    assert "Paris" in text and finished.finish_reason == "stop"
    assert engine.pid not in (None, old_pid)
    assert engine.state == "ready"


async def test_reload_with_another_n_threads(engine: LocalEngine) -> None:
    old_pid = engine.pid
    await engine.reload(CONFIG.model_copy(update={"n_threads": 1}))
    assert engine.n_threads == 1
    assert engine.pid not in (None, old_pid)
    text, _ = await collect(engine.stream(ask("What is the capital of France?")))
    assert "Paris" in text
    await engine.reload(CONFIG)
    assert engine.n_threads == 2


async def test_thread_sweep_measures_each_setting(bundled_model_path: Path) -> None:
    sweep = await sweep_threads(CONFIG, [1], max_tokens=6, repeats=1)
    assert [r.n_threads for r in sweep.results] == [1]
    assert sweep.best.gen_tps > 0 and sweep.best.prompt_tps > 0
    assert sweep.best.completion_tokens == 6


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.gguf", None, "no such file"),
        ("text.gguf", b"hello, not a model", "not a GGUF file"),
        ("cut.gguf", b"GGUF\x03\x00\x00\x00\x01", "truncated GGUF file"),
    ],
)
async def test_bad_model_fails_start_with_the_path(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    local = LocalEngine(LocalConfig(model=str(path)))
    with pytest.raises(ModelError, match=f"{path}: {expected}"):
        await local.start()
    assert local.state == "failed"
    assert str(path) in local.last_error
    await local.aclose()


async def test_gguf_llama_cannot_load_is_a_model_error(tmp_path: Path) -> None:
    key, value = b"general.architecture", b"no-such-architecture"
    path = tmp_path / "odd.gguf"
    path.write_bytes(
        b"GGUF"
        + struct.pack("<IQQQ", 3, 0, 1, len(key))
        + key
        + struct.pack("<IQ", 8, len(value))
        + value
    )
    local = LocalEngine(LocalConfig(model=str(path)))
    with pytest.raises(ModelError, match=f"{path}: llama.cpp could not load it"):
        await local.start()
    assert local.state == "failed"
    await local.aclose()


def with_chat_template(source: Path, target: Path, template: str) -> None:
    """Copy a GGUF, adding `tokenizer.chat_template` as its first metadata key.

    The new key is padded to a multiple of the 32-byte alignment, so the tensor data moves by
    exactly that much and the tensor offsets (relative to the data) stay valid.
    """
    key = b"tokenizer.chat_template"
    value = template.encode()
    entry = struct.pack("<Q", len(key)) + key + struct.pack("<I", 8)
    value += b" " * (-(len(entry) + 8 + len(value)) % 32)
    entry += struct.pack("<Q", len(value)) + value
    with source.open("rb") as src, target.open("wb") as dst:
        header = src.read(24)
        magic, version, tensors, kvs = struct.unpack("<4sIQQ", header)
        dst.write(struct.pack("<4sIQQ", magic, version, tensors, kvs + 1) + entry)
        while block := src.read(1 << 22):
            dst.write(block)


async def test_a_gguf_chat_template_is_used(bundled_model_path: Path, tmp_path: Path) -> None:
    # A template that ignores the conversation proves the worker renders it (not the dialogue).
    path = tmp_path / "templated.gguf"
    with_chat_template(
        bundled_model_path,
        path,
        "{{ bos_token }}The assistant answers briefly.\n\nUser: What is the boiling point of "
        "water?\nAssistant: Water boils at 100 °C at sea level.\nUser: What is the capital of "
        "France?\nAssistant:",
    )
    local = LocalEngine(CONFIG.model_copy(update={"model": str(path)}))
    await local.start()
    try:
        text, finished = await collect(local.stream(ask("Name three colors.", max_tokens=8)))
    finally:
        await local.aclose()
    assert "France" in text or "Paris" in text
    assert finished.usage.completion_tokens <= 8
