"""The pool engine against real server processes on 127.0.0.1 (tests/fake_pool_server.py).

Balancing, max_inflight, failover before the first token, no retry after it, breakers per
server, redaction for untrusted servers, health and load polling, cost apportioning.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from engines.base import (
    Chunk,
    EngineBusy,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    Message,
    StreamInterrupted,
)
from engines.pool import PoolEngine, PoolFinished, _Member
from engines.pool_settings import PoolServer, PoolSettings
from policies.config import BreakerConfig
from policies.prices import apportion_busy_seconds, pool_cost
from tests.pool_servers import FakeServer, FakeServers


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[FakeServers]:
    servers = FakeServers(tmp_path)
    try:
        yield servers
    finally:
        servers.close()


def request(text: str = "hello", max_tokens: int = 8) -> GenerationRequest:
    return GenerationRequest((Message("user", text),), max_tokens=max_tokens, temperature=0.0)


def entry(server: FakeServer, **overrides: Any) -> PoolServer:
    kind = server.args[server.args.index("--kind") + 1]
    values: dict[str, Any] = {
        "name": server.name,
        "base_url": server.base_url,
        "model": f"model-{server.name}",
        "kind": kind,
    }
    values.update(overrides)
    return PoolServer(**values)


def make_pool(
    *servers: PoolServer, breaker: BreakerConfig | None = None, **settings: Any
) -> PoolEngine:
    values: dict[str, Any] = {"servers": servers, "poll_interval_s": 0.5}
    values.update(settings)
    return PoolEngine(PoolSettings(**values), breaker or BreakerConfig())


@pytest.fixture
async def pools() -> AsyncIterator[list[PoolEngine]]:
    made: list[PoolEngine] = []
    yield made
    for pool in made:
        await pool.aclose()


async def answer(
    pool: PoolEngine, req: GenerationRequest | None = None, **kwargs: Any
) -> tuple[str, PoolFinished]:
    text: list[str] = []
    finished: Finished | None = None
    async for event in pool.stream(req or request(), **kwargs):
        if isinstance(event, Chunk):
            text.append(event.text)
        else:
            finished = event
    assert isinstance(finished, PoolFinished)
    return "".join(text), finished


async def test_answers_and_names_the_server(fakes: FakeServers, pools: list[PoolEngine]) -> None:
    server = fakes.start("a", tokens=3)
    pool = make_pool(entry(server, cost_per_hour=3.6))
    pools.append(pool)
    text, finished = await answer(pool)
    assert text == "t0 t1 t2 "
    assert finished.server == "a"
    assert finished.model == "model-a"
    assert finished.usage.completion_tokens == 3
    assert finished.failed_over == ()
    assert 0 < finished.share_s <= finished.total_s
    cost = pool_cost("a", finished.share_s, finished.cost_per_hour)
    assert cost.tier == "pool" and cost.known
    assert cost.total_usd == pytest.approx(finished.share_s * 3.6 / 3600)


async def run_many(
    pool: PoolEngine, count: int, concurrency: int, **kwargs: Any
) -> list[PoolFinished]:
    limit = asyncio.Semaphore(concurrency)

    async def one() -> PoolFinished:
        async with limit:
            return (await answer(pool, **kwargs))[1]

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def test_least_loaded_avoids_the_slow_server_round_robin_does_not(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    slow = fakes.start("slow", first_delay=0.4, tokens=2)
    fast = fakes.start("fast", tokens=2)
    # The slow server is listed first, so ties go its way.
    servers = (entry(slow), entry(fast))
    balanced = make_pool(*servers)
    rr = make_pool(*servers, strategy="round_robin")
    pools.extend([balanced, rr])
    by_rr = await run_many(rr, 24, 3)
    by_balance = await run_many(balanced, 24, 3)
    assert sum(f.server == "slow" for f in by_rr) == 12
    assert sum(f.server == "slow" for f in by_balance) <= 6
    assert "least loaded" in by_balance[-1].why


async def test_max_inflight_is_never_exceeded(fakes: FakeServers, pools: list[PoolEngine]) -> None:
    a = fakes.start("a", slots=16, tokens=6, token_delay=0.03)
    b = fakes.start("b", slots=16, tokens=6, token_delay=0.03)
    pool = make_pool(entry(a, max_inflight=2), entry(b, max_inflight=3))
    pools.append(pool)
    seen_waiting = 0

    async def watch() -> None:
        nonlocal seen_waiting
        while True:
            status = pool.status()
            seen_waiting = max(seen_waiting, status.waiting)
            for server in status.servers:
                assert server.inflight <= server.max_inflight
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    results = await run_many(pool, 30, 12)
    watcher.cancel()
    assert len(results) == 30
    assert a.stats()["peak"] <= 2
    assert b.stats()["peak"] <= 3
    assert a.stats()["requests"] + b.stats()["requests"] == 30
    # 12 at once against 5 slots: some had to wait, and were not lost.
    assert seen_waiting > 0


async def test_waiting_too_long_for_a_slot_is_busy(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    a = fakes.start("a", tokens=8, token_delay=0.25)
    pool = make_pool(entry(a, max_inflight=1), queue_timeout_s=0.2)
    pools.append(pool)
    first = asyncio.create_task(answer(pool))
    deadline = time.monotonic() + 5
    while pool.status().servers[0].inflight == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    with pytest.raises(EngineBusy, match="max_inflight"):
        await answer(pool)
    _, finished = await first
    assert finished.server == "a"


async def test_a_dead_server_is_failed_over_before_the_first_token(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    dead = fakes.start("dead")
    alive = fakes.start("alive")
    dead.kill()
    pool = make_pool(entry(dead), entry(alive))
    pools.append(pool)
    text, finished = await answer(pool)
    assert text
    assert finished.server == "alive"
    assert [name for name, _ in finished.failed_over] == ["dead"]
    assert "cannot reach" in finished.failed_over[0][1]
    status = {server.name: server for server in pool.status().servers}
    assert status["dead"].failed == 1
    assert status["dead"].last_error


async def test_every_server_failing_names_each(fakes: FakeServers, pools: list[PoolEngine]) -> None:
    a, b = fakes.start("a"), fakes.start("b")
    a.kill()
    b.kill()
    pool = make_pool(entry(a), entry(b))
    pools.append(pool)
    with pytest.raises(EngineUnavailable) as caught:
        await answer(pool)
    message = str(caught.value)
    assert "every server failed" in message
    assert "a: cannot reach" in message and "b: cannot reach" in message


async def test_killed_mid_stream_fails_clearly_and_the_breaker_opens_then_closes(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    victim = fakes.start("victim", tokens=40, token_delay=0.05)
    other = fakes.start("other")
    breaker = BreakerConfig(failure_threshold=1, cooldown_s=0.5)
    pool = make_pool(entry(victim), entry(other), breaker=breaker)
    pools.append(pool)
    shown: list[str] = []
    with pytest.raises(StreamInterrupted) as caught:
        async for event in pool.stream(request(max_tokens=40)):
            assert isinstance(event, Chunk)
            shown.append(event.text)
            if len(shown) == 2:
                victim.kill()
    # No retry after the first token: the user keeps what was shown, and is told.
    assert caught.value.partial == "".join(shown)
    assert "pool server victim" in str(caught.value)
    assert other.stats()["requests"] == 0
    status = {server.name: server for server in pool.status().servers}
    assert status["victim"].breaker == "open"
    assert status["victim"].state == "down"
    # Meanwhile the pool answers from the other server.
    _, finished = await answer(pool)
    assert finished.server == "other"
    # The server comes back on its port; after the cooldown the health check's probe closes the
    # breaker, without spending a user's request on finding out.
    victim.start()
    deadline = time.monotonic() + 10
    while True:
        await pool.refresh()
        state = {server.name: server for server in pool.status().servers}["victim"]
        if state.breaker == "closed":
            break
        assert time.monotonic() < deadline, f"breaker still {state.breaker}"
        await asyncio.sleep(0.1)
    assert state.state == "up"
    assert victim.stats()["requests"] == 0


async def test_untrusted_servers_only_ever_see_the_redacted_text(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    trusted = fakes.start("trusted")
    untrusted = fakes.start("untrusted")
    pool = make_pool(
        entry(trusted, trusted=True), entry(untrusted, trusted=False), strategy="round_robin"
    )
    pools.append(pool)
    plain = request("Write to Alice Smith at alice.smith@example.com about the outage")
    redacted = request("Write to <PERSON_1> at <EMAIL_ADDRESS_1> about the outage")
    results = await run_many(pool, 6, 2, req=plain, redacted=redacted)
    assert {f.server for f in results} == {"trusted", "untrusted"}
    assert "Alice" not in untrusted.received_text()
    assert "alice.smith@example.com" not in untrusted.received_text()
    assert "<PERSON_1>" in untrusted.received_text()
    assert "Alice Smith" in trusted.received_text()
    before = len(untrusted.bodies())
    results = await run_many(pool, 6, 3, req=plain, trusted_only=True)
    assert {f.server for f in results} == {"trusted"}
    assert len(untrusted.bodies()) == before
    # With only untrusted servers, a private prompt is refused rather than sent.
    only_untrusted = make_pool(entry(untrusted, trusted=False))
    pools.append(only_untrusted)
    with pytest.raises(EngineUnavailable, match="not trusted"):
        await answer(only_untrusted, plain, trusted_only=True)
    assert len(untrusted.bodies()) == before


async def test_refresh_reads_each_kind_of_load_report(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    llama = fakes.start("llama", kind="llama.cpp", slots=3)
    vllm = fakes.start("vllm", kind="vllm")
    ollama = fakes.start("ollama", kind="ollama")
    plain = fakes.start("plain", kind="openai")
    pool = make_pool(*(entry(s) for s in (llama, vllm, ollama, plain)))
    pools.append(pool)
    await answer(pool)
    await pool.refresh()
    status = {server.name: server for server in pool.status().servers}
    assert all(server.state == "up" for server in status.values()), status
    assert status["llama"].total_slots == 3 and status["llama"].idle_slots == 3
    assert status["vllm"].kv_cache_use == pytest.approx(0.25)
    assert all(server.health_ms is not None for server in status.values())
    # A server that stops answering is "down" at the next check, and is not chosen.
    llama.kill()
    await pool.refresh()
    status = {server.name: server for server in pool.status().servers}
    assert status["llama"].state == "down"
    assert "cannot reach" in (status["llama"].last_error or "")
    assert pool.preview() is not None and pool.preview().server != "llama"  # type: ignore[union-attr]


async def test_background_polling_notices_a_server_going_down(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    a, b = fakes.start("a"), fakes.start("b")
    pool = make_pool(entry(a), entry(b), poll_interval_s=0.2)
    pools.append(pool)
    pool.start()
    deadline = time.monotonic() + 5
    while {s.state for s in pool.status().servers} != {"up"}:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    a.kill()
    deadline = time.monotonic() + 5
    while {s.name: s.state for s in pool.status().servers}["a"] != "down":
        assert time.monotonic() < deadline, "server a not seen down within 5 s"
        await asyncio.sleep(0.05)
    assert (await answer(pool))[1].server == "b"


def test_busy_time_is_apportioned_among_concurrent_requests() -> None:
    now = [0.0]
    member = _Member(
        PoolServer(name="a", base_url="http://127.0.0.1:1/v1", model="m"),
        engine=None,  # type: ignore[arg-type]
        clock=lambda: now[0],
    )
    first = member.begin()
    now[0] = 1.0
    second = member.begin()
    now[0] = 2.0
    share_first = member.end(first)
    now[0] = 4.0
    share_second = member.end(second)
    assert [share_first, share_second] == pytest.approx(apportion_busy_seconds([(0, 2), (1, 4)]))
    assert [share_first, share_second] == pytest.approx([1.5, 2.5])
    # The shares add up to the time the server was busy, never more.
    assert share_first + share_second == pytest.approx(4.0)


async def test_shares_of_overlapping_requests_add_up_to_the_busy_time(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    a = fakes.start("a", tokens=5, token_delay=0.05)
    pool = make_pool(entry(a))
    pools.append(pool)
    started = time.perf_counter()
    results = await run_many(pool, 4, 4)
    wall = time.perf_counter() - started
    assert sum(f.share_s for f in results) <= wall
    assert all(f.share_s < f.total_s for f in results)


async def test_live_reconfigure_keeps_unchanged_servers(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    a, b = fakes.start("a"), fakes.start("b")
    pool = make_pool(entry(a))
    pools.append(pool)
    await answer(pool)
    pool.reconfigure(PoolSettings(servers=(entry(a), entry(b))))
    status = {server.name: server for server in pool.status().servers}
    assert status["a"].served == 1
    assert status["b"].served == 0
    pool.reconfigure(PoolSettings(servers=(entry(b),)))
    assert [server.name for server in pool.status().servers] == ["b"]
    assert (await answer(pool))[1].server == "b"


async def test_closing_the_stream_frees_the_slot_and_the_connection(
    fakes: FakeServers, pools: list[PoolEngine]
) -> None:
    a = fakes.start("a", tokens=100, token_delay=0.05)
    pool = make_pool(entry(a, max_inflight=1))
    pools.append(pool)
    stream = pool.stream(request(max_tokens=100))
    first = await anext(stream)
    assert isinstance(first, Chunk)
    await stream.aclose()
    assert pool.status().servers[0].inflight == 0
    deadline = time.monotonic() + 5
    while a.stats()["active"]:
        assert time.monotonic() < deadline, "the server still streams to nobody"
        await asyncio.sleep(0.05)
    # The slot is free again at once.
    assert (await answer(pool, request(max_tokens=2)))[1].server == "a"
