"""Pool balancing on real servers: least_loaded vs round_robin with one slow server, and overhead.

Three real `python -m llama_cpp.server` processes serve the bundled model on 127.0.0.1, one
thread each; one of them sits behind a latency-injecting proxy this script owns (every request
to it waits before it is forwarded: a far or overloaded lab machine; this kernel has no netem).
The wait is 3x the median latency of a warm-up burst at the same concurrency on the two other
servers (at least 1 s): the servers share this machine's cores, so a fixed delay would make the
slow server barely slower when the machine is busy. Both strategies answer the same short
prompts (max_tokens 8) at concurrency 4, in alternating rounds so that the machine's load falls
on both alike. Printed: p50/p95/mean latency and the share of requests each strategy sent to
the slow server. (The pool's own cost, TTFT through the pool against a direct request, is
measured by bench/pool_overhead.py.)

    python bench/pool_balance.py [--requests 200] [--rounds 4] [--slow-factor 3 | --slow-s S]

Last line: `pool_p95_ratio X` (p95 least_loaded / p95 round_robin; target <= 0.7).
Absolute times depend on the machine's load (2 cores shared): the ratios are what to read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.base import GenerationRequest, Message
from engines.breaker import percentile
from engines.demo import DemoServer
from engines.model import resolve_model
from engines.pool import PoolEngine, PoolFinished
from engines.pool_settings import PoolServer, PoolSettings
from policies.config import BreakerConfig
from tests.faultproxy import Fault, FaultProxy

PROMPTS = (
    "Say hello.",
    "Name a color.",
    "What is the sea?",
    "Give me a word for happy.",
    "Name a fruit.",
    "Say something about cats.",
    "What is a lighthouse?",
    "Name a city.",
)
CONCURRENCY = 4
MAX_TOKENS = 8


def request(index: int) -> GenerationRequest:
    prompt = PROMPTS[index % len(PROMPTS)]
    return GenerationRequest((Message("user", prompt),), max_tokens=MAX_TOKENS, temperature=0.0)


async def one(pool: PoolEngine, index: int) -> tuple[float, str]:
    started = time.perf_counter()
    finished: PoolFinished | None = None
    async for event in pool.stream(request(index)):
        if isinstance(event, PoolFinished):
            finished = event
    assert finished is not None
    return time.perf_counter() - started, finished.server


async def run(pool: PoolEngine, count: int, offset: int) -> list[tuple[float, str]]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def limited(index: int) -> tuple[float, str]:
        async with limit:
            return await one(pool, index)

    return list(await asyncio.gather(*(limited(offset + i) for i in range(count))))


async def direct_ttft(base_url: str, index: int, client: httpx.AsyncClient) -> float:
    """Time to the first content chunk of a plain streaming request, no Switchboard code."""
    body = {
        "model": "bundled",
        "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
        "stream": True,
    }
    started = time.perf_counter()
    first: float | None = None
    seen: list[str] = []
    async with aconnect_sse(client, "POST", f"{base_url}/chat/completions", json=body) as source:
        async for sse in source.aiter_sse():
            # Stop at [DONE] like every OpenAI client: llama_cpp.server may drop the connection
            # without ending the chunked body after it.
            if sse.data.strip() == "[DONE]":
                break
            seen.append(sse.data[:300])
            choices = json.loads(sse.data).get("choices") or [{}]
            if first is None and choices[0].get("delta", {}).get("content"):
                first = time.perf_counter() - started
    assert first is not None, f"no content streamed: {seen}"
    return first


def settings(servers: tuple[PoolServer, ...], strategy: str, slow_s: float) -> PoolSettings:
    return PoolSettings(
        servers=servers,
        strategy=strategy,  # type: ignore[arg-type]
        poll_interval_s=1.0,
        # The slow server is slow, not down: its health check must not time out.
        health_timeout_s=min(60.0, slow_s + 5.0),
        queue_timeout_s=120.0,
    )


async def main(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    model = resolve_model("bundled")
    servers = [DemoServer(model, n_threads=1) for _ in range(3)]
    proxy: FaultProxy | None = None
    pools: list[PoolEngine] = []
    try:
        for server in servers:
            await server.start()
        fast = (
            PoolServer(name="fast-1", base_url=servers[0].base_url, model="bundled"),
            PoolServer(name="fast-2", base_url=servers[1].base_url, model="bundled"),
        )
        # Warm every server (first-request costs) outside the measurement, and measure what a
        # request takes here now, at the bench's concurrency on the two fast servers: the slow
        # server adds a multiple of that, so it stays "slow" however loaded the machine is.
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            for server in servers:
                await direct_ttft(server.base_url, 0, client)
        warm_pool = PoolEngine(settings(fast, "round_robin", 5.0), BreakerConfig())
        pools.append(warm_pool)
        typical = statistics.median(latency for latency, _ in await run(warm_pool, 16, 0))
        await warm_pool.aclose()
        slow_s = args.slow_s if args.slow_s is not None else max(1.0, args.slow_factor * typical)
        proxy = FaultProxy(upstream_port=servers[2].port, default=Fault(delay_s=slow_s))
        await proxy.start()
        entries = (*fast, PoolServer(name="slow", base_url=proxy.base_url, model="bundled"))
        breaker = BreakerConfig()
        balanced = PoolEngine(settings(entries, "least_loaded", slow_s), breaker)
        round_robin = PoolEngine(settings(entries, "round_robin", slow_s), breaker)
        pools += [balanced, round_robin]
        for pool in pools:
            pool.start()
        results: dict[str, list[tuple[float, str]]] = {"least_loaded": [], "round_robin": []}
        per_round = max(1, args.requests // args.rounds)
        for number in range(args.rounds):
            order = [("round_robin", round_robin), ("least_loaded", balanced)]
            if number % 2:
                order.reverse()
            for name, pool in order:
                results[name] += await run(pool, per_round, number * per_round)
            print(f"round {number + 1}/{args.rounds} done", file=sys.stderr)

    finally:
        for pool in pools:
            await pool.aclose()
        if proxy is not None:
            await proxy.stop()
        for server in servers:
            await server.stop()
    load_after = os.getloadavg()

    print(
        f"\n{args.requests} requests per strategy, concurrency {CONCURRENCY}, max_tokens "
        f"{MAX_TOKENS}; 3 llama_cpp.server (1 thread each); a request took {typical:.2f} s"
        f" (median of 16 at concurrency {CONCURRENCY} on the two fast servers); the 'slow' "
        f"server adds {slow_s:.2f} s"
    )
    print(f"{'strategy':<14}{'p50 s':>8}{'p95 s':>8}{'mean s':>8}{'to slow':>9}{'n':>6}")
    p95: dict[str, float] = {}
    for name, rows in results.items():
        latencies = [latency for latency, _ in rows]
        slow_share = sum(server == "slow" for _, server in rows) / len(rows)
        p95[name] = percentile(latencies, 0.95) or 0.0
        print(
            f"{name:<14}{percentile(latencies, 0.5) or 0.0:>8.3f}{p95[name]:>8.3f}"
            f"{statistics.fmean(latencies):>8.3f}{slow_share:>9.1%}{len(rows):>6}"
        )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores)")
    print(f"pool_p95_ratio {p95['least_loaded'] / p95['round_robin']:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--slow-s", type=float, default=None, help="fixed delay of the slow server (seconds)"
    )
    parser.add_argument(
        "--slow-factor",
        type=float,
        default=3.0,
        help="without --slow-s: the slow server adds this many times the warm-up median latency",
    )
    asyncio.run(main(parser.parse_args()))
