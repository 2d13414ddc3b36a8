"""The pool over two real llama_cpp.server processes (the bundled model, one thread each).

One is killed (SIGKILL, by pid) while it streams: the request fails clearly with what was
shown, nothing is retried after the first token, the breaker of that server opens, the pool
answers from the other, and once the server is back the breaker closes again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from engines.base import Chunk, GenerationRequest, Message, StreamInterrupted
from engines.demo import DemoServer
from engines.model import resolve_model
from engines.pool import PoolEngine, PoolFinished
from engines.pool_settings import PoolServer, PoolSettings
from policies.config import BreakerConfig

pytestmark = pytest.mark.slow

STORY = "Write a very long story about a lighthouse keeper and the sea, in many paragraphs."


@pytest.fixture
def two_servers() -> Iterator[list[DemoServer]]:
    model = resolve_model("bundled")
    servers = [DemoServer(model, n_threads=1) for _ in range(2)]
    try:
        for server in servers:
            server.start_blocking()
        yield servers
    finally:
        for server in servers:
            server.stop_blocking()


def server_entry(name: str, server: DemoServer) -> PoolServer:
    return PoolServer(name=name, base_url=server.base_url, model="bundled", kind="openai")


async def test_a_real_server_killed_mid_stream(two_servers: list[DemoServer]) -> None:
    first, second = two_servers
    by_name = {"one": first, "two": second}
    pool = PoolEngine(
        PoolSettings(servers=(server_entry("one", first), server_entry("two", second))),
        BreakerConfig(failure_threshold=1, cooldown_s=1.0),
    )
    try:
        request = GenerationRequest((Message("user", STORY),), max_tokens=200, temperature=0.0)
        shown: list[str] = []
        victim = ""
        with pytest.raises(StreamInterrupted) as caught:
            async for event in pool.stream(request):
                assert isinstance(event, Chunk), "the answer ended before the server was killed"
                shown.append(event.text)
                if len(shown) == 1:
                    victim = next(s.name for s in pool.status().servers if s.inflight)
                    pid = by_name[victim].pid
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
        assert caught.value.partial == "".join(shown)
        assert f"pool server {victim}" in str(caught.value)
        status = {s.name: s for s in pool.status().servers}
        assert status[victim].breaker == "open"
        survivor = "two" if victim == "one" else "one"
        short = GenerationRequest((Message("user", "Say hello."),), max_tokens=8, temperature=0.0)
        finished = [event async for event in pool.stream(short)][-1]
        assert isinstance(finished, PoolFinished)
        assert finished.server == survivor
        # The killed server comes back on its port: the next health check's probe closes it.
        dead = by_name[victim]
        revived = DemoServer(resolve_model("bundled"), port=dead.port, n_threads=1)
        dead.stop_blocking()
        two_servers.append(revived)
        await revived.start()
        deadline = time.monotonic() + 30
        while {s.name: s for s in pool.status().servers}[victim].breaker != "closed":
            assert time.monotonic() < deadline, "breaker did not close"
            await pool.refresh()
            await asyncio.sleep(0.2)
        assert {s.name: s for s in pool.status().servers}[victim].state == "up"
    finally:
        await pool.aclose()
