"""Live figures of the machine and of the local engine, sampled with psutil.

Every figure is a delta between two `sample()` calls (CPU times, not psutil's shared
`cpu_percent` state, so other callers cannot skew it): per-core CPU % of the machine, the engine
process's CPU %, and each engine thread's CPU %, next to its RSS and the engine's own figures
(last prompt and generation tokens/s, last time to first token, queue depth). One sample costs
well under a millisecond (bench/telemetry_cost.py measures it), so 1-2 Hz is far below 1% of a core.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

from engines.local import EngineFigures, physical_cores


class FiguresSource(Protocol):
    """What the sampler needs from an engine (LocalEngine has it)."""

    @property
    def figures(self) -> EngineFigures:
        """The engine's own live figures."""
        ...


@dataclass(frozen=True)
class ThreadLoad:
    """One engine thread's share of a core since the previous sample."""

    tid: int
    name: str
    cpu_pct: float


@dataclass(frozen=True)
class TelemetrySnapshot:
    """One sample: the machine, the engine process and its threads, and the engine's figures."""

    taken_at: float
    per_core_pct: tuple[float, ...]
    process_cpu_pct: float | None
    threads: tuple[ThreadLoad, ...]
    rss_bytes: int | None
    pid: int | None
    engine_state: str
    n_threads: int
    physical_cores: int
    logical_cores: int
    queue_depth: int
    last_prompt_tps: float | None
    last_gen_tps: float | None
    last_ttft_s: float | None


def _busy_and_total(times: object) -> tuple[float, float]:
    # Linux counts guest time inside user time already.
    guest = float(getattr(times, "guest", 0.0)) + float(getattr(times, "guest_nice", 0.0))
    total = float(sum(times)) - guest  # type: ignore[call-overload]
    idle = float(getattr(times, "idle", 0.0)) + float(getattr(times, "iowait", 0.0))
    return total - idle, total


class TelemetrySampler:
    """Samples the machine and the engine; safe to call from any one thread at a time or several."""

    def __init__(self, engine: FiguresSource | None = None) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._physical = physical_cores()
        self._logical = psutil.cpu_count(logical=True) or 1
        self._cores: list[tuple[float, float]] = [
            _busy_and_total(t) for t in psutil.cpu_times(percpu=True)
        ]
        self._pid: int | None = None
        self._process: psutil.Process | None = None
        self._process_cpu: float | None = None
        self._thread_cpu: dict[int, float] = {}
        self._names: dict[int, str] = {}
        self._at = time.monotonic()

    def _core_pcts(self) -> tuple[float, ...]:
        now = [_busy_and_total(t) for t in psutil.cpu_times(percpu=True)]
        pcts = []
        for (busy0, total0), (busy1, total1) in zip(self._cores, now, strict=False):
            span = total1 - total0
            pcts.append(max(0.0, min(100.0, 100.0 * (busy1 - busy0) / span)) if span > 0 else 0.0)
        self._cores = now
        return tuple(pcts)

    def _thread_name(self, pid: int, tid: int) -> str:
        name = self._names.get(tid)
        if name is None:
            try:
                comm = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
            except OSError:
                comm = "thread"
            name = self._names[tid] = f"{comm}:{tid}"
        return name

    def sample(self) -> TelemetrySnapshot:
        """Figures since the previous call (the first call measures since the sampler was made)."""
        with self._lock:
            figures = self._engine.figures if self._engine is not None else None
            # The interval runs from before the previous sample's reads to after this one's, so
            # CPU time read late (a descheduled sampler while a thread spins) never makes a
            # thread look busier than 100% of one core.
            started = time.monotonic()
            per_core = self._core_pcts()
            pid = figures.pid if figures is not None else None
            if pid != self._pid:
                # A new engine process (restart, reload): forget the old baselines.
                self._pid = pid
                self._process = None
                if pid is not None:
                    with contextlib.suppress(psutil.Error):
                        self._process = psutil.Process(pid)
                self._process_cpu = None
                self._thread_cpu = {}
                self._names = {}
            process_pct: float | None = None
            threads: list[ThreadLoad] = []
            rss: int | None = None
            if self._process is not None and pid is not None:
                try:
                    # Threads first, then the process: the process total then covers at least
                    # the time its threads show.
                    raw_threads = self._process.threads()
                    with self._process.oneshot():
                        times = self._process.cpu_times()
                        rss = int(self._process.memory_info().rss)
                except psutil.Error:
                    self._process = None
                else:
                    wall = max(time.monotonic() - self._at, 1e-6)
                    cpu = float(times.user + times.system)
                    baseline = self._process_cpu is not None
                    if self._process_cpu is not None:
                        process_pct = 100.0 * (cpu - self._process_cpu) / wall
                    self._process_cpu = cpu
                    seen: dict[int, float] = {}
                    for thread in raw_threads:
                        used = float(thread.user_time + thread.system_time)
                        seen[thread.id] = used
                        # A thread new since the previous sample: all its time is recent.
                        before = self._thread_cpu.get(thread.id, 0.0 if baseline else None)
                        pct = 100.0 * (used - before) / wall if before is not None else 0.0
                        threads.append(
                            ThreadLoad(thread.id, self._thread_name(pid, thread.id), pct)
                        )
                    self._thread_cpu = seen
            self._at = started
            return TelemetrySnapshot(
                taken_at=time.time(),
                per_core_pct=per_core,
                process_cpu_pct=process_pct,
                threads=tuple(threads),
                rss_bytes=rss,
                pid=pid,
                engine_state=figures.state if figures is not None else "stopped",
                n_threads=figures.n_threads if figures is not None else 0,
                physical_cores=self._physical,
                logical_cores=self._logical,
                queue_depth=figures.queue_depth if figures is not None else 0,
                last_prompt_tps=figures.last_prompt_tps if figures is not None else None,
                last_gen_tps=figures.last_gen_tps if figures is not None else None,
                last_ttft_s=figures.last_ttft_s if figures is not None else None,
            )
