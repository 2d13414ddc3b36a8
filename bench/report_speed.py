"""HTML report speed: `switchboard report --html` over a 1,000,000-row ledger, and its size.

Run: python bench/report_speed.py [--rows N]
The ledger is filled like bench/ledger_speed.py (the same synthetic requests spread over 90 days,
a real ~2 KB trace each), with one request in ten carrying PII types in its router inputs. Times
gather (the ledger queries) + render + write for the windows 7d, 30d and all, best of three
passes each (other work on a shared machine only slows a pass down).
Targets: <= 5 s and <= 2 MB per report. Last line: `report_html_s_1m X` (the slowest window).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ledger_speed import synthetic
from console.ledger import Ledger, LedgerRecord
from console.report_html import gather, write_report
from policies.config import Config
from policies.features import extract_features
from policies.router import Signals, decide
from policies.trace_inputs import encode_inputs

_PII_TYPES = (("PERSON",), ("EMAIL_ADDRESS", "PERSON"), ("PHONE_NUMBER",), ("SECRET",))


def build(ledger: Ledger, rows: int, now: float, batch: int = 50_000) -> float:
    """Fill the ledger with `rows` records over the last 90 days; seconds taken."""
    rng = random.Random(7)
    inputs = [
        encode_inputs(
            decide(extract_features("Mail the on-call lead.", types), Signals(), Config())
        )
        for types in _PII_TYPES
    ]
    step = 90 * 86400 / rows
    start = time.perf_counter()
    for first in range(0, rows, batch):
        recs: list[LedgerRecord] = []
        for i in range(first, min(rows, first + batch)):
            rec = synthetic(rng, now - 90 * 86400 + i * step)
            if i % 10 == 0:
                rec = dataclasses.replace(
                    rec,
                    inputs_json=inputs[i // 10 % len(inputs)],
                    pii_count=1,
                    fired_rule="privacy",
                )
            recs.append(rec)
        if not ledger.record_many(recs):
            raise SystemExit(f"build failed: {ledger.last_error}")
    ledger.execute("ANALYZE")
    return time.perf_counter() - start


def main() -> None:
    """Measure and print the table, then the headline figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    config = Config()
    now = time.time()
    results: dict[str, tuple[list[float], int, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger.open(Path(tmp) / "big.sqlite")
        build_s = build(ledger, args.rows, now)
        for since in ("7d", "30d", "all"):
            times, size, requests = [], 0, 0
            for _ in range(3):
                started = time.perf_counter()
                data = gather(ledger, config, since, now)
                size = write_report(Path(tmp) / f"report-{since}.html", data)
                times.append(time.perf_counter() - started)
                requests = data.report.requests
            results[since] = (times, size, requests)
        ledger.close()
    print(f"{'measure':<56} {'value':>12}  target")
    print(f"{f'build {args.rows:,} rows (s)':<56} {build_s:>12.1f}")
    for since, (times, size, requests) in results.items():
        print(
            f"{f'report --since {since}: {requests:,} requests, best of 3 (s)':<56} "
            f"{min(times):>12.2f}  <= 5"
        )
        print(f"{'  the three passes (s)':<56} {' '.join(f'{t:.2f}' for t in times):>12}")
        print(f"{'  file size (KiB)':<56} {size / 1024:>12.1f}  <= 2048")
    print(f"{'load average (1 min) during the run':<56} {os.getloadavg()[0]:>12.2f}")
    worst = max(min(times) for times, _, _ in results.values())
    print(f"report_html_s_1m {worst:.2f}")


if __name__ == "__main__":
    main()
