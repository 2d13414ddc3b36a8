"""A local engine that stops without dying: real SIGSTOP to the real worker process.

The watchdog must see no progress within `[local] stall_timeout_s`, kill and restart the
worker, end the request with a retryable `EngineStalled` that says so, and let the request
queued behind it be answered by the new worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from engines.base import (
    Chunk,
    EngineCrashed,
    EngineStalled,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    Message,
)
from engines.local import LocalEngine, _StallClock
from engines.thread_sweep import counting_request
from policies.config import LocalConfig

STALL_S = 2.0
CONFIG = LocalConfig(
    n_threads=1,
    temperature=0.0,
    repeat_penalty=1.0,
    queue_size=4,
    n_ctx=512,
    stall_timeout_s=STALL_S,
)


@pytest.fixture
async def engine(bundled_model_path: Path) -> AsyncIterator[LocalEngine]:
    local = LocalEngine(CONFIG)
    await local.start()
    yield local
    await local.aclose()


def paris() -> GenerationRequest:
    return GenerationRequest(
        messages=(Message("user", "What is the capital of France?"),),
        max_tokens=16,
        temperature=0.0,
    )


async def gone(pid: int) -> None:
    """Wait (bounded) until the stopped worker is gone: SIGKILL ends a stopped process too."""
    deadline = time.monotonic() + 10
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        assert time.monotonic() < deadline, f"the stalled worker {pid} is still there"
        await asyncio.sleep(0.05)


async def answer(engine: LocalEngine, request: GenerationRequest) -> str:
    parts: list[str] = []
    async for event in engine.stream(request):
        if isinstance(event, Finished):
            return "".join(parts)
        parts.append(event.text)
    raise AssertionError("no Finished")


async def test_a_stopped_worker_is_killed_restarted_and_the_queue_moves_on(
    engine: LocalEngine,
) -> None:
    old_pid = engine.pid
    assert old_pid is not None
    streamed: list[str] = []
    # Queued behind the request that will stall: it must be answered by the next worker.
    behind = asyncio.create_task(answer(engine, paris()))
    stopped_at = 0.0
    try:
        with pytest.raises(EngineStalled) as stalled:
            async with asyncio.timeout(STALL_S + 30):
                async for event in engine.stream(counting_request(6, 400)):
                    assert isinstance(event, Chunk)
                    streamed.append(event.text)
                    if len(streamed) == 2:
                        os.kill(old_pid, signal.SIGSTOP)
                        stopped_at = time.monotonic()
        waited = time.monotonic() - stopped_at
        error = stalled.value
        assert "stalled" in str(error) and "stall_timeout_s" in str(error)
        assert error.retryable_elsewhere and isinstance(error, EngineCrashed)
        assert error.partial == "".join(streamed)
        assert STALL_S <= waited < STALL_S + 10
        await gone(old_pid)
        async with asyncio.timeout(60):
            text = await behind
        assert "Paris" in text
        assert engine.pid not in (None, old_pid)
        assert engine.state == "ready"
        assert "stalled" in engine.last_error
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(old_pid, signal.SIGKILL)
        behind.cancel()


def _idle_after(process: subprocess.Popen[bytes], seconds: float) -> float:
    clock = _StallClock(psutil.Process(process.pid))
    clock.idle_s(0)
    deadline = time.monotonic() + seconds
    idle = 0.0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        idle = clock.idle_s(0)
    return idle


@pytest.mark.parametrize(
    ("code", "stop", "stalled"),
    [
        ("while True: pass", False, False),  # busy (a long prompt evaluation): alive
        ("import time; time.sleep(60)", False, True),  # blocked in a system call
        ("while True: pass", True, True),  # SIGSTOPped while busy
    ],
)
def test_the_progress_rule_on_real_processes(code: str, stop: bool, stalled: bool) -> None:
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.3)  # past the interpreter's start-up, which spends CPU time
        if stop:
            os.kill(process.pid, signal.SIGSTOP)
        idle = _idle_after(process, 1.5)
        assert (idle >= 1.0) is stalled, idle
    finally:
        process.kill()
        process.wait(10)


async def test_a_worker_stopped_while_loading_fails_the_load_and_its_queue(
    bundled_model_path: Path,
) -> None:
    engine = LocalEngine(CONFIG.model_copy(update={"stall_timeout_s": 1.0}))
    starting = asyncio.create_task(engine.start())
    pid = None
    try:
        async with asyncio.timeout(30):
            while pid is None:
                pid = engine.pid
                await asyncio.sleep(0.005)
        os.kill(pid, signal.SIGSTOP)
        assert engine.state == "loading"
        queued = asyncio.create_task(answer(engine, paris()))
        async with asyncio.timeout(30):
            with pytest.raises(EngineStalled, match="stalled while loading"):
                await starting
            with pytest.raises(EngineUnavailable, match="stalled while loading"):
                await queued
        assert engine.state == "failed"
        await gone(pid)
    finally:
        starting.cancel()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await engine.aclose()
