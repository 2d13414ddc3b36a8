"""The pool's own cost: TTFT through a one-server pool against a direct request to that server.

One real `python -m llama_cpp.server` (one thread, the bundled model; it answers one request at
a time, so requests never overlap) and three clients of it in this process, taking turns:

- `direct`: a plain streaming POST with httpx + httpx-sse, no Switchboard code;
- `engine`: Switchboard's CloudEngine (the client every pool server gets);
- `pool`: a PoolEngine with that one server (balancing, slots, breaker, cost share on top).

Each round sends one request from each client, in an order that cycles through all six
permutations, and the first `--warmup` rounds are discarded. Per round the ratio pool/direct of
the time to the first content token is taken (a paired measurement: both met the machine in the
same second), and the headline is the median of those ratios, with their p90 beside it.

llama.cpp reuses the prompt prefix it evaluated last, so two requests in a row with the same
prompt would make the second one faster. The prompts therefore alternate between two that
differ from their first word and have the same number of tokens (checked on the server), so
every request follows a different prompt and evaluates the same amount.

CPU: the process CPU time of each request in this process (the server is another process), so
`pool - direct` is what Switchboard's client side costs per request and `pool - engine` is the
pool layer's own share. That share is then measured finely on its own: `--cpu-requests` pairs
of requests (pool, engine; alternating) to tests/fake_pool_server.py, which answers 8 chunks at
once, so that nothing but the client's work is timed.

    python bench/pool_overhead.py [--rounds 150] [--warmup 10] [--max-tokens 8]
        [--cpu-requests 1000]

Last line: `pool_ttft_ratio X` (median of the per-round TTFT ratios pool/direct; target <= 1.05).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from httpx_sse import aconnect_sse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.base import Chunk, GenerationRequest, Message
from engines.breaker import percentile
from engines.cloud import CloudEngine
from engines.demo import DemoServer
from engines.model import resolve_model
from engines.pool import PoolEngine
from engines.pool_settings import PoolServer, PoolSettings
from policies.config import BreakerConfig, CloudConfig

#: Two prompts that differ from their first word on and have as many tokens (checked at start).
PROMPTS = ("Apples: name one of their colours.", "Lemons: name one of their colours.")
ARMS = ("direct", "engine", "pool")

Timed = tuple[float, float]  # (TTFT seconds, CPU seconds of this process)


def request(prompt: str, max_tokens: int) -> GenerationRequest:
    return GenerationRequest((Message("user", prompt),), max_tokens=max_tokens, temperature=0.0)


async def direct(client: httpx.AsyncClient, base_url: str, prompt: str, max_tokens: int) -> Timed:
    """A plain streaming request, read to its end: time to the first content chunk."""
    body = {
        "model": "bundled",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "temperature": 0.0,
        "stream": True,
    }
    cpu, started = time.process_time(), time.perf_counter()
    first: float | None = None
    async with aconnect_sse(client, "POST", f"{base_url}/chat/completions", json=body) as source:
        async for sse in source.aiter_sse():
            # Stop at [DONE] like every OpenAI client: the server may not end the body after it.
            if sse.data.strip() == "[DONE]":
                break
            choices = json.loads(sse.data).get("choices") or [{}]
            if first is None and choices[0].get("delta", {}).get("content"):
                first = time.perf_counter() - started
    assert first is not None, "no content streamed"
    return first, time.process_time() - cpu


async def through(engine: CloudEngine | PoolEngine, prompt: str, max_tokens: int) -> Timed:
    """The same request through a Switchboard engine, read to its end."""
    cpu, started = time.process_time(), time.perf_counter()
    first: float | None = None
    async for event in engine.stream(request(prompt, max_tokens)):
        if first is None and isinstance(event, Chunk) and event.text:
            first = time.perf_counter() - started
    assert first is not None, "no content streamed"
    return first, time.process_time() - cpu


def median_interval(values: list[float], resamples: int = 2000) -> tuple[float, float]:
    """A 95% bootstrap interval of the median of `values` (fixed seed: the same data, the same
    interval)."""
    rng = random.Random(0)
    medians = sorted(
        statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples)
    )
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


async def pool_layer_cpu(pairs: int) -> tuple[float, float]:
    """Mean CPU ms per request of the pool and of a CloudEngine alone, to a server that answers
    at once (alternating, after a warm-up)."""
    script = Path(__file__).resolve().parent.parent / "tests" / "fake_pool_server.py"
    command = [sys.executable, str(script), "--tokens", "8", "--token-delay", "0"]
    fake = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert fake.stdout is not None
        base_url = f"http://127.0.0.1:{int(fake.stdout.readline().split()[1])}/v1"
        breaker = BreakerConfig()
        # The client each pool server gets: no proxy, no retry on the same server.
        config = CloudConfig(
            base_url=base_url, model="m", api_key_env="", proxy="none", max_retries=0
        )
        engine = CloudEngine(config, breaker)
        pool = PoolEngine(
            PoolSettings(servers=(PoolServer(name="fake", base_url=base_url, model="m"),)),
            breaker,
        )
        spent = {"pool": 0.0, "engine": 0.0}
        try:
            for number in range(pairs + 50):
                order = ((engine, "engine"), (pool, "pool"))
                for client, name in order if number % 2 else order[::-1]:
                    _, cpu = await through(client, "Hello.", 8)
                    if number >= 50:
                        spent[name] += cpu
        finally:
            await pool.aclose()
            await engine.aclose()
    finally:
        fake.kill()
        fake.wait()
    return spent["pool"] / pairs * 1000, spent["engine"] / pairs * 1000


async def token_count(client: httpx.AsyncClient, base_url: str, text: str) -> int:
    root = base_url.removesuffix("/v1")
    response = await client.post(f"{root}/extras/tokenize", json={"input": text})
    response.raise_for_status()
    return len(response.json()["tokens"])


async def main(args: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    server = DemoServer(resolve_model("bundled"), n_threads=1, new_session=True)
    await server.start()
    breaker = BreakerConfig()
    engine = CloudEngine(
        CloudConfig(
            base_url=server.base_url, model="bundled", api_key_env="", proxy="none", max_retries=0
        ),
        breaker,
    )
    pool = PoolEngine(
        PoolSettings(servers=(PoolServer(name="only", base_url=server.base_url, model="bundled"),)),
        breaker,
    )
    rows: list[dict[str, Timed]] = []
    try:
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            counts = [await token_count(client, server.base_url, p) for p in PROMPTS]
            assert counts[0] == counts[1], f"the two prompts differ in tokens: {counts}"
            arms: dict[str, Callable[[str], Awaitable[Timed]]] = {
                "direct": lambda p: direct(client, server.base_url, p, args.max_tokens),
                "engine": lambda p: through(engine, p, args.max_tokens),
                "pool": lambda p: through(pool, p, args.max_tokens),
            }
            orders = list(itertools.permutations(ARMS))
            sent = 0
            for number in range(args.warmup + args.rounds):
                # Two rounds per order, so each order meets both prompt parities.
                order = orders[(number // 2) % len(orders)]
                row: dict[str, Timed] = {}
                for arm in order:
                    row[arm] = await arms[arm](PROMPTS[sent % 2])
                    sent += 1
                if number >= args.warmup:
                    rows.append(row)
    finally:
        await pool.aclose()
        await engine.aclose()
        await server.stop()
    layer_pool, layer_engine = await pool_layer_cpu(args.cpu_requests)
    load_after = os.getloadavg()

    print(
        f"\n{len(rows)} rounds (after {args.warmup} discarded), one request per client each, "
        f"order cycling through all six; llama_cpp.server (1 thread), bundled model, "
        f"max_tokens {args.max_tokens}; prompts of {counts[0]} tokens"
    )
    print(f"{'client':<8}{'TTFT p50 ms':>12}{'TTFT p90 ms':>12}{'CPU/request p50 ms':>20}")
    for arm in ARMS:
        ttft = [row[arm][0] * 1000 for row in rows]
        cpu = [row[arm][1] * 1000 for row in rows]
        print(
            f"{arm:<8}{statistics.median(ttft):>12.1f}{percentile(ttft, 0.9) or 0.0:>12.1f}"
            f"{statistics.median(cpu):>20.3f}"
        )
    ratios = [row["pool"][0] / row["direct"][0] for row in rows]
    engine_ratios = [row["engine"][0] / row["direct"][0] for row in rows]
    pool_vs_engine = [(row["pool"][1] - row["engine"][1]) * 1000 for row in rows]
    pool_vs_direct = [(row["pool"][1] - row["direct"][1]) * 1000 for row in rows]
    low, high = median_interval(ratios)
    print(
        f"\nper-round TTFT ratio pool/direct: median {statistics.median(ratios):.3f} (95% "
        f"bootstrap interval {low:.3f}-{high:.3f}), p90 {percentile(ratios, 0.9) or 0.0:.3f} "
        f"(target median <= 1.05); "
        f"engine/direct median {statistics.median(engine_ratios):.3f}"
    )
    print(
        f"CPU per request, paired: pool - engine median {statistics.median(pool_vs_engine):.3f} ms"
        f" (the pool layer's own cost), pool - direct {statistics.median(pool_vs_direct):.3f} ms"
    )
    print(
        f"pool layer alone, {args.cpu_requests} pairs against a server answering at once: "
        f"pool {layer_pool:.3f} ms CPU a request, its CloudEngine alone {layer_engine:.3f} ms: "
        f"the pool's own cost {layer_pool - layer_engine:.3f} ms a request"
    )
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores)")
    print(f"pool_ttft_ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--cpu-requests", type=int, default=1000)
    asyncio.run(main(parser.parse_args()))
