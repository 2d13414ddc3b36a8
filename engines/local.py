"""The local tier: a supervisor of the llama.cpp worker process (engines/_worker.py).

llama-cpp-python runs in its own OS process (multiprocessing, spawn), so a crash, an abort in C
or a kill -9 never takes the console down. The supervisor keeps a bounded queue of requests and
sends them to the worker one at a time; a reader thread turns the worker's events into calls on
the asyncio loop (`call_soon_threadsafe`). When the worker dies, the pipe reaches EOF at once:
the request in flight ends with `EngineCrashed` (with the text already streamed) and the worker
is restarted with backoff while later requests wait for it.

A worker can also stop without dying (SIGSTOP, a system call that never returns). A watchdog
looks at the worker while it loads or answers: no event, no CPU time spent and not running for
`[local] stall_timeout_s` means stalled. The worker is then killed and restarted, and the
request ends with `EngineStalled`, which the dispatcher may fail over; the queue moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Literal

import psutil

from engines import _worker
from engines.base import (
    Chunk,
    EngineBusy,
    EngineCrashed,
    EngineError,
    EngineStalled,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    StreamEvent,
    Tier,
    Usage,
)
from engines.model import ModelError, ResolvedModel, resolve_model
from engines.settings import LocalConfig

EngineState = Literal["stopped", "loading", "ready", "busy", "restarting", "failed"]

#: Seconds to wait before the n-th consecutive restart (the last value repeats).
RESTART_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)


def physical_cores() -> int:
    """The machine's physical cores (logical ones when psutil cannot tell)."""
    return psutil.cpu_count(logical=False) or psutil.cpu_count(logical=True) or 1


def resolve_threads(n_threads: int) -> int:
    """`[local] n_threads`, where 0 means the number of physical cores."""
    return n_threads if n_threads > 0 else physical_cores()


class _StallClock:
    """When the worker last showed a sign of life: an event, CPU time spent, or being on a CPU.

    A stopped process and one blocked in a system call spend no CPU time and are not running;
    a long prompt evaluation, which sends no event for a while, spends CPU time all along.
    """

    def __init__(self, process: psutil.Process | None) -> None:
        self._process = process
        self._events = -1
        self._cpu: float | None = None
        self._alive_at = time.monotonic()

    def idle_s(self, events: int) -> float:
        """Seconds since the last sign of life, given the count of events received so far."""
        now = time.monotonic()
        try:
            if self._process is None:
                return 0.0
            with self._process.oneshot():
                times = self._process.cpu_times()
                running = self._process.status() == psutil.STATUS_RUNNING
        except psutil.Error:
            # Gone: the reader thread sees the pipe close and reports the exit as a crash.
            return 0.0
        cpu = float(times.user + times.system)
        if events != self._events or cpu != self._cpu or running:
            self._alive_at = now
        self._events, self._cpu = events, cpu
        return now - self._alive_at


@dataclass(frozen=True)
class EngineFigures:
    """The engine's own live figures, for telemetry and the router."""

    state: EngineState
    pid: int | None
    n_threads: int
    queue_depth: int
    last_prompt_tps: float | None
    last_gen_tps: float | None
    last_ttft_s: float | None


@dataclass(eq=False)
class _Job:
    """One request, from the moment it is queued until the worker says it is done."""

    req_id: int
    request: GenerationRequest
    events: asyncio.Queue[StreamEvent | EngineError] = field(default_factory=asyncio.Queue)
    queued_at: float = field(default_factory=time.perf_counter)
    first_at: float | None = None
    cpu_before: float | None = None
    parts: list[str] = field(default_factory=list)
    cancelled: bool = False
    finished: bool = False


class LocalEngine:
    """The llama.cpp engine behind the Engine protocol, supervised in its own process."""

    tier: Tier = "local"

    def __init__(self, config: LocalConfig, *, cache_dir: Path | None = None) -> None:
        self._config = config
        self._cache_dir = cache_dir
        self._state: EngineState = "stopped"
        self._last_error = ""
        self._model: ResolvedModel | None = None
        self._proc: BaseProcess | None = None
        self._ps: psutil.Process | None = None
        self._commands: Connection | None = None
        self._incarnation = 0
        self._loaded: asyncio.Future[None] | None = None
        self._waiting: deque[_Job] = deque()
        self._running: _Job | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._paused = False
        self._crashes = 0
        self._restart_task: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._next_id = 0
        self._n_threads = resolve_threads(config.n_threads)
        self._last_prompt_tps: float | None = None
        self._last_gen_tps: float | None = None
        self._last_ttft_s: float | None = None
        self._last_finished: Finished | None = None

    # -- what the console shows -------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        """stopped, loading, ready, busy (a request running), restarting or failed."""
        if self._state == "ready" and self._running is not None:
            return "busy"
        return self._state

    @property
    def last_error(self) -> str:
        """Why the engine last crashed or failed ("" when it never did)."""
        return self._last_error

    @property
    def pid(self) -> int | None:
        """The worker process id, while there is one."""
        process = self._proc  # read once: telemetry threads call this while the loop swaps it
        return process.pid if process is not None else None

    @property
    def n_threads(self) -> int:
        """Threads llama.cpp uses (0 in the config resolved to the physical cores)."""
        return self._n_threads

    @property
    def config(self) -> LocalConfig:
        """The `[local]` settings in force."""
        return self._config

    @property
    def model_path(self) -> Path | None:
        """The GGUF file in use, once resolved."""
        return self._model.path if self._model is not None else None

    @property
    def label(self) -> str:
        """The model file name (the configured value until the model is resolved)."""
        return self._model.label if self._model is not None else self._config.model

    @property
    def queue_depth(self) -> int:
        """Requests waiting plus the one running."""
        return len(self._waiting) + (1 if self._running is not None else 0)

    @property
    def last_prompt_tps(self) -> float | None:
        """Prompt-processing tokens/s of the last completed answer."""
        return self._last_prompt_tps

    @property
    def last_gen_tps(self) -> float | None:
        """Generation tokens/s of the last completed answer (of two tokens or more)."""
        return self._last_gen_tps

    @property
    def last_ttft_s(self) -> float | None:
        """Time to first token of the last completed answer, queueing included."""
        return self._last_ttft_s

    @property
    def last_finished(self) -> Finished | None:
        """The closing figures of the last request the worker ended, cancelled ones included."""
        return self._last_finished

    @property
    def figures(self) -> EngineFigures:
        """A snapshot of the engine's own figures."""
        return EngineFigures(
            state=self.state,
            pid=self.pid,
            n_threads=self._n_threads,
            queue_depth=self.queue_depth,
            last_prompt_tps=self._last_prompt_tps,
            last_gen_tps=self._last_gen_tps,
            last_ttft_s=self._last_ttft_s,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve the model and start the worker; return when it is loaded.

        Raises ModelError (a SetupError) naming the path when the model is missing or unusable.
        """
        self._state = "loading"
        try:
            self._model = await asyncio.to_thread(
                resolve_model, self._config.model, self._cache_dir
            )
            await self._launch()
        except Exception as exc:
            # Whatever went wrong (a bad model, a worker that could not be spawned), the state
            # must say so: the console shows it and the dispatcher stops waiting for a load.
            self._state = "failed"
            self._last_error = str(exc)
            # Requests queued while it loaded would otherwise wait for a worker that never comes.
            self._fail_waiting(EngineUnavailable(str(exc), fix="check [local] model"))
            raise
        self._state = "ready"
        self._dispatch()

    async def reload(self, config: LocalConfig) -> None:
        """Restart the worker with new `[local]` settings; the running request finishes first."""
        self._paused = True
        if self._restart_task is not None:
            # The reload starts a worker itself; a pending crash restart would start a second.
            self._restart_task.cancel()
            self._restart_task = None
        try:
            await self._idle.wait()
            self._config = config
            self._n_threads = resolve_threads(config.n_threads)
            await self._stop_worker()
            self._model = None
            await self.start()
        except (ModelError, EngineError) as exc:
            self._fail_waiting(EngineUnavailable(str(exc), fix="fix [local] model and reload"))
            raise
        finally:
            self._paused = False
            self._dispatch()

    async def aclose(self) -> None:
        """Stop the worker; requests still queued end with EngineUnavailable."""
        if self._restart_task is not None:
            self._restart_task.cancel()
            self._restart_task = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        self._fail_waiting(EngineUnavailable("the local engine was stopped"))
        await self._stop_worker()
        self._state = "stopped"

    async def _launch(self) -> None:
        assert self._model is not None
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        commands_out, commands_in = context.Pipe(duplex=False)
        events_out, events_in = context.Pipe(duplex=False)
        params = _worker.WorkerParams(
            model_path=str(self._model.path),
            n_threads=self._n_threads,
            n_ctx=self._config.n_ctx,
            n_batch=self._config.n_batch,
        )
        process = context.Process(
            target=_worker.main,
            args=(params, commands_out, events_in),
            name="switchboard-engine",
            daemon=True,
        )
        process.start()
        # Only the child may hold these ends, so its death closes the pipe and we see EOF at once.
        commands_out.close()
        events_in.close()
        self._incarnation += 1
        self._proc, self._commands = process, commands_in
        self._ps = psutil.Process(process.pid)
        self._loaded = loaded = loop.create_future()
        threading.Thread(
            target=self._read_events,
            args=(loop, self._incarnation, events_out, process),
            name="switchboard-engine-reader",
            daemon=True,
        ).start()
        clock = _StallClock(self._ps)
        while not loaded.done():
            await asyncio.wait({loaded}, timeout=self._watch_interval)
            if loaded.done():
                break
            idle = clock.idle_s(0)
            if idle >= self._config.stall_timeout_s:
                self._kill_stalled()
                raise EngineStalled(
                    f"the local engine stalled while loading {self.label}: no progress for"
                    f" {idle:.0f} s ([local] stall_timeout_s = {self._config.stall_timeout_s:g});"
                    " the worker was killed",
                    fix="check the model file's disk, or raise [local] stall_timeout_s",
                )
        loaded.result()

    @property
    def _watch_interval(self) -> float:
        return min(1.0, self._config.stall_timeout_s / 5)

    def _kill_stalled(self) -> None:
        """Kill the worker that stopped making progress (SIGKILL ends a stopped process too)."""
        process, commands = self._proc, self._commands
        # Its pipe's EOF, after the kill, is then not reported as a crash: this is handled here.
        self._incarnation += 1
        self._proc = self._commands = self._ps = None
        if commands is not None:
            with contextlib.suppress(OSError):
                commands.close()
        if process is not None:
            with contextlib.suppress(OSError, ValueError):
                process.kill()

    async def _watch(self, job: _Job) -> None:
        """While `job` runs: kill and restart a worker that stopped making progress."""
        clock = _StallClock(self._ps)
        timeout = self._config.stall_timeout_s
        while self._running is job:
            await asyncio.sleep(self._watch_interval)
            if self._running is not job:
                return
            idle = clock.idle_s(len(job.parts))
            if idle >= timeout:
                self._kill_stalled()
                self._last_error = (
                    f"the local engine stalled: no progress for {idle:.0f} s"
                    f" ([local] stall_timeout_s = {timeout:g}); the worker was killed and restarts"
                )
                self._state = "restarting"
                self._finish(
                    job,
                    EngineStalled(
                        self._last_error,
                        fix="it restarts by itself; retry",
                        partial="".join(job.parts),
                    ),
                )
                self._restart_task = asyncio.get_running_loop().create_task(self._restart())
                return

    def _read_events(
        self,
        loop: asyncio.AbstractEventLoop,
        incarnation: int,
        events: Connection,
        process: BaseProcess,
    ) -> None:
        """Reader thread: forward the worker's events to the loop until the pipe closes."""
        try:
            while True:
                try:
                    event = events.recv()
                except (EOFError, OSError):
                    break
                loop.call_soon_threadsafe(self._on_event, incarnation, event)
            process.join()
            with contextlib.suppress(RuntimeError):  # the loop may be gone at interpreter exit
                loop.call_soon_threadsafe(self._on_exit, incarnation, process.exitcode)
        finally:
            events.close()

    async def _stop_worker(self) -> None:
        process, commands = self._proc, self._commands
        self._incarnation += 1
        self._proc = self._commands = self._ps = None
        if self._running is not None:
            self._finish(self._running, EngineUnavailable("the local engine was restarted"))
        if commands is not None:
            with contextlib.suppress(OSError):
                commands.send(_worker.Shutdown())
            commands.close()
        if process is not None:
            await asyncio.to_thread(process.join, 3.0)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 3.0)

    async def _restart(self) -> None:
        delay = RESTART_BACKOFF[min(self._crashes, len(RESTART_BACKOFF) - 1)]
        self._crashes += 1
        await asyncio.sleep(delay)
        self._restart_task = None
        try:
            await self._launch()
        except (ModelError, EngineError) as exc:
            self._state = "failed"
            self._last_error = str(exc)
            self._fail_waiting(EngineUnavailable(str(exc), fix="fix [local] model and reload"))
            return
        self._state = "ready"
        self._dispatch()

    # -- events from the worker (on the loop) ---------------------------------------------------

    def _on_event(self, incarnation: int, event: _worker.Event) -> None:
        if incarnation != self._incarnation:
            return
        if isinstance(event, _worker.Loaded):
            if self._loaded is not None and not self._loaded.done():
                self._loaded.set_result(None)
        elif isinstance(event, _worker.LoadFailed):
            if self._loaded is not None and not self._loaded.done():
                self._loaded.set_exception(self._load_error(event.message))
        else:
            job = self._running
            if job is None or job.req_id != event.req_id:
                return
            if isinstance(event, _worker.Text):
                if job.first_at is None:
                    job.first_at = time.perf_counter()
                job.parts.append(event.text)
                job.events.put_nowait(Chunk(event.text))
            elif isinstance(event, _worker.Done):
                self._crashes = 0
                self._last_finished = self._finished(job, event)
                self._finish(job, self._last_finished)
            else:
                self._finish(job, EngineError(f"local engine: {event.message}"))

    def _on_exit(self, incarnation: int, exitcode: int | None) -> None:
        if incarnation != self._incarnation:
            return
        how = f"killed by signal {-exitcode}" if exitcode and exitcode < 0 else f"code {exitcode}"
        if self._loaded is not None and not self._loaded.done():
            self._loaded.set_exception(self._load_error(f"the engine process exited ({how})"))
            return
        self._proc = self._commands = self._ps = None
        self._last_error = f"the local engine process died ({how})"
        if self._running is not None:
            job = self._running
            self._finish(
                job,
                EngineCrashed(
                    self._last_error,
                    fix="it restarts by itself; retry",
                    partial="".join(job.parts),
                ),
            )
        self._state = "restarting"
        self._restart_task = asyncio.get_running_loop().create_task(self._restart())

    def _load_error(self, detail: str) -> ModelError:
        return ModelError(
            f"{self.model_path}: llama.cpp could not load it ({detail.strip()});"
            " expected a complete, supported GGUF model file"
        )

    def _finished(self, job: _Job, done: _worker.Done) -> Finished:
        now = time.perf_counter()
        ttft = job.first_at - job.queued_at if job.first_at is not None else None
        gen_tps = (
            (done.completion_tokens - 1) / done.gen_s
            if done.completion_tokens > 1 and done.gen_s > 0
            else None
        )
        prompt_tps = done.prompt_eval_tokens / done.prompt_s if done.prompt_s > 0 else None
        cpu_after = self._cpu_seconds()
        cpu = (
            cpu_after - job.cpu_before
            if cpu_after is not None and job.cpu_before is not None
            else None
        )
        if done.finish_reason != "cancelled":
            self._last_ttft_s = ttft
            self._last_prompt_tps = prompt_tps
            self._last_gen_tps = gen_tps if gen_tps is not None else self._last_gen_tps
        return Finished(
            usage=Usage(done.prompt_tokens, done.completion_tokens),
            finish_reason=done.finish_reason,
            model=self.label,
            ttft_s=ttft,
            total_s=now - job.queued_at,
            prompt_tps=prompt_tps,
            gen_tps=gen_tps,
            cpu_seconds=cpu,
        )

    # -- queue ------------------------------------------------------------------------------------

    def _cpu_seconds(self) -> float | None:
        if self._ps is None:
            return None
        try:
            times = self._ps.cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    def _finish(self, job: _Job, outcome: Finished | EngineError) -> None:
        job.finished = True
        job.events.put_nowait(outcome)
        if self._running is job:
            self._running = None
            self._idle.set()
            self._dispatch()

    def _fail_waiting(self, error: EngineError) -> None:
        while self._waiting:
            self._finish(self._waiting.popleft(), error)

    def _dispatch(self) -> None:
        """Send the next waiting request to the worker when it is free."""
        if self._running is not None or self._paused or self._state != "ready":
            return
        while self._waiting:
            job = self._waiting.popleft()
            if job.cancelled:
                continue
            assert self._commands is not None
            self._running = job
            self._idle.clear()
            job.cpu_before = self._cpu_seconds()
            request = job.request
            command = _worker.Generate(
                req_id=job.req_id,
                messages=request.messages,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                repeat_penalty=self._config.repeat_penalty,
                stop=request.stop,
            )
            # A dead pipe here is a dead worker: the reader thread reports it as a crash.
            with contextlib.suppress(OSError):
                self._commands.send(command)
            self._watchdog = asyncio.get_running_loop().create_task(self._watch(job))
            return

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer: Chunks, then one Finished.

        Raises EngineBusy when the queue is full, EngineUnavailable when the engine failed or is
        stopped, EngineCrashed when the worker dies mid-answer. Closing the iterator (or
        cancelling its task) cancels the generation; the worker stays ready.
        """
        if self._state in ("stopped", "failed"):
            raise EngineUnavailable(
                self._last_error or "the local engine is not started",
                fix="check [local] model" if self._state == "failed" else "",
            )
        if len(self._waiting) >= self._config.queue_size:
            raise EngineBusy(
                f"the local engine queue is full ({len(self._waiting)} waiting)",
                fix="retry later or raise [local] queue_size",
            )
        self._next_id += 1
        job = _Job(req_id=self._next_id, request=request)
        self._waiting.append(job)
        self._dispatch()
        try:
            while True:
                item = await job.events.get()
                if isinstance(item, EngineError):
                    raise item
                yield item
                if isinstance(item, Finished):
                    return
        finally:
            if not job.finished:
                job.cancelled = True
                if self._running is job and self._commands is not None:
                    with contextlib.suppress(OSError):
                        self._commands.send(_worker.Cancel(job.req_id))
                elif job in self._waiting:
                    self._waiting.remove(job)
