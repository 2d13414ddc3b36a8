"""Prometheus metrics of one switchboard process, served on `[metrics] listen` (opt-in).

Counters move once per recorded request (`on_result`); gauges (breaker state, local engine
tokens/s and queue depth, RSS and CPU of the console and its engine processes) are read from
the Runtime at scrape time, so an idle console does no metrics work at all.

Conventions: `switchboard_` prefix, base units in the names (`_seconds`, `_bytes`, `_usd`),
`_total` on counters, and only low-cardinality labels (tier, rule, outcome, PII type, server,
process role): never prompt text, request ids or conversation ids.
"""

from __future__ import annotations

import errno
import itertools
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIServer

import psutil
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from policies.config import SetupError

if TYPE_CHECKING:
    from console.dispatch import RequestResult
    from console.runtime import Runtime

TIERS = ("local", "cloud", "none")
BREAKER_STATES = ("closed", "half_open", "open")
#: Time to first token: a local answer starts in ~0.05-1 s, a cloud one in ~0.2-5 s.
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class _LiveCollector(Collector):
    """The gauges read at scrape time from the Runtime and psutil."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._processes: dict[int, psutil.Process] = {}

    def _process(self, pid: int) -> psutil.Process:
        process = self._processes.get(pid)
        if process is None:
            self._processes[pid] = process = psutil.Process(pid)
        return process

    def _roles(self) -> Iterator[tuple[str, int]]:
        runtime = self._runtime
        yield "console", psutil.Process().pid
        if runtime.local.pid:
            yield "local_engine", runtime.local.pid
        if runtime.demo is not None and runtime.demo.pid:
            yield "demo_endpoint", runtime.demo.pid

    def collect(self) -> Iterable[Metric]:
        """Build the gauges from the Runtime's current state."""
        runtime = self._runtime
        breaker = GaugeMetricFamily(
            "switchboard_breaker_state",
            "Circuit breaker of each remote server: 1 for its current state, 0 for the others.",
            labels=["server", "state"],
        )
        servers = [("cloud", runtime.cloud.health().state)]
        # The lab pool's servers (engines/pool.py `PoolEngine.status()`), where the build has a
        # pool tier: each by its configured name, a handful per lab.
        pool = getattr(runtime, "pool", None)
        pool_status = pool.status() if pool is not None else None
        if pool_status is not None:
            servers += [(f"pool:{server.name}", server.breaker) for server in pool_status.servers]
        for server, current in servers:
            for state in BREAKER_STATES:
                breaker.add_metric([server, state], 1.0 if state == current else 0.0)
        yield breaker
        if pool_status is not None:
            inflight = GaugeMetricFamily(
                "switchboard_pool_inflight_requests",
                "Requests running on each pool server.",
                labels=["server"],
            )
            for server in pool_status.servers:
                inflight.add_metric([server.name], float(server.inflight))
            yield inflight
            yield GaugeMetricFamily(
                "switchboard_pool_waiting_requests",
                "Requests waiting for a free pool slot.",
                value=pool_status.waiting,
            )
        local = runtime.local
        yield GaugeMetricFamily(
            "switchboard_local_queue_depth",
            "Requests running or waiting on the local engine.",
            value=local.queue_depth,
        )
        ready = GaugeMetricFamily(
            "switchboard_local_engine_ready",
            "1 when the local engine can take a request (ready or busy), else 0.",
            value=1.0 if local.state in ("ready", "busy") else 0.0,
        )
        yield ready
        tps = local.last_gen_tps
        if tps is not None:
            yield GaugeMetricFamily(
                "switchboard_local_tokens_per_second",
                "Generation speed of the local engine's last answer (tokens/s).",
                value=tps,
            )
        rss = GaugeMetricFamily(
            "switchboard_process_resident_memory_bytes",
            "Resident memory of the console and the engine processes it started.",
            labels=["process"],
        )
        cpu = CounterMetricFamily(
            "switchboard_process_cpu_seconds",
            "CPU time (user + system) of the console and the engine processes it started.",
            labels=["process"],
        )
        alive: set[int] = set()
        for role, pid in self._roles():
            try:
                process = self._process(pid)
                with process.oneshot():
                    memory = process.memory_info().rss
                    times = process.cpu_times()
            except psutil.Error:
                continue
            alive.add(pid)
            rss.add_metric([role], float(memory))
            cpu.add_metric([role], float(times.user + times.system))
        for pid in set(self._processes) - alive:
            del self._processes[pid]
        yield rss
        yield cpu
        if runtime.ledger is not None:
            yield GaugeMetricFamily(
                "switchboard_ledger_pending_records",
                "Ledger records kept in memory because the database refused them (retried).",
                value=runtime.ledger.pending,
            )


class Metrics:
    """The counters and histograms of one process, in their own registry."""

    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.requests = Counter(
            "switchboard_requests",
            "Requests recorded, by the tier that answered ('none' when none did), the rule that "
            "fired and the outcome (ok, fallback, failed, cancelled, blocked).",
            ["tier", "rule", "outcome"],
            registry=registry,
        )
        self.input_tokens = Counter(
            "switchboard_input_tokens",
            "Prompt tokens by the tier that answered.",
            ["tier"],
            registry=registry,
        )
        self.output_tokens = Counter(
            "switchboard_output_tokens",
            "Generated tokens by the tier that answered.",
            ["tier"],
            registry=registry,
        )
        self.cost = Counter(
            "switchboard_cost_usd",
            "Cost in USD by tier: cloud at its price, local at its CPU and energy cost basis.",
            ["tier"],
            registry=registry,
        )
        self.counterfactual = Counter(
            "switchboard_cloud_only_cost_usd",
            "What the same requests would have cost on the configured cloud model (USD), by the "
            "tier that answered; minus switchboard_cost_usd_total it is the savings.",
            ["tier"],
            registry=registry,
        )
        self.unpriced = Counter(
            "switchboard_unpriced_requests",
            "Answered requests whose cost is unknown (a cloud model without a price).",
            ["tier"],
            registry=registry,
        )
        self.pii_entities = Counter(
            "switchboard_pii_entities",
            "PII entities found in prompts (every occurrence).",
            registry=registry,
        )
        self.pii_detections = Counter(
            "switchboard_pii_detections",
            "Prompts in which a PII type was found, by type (a prompt counts once per type).",
            ["type"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "switchboard_fallbacks",
            "Fallbacks from a failing tier to the next of the chain.",
            ["from_tier", "to_tier"],
            registry=registry,
        )
        self.ttft = Histogram(
            "switchboard_time_to_first_token_seconds",
            "Time from the engine request to the first answer token, by tier.",
            ["tier"],
            buckets=TTFT_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "switchboard_request_duration_seconds",
            "Whole request time (PII scan, routing, queue, generation), by the tier that answered.",
            ["tier"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        for tier in TIERS:
            for counter in (self.input_tokens, self.output_tokens, self.cost, self.counterfactual):
                counter.labels(tier)
        registry.register(_LiveCollector(runtime))
        self._lock = threading.Lock()
        self.server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def on_result(self, result: RequestResult) -> None:
        """Count one recorded request."""
        tier = result.tier
        with self._lock:
            self.requests.labels(tier, result.decision.fired, result.status).inc()
            if result.usage is not None:
                self.input_tokens.labels(tier).inc(result.usage.prompt_tokens)
                self.output_tokens.labels(tier).inc(result.usage.completion_tokens)
            if result.cost is not None:
                if result.cost.known:
                    self.cost.labels(tier).inc(result.cost.total_usd)
                else:
                    self.unpriced.labels(tier).inc()
            if result.counterfactual_usd is not None:
                self.counterfactual.labels(tier).inc(result.counterfactual_usd)
            if result.decision.features.pii_count:
                self.pii_entities.inc(result.decision.features.pii_count)
            for pii_type in result.pii_types:
                self.pii_detections.labels(pii_type).inc()
            path = result.fallback_path
            for before, after in itertools.pairwise(path):
                self.fallbacks.labels(before, after).inc()
            if result.ttft_s is not None and tier != "none":
                self.ttft.labels(tier).observe(result.ttft_s)
            self.duration.labels(tier).observe(result.latency_s)

    def serve(self, listen: str) -> None:
        """Serve /metrics on `listen` ("HOST:PORT") from a daemon thread.

        Raises SetupError naming the key and the port when it is busy or cannot be bound.
        """
        host, _, port_text = listen.rpartition(":")
        host = host.strip("[]")
        port = int(port_text)
        where = f'metrics.listen = "{listen}"'
        try:
            self.server, self._thread = start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SetupError(
                    f"{where}: port {port} on {host} is busy (another process, perhaps another "
                    "switchboard, listens there): no metrics from this process; choose another "
                    'port, or listen = "" to turn metrics off'
                ) from None
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                raise SetupError(
                    f"{where}: {host} is not an address of this machine: no metrics from this "
                    "process; use 127.0.0.1"
                ) from None
            if exc.errno == errno.EACCES:
                raise SetupError(
                    f"{where}: port {port} needs privileges: no metrics from this process; "
                    "choose a port above 1023"
                ) from None
            raise SetupError(
                f"{where}: cannot listen ({exc.strerror or exc}): no metrics from this process"
            ) from None

    def close(self) -> None:
        """Stop serving /metrics."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def serve_metrics(runtime: Runtime, listen: str) -> Metrics:
    """Metrics for `runtime`, served on `listen`; SetupError (one line) when it cannot be."""
    metrics = Metrics(runtime)
    metrics.serve(listen)
    return metrics
