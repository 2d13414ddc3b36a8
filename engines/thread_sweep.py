"""`switchboard bench threads`: tokens/s of the configured model for each n_threads.

One LocalEngine is reloaded with 1, 2, ... threads; each setting answers the same conversation
(greedy, no repeat penalty, a fixed token budget that a counting answer fills), and the median
prompt and generation speeds are kept. The system line differs per run so the prompt cache of
llama-cpp-python never shortens the prompt evaluation being measured.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil

from engines.base import Finished, GenerationRequest, Message
from engines.local import LocalEngine
from engines.settings import LocalConfig

#: A conversation the bundled base model answers with a long run of numbers (greedy, no penalty),
#: so every run generates exactly `max_tokens` tokens.
COUNTING = (
    Message("user", "Count from 1 to 10."),
    Message("assistant", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10."),
    Message("user", "Now count from 11 to 99."),
)


def counting_request(run: int, max_tokens: int) -> GenerationRequest:
    """The benchmark conversation, its first line made unique by `run`."""
    system = Message(
        "system",
        f"Benchmark run {run}. The assistant answers the user's questions helpfully, "
        "correctly and briefly.",
    )
    return GenerationRequest(messages=(system, *COUNTING), max_tokens=max_tokens, temperature=0.0)


def bench_config(config: LocalConfig, n_threads: int) -> LocalConfig:
    """`config` with `n_threads` and deterministic sampling (greedy, no repeat penalty)."""
    return config.model_copy(
        update={"n_threads": n_threads, "temperature": 0.0, "repeat_penalty": 1.0}
    )


@dataclass(frozen=True)
class ThreadResult:
    """Median figures of one n_threads setting."""

    n_threads: int
    prompt_tps: float
    gen_tps: float
    ttft_s: float
    completion_tokens: int


@dataclass(frozen=True)
class SweepResult:
    """Every setting measured, and the fastest at generation."""

    model: str
    physical_cores: int
    logical_cores: int
    results: tuple[ThreadResult, ...]

    @property
    def best(self) -> ThreadResult:
        """The setting with the highest generation tokens/s."""
        return max(self.results, key=lambda r: r.gen_tps)


async def _measure(engine: LocalEngine, run: int, max_tokens: int) -> Finished:
    finished: Finished | None = None
    async for event in engine.stream(counting_request(run, max_tokens)):
        if isinstance(event, Finished):
            finished = event
    assert finished is not None
    return finished


async def sweep_threads(
    config: LocalConfig,
    counts: Sequence[int] | None = None,
    *,
    max_tokens: int = 48,
    repeats: int = 2,
    on_result: Callable[[ThreadResult], None] | None = None,
) -> SweepResult:
    """Measure each n_threads in `counts` (default 1..logical cores) on the configured model.

    Raises ModelError when the model cannot be loaded.
    """
    logical = psutil.cpu_count(logical=True) or 1
    physical = psutil.cpu_count(logical=False) or logical
    settings = list(counts) if counts else list(range(1, logical + 1))
    engine = LocalEngine(bench_config(config, settings[0]))
    results: list[ThreadResult] = []
    run = 0
    try:
        await engine.start()
        for n_threads in settings:
            if n_threads != engine.n_threads:
                await engine.reload(bench_config(config, n_threads))
            samples = []
            for _ in range(repeats):
                run += 1
                samples.append(await _measure(engine, run, max_tokens))
            result = ThreadResult(
                n_threads=n_threads,
                prompt_tps=statistics.median(s.prompt_tps or 0.0 for s in samples),
                gen_tps=statistics.median(s.gen_tps or 0.0 for s in samples),
                ttft_s=statistics.median(s.ttft_s or 0.0 for s in samples),
                completion_tokens=min(s.usage.completion_tokens for s in samples),
            )
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        await engine.aclose()
    return SweepResult(
        model=engine.label, physical_cores=physical, logical_cores=logical, results=tuple(results)
    )
