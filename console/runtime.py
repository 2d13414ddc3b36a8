"""The running parts of one console: configuration, engines, PII scanner, ledger, telemetry.

Both faces build one `Runtime`: the CLI for a single command, the TUI for a session. `start()`
returns at once and loads the slow parts in the background (the local model, the PII analyzer,
the demo endpoint and the first cloud probe), so a console is usable before they are ready; the
dispatcher makes a prompt wait visibly for what it needs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

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
from engines.telemetry import TelemetrySampler, TelemetrySnapshot
from policies.config import Config, ConfigError, ConfigStore, SetupError
from policies.pii import PiiScanner
from policies.router import Signals

#: Hand edits of config.toml are looked for at most this often (seconds).
CONFIG_POLL_S = 1.0


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
        self._checked_config_at = time.monotonic()
        self.config_error: str | None = None
        self.demo = DemoServer(resolve_model("bundled")) if demo_cloud else None
        self.local = LocalEngine(self._config.local)
        self.cloud = CloudEngine(
            self._config.cloud,
            self._config.breaker,
            demo=demo_cloud,
            base_url=self.demo.base_url if self.demo else None,
        )
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
    async def start(self, *, local: bool = True, pii: bool = True, cloud: bool = True) -> None:
        """Start loading the parts in the background and return at once."""
        if local:
            self._tasks.append(asyncio.create_task(self._start_local()))
        if pii:
            self._tasks.append(asyncio.create_task(self._load_pii()))
        if cloud:
            self._tasks.append(asyncio.create_task(self._start_cloud()))
        else:
            self._cloud_ready.set()

    async def _start_local(self) -> None:
        try:
            await self.local.start()
        except Exception as exc:
            self.local_error = str(exc)

    async def _load_pii(self) -> None:
        try:
            await asyncio.to_thread(self.scanner.load)
        except Exception as exc:
            self.pii_error = str(exc)

    async def _start_cloud(self) -> None:
        try:
            if self.demo is not None:
                await self.demo.start()
            if self.cloud.key_missing:
                # Nothing to probe: the router already skips a cloud without its key, and a
                # lab VM without one should not reach out to the internet at launch.
                self._cloud_error = f"no API key (${self._config.cloud.api_key_env} unset)"
            else:
                await self.cloud.probe()
        except Exception as exc:
            self._cloud_error = str(exc)
        finally:
            self._cloud_ready.set()

    async def aclose(self) -> None:
        """Stop the engines and the demo server, and flush the ledger."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.local.aclose()
        await self.cloud.aclose()
        if self.demo is not None:
            await self.demo.stop()
        if self.ledger is not None:
            self.spool.replay()
            self.ledger.close()
        self.observers.close()

    # -- what the dispatcher reads ---------------------------------------------------------
    def config(self) -> Config:
        """The configuration in force; hand edits of the file are picked up here."""
        now = time.monotonic()
        if now - self._checked_config_at >= CONFIG_POLL_S:
            self._checked_config_at = now
            try:
                if self.store.reload_if_changed():
                    self.apply(self.store.config)
                self.config_error = None
            except ConfigError as exc:
                self.config_error = f"{exc} (the last good configuration stays in force)"
        return self._config

    def apply(self, config: Config) -> None:
        """Make `config` the one in force (after a live edit or a hand edit of the file)."""
        old, self._config = self._config, config
        if config.pii != old.pii:
            self.scanner = PiiScanner(config.pii)
            self._tasks.append(asyncio.get_running_loop().create_task(self._load_pii()))
        if config.local != old.local:
            self._tasks.append(
                asyncio.get_running_loop().create_task(self.local.reload(config.local))
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
        cloud = self.cloud.health()
        unavailable = ""
        if self.cloud.key_missing:
            unavailable = f"no API key (${self._config.cloud.api_key_env} unset)"
        elif cloud.state == "open":
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

    async def wait_cloud_ready(self) -> None:
        """Wait for the demo endpoint to start and the first probe to end."""
        await self._cloud_ready.wait()

    # -- what the console shows ------------------------------------------------------------
    def telemetry(self) -> TelemetrySnapshot:
        """A fresh telemetry sample (cheap; call from a thread at 1-2 Hz)."""
        return self.sampler.sample()

    def cloud_health(self) -> BreakerSnapshot:
        """The cloud tier's breaker state and latency."""
        return self.cloud.health()

    def status(self) -> RuntimeStatus:
        """What is ready and what failed."""
        return RuntimeStatus(
            local_state=self.local.state,
            local_error=self.local_error or self.local.last_error,
            pii_ready=self.scanner.ready,
            pii_error=self.pii_error,
            cloud_label=self.cloud.label,
            cloud_state=self.cloud.health().state,
            cloud_ready=self.cloud_ready(),
            cloud_error=self._cloud_error,
            ledger_path=self.ledger_path,
            ledger_error=self.ledger_error or self.spool.last_error,
            ledger_pending=self.spool.pending(),
            config_error=self.config_error,
        )
