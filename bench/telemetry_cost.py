"""Cost of one telemetry sample, idle and while the local engine generates.

Run: python bench/telemetry_cost.py [--samples N]
Times `TelemetrySampler.sample()` (wall and this process's CPU time per call) on a running
LocalEngine with the bundled model, first idle, then while it streams a long answer, and turns the
CPU time into the share of one core that sampling at 2 Hz (the console's maximum) costs.
Target: < 1% of a core. Last line: `telemetry_core_pct_at_2hz X.XXX`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.local import LocalEngine
from engines.telemetry import TelemetrySampler
from engines.thread_sweep import bench_config, counting_request
from policies.config import LocalConfig


def measure(sampler: TelemetrySampler, samples: int) -> tuple[list[float], list[float]]:
    walls, cpus = [], []
    for _ in range(samples):
        wall, cpu = time.perf_counter(), time.process_time()
        sampler.sample()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return walls, cpus


def line(label: str, walls: list[float], cpus: list[float]) -> float:
    wall_p50 = statistics.median(walls) * 1e6
    wall_p99 = statistics.quantiles(walls, n=100)[98] * 1e6
    cpu_mean = statistics.fmean(cpus) * 1e6
    print(f"{label:<22}{wall_p50:>10.0f}{wall_p99:>10.0f}{cpu_mean:>12.0f}")
    return cpu_mean


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    engine = LocalEngine(bench_config(LocalConfig(), 0))
    await engine.start()
    sampler = TelemetrySampler(engine)
    try:
        print(f"{'engine':<22}{'p50 µs':>10}{'p99 µs':>10}{'cpu µs/call':>12}")
        idle = line("idle", *measure(sampler, args.samples))
        stream = engine.stream(counting_request(1, 400))
        await stream.__anext__()
        # Sampling runs in a thread (as in the TUI) while the loop forwards the stream.
        busy_walls, busy_cpus = await asyncio.to_thread(measure, sampler, args.samples)
        await stream.aclose()
        busy = line("generating", busy_walls, busy_cpus)
        snapshot = sampler.sample()
        print(f"engine threads seen: {len(snapshot.threads)}; n_threads {snapshot.n_threads}")
    finally:
        await engine.aclose()
    worst = max(idle, busy)
    pct = worst * 2 / 1e6 * 100
    print(f"at 2 Hz: {worst:.0f} µs CPU per sample x 2 per second = {pct:.3f}% of one core")
    print(f"telemetry_core_pct_at_2hz {pct:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
