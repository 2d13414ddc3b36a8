"""n_threads sweep on the configured model (the same measurement as `switchboard bench threads`).

Run: python bench/threads.py [--config config.toml] [--max-tokens N] [--repeats N]
For each n_threads from 1 to the logical core count, the engine is reloaded and answers the
counting conversation (greedy, fixed token budget); median prompt and generation tokens/s.
Last line: `best_n_threads N`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.thread_sweep import ThreadResult, sweep_threads
from policies.config import load_config


def show(result: ThreadResult) -> None:
    print(
        f"{result.n_threads:>9}  {result.prompt_tps:>10.1f}  {result.gen_tps:>9.1f}"
        f"  {result.ttft_s * 1000:>8.0f}  {result.completion_tokens:>6}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = load_config(args.config).local
    print(f"{'n_threads':>9}  {'prompt t/s':>10}  {'gen t/s':>9}  {'ttft ms':>8}  {'tokens':>6}")
    sweep = await sweep_threads(
        config, max_tokens=args.max_tokens, repeats=args.repeats, on_result=show
    )
    best = sweep.best
    print(
        f"model {sweep.model}; {sweep.physical_cores} physical / {sweep.logical_cores} logical"
        f" cores; fastest generation at n_threads = {best.n_threads} ({best.gen_tps:.1f} tok/s)"
    )
    print(f"best_n_threads {best.n_threads}")


if __name__ == "__main__":
    asyncio.run(main())
