"""Crash detection and recovery of the local engine: kill -9 of the worker mid-answer.

Run: python bench/local_crash.py [--rounds N]
Each round streams a long answer, kills the worker with SIGKILL after three pieces, and times
(1) the kill to the EngineCrashed raised in the consumer and (2) the kill to the first piece of
the next request (which waits for the automatic restart: backoff, spawn, model load).
Target: detection within 1 s. Last line: `local_crash_detect_ms X` (the worst round).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.base import EngineCrashed, GenerationRequest, Message
from engines.local import LocalEngine
from engines.thread_sweep import bench_config, counting_request
from policies.config import LocalConfig


async def one_round(engine: LocalEngine, run: int) -> tuple[float, float]:
    killed_at = 0.0
    pieces = 0
    try:
        async for _ in engine.stream(counting_request(run, 400)):
            pieces += 1
            if pieces == 3:
                assert engine.pid is not None
                killed_at = time.perf_counter()
                os.kill(engine.pid, signal.SIGKILL)
    except EngineCrashed:
        detected = time.perf_counter() - killed_at
    else:
        raise AssertionError("the stream ended without EngineCrashed")
    request = GenerationRequest((Message("user", "Hi"),), max_tokens=2, temperature=0.0)
    async for _ in engine.stream(request):
        break
    return detected, time.perf_counter() - killed_at


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = LocalEngine(bench_config(LocalConfig(), 0))
    await engine.start()
    detections, recoveries = [], []
    try:
        print(f"{'round':>5}  {'detected ms':>11}  {'served again s':>14}")
        for run in range(1, args.rounds + 1):
            detected, recovered = await one_round(engine, run)
            detections.append(detected * 1000)
            recoveries.append(recovered)
            print(f"{run:>5}  {detected * 1000:>11.1f}  {recovered:>14.2f}")
    finally:
        await engine.aclose()
    print(
        f"detection median {statistics.median(detections):.1f} ms, worst {max(detections):.1f} ms;"
        f" next request served after {statistics.median(recoveries):.2f} s (median, incl. backoff)"
    )
    print(f"local_crash_detect_ms {max(detections):.1f}")


if __name__ == "__main__":
    asyncio.run(main())
