"""Time to first token and total time: Switchboard's CloudEngine vs the official openai SDK.

Both stream the same request (temperature 0, same max_tokens) from the same local
llama_cpp.server serving the bundled model, in one run, alternating in ABBA order so neither
client gains from warm-up or drift. Prints medians and, as the last line,
`cloud_ttft_ratio X.XX` (Switchboard / SDK; target <= 1.05).

    python bench/cloud_overhead.py [--rounds N] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openai import AsyncOpenAI

from engines.base import Chunk, GenerationRequest, Message
from engines.cloud import CloudEngine
from engines.demo import DemoServer
from engines.model import resolve_model
from policies.config import BreakerConfig, CloudConfig

PROMPT = "Name three colours of the rainbow."
MODEL = "bench-model"


async def run_switchboard(engine: CloudEngine, max_tokens: int) -> tuple[float, float, int]:
    request = GenerationRequest((Message("user", PROMPT),), max_tokens=max_tokens, temperature=0.0)
    started = time.perf_counter()
    ttft = None
    pieces = 0
    async for event in engine.stream(request):
        if isinstance(event, Chunk) and event.text:
            pieces += 1
            if ttft is None:
                ttft = time.perf_counter() - started
    total = time.perf_counter() - started
    assert ttft is not None, "no token streamed"
    return ttft, total, pieces


async def run_sdk(client: AsyncOpenAI, max_tokens: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    ttft = None
    pieces = 0
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=max_tokens,
        temperature=0.0,
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces += 1
            if ttft is None:
                ttft = time.perf_counter() - started
    total = time.perf_counter() - started
    assert ttft is not None, "no token streamed"
    return ttft, total, pieces


async def bench(base_url: str, rounds: int, max_tokens: int) -> None:
    cloud = CloudConfig(base_url=base_url, model=MODEL, proxy="none", max_retries=0)
    engine = CloudEngine(cloud, BreakerConfig())
    client = AsyncOpenAI(base_url=base_url, api_key="unused", max_retries=0)
    results: dict[str, list[tuple[float, float, int]]] = {"switchboard": [], "openai sdk": []}
    runners = {
        "switchboard": lambda: run_switchboard(engine, max_tokens),
        "openai sdk": lambda: run_sdk(client, max_tokens),
    }
    for name in runners:  # warm-up: connection pools, server prompt cache
        await runners[name]()
    order = ["switchboard", "openai sdk", "openai sdk", "switchboard"]
    for index in range(rounds * 2):
        name = order[index % 4]
        results[name].append(await runners[name]())
    await engine.aclose()
    await client.close()

    print(f"{rounds} requests each, max_tokens={max_tokens}, temperature 0, ABBA order")
    print(
        f"{'client':<12} {'ttft p50 ms':>12} {'ttft min ms':>12} {'total p50 ms':>13} {'chunks':>7}"
    )
    medians: dict[str, tuple[float, float]] = {}
    for name, rows in results.items():
        ttft = statistics.median(row[0] for row in rows)
        total = statistics.median(row[1] for row in rows)
        medians[name] = (ttft, total)
        chunks = statistics.median(row[2] for row in rows)
        print(
            f"{name:<12} {ttft * 1000:>12.1f} {min(r[0] for r in rows) * 1000:>12.1f} "
            f"{total * 1000:>13.1f} {chunks:>7.0f}"
        )
    ttft_ratio = medians["switchboard"][0] / medians["openai sdk"][0]
    total_ratio = medians["switchboard"][1] / medians["openai sdk"][1]
    print(f"total-time ratio (switchboard/sdk): {total_ratio:.2f}")
    print(f"cloud_ttft_ratio {ttft_ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="requests per client")
    parser.add_argument("--max-tokens", type=int, default=16)
    args = parser.parse_args()
    with DemoServer(resolve_model("bundled")) as server:
        asyncio.run(bench(server.base_url, args.rounds, args.max_tokens))


if __name__ == "__main__":
    main()
