"""The telemetry sampler on a real process: this test process and a thread it keeps busy."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace

import psutil

from engines.local import EngineFigures, physical_cores, resolve_threads
from engines.telemetry import TelemetrySampler

FIGURES = EngineFigures(
    state="busy",
    pid=os.getpid(),
    n_threads=2,
    queue_depth=1,
    last_prompt_tps=300.0,
    last_gen_tps=40.0,
    last_ttft_s=0.1,
)


class Figures:
    """A FiguresSource whose figures the test sets (they describe this very process)."""

    def __init__(self, figures: EngineFigures) -> None:
        self.figures = figures


def spin(seconds: float, tid: list[int], warmed: threading.Event) -> None:
    """Burn `seconds` of this thread's own CPU time; `warmed` is set after the first third."""
    tid.append(threading.get_native_id())
    start = time.thread_time()
    while (used := time.thread_time() - start) < seconds:
        if used >= seconds / 3:
            warmed.set()


def test_a_busy_thread_shows_up_with_its_cpu_share() -> None:
    sampler = TelemetrySampler(Figures(FIGURES))
    sampler.sample()
    tid: list[int] = []
    warmed = threading.Event()
    worker = threading.Thread(target=spin, args=(0.3, tid, warmed))
    worker.start()
    # Sample once the thread has really burnt CPU (however loaded the machine is), while it
    # still runs; no wall-clock guess.
    assert warmed.wait(60), "the busy thread never ran"
    snapshot = sampler.sample()
    worker.join()
    busy = {t.tid: t for t in snapshot.threads}
    assert tid[0] in busy
    # The only thread that did anything since the first sample is the busiest one.
    assert busy[tid[0]].cpu_pct > 0
    assert busy[tid[0]].cpu_pct == max(t.cpu_pct for t in snapshot.threads)
    assert str(tid[0]) in busy[tid[0]].name
    assert snapshot.process_cpu_pct is not None
    assert snapshot.process_cpu_pct >= busy[tid[0]].cpu_pct * 0.9
    assert snapshot.rss_bytes is not None and snapshot.rss_bytes > 10 << 20
    assert len(snapshot.per_core_pct) == psutil.cpu_count(logical=True)
    assert all(0.0 <= pct <= 100.0 for pct in snapshot.per_core_pct)
    assert max(snapshot.per_core_pct) > 0


def test_engine_figures_are_passed_through() -> None:
    snapshot = TelemetrySampler(Figures(FIGURES)).sample()
    assert snapshot.pid == os.getpid()
    assert snapshot.engine_state == "busy"
    assert snapshot.n_threads == 2
    assert snapshot.physical_cores == physical_cores()
    assert snapshot.queue_depth == 1
    assert (snapshot.last_prompt_tps, snapshot.last_gen_tps, snapshot.last_ttft_s) == (
        300.0,
        40.0,
        0.1,
    )


def test_a_new_engine_process_resets_the_baselines() -> None:
    source = Figures(FIGURES)
    sampler = TelemetrySampler(source)
    assert sampler.sample().process_cpu_pct is None
    assert sampler.sample().process_cpu_pct is not None
    source.figures = replace(FIGURES, pid=os.getppid())
    restarted = sampler.sample()
    assert restarted.pid == os.getppid()
    assert restarted.process_cpu_pct is None
    assert all(t.cpu_pct == 0.0 for t in restarted.threads)


def test_without_an_engine_only_the_machine_is_sampled() -> None:
    snapshot = TelemetrySampler(None).sample()
    assert snapshot.pid is None and snapshot.threads == () and snapshot.rss_bytes is None
    assert snapshot.engine_state == "stopped"
    assert len(snapshot.per_core_pct) == psutil.cpu_count(logical=True)


def test_zero_threads_means_the_physical_cores() -> None:
    assert physical_cores() == (psutil.cpu_count(logical=False) or psutil.cpu_count())
    assert resolve_threads(0) == physical_cores()
    assert resolve_threads(3) == 3


def test_a_dead_engine_process_is_sampled_without_error() -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    snapshot = TelemetrySampler(Figures(replace(FIGURES, pid=int(gone.stdout)))).sample()
    assert snapshot.threads == () and snapshot.rss_bytes is None
    assert snapshot.process_cpu_pct is None
