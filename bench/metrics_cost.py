"""What metrics and tracing cost: requests and key echo with both on vs both off, and scrapes.

Run: python bench/metrics_cost.py [--rounds N] [--scrapes N] [--tui-rounds N] [--no-tui]
1. Requests through the dispatcher (real Runtime: bundled model, PII analyzer, ledger; no cloud),
   alternating within each round between observers off and on ([metrics] served on a free port,
   [tracing] exporting to an OTLP/HTTP receiver this script runs on 127.0.0.1): wall time of the
   whole request from the caller, answer tokens / wall time (the per-round ratio on/off cancels
   slow load drift), and this process's CPU time per request: the observers run in the console's
   process (the engine generates in its own), so their cost is the change in that CPU time, which
   other processes' load does not inflate the way it inflates wall time. The headline is
   median CPU per request off / on: >= 0.95 means they cost under 5% of the console's CPU.
2. GET /metrics p50/p99 over N scrapes, idle and while the engine generates.
3. The cost of one `on_result` (metrics; tracing with its spans) and of one `span()`, in µs.
4. bench/tui_latency.py's key echo (300 keys while answers stream) with both off and both on,
   alternating over --tui-rounds rounds, side by side (skip with --no-tui).
Absolute times depend on the machine's load: compare the two columns of one run only.
Targets: ratio >= 0.95; scrape p99 <= 20 ms; key echo p99 within 5%.
Last line: `observers_cpu_ratio X`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from console.observers import Observers
from console.runtime import Runtime
from policies.config import ConfigStore

PROMPT = "/local List ten fruits, one per line."
MAX_TOKENS = 48


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that accepts and drops every export."""

    received = 0

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def scrape_times(url: str, count: int) -> list[float]:
    with httpx.Client(timeout=10) as client:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return times


async def requests_and_scrapes(
    tmp: Path, extra: str, rounds: int, scrapes: int, metrics_url: str
) -> dict[str, object]:
    config = tmp / "config.toml"
    config.write_text(f"[local]\nmax_tokens = {MAX_TOKENS}\ntemperature = 0.0\n{extra}")
    runtime = Runtime(ConfigStore.open(config), db_path=tmp / "ledger.sqlite")
    await runtime.start(cloud=False)
    await runtime.wait_local_ready(180)
    await asyncio.to_thread(runtime.scanner.load)
    on, off = runtime.observers, Observers()
    walls: dict[str, list[float]] = {"off": [], "on": []}
    cpus: dict[str, list[float]] = {"off": [], "on": []}
    rates: dict[str, list[float]] = {"off": [], "on": []}
    ratios: list[float] = []
    await runtime.dispatcher.run(PROMPT)  # warm-up: first prompt pays the caches
    for index in range(rounds):
        order = ("off", "on") if index % 2 == 0 else ("on", "off")
        rate: dict[str, float] = {}
        for mode in order:
            runtime.observers = on if mode == "on" else off
            started, started_cpu = time.perf_counter(), time.process_time()
            result = await runtime.dispatcher.run(PROMPT)
            wall = time.perf_counter() - started
            # This process's CPU (all its threads: PII scan, metrics server, span exporter);
            # the engine generates in its own process, which the observers do not touch.
            cpus[mode].append((time.process_time() - started_cpu) * 1000)
            assert result.status == "ok" and result.usage is not None, result.error
            walls[mode].append(wall)
            rate[mode] = result.usage.completion_tokens / wall
            rates[mode].append(rate[mode])
        ratios.append(rate["on"] / rate["off"])
    runtime.observers = on
    idle = await asyncio.to_thread(scrape_times, metrics_url, scrapes)
    busy_task = asyncio.ensure_future(runtime.dispatcher.run(PROMPT, max_tokens=256))
    await asyncio.sleep(0.5)
    busy = await asyncio.to_thread(scrape_times, metrics_url, max(20, scrapes // 5))
    await busy_task
    result = await runtime.dispatcher.run(PROMPT)
    metrics, tracer = on.observers
    micro = {}
    for name, observer in (("metrics on_result", metrics), ("tracing on_result", tracer)):
        started = time.perf_counter()
        for _ in range(2000):
            observer.on_result(result)
        micro[name] = (time.perf_counter() - started) / 2000 * 1e6
    on.tracer.begin("bench")
    started = time.perf_counter()
    for _ in range(2000):
        with on.tracer.span("route"):
            pass
    micro["tracer.span()"] = (time.perf_counter() - started) / 2000 * 1e6
    await runtime.aclose()
    return {
        "walls": walls,
        "cpus": cpus,
        "rates": rates,
        "ratios": ratios,
        "idle": idle,
        "busy": busy,
        "micro": micro,
    }


def tui_echo(tmp: Path, extra: str) -> float:
    """bench/tui_latency.py's key echo p99 (ms) with `extra` appended to its config."""
    import bench.tui_latency as tui

    base = tui.CONFIG
    tui.CONFIG = base + extra.replace("{", "{{").replace("}", "}}")
    try:
        # The first list is every key's echo latency (the tuple grew over time; read only it).
        latencies = asyncio.run(tui.key_echo(tmp))[0]
    finally:
        tui.CONFIG = base
    return percentile(latencies, 0.99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--no-tui", action="store_true")
    parser.add_argument("--sink", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tui-rounds", type=int, default=2)
    args = parser.parse_args()
    if args.sink:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        return
    # The receiver runs in a process of its own: in this one, its threads' CPU and GIL time
    # would be counted against "on".
    sink = subprocess.Popen([sys.executable, __file__, "--sink"], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    sink_port = int(sink.stdout.readline())
    port = free_port()
    extra = (
        f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
        f'[tracing]\notlp_endpoint = "http://127.0.0.1:{sink_port}"\n'
    )
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(
            requests_and_scrapes(
                Path(tmp), extra, args.rounds, args.scrapes, f"http://127.0.0.1:{port}/metrics"
            )
        )
        echo: dict[str, list[float]] = {"off": [], "on": []}
        for index in range(0 if args.no_tui else args.tui_rounds):
            for mode in ("off", "on") if index % 2 == 0 else ("on", "off"):
                run_dir = Path(tmp) / f"tui-{mode}-{index}"
                run_dir.mkdir()
                tui_extra = "" if mode == "off" else extra.replace(str(port), str(free_port()))
                echo[mode].append(tui_echo(run_dir, tui_extra))
    sink.terminate()
    sink.wait(timeout=10)
    walls, rates = figures["walls"], figures["rates"]
    assert isinstance(walls, dict) and isinstance(rates, dict)
    ratios = figures["ratios"]
    idle, busy, micro = figures["idle"], figures["busy"], figures["micro"]
    assert isinstance(ratios, list) and isinstance(idle, list) and isinstance(busy, list)
    assert isinstance(micro, dict)
    print(f"{'measure':<58} {'off':>10} {'on':>10}")
    print(
        f"{'request wall time, median (s)':<58} {statistics.median(walls['off']):>10.3f} "
        f"{statistics.median(walls['on']):>10.3f}"
    )
    cpus = figures["cpus"]
    assert isinstance(cpus, dict)
    print(
        f"{'console CPU per request, median (ms)':<58} {statistics.median(cpus['off']):>10.1f} "
        f"{statistics.median(cpus['on']):>10.1f}"
    )
    print(
        f"{'answer tokens / wall time, median':<58} {statistics.median(rates['off']):>10.1f} "
        f"{statistics.median(rates['on']):>10.1f}"
    )
    if echo["off"]:
        print(
            f"{'TUI key echo p99 while generating, median of runs (ms)':<58} "
            f"{statistics.median(echo['off']):>10.1f} {statistics.median(echo['on']):>10.1f}"
        )
    print()
    print(f"{'per-round ratios on/off':<58} {' '.join(f'{r:.3f}' for r in ratios)}")
    if echo["off"]:
        runs = " ".join(
            f"{off:.0f}/{on:.0f}" for off, on in zip(echo["off"], echo["on"], strict=True)
        )
        print(f"{'TUI key echo p99 per run, off/on (ms)':<58} {runs}")
    print(
        f"{'/metrics scrape idle p50 / p99 (ms)':<58} {statistics.median(idle):>10.2f} "
        f"{percentile(idle, 0.99):>10.2f}  target p99 <= 20"
    )
    print(
        f"{'/metrics scrape while generating p50 / p99 (ms)':<58} "
        f"{statistics.median(busy):>10.2f} {percentile(busy, 0.99):>10.2f}"
    )
    for name, micros in micro.items():
        print(f"{f'{name} (µs)':<58} {micros:>10.1f}")
    print(f"{'load average (1 min) during the run':<58} {os.getloadavg()[0]:>10.2f}")
    print(f"{'wall-time ratio on/off, median of rounds':<58} {statistics.median(ratios):>10.3f}")
    cpu_ratio = statistics.median(cpus["off"]) / statistics.median(cpus["on"])
    print(f"observers_cpu_ratio {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()
