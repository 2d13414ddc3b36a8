"""The running parts of one console: configuration, engines, PII scanner, ledger, telemetry.

Both faces build one `Runtime`: the CLI for a single command, the TUI for a session. `start()`
returns at once and loads the slow parts in the background (the local model, the PII analyzer,
the demo endpoint and the first cloud probe), so a console is usable before they are ready; the
dispatcher makes a prompt wait visibly for what it needs, never longer than a deadline.

The configuration has one owner, the event loop: a watcher task started by `start()` looks at
config.toml about once a second (the file is read in a thread, judged and applied on the loop),
and `set_config` applies the policy editor's edits there too. Threads only ever read the
immutable `Config` snapshot `config()` returns. Every section applies live ([local] reloads the
engine, [pii] the analyzer, [cloud] rebuilds the cloud engine, [breaker] retunes its breaker);
the two that cannot (`[ledger] path`, `[ui] theme`) are named in the status as needing a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from console.dispatch import Dispatcher
from console.ledger import Ledger, default_db_path, open_for_report
from console.observers import Observers, observe
from console.spool import Spool, SpoolReplay
from engines.breaker import BreakerSnapshot
from engines.cloud import CloudEngine
from engines.demo import DemoServer
from engines.local import LocalEngine
from engines.model import resolve_model
from engines.pool import PoolEngine, PoolStatus
from engines.telemetry import TelemetrySampler, TelemetrySnapshot
from policies.config import Config, ConfigError, ConfigStore, DiskRead, SetupError
from policies.pii import PiiScanner
from policies.router import PoolSignals, Signals

log = logging.getLogger("switchboard.runtime")

#: Hand edits of config.toml are looked for this often (seconds).
CONFIG_POLL_S = 1.0

#: The longest a prompt waits for the cloud tier to finish starting (the demo server's own
#: start is bounded by its startup timeout, a probe by PROBE_TIMEOUT_S; this is the backstop).
CLOUD_START_WAIT_S = 90.0

#: Keys that only take effect when the console is started again, with what to tell the user.
RESTART_KEYS = {
    ("ledger", "path"): "[ledger] path",
    ("ui", "theme"): "[ui] theme",
}


@dataclass(frozen=True)
class ConfigNotice:
    """What became of a hand edit of config.toml, for the console to show once."""

    message: str
    error: bool


@dataclass(frozen=True)
class RuntimeStatus:
    """What is ready, what is loading and what failed, for the status line and `doctor`."""

    local_state: str
    local_error: str | None
    pii_ready: bool
    pii_error: str | None
    cloud_label: str
    cloud_state: str
    cloud_ready: bool
    cloud_error: str | None
    ledger_path: Path | None
    ledger_error: str | None
    ledger_pending: int
    config_error: str | None


class Runtime:
    """Builds and owns every part the dispatcher needs."""

    def __init__(
        self,
        store: ConfigStore,
        db_path: Path | None = None,
        demo_cloud: bool = False,
        *,
        create_ledger: bool = True,
    ) -> None:
        """`create_ledger=False` (a `route`, which records nothing) leaves a missing file alone."""
        self.store = store
        self._config = store.config
        #: Why the file on disk is not in force (a broken hand edit), or None.
        self.config_error: str | None = None
        #: What this runtime was built with: keys in RESTART_KEYS keep these values until a restart.
        self._built_with = store.config
        self.demo = DemoServer(resolve_model("bundled")) if demo_cloud else None
        self.local = LocalEngine(self._config.local)
        self.cloud = self._build_cloud(self._config)
        #: Cloud engines replaced by a [cloud] edit; closed at the end, as a request may still
        #: be streaming from one.
        self._retired: list[CloudEngine] = []
        self._started: set[str] = set()
        self._local_reload = asyncio.Lock()
        self._local_start: asyncio.Task[None] | None = None
        #: Called on the event loop with each applied or refused hand edit (the console toasts).
        self.config_listeners: list[Callable[[ConfigNotice], None]] = []
        #: The lab's servers (`[[pool.servers]]`); an engine with none when there are none.
        self.pool = PoolEngine(self._config.pool, self._config.breaker)
        self.scanner = PiiScanner(self._config.pii)
        self.pii_error: str | None = None
        self.local_error: str | None = None
        self.ledger_path: Path = default_db_path(self._config.ledger.path, db_path)
        self.ledger: Ledger | None = None
        self.ledger_error: str | None = None
        try:
            # Read-only when the file cannot be written: spend (budgets) still comes from it.
            if create_ledger or self.ledger_path.exists():
                self.ledger = open_for_report(self.ledger_path)
        except SetupError as exc:
            self.ledger_error = str(exc)
        #: Rows the ledger cannot take go here; journals of earlier processes are written now.
        self.spool = Spool(self.ledger_path, self.ledger)
        self.spool_replay: SpoolReplay = self.spool.replay()
        self.sampler = TelemetrySampler(self.local)
        self.dispatcher = Dispatcher(self)
        self._cloud_ready = asyncio.Event()
        self._cloud_error: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._processes: dict[int, psutil.Process] = {}
        # Metrics and tracing ([metrics], [tracing]): no-ops unless configured.
        self.observers: Observers = observe(self)

    # -- lifecycle -------------------------------------------------------------------------
    def _build_cloud(self, config: Config) -> CloudEngine:
        """The cloud engine for `config` (an invalid proxy is its failed state, never a raise)."""
        return CloudEngine(
            config.cloud,
            config.breaker,
            demo=self.demo is not None,
            base_url=self.demo.base_url if self.demo else None,
        )

    async def start(self, *, local: bool = True, pii: bool = True, cloud: bool = True) -> None:
        """Start loading the parts in the background, and the config watcher; return at once."""
        self._started = {
            part for part, wanted in (("local", local), ("pii", pii), ("cloud", cloud)) if wanted
        }
        if local:
            self._local_start = self._spawn(self._start_local())
        if pii:
            self._spawn(self._load_pii())
        if cloud:
            self._spawn(self._start_cloud())
        else:
            self._cloud_ready.set()
        # Health and load of the pool's servers, polled in the background.
        self.pool.start()
        self._spawn(self._watch_config())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` as a task of this runtime (cancelled by aclose; finished ones let go)."""
        self._tasks = [task for task in self._tasks if not task.done()]
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.append(task)
        return task

    async def _start_local(self) -> None:
        try:
            await self.local.start()
        except Exception as exc:
            self.local_error = str(exc)

    async def _load_pii(self) -> None:
        try:
            await asyncio.to_thread(self.scanner.load)
            self.pii_error = None
        except Exception as exc:
            self.pii_error = str(exc)

    async def _start_cloud(self) -> None:
        try:
            if self.demo is not None and self.demo.pid is None:
                await self.demo.start()
            await self._probe_cloud()
        except Exception as exc:
            self._cloud_error = str(exc)
        finally:
            self._cloud_ready.set()

    async def _probe_cloud(self) -> None:
        cloud = self.cloud
        unusable = cloud.unusable_reason
        if unusable is not None:
            # Nothing to probe: the router skips an unusable cloud, and a lab VM without a key
            # should not reach out to the internet at launch.
            self._cloud_error = unusable
            return
        result = await cloud.probe()
        if cloud is self.cloud:
            self._cloud_error = None if result.reachable else result.detail

    async def aclose(self) -> None:
        """Stop the engines, the demo server and the config watcher, and flush the ledger."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.local.aclose()
        for cloud in (*self._retired, self.cloud):
            await cloud.aclose()
        await self.pool.aclose()
        if self.demo is not None:
            await self.demo.stop()
        if self.ledger is not None:
            self.spool.replay()
            self.ledger.close()
        self.observers.close()

    # -- configuration (owned by the event loop) ------------------------------------------
    async def _watch_config(self) -> None:
        """Pick up hand edits of config.toml until the runtime closes.

        The file is read in a thread; it is judged and applied here, on the loop. An error
        never ends the watcher: it is logged and shown, and the next look happens as usual.
        """
        while True:
            await asyncio.sleep(CONFIG_POLL_S)
            try:
                seen = await asyncio.to_thread(self.store.read_disk)
                self._take_disk(seen)
            except Exception:
                log.exception("the config watcher failed to apply %s", self.store.path)
                self.config_error = (
                    f"{self.store.path}: could not be applied (unexpected error, see the log)"
                )

    def _take_disk(self, seen: DiskRead) -> None:
        """Judge one look at the config file and apply it when it changed (on the loop)."""
        try:
            changed = self.store.take(seen)
        except ConfigError as exc:
            message = f"{exc} (the last good configuration stays in force)"
            if message != self.config_error:
                log.warning("%s", message)
                self._notify(ConfigNotice(message, error=True))
            self.config_error = message
            return
        self.config_error = None
        if changed:
            sections = self.apply(self.store.config)
            message = f"{self.store.path}: applied the edit of {', '.join(sections)}"
            restart = [name for name in self.needs_restart if name.split()[0] in sections]
            if restart:
                message += f" ({', '.join(restart)} takes effect after a restart)"
            log.info("%s", message)
            self._notify(ConfigNotice(message, error=False))

    def _notify(self, notice: ConfigNotice) -> None:
        for listener in self.config_listeners:
            try:
                listener(notice)
            except Exception:
                log.exception("a config listener failed")

    def config(self) -> Config:
        """The configuration in force: an immutable snapshot, safe to read from any thread."""
        return self._config

    def apply(self, config: Config) -> list[str]:
        """Make `config` the one in force (after a live edit or a hand edit of the file); the
        changed sections, e.g. ["[cloud]", "[router]"].

        Runs on the event loop. What cannot change while running is named in the status.
        """
        old, self._config = self._config, config
        changed = [
            f"[{name}]"
            for name in Config.model_fields
            if getattr(config, name) != getattr(old, name)
        ]
        if config.pii != old.pii:
            self.scanner = PiiScanner(config.pii)
            if "pii" in self._started:
                self._spawn(self._load_pii())
        if config.pool != old.pool or config.breaker != old.breaker:
            self.pool.reconfigure(config.pool, config.breaker)
            self.pool.start()
        if config.local != old.local and "local" in self._started:
            self._spawn(self._reload_local())
        if config.cloud != old.cloud:
            # A new endpoint, model, key variable or proxy: a new engine (and breaker) for it;
            # the old one finishes what it streams and is closed at the end.
            self._retired.append(self.cloud)
            self.cloud = self._build_cloud(config)
            if "cloud" in self._started:
                self._spawn(self._probe_cloud())
        elif config.breaker != old.breaker:
            self.cloud.breaker.reconfigure(config.breaker)
        return changed

    async def _reload_local(self) -> None:
        """Restart the local engine with the `[local]` settings in force (one reload at a time;
        a burst of edits ends with the last one applied)."""
        async with self._local_reload:
            if self._local_start is not None:
                # A reload during the first load would stop the worker that load waits for.
                await asyncio.wait({self._local_start})
            wanted = self._config.local
            if wanted == self.local.config and self.local.state not in ("failed", "stopped"):
                return
            try:
                await self.local.reload(wanted)
                self.local_error = None
            except Exception as exc:
                log.warning("reloading the local engine failed: %s", exc)
                self.local_error = str(exc)

    @property
    def needs_restart(self) -> tuple[str, ...]:
        """Keys edited while running that take effect only after a restart."""
        return tuple(
            name
            for (section, key), name in RESTART_KEYS.items()
            if getattr(getattr(self._config, section), key)
            != getattr(getattr(self._built_with, section), key)
        )

    def set_config(self, changes: dict[str, str | int | float | bool]) -> Config:
        """Validate, save to config.toml and apply threshold changes (the policy editor's API)."""
        config = self.store.set(changes)
        self.apply(config)
        return config

    def _cpu_elsewhere(self) -> float:
        """Machine CPU % taken by other programs since the last call.

        The engines' own load is left out: a busy engine is seen by the queue-depth rule, and
        counting its CPU would burst every prompt after a long answer to the cloud.
        """
        machine = float(psutil.cpu_percent(interval=None))
        ours = 0.0
        pids = {pid for pid in (self.local.pid, self.demo.pid if self.demo else None) if pid}
        for pid in set(self._processes) - pids:
            self._processes.pop(pid, None)
        for pid in pids:
            try:
                process = self._processes.get(pid)
                if process is None:
                    self._processes[pid] = process = psutil.Process(pid)
                ours += float(process.cpu_percent(interval=None))
            except psutil.Error:
                self._processes.pop(pid, None)
        return max(0.0, machine - ours / (psutil.cpu_count() or 1))

    def signals(self) -> Signals:
        """The live signals the router reads."""
        engine = self.cloud  # read once: the loop may swap it after a [cloud] edit
        cloud = engine.health()
        unavailable = engine.unusable_reason or ""
        if not unavailable and cloud.state == "open":
            unavailable = "breaker open"
        spend_today = spend_month = 0.0
        if self.ledger is not None:
            spend = self.ledger.spend()
            spend_today, spend_month = spend.today_usd, spend.month_usd
        return Signals(
            local_queue_depth=self.local.queue_depth,
            local_cpu_pct=self._cpu_elsewhere(),
            local_tps=self.local.last_gen_tps,
            local_ready=self.local.state in ("ready", "busy"),
            cloud_state=cloud.state,
            cloud_available=not unavailable,
            cloud_unavailable_reason=unavailable,
            spend_today_usd=spend_today,
            spend_month_usd=spend_month,
            pool=self._pool_signals(),
        )

    def _pool_signals(self) -> PoolSignals:
        """Which pool server would take a request now, among all and among trusted ones."""
        if not self.pool.configured:
            return PoolSignals()
        pick = self.pool.preview()
        trusted = self.pool.preview(trusted_only=True)
        return PoolSignals(
            configured=True,
            server=pick.server if pick else "",
            why=pick.why if pick else "",
            trusted_server=trusted.server if trusted else "",
            trusted_why=trusted.why if trusted else "",
            unavailable_reason=self.pool.unavailable_reason(),
            full=pick is not None and pick.full,
            trusted_full=trusted is not None and trusted.full,
            servers=self.pool.availability(),
        )

    async def wait_local_ready(self, timeout: float) -> float:
        """Wait until the local engine can take a request again; the seconds waited."""
        started = time.monotonic()
        deadline = started + timeout
        while self.local.state not in ("ready", "busy", "failed") and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    def cloud_ready(self) -> bool:
        """Whether the cloud tier has finished starting (the demo server) and its first probe."""
        return self._cloud_ready.is_set()

    async def wait_cloud_ready(self, timeout: float = CLOUD_START_WAIT_S) -> None:
        """Wait for the demo endpoint to start and the first probe to end, at most `timeout`
        seconds (then a request goes ahead and fails or succeeds on its own)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._cloud_ready.wait()

    # -- what the console shows ------------------------------------------------------------
    def telemetry(self) -> TelemetrySnapshot:
        """A fresh telemetry sample (cheap; call from a thread at 1-2 Hz)."""
        return self.sampler.sample()

    def cloud_health(self) -> BreakerSnapshot:
        """The cloud tier's breaker state and latency."""
        return self.cloud.health()

    def pool_status(self) -> PoolStatus:
        """Every pool server's state, load, breaker and latency."""
        return self.pool.status()

    def status(self) -> RuntimeStatus:
        """What is ready and what failed."""
        cloud = self.cloud
        config_error = self.config_error
        if self.needs_restart:
            restart = f"{', '.join(self.needs_restart)} changed: takes effect after a restart"
            config_error = f"{config_error}; {restart}" if config_error else restart
        return RuntimeStatus(
            local_state=self.local.state,
            local_error=self.local_error or self.local.last_error,
            pii_ready=self.scanner.ready,
            pii_error=self.pii_error,
            cloud_label=cloud.label,
            # An unusable cloud (invalid proxy, malformed key) is a failed part, not "starting".
            cloud_state="failed" if cloud.setup_error is not None else cloud.health().state,
            cloud_ready=self.cloud_ready() or cloud.setup_error is not None,
            cloud_error=str(cloud.setup_error) if cloud.setup_error else self._cloud_error,
            ledger_path=self.ledger_path,
            ledger_error=self.ledger_error or self.spool.last_error,
            ledger_pending=self.spool.pending(),
            config_error=config_error,
        )
