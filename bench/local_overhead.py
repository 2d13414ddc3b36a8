"""Local engine overhead: raw llama-cpp-python in-process vs Switchboard's LocalEngine.

Run: python bench/local_overhead.py [--rounds N] [--max-tokens N]
Alternates (a) raw `Llama.create_completion(stream=True)` in this process and (b)
`LocalEngine.stream()` (worker process, pipe, reader thread, asyncio), never at the same time
(the worker is idle, blocked on its pipe, while (a) runs). Same GGUF, same prompt text and stop
sequences, n_threads = physical cores, same n_ctx and n_batch, greedy, no repeat penalty, a fixed
token budget that the counting answer fills. Both sides are timed the same way, from the caller:
TTFT = first visible streamed text after the call; generation tokens/s = pieces streamed after
it / (last - first).
Targets: ratio >= 0.95, TTFT overhead <= 20 ms. Last line: `local_tg_ratio X.XX`, the median
of the per-round ratios (each round's a and b ran back to back, which cancels load drift on a
shared machine); the ratio of the medians is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.base import Chunk, Finished
from engines.local import LocalEngine, physical_cores
from engines.model import resolve_model
from engines.prompt_format import dialogue_prompt
from engines.thread_sweep import bench_config, counting_request
from policies.config import LocalConfig


@dataclass(frozen=True)
class Run:
    tokens: int
    ttft_s: float
    gen_tps: float


def timed(started: float, stamps: list[tuple[float, str]], tokens: int) -> Run:
    """TTFT to the first visible text; generation speed over the pieces that followed it.

    Both sides stream one piece per token here (the counting answer has no stop-sequence
    prefixes to hold back), except that LocalEngine drops the answer's leading whitespace token,
    so both are timed from their first visible piece.
    """
    first = next(i for i, (_, text) in enumerate(stamps) if text.strip())
    span = stamps[-1][0] - stamps[first][0]
    return Run(tokens, stamps[first][0] - started, (len(stamps) - first - 1) / span)


def raw_run(llm: object, run: int, max_tokens: int) -> Run:
    prompt = dialogue_prompt(counting_request(run, max_tokens).messages)
    started = time.perf_counter()
    stamps: list[tuple[float, str]] = []
    for chunk in llm.create_completion(  # type: ignore[attr-defined]
        prompt.text,
        max_tokens=max_tokens,
        temperature=0.0,
        repeat_penalty=1.0,
        top_k=40,
        top_p=0.95,
        min_p=0.05,
        stop=list(prompt.stop),
        stream=True,
    ):
        # The closing chunk carries only the finish reason.
        if chunk["choices"][0]["text"]:
            stamps.append((time.perf_counter(), chunk["choices"][0]["text"]))
    return timed(started, stamps, len(stamps))


async def engine_run(engine: LocalEngine, run: int, max_tokens: int) -> Run:
    started = time.perf_counter()
    stamps: list[tuple[float, str]] = []
    tokens = 0
    async for event in engine.stream(counting_request(run, max_tokens)):
        if isinstance(event, Chunk):
            stamps.append((time.perf_counter(), event.text))
        elif isinstance(event, Finished):
            tokens = event.usage.completion_tokens
    return timed(started, stamps, tokens)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=64)
    args = parser.parse_args()

    import llama_cpp

    from engines._worker import quiet_llama_logs

    quiet_llama_logs()
    threads = physical_cores()
    config = bench_config(LocalConfig(), threads)
    model = resolve_model(config.model)
    llm = llama_cpp.Llama(
        model_path=str(model.path),
        n_threads=threads,
        n_threads_batch=threads,
        n_ctx=config.n_ctx,
        n_batch=config.n_batch,
        verbose=False,
    )
    engine = LocalEngine(config)
    await engine.start()
    raw: list[Run] = []
    ours: list[Run] = []
    try:
        # Round 0 warms both (page cache, first-call costs) and is not counted.
        for round_ in range(args.rounds + 1):
            a = raw_run(llm, 1000 + round_, args.max_tokens)
            b = await engine_run(engine, 1000 + round_, args.max_tokens)
            if round_:
                raw.append(a)
                ours.append(b)
            print(
                f"round {round_}{' (warm-up)' if not round_ else ''}: "
                f"raw {a.tokens} tok {a.gen_tps:6.1f} tok/s ttft {a.ttft_s * 1000:6.1f} ms | "
                f"engine {b.tokens} tok {b.gen_tps:6.1f} tok/s ttft {b.ttft_s * 1000:6.1f} ms"
            )
    finally:
        await engine.aclose()

    def med(runs: list[Run], key: str) -> float:
        return float(statistics.median(getattr(r, key) for r in runs))

    raw_tps, our_tps = med(raw, "gen_tps"), med(ours, "gen_tps")
    raw_ttft, our_ttft = med(raw, "ttft_s") * 1000, med(ours, "ttft_s") * 1000
    pairs = list(zip(raw, ours, strict=True))
    overhead = statistics.median((b.ttft_s - a.ttft_s) * 1000 for a, b in pairs)
    # Each (a, b) pair ran back to back, so its ratio cancels slow drifts in the machine's load.
    paired_ratio = statistics.median(b.gen_tps / a.gen_tps for a, b in pairs)
    print()
    print(
        f"model {model.label}, n_threads {threads}, n_ctx {config.n_ctx}, n_batch {config.n_batch}"
    )
    print(f"{'':24}{'raw llama-cpp':>14}{'LocalEngine':>14}")
    print(f"{'tokens per answer':24}{med(raw, 'tokens'):>14.0f}{med(ours, 'tokens'):>14.0f}")
    print(f"{'generation tok/s (med)':24}{raw_tps:>14.1f}{our_tps:>14.1f}")
    print(f"{'TTFT ms (med)':24}{raw_ttft:>14.1f}{our_ttft:>14.1f}")
    print(f"TTFT overhead (median of paired differences): {overhead:.1f} ms (target <= 20)")
    print(f"ratio of medians {our_tps / raw_tps:.3f}; median of paired ratios {paired_ratio:.3f}")
    print(f"local_tg_ratio {paired_ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
