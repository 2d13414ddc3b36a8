"""Replay through a pool of two servers against one: `switchboard replay --concurrency N`.

Two real `python -m llama_cpp.server` processes serve the bundled model on 127.0.0.1, one
thread each. The real command `switchboard replay FILE --concurrency N` runs as a subprocess
with a temporary config and a temporary ledger, once with a pool of one server and once with a
pool of both, alternating which goes first over the rounds so that the machine's load (2 cores
shared with other work) falls on both alike. The policy sends everything to the pool: the
complexity threshold is 0 (every prompt "goes to the cloud") and the pool comes before the
cloud; the servers are trusted, so no prompt is kept local for privacy. The prompts are 200
short, distinct requests written for this bench (subjects x phrasings), answered in at most
`--max-tokens` tokens.

Each server runs in a session of its own (`DemoServer(new_session=True)`): this kernel shares
CPU time between sessions first (sched_autogroup), so two servers in the bench's session got no
more CPU together than one alone while other programs kept the machine busy (measured: ratio
1.00, with the same server CPU per request). A session each gives each server its own share, as
the separate machines of a lab would have.

Each run's ledger is checked: as many rows as prompts, every prompt exactly once (distinct
prompt hashes), all answered by the pool, and with two servers both took a share. Printed per
run: wall time, time to the first result line (start-up included), CPU seconds of the
switchboard process (with its local-engine child) and of each server. CPU is what tells where
the machine's two cores went: the servers' generation, or Switchboard itself.

    python bench/pool_replay.py [--prompts 200] [--rounds 2] [--concurrency 4] [--max-tokens 8]

Last line: `pool_replay_ratio X` (median wall time with two servers / with one; target <= 0.6).
Absolute times follow the machine's load; the ratio of runs interleaved in one session is what
to read.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engines.demo import DemoServer
from engines.model import resolve_model

ROOT = Path(__file__).resolve().parent.parent

SUBJECTS = (
    "the sea", "a lighthouse", "autumn leaves", "a quiet library", "the moon", "a mountain lake",
    "a thunderstorm", "fresh bread", "a red kite", "an old bicycle", "the desert at night",
    "a busy market", "snow on a roof", "a garden in spring", "a paper boat", "the first frost",
    "a cup of tea", "a long train ride", "a sleepy cat", "the harbour at dawn",
    "a wooden bridge", "wild strawberries", "a foggy morning", "an empty beach", "a city park",
)  # fmt: skip
PHRASINGS = (
    "Say one thing about {}.",
    "Describe {} in a few words.",
    "Write a short line about {}.",
    "What colour do you think of for {}?",
    "Give me one word for {}.",
    "Tell me a calm sentence about {}.",
    "Write a title for a story about {}.",
    "How does {} make you feel?",
)


def prompts(count: int) -> list[str]:
    """`count` distinct short prompts (subjects x phrasings, phrasings varying fastest)."""
    made = [p.format(s) for s in SUBJECTS for p in PHRASINGS]
    if count > len(made):
        raise SystemExit(f"--prompts: at most {len(made)} distinct prompts are written here")
    # Interleave so that neighbouring prompts differ in subject too.
    made.sort(key=lambda text: (zlib.crc32(text.encode()), text))
    return made[:count]


def config_text(servers: list[DemoServer], max_tokens: int, concurrency: int) -> str:
    """A config whose policy sends every prompt to a pool of `servers`."""
    entries = "".join(
        f"""
[[pool.servers]]
name = "server-{number}"
base_url = "{server.base_url}"
model = "bundled"
kind = "llama.cpp"
max_inflight = {concurrency}
trusted = true
"""
        for number, server in enumerate(servers, start=1)
    )
    return f"""\
[cloud]
# Never reached: the pool takes everything; a port nothing listens on, no key.
base_url = "http://127.0.0.1:9/v1"
api_key_env = "SWITCHBOARD_BENCH_UNSET_KEY"

[local]
n_threads = 1

[router]
default_tier = "cloud"
complexity_threshold = 0.0

[ledger]
store_prompts = "full"

[pool]
strategy = "least_loaded"
route = "before_cloud"
max_tokens = {max_tokens}
temperature = 0.0
queue_timeout_s = 600.0
{entries}"""


@dataclass(frozen=True)
class Run:
    """One `switchboard replay` run and what its ledger holds."""

    servers: int
    wall_s: float
    first_line_s: float
    lines: int
    switchboard_cpu_s: float
    server_cpu_s: tuple[float, ...]
    rows: int
    distinct: int
    by_server: dict[str, int]
    not_pool: int


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def replay_once(
    servers: list[DemoServer],
    used: int,
    workdir: Path,
    prompt_file: Path,
    args: argparse.Namespace,
    tag: str,
) -> Run:
    """Run the real command against the first `used` servers; check its ledger."""
    config = workdir / f"config-{tag}.toml"
    config.write_text(config_text(servers[:used], args.max_tokens, args.concurrency))
    ledger = workdir / f"ledger-{tag}.sqlite"
    command = [
        sys.executable,
        "-m",
        "console.cli",
        "--config",
        str(config),
        "--db",
        str(ledger),
        "replay",
        str(prompt_file),
        "--concurrency",
        str(args.concurrency),
    ]
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # Its own state directory: no spool of another run is replayed into this ledger.
        "XDG_STATE_HOME": str(workdir / f"state-{tag}"),
    }
    handles = [psutil.Process(server.pid) for server in servers if server.pid is not None]
    server_before = [cpu_seconds(handle) for handle in handles]
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environment,
        text=True,
    )
    assert process.stdout is not None
    first: float | None = None
    lines = 0
    for line in process.stdout:
        if line.startswith("["):
            lines += 1
            if first is None:
                first = time.perf_counter() - started
    code = process.wait(timeout=3600)
    wall = time.perf_counter() - started
    after = os.times()
    errors = process.stderr.read() if process.stderr is not None else ""
    if code != 0:
        raise SystemExit(f"switchboard replay ({used} server(s)) exited {code}: {errors[-2000:]}")
    server_cpu = tuple(
        cpu_seconds(handle) - start for handle, start in zip(handles, server_before, strict=True)
    )
    # The child's own CPU and that of its children it waited for (the local engine's worker).
    own = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    with sqlite3.connect(ledger) as db:
        rows, distinct = db.execute(
            "SELECT count(*), count(DISTINCT prompt_hash) FROM requests"
        ).fetchone()
        by_server = dict(
            db.execute("SELECT server, count(*) FROM requests GROUP BY server").fetchall()
        )
        not_pool = db.execute(
            "SELECT count(*) FROM requests WHERE tier != 'pool' OR status != 'ok'"
        ).fetchone()[0]
    return Run(
        used, wall, first or wall, lines, own, server_cpu, rows, distinct, by_server, not_pool
    )


def check(run: Run, count: int) -> list[str]:
    """What is wrong with a run's ledger (empty when every prompt is there exactly once)."""
    problems = []
    if run.rows != count or run.distinct != count:
        problems.append(f"{run.rows} rows, {run.distinct} distinct prompts for {count} prompts")
    if run.not_pool:
        problems.append(f"{run.not_pool} rows not answered by the pool")
    if run.lines != count:
        problems.append(f"{run.lines} result lines for {count} prompts")
    if run.servers == 2 and len([n for n in run.by_server.values() if n > 0]) < 2:
        problems.append(f"one server took everything: {run.by_server}")
    return problems


def main(args: argparse.Namespace) -> int:
    load_before = os.getloadavg()
    model = resolve_model("bundled")
    servers = [DemoServer(model, n_threads=1, new_session=True) for _ in range(2)]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="pool-replay-") as tmp:
        workdir = Path(tmp)
        prompt_file = workdir / "prompts.jsonl"
        texts = prompts(args.prompts)
        prompt_file.write_text("".join(json.dumps({"prompt": text}) + "\n" for text in texts))
        warm_file = workdir / "warm.jsonl"
        warm_file.write_text("".join(json.dumps({"prompt": text}) + "\n" for text in texts[:4]))
        try:
            for server in servers:
                server.start_blocking()
            # Warm both servers and the page cache of the console's imports outside the timing.
            warm = argparse.Namespace(**{**vars(args), "prompts": 4})
            replay_once(servers, 2, workdir, warm_file, warm, "warm")
            for number in range(args.rounds):
                order = (1, 2) if number % 2 == 0 else (2, 1)
                for used in order:
                    run = replay_once(
                        servers, used, workdir, prompt_file, args, f"r{number}-{used}"
                    )
                    runs.append(run)
                    print(
                        f"round {number + 1}/{args.rounds}: {used} server(s) "
                        f"{run.wall_s:.1f} s, load {os.getloadavg()[0]:.2f}",
                        file=sys.stderr,
                    )
        finally:
            for server in servers:
                server.stop_blocking()
    load_after = os.getloadavg()

    print(
        f"\n{args.prompts} prompts, `switchboard replay --concurrency {args.concurrency}`, "
        f"max_tokens {args.max_tokens}; llama_cpp.server x 1 thread each, bundled model"
    )
    header = (
        f"{'round':>5}{'servers':>8}{'wall s':>8}{'1st line s':>11}{'sb CPU s':>9}"
        f"{'server CPU s':>16}{'rows':>6}{'distinct':>9}  by server"
    )
    print(header)
    failures: list[str] = []
    for index, run in enumerate(runs):
        cpu = "+".join(f"{seconds:.1f}" for seconds in run.server_cpu_s)
        print(
            f"{index // 2 + 1:>5}{run.servers:>8}{run.wall_s:>8.1f}{run.first_line_s:>11.1f}"
            f"{run.switchboard_cpu_s:>9.1f}{cpu:>16}{run.rows:>6}{run.distinct:>9}  "
            f"{json.dumps(run.by_server, sort_keys=True)}"
        )
        where = f"round {index // 2 + 1}, {run.servers} server(s)"
        failures += [f"{where}: {problem}" for problem in check(run, args.prompts)]
    one = [run.wall_s for run in runs if run.servers == 1]
    two = [run.wall_s for run in runs if run.servers == 2]
    pairs = [b / a for a, b in zip(one, two, strict=True)]
    ratio = statistics.median(two) / statistics.median(one)
    print(
        f"\nmedian wall time: one server {statistics.median(one):.1f} s, two servers "
        f"{statistics.median(two):.1f} s; per-round ratios "
        f"{', '.join(f'{p:.3f}' for p in pairs)} (target <= 0.6)"
    )
    sb_share = statistics.fmean(
        run.switchboard_cpu_s / run.wall_s for run in runs if run.servers == 2
    )
    print(f"switchboard CPU with two servers: {sb_share:.0%} of a core on average over the run")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores)")
    for failure in failures:
        print(f"LEDGER CHECK FAILED: {failure}")
    print(f"pool_replay_ratio {ratio:.3f}")
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=8)
    sys.exit(main(parser.parse_args()))
