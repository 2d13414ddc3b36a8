"""Router speed: decide() and extract_features() per prompt, and what-if over 100,000 ledger rows.

Run: python bench/router_speed.py [--rows N]
Targets: decide() p99 <= 1 ms (PII scanning excluded); what-if over 100,000 rows <= 2 s; the
task signal plus decide() on 2,000-character prompts <= 15 ms p99; a what-if sweep of 21
settings over 100,000 rows (quality evidence on 5% of them) <= 5 s.
Prompts are examples/demo_prompts.jsonl with and without /local, /cloud prefixes and PII types,
under varied live signals and configs. The what-if ledger is a real SQLite file in a temporary
directory holding real decision traces; the timing covers reading it (`iter_history`) too. Its
policy has two lab pool servers: a third of the rows were recorded with no pool, the others
with the pool in one of three states, so the what-if re-decides pool routes too.
Last line: `router_p99_ms X.XXX`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.ledger import Ledger, LedgerRecord  # noqa: E402
from policies.config import Config, parse_config, with_changes  # noqa: E402
from policies.features import Features, extract_features  # noqa: E402
from policies.router import PoolSignals, Signals, decide  # noqa: E402
from policies.tasks import default_head  # noqa: E402
from policies.trace_inputs import encode_inputs  # noqa: E402
from policies.whatif import TierEvidence, sweep, whatif  # noqa: E402

#: Asks wrapped around pasted material to make the 2,000-character prompts of the task signal.
LONG_ASKS = (
    "Refactor this code and explain the changes:\n",
    "Summarize this article in three sentences:\n",
    "Extract every error code and host from these logs as JSON:\n",
    "Translate this text into German:\n",
)
PASTES = (
    "def handler(event, context):\n    items = load(event['items'])\n"
    "    return [x * 2 for x in items]\n",
    "The council met on Monday to discuss the budget, and members agreed to fund the new park. ",
    "2024-05-01 12:00:01 ERROR host=db-3 code=E1042 connection refused after 3 retries\n",
    "Our team visited the museum last week; the guide showed us paintings from three centuries. ",
)


#: The what-if ledger's policy: the defaults and two lab servers, one trusted with personal data.
POOL_CONFIG = parse_config(
    """
[[pool.servers]]
name = "lab-a"
base_url = "http://127.0.0.1:9/v1"
model = "m"
trusted = true
cost_per_hour = 1.5

[[pool.servers]]
name = "lab-b"
base_url = "http://127.0.0.1:9/v1"
model = "m"
cost_per_hour = 0.8
"""
)
SERVERS = (("lab-a", True), ("lab-b", False))
POOLS = (
    PoolSignals(),
    PoolSignals(
        configured=True,
        server="lab-b",
        trusted_server="lab-a",
        servers=tuple((name, trusted, "ok") for name, trusted in SERVERS),
    ),
    PoolSignals(
        configured=True,
        server="lab-a",
        trusted_server="lab-a",
        servers=(("lab-a", True, "ok"), ("lab-b", False, "out")),
    ),
    PoolSignals(
        configured=True,
        unavailable_reason="all at max_inflight (lab-a, lab-b)",
        full=True,
        trusted_full=True,
        servers=tuple((name, trusted, "full") for name, trusted in SERVERS),
    ),
)


def _prompts() -> list[str]:
    lines = (ROOT / "examples" / "demo_prompts.jsonl").read_text(encoding="utf-8").splitlines()
    base = [json.loads(line)["prompt"] for line in lines if line.strip()]
    return base + [f"/cloud {p}" for p in base[::4]] + [f"/local {p}" for p in base[1::4]]


def _signals(rng: random.Random, pool: bool = False) -> Signals:
    no_key = rng.random() < 0.2
    return Signals(
        local_queue_depth=rng.choice((0, 0, 1, 3)),
        local_cpu_pct=rng.uniform(0, 100),
        local_tps=rng.choice((None, 8.0, 40.0)),
        local_ready=rng.random() > 0.1,
        cloud_state=rng.choice(("closed", "closed", "half_open", "open")),
        cloud_available=not no_key,
        cloud_unavailable_reason="no API key ($OPENAI_API_KEY unset)" if no_key else "",
        spend_today_usd=rng.choice((0.0, 0.5, 2.5)),
        spend_month_usd=rng.uniform(0, 45),
        pool=rng.choice(POOLS[:1] * 2 + POOLS[1:]) if pool else PoolSignals(),
    )


def _configs() -> list[Config]:
    base = Config()
    return [
        base,
        with_changes(base, {"pii.on_pii": "redact", "router.default_tier": "cloud"}),
        with_changes(base, {"pii.on_pii": "block", "router.complexity_threshold": "0.3"}),
    ]


def _percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1e6
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6
    return p50, p99, statistics.fmean(ordered) / 1e6


def _features(prompts: list[str], rng: random.Random) -> list[Features]:
    pii_choices: list[tuple[str, ...]] = [(), (), ("PERSON",), ("EMAIL_ADDRESS", "PERSON")]
    return [extract_features(p, rng.choice(pii_choices)) for p in prompts]


def bench_extract(prompts: list[str], rounds: int) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for prompt in itertools.islice(itertools.cycle(prompts), rounds):
        start = clock()
        extract_features(prompt)
        samples.append(clock() - start)
    return samples


def bench_decide(features: list[Features], rounds: int, rng: random.Random) -> list[int]:
    signals = [_signals(rng) for _ in range(64)]
    configs = _configs()
    cases = [
        (rng.choice(features), rng.choice(signals), rng.choice(configs)) for _ in range(rounds)
    ]
    samples = []
    clock = time.perf_counter_ns
    for feature, signal, config in cases:
        start = clock()
        decide(feature, signal, config)
        samples.append(clock() - start)
    return samples


def build_ledger(path: Path, rows: int, features: list[Features], rng: random.Random) -> None:
    config = POOL_CONFIG
    traces = []
    for feature in features:
        for _ in range(8):
            decision = decide(feature, _signals(rng, pool=True), config)
            traces.append((json.dumps(decision.to_dict()), decision))
    ledger = Ledger.open(path)
    now = time.time()
    batch: list[LedgerRecord] = []
    for number in range(rows):
        trace, decision = traces[number % len(traces)]
        tier = "none" if decision.target == "blocked" else decision.target
        tokens_in, tokens_out = rng.randint(10, 400), rng.randint(5, 800)
        local = tier == "local"
        cost = tokens_out * 6e-7
        if local:
            cost = tokens_out * 0.05 * 0.01 / 3600
        elif tier == "pool":
            cost = tokens_out * 0.02 * 0.8 / 3600
        batch.append(
            LedgerRecord(
                ts=now - rows + number,
                session="bench",
                request_id=str(uuid.UUID(int=rng.getrandbits(128))),
                prompt_hash="0" * 64,
                prompt_text=None,
                decision_json=trace,
                inputs_json=encode_inputs(decision),
                routed_tier=tier,
                tier=tier,
                fallback_path="",
                fired_rule=decision.fired,
                model="gpt-4o-mini",
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                usage_estimated=False,
                ttft_s=0.2,
                latency_s=2.0,
                tokens_per_s=30.0,
                cpu_seconds=tokens_out * 0.05 if local else 0.0,
                cost_usd=cost,
                counterfactual_usd=tokens_in * 1.5e-7 + tokens_out * 6e-7,
                cost_known=True,
                status="ok" if tier != "none" else "blocked",
                error_class=None,
                redacted=False,
                pii_count=decision.features.pii_count,
            )
        )
        if len(batch) == 10_000:
            ledger.record_many(batch)
            batch.clear()
    if batch:
        ledger.record_many(batch)
    ledger.close()


def bench_whatif(path: Path) -> tuple[float, float, float, int, int, float, float]:
    """Wall and CPU seconds of a what-if over the whole ledger, and of the ledger read alone.

    CPU seconds (this process only) are what the run costs on a core of its own, which is the
    fairer figure when other work shares the machine.
    """
    base = POOL_CONFIG
    changed = with_changes(base, {"router.complexity_threshold": "0.3"})
    ledger = Ledger.open(path, read_only=True)
    try:
        cpu = time.process_time()
        for _ in ledger.iter_history():
            pass
        read_cpu = time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        result = whatif(ledger.iter_history(), base, changed)
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    finally:
        ledger.close()
    shares = result.to_dict()
    pool_before, pool_after = shares["pool_share_before"], shares["pool_share_after"]
    assert isinstance(pool_before, float) and isinstance(pool_after, float)
    return elapsed, used, read_cpu, result.total, result.changed, pool_before, pool_after


def long_prompts() -> list[str]:
    """2,000-character prompts: an ask and pasted code, prose or logs."""
    prompts = []
    for ask in LONG_ASKS:
        for paste in PASTES:
            text = ask + paste * (2000 // len(paste) + 1)
            prompts.append(text[:2000])
    return prompts


def bench_task_signal(
    prompts: list[str], rounds: int, clock: Callable[[], int] = time.perf_counter_ns
) -> tuple[list[int], list[int]]:
    """Per call: the head alone, and extract_features (head included) + decide().

    With `clock=time.thread_time_ns` the figures are this thread's CPU time: what a call costs
    when the machine is not shared (wall time under load also counts waiting for a core).
    """
    head = default_head()
    config, signals = Config(), Signals()
    alone, routed = [], []
    for prompt in itertools.islice(itertools.cycle(prompts), rounds):
        start = clock()
        head.classify(prompt)
        middle = clock()
        decide(extract_features(prompt), signals, config)
        alone.append(middle - start)
        routed.append(clock() - middle)
    return alone, routed


def bench_sweep(path: Path, rng: random.Random) -> tuple[float, float, int]:
    """Wall and CPU seconds of a 21-setting sweep of router.complexity_threshold, ledger read
    included, with quality evidence on 5% of the rows; and the rows read."""
    base = POOL_CONFIG
    configs = [
        (v / 20, with_changes(base, {"router.complexity_threshold": v / 20})) for v in range(21)
    ]
    ledger = Ledger.open(path, read_only=True)
    try:
        ids = [row.request_id for row in ledger.iter_history()]
        evidence = {
            request_id: TierEvidence(rng.random() < 0.7, True, rng.random() < 0.5)
            for request_id in rng.sample(ids, len(ids) // 20)
        }
        start, cpu = time.perf_counter(), time.process_time()
        points = sweep(ledger.iter_history(), base, configs, evidence=evidence)
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    finally:
        ledger.close()
    return elapsed, used, points[0].result.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="what-if history rows")
    args = parser.parse_args()
    rng = random.Random(7)
    prompts = _prompts()
    features = _features(prompts, rng)

    bench_decide(features, 2_000, rng)  # warm up
    extract = _percentiles(bench_extract(prompts, 5_000))
    decided = _percentiles(bench_decide(features, 20_000, rng))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite"
        start = time.perf_counter()
        build_ledger(path, args.rows, features, rng)
        built = time.perf_counter() - start
        runs = [bench_whatif(path) for _ in range(3)]
        sweeps = [bench_sweep(path, rng) for _ in range(3)]
    best = min(runs)
    long = long_prompts()
    bench_task_signal(long, 50)  # warm up (loads the head)
    head_alone, head_routed = bench_task_signal(long, 1_000)
    task = _percentiles(head_alone)
    routed = _percentiles(head_routed)
    cpu_alone, cpu_routed = bench_task_signal(long, 1_000, time.thread_time_ns)
    task_cpu = _percentiles(cpu_alone)
    routed_cpu = _percentiles(cpu_routed)

    print(f"{len(prompts)} prompts, 3 configs, 64 signal sets")
    print(f"{'measure':<34}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    print(f"{'extract_features() (5,000 calls)':<34}" + "".join(f"{v:>10.3f}" for v in extract))
    print(f"{'decide() (20,000 calls)':<34}" + "".join(f"{v:>10.3f}" for v in decided))
    print(f"{'task head, 2,000-char prompts':<34}" + "".join(f"{v:>10.3f}" for v in task))
    print(f"{'features+decide, 2,000 chars':<34}" + "".join(f"{v:>10.3f}" for v in routed))
    print(f"{'  the same, thread CPU time':<34}" + "".join(f"{v:>10.3f}" for v in routed_cpu))
    print(f"{'  task head alone, CPU time':<34}" + "".join(f"{v:>10.3f}" for v in task_cpu))
    print()
    print(f"what-if ledger: {args.rows:,} rows built in {built:.1f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    header = ("wall s", "CPU s", "read CPU s", "rows", "changed", "pool", "pool after")
    print(f"{'what-if run (iter_history + whatif)':<38}" + "".join(f"{h:>11}" for h in header))
    for number, (elapsed, used, read, total, changed, pool, after) in enumerate(runs, start=1):
        print(
            f"{'run ' + str(number):<38}{elapsed:>11.3f}{used:>11.3f}{read:>11.3f}"
            f"{total:>11}{changed:>11}{pool:>11.1%}{after:>11.1%}"
        )
    for number, (elapsed, used, total) in enumerate(sweeps, start=1):
        print(
            f"sweep run {number}: 21 settings x {total:,} rows: "
            f"{elapsed:.3f} s wall, {used:.3f} s CPU"
        )
    print(f"whatif_sweep21_wall_s_{args.rows} {min(run[0] for run in sweeps):.3f}")
    print(f"whatif_sweep21_cpu_s_{args.rows} {min(run[1] for run in sweeps):.3f}")
    print(f"decision_with_task_p99_ms_2000c {routed[1]:.3f}")
    print(f"decision_with_task_cpu_p99_ms_2000c {routed_cpu[1]:.3f}")
    print(f"whatif_wall_s_{args.rows} {best[0]:.3f}")
    print(f"whatif_cpu_s_{args.rows} {min(run[1] for run in runs):.3f}")
    print(f"router_p99_ms {decided[1]:.3f}")


if __name__ == "__main__":
    main()
