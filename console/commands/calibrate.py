"""`switchboard calibrate --min-quality Q`: the cheapest routing that keeps judged quality.

Tries every `router.complexity_threshold` from 0 to 1 in steps of 0.05 with several
`[router.tasks] min_confidence` values on the ledger's history (what-if, no model is called) and
proposes the cheapest setting whose judged quality on the ledger's evidence (ratings and eval
verdicts) is at least Q times the quality of sending everything to the cloud. It says how many
requests the figure rests on; with no evidence it says so and proposes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from policies.config import SetupError

if TYPE_CHECKING:
    from console.cli_context import CliContext
    from policies.whatif import WhatIfResult

THRESHOLDS = tuple(round(i * 0.05, 2) for i in range(21))
MIN_CONFIDENCES = (0.3, 0.5, 0.7, 0.9, 1.0)


@dataclass(frozen=True)
class Candidate:
    """One setting tried, and what it would have done."""

    complexity_threshold: float
    min_confidence: float
    result: WhatIfResult

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        r = self.result
        return {
            "router.complexity_threshold": self.complexity_threshold,
            "router.tasks.min_confidence": self.min_confidence,
            "cost_usd": r.cost_after_usd,
            "local_share": r.local_after / r.decided if r.decided else None,
            "quality": r.quality_after.to_dict() if r.quality_after else None,
        }


def qualifies(result: WhatIfResult, min_quality: float) -> bool:
    """Whether `result`'s judged quality is at least `min_quality` x all-cloud's."""
    after, cloud = result.quality_after, result.quality_all_cloud
    if after is None or cloud is None or after.quality is None or cloud.quality is None:
        return False
    return after.quality >= min_quality * cloud.quality - 1e-12


@click.command("calibrate")
@click.option(
    "--min-quality",
    type=click.FloatRange(0.0, 1.0),
    default=0.95,
    show_default=True,
    help="Judged quality to keep, as a fraction of all-cloud's.",
)
@click.option(
    "--since",
    default="all",
    show_default=True,
    help="The window: 24h, 7d, 30d (any Nh or Nd) or all.",
)
@click.option("--json", "as_json", is_flag=True, help="The proposal and every candidate as JSON.")
@click.pass_obj
def calibrate(cli_ctx: CliContext, min_quality: float, since: str, as_json: bool) -> int:
    """Propose the cheapest thresholds that keep judged quality on the ledger's evidence."""
    from console.cli import echo_json
    from console.evidence import tier_evidence
    from console.ledger import default_db_path, open_for_report
    from console.ledger_report import parse_since
    from policies.config import with_changes
    from policies.whatif import read_history, sweep

    try:
        window = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    since_ts = None if window is None else time.time() - window
    base = cli_ctx.config
    path = default_db_path(base.ledger.path, cli_ctx.db_path)
    if not path.exists():
        raise SetupError(f"{path}: no ledger here yet (nothing recorded); see --db")
    evidence = tier_evidence(path)
    if not evidence:
        click.echo(
            f"switchboard: no quality evidence in {path}: run `switchboard eval FILE.jsonl` "
            "or rate answers in the console first",
            err=True,
        )
        return 1
    ledger = open_for_report(path)
    try:
        history = read_history(ledger.iter_history(since_ts=since_ts))
    finally:
        ledger.close()
    settings = [
        (threshold, confidence) for confidence in MIN_CONFIDENCES for threshold in THRESHOLDS
    ]
    configs = [
        (
            float(index),
            with_changes(
                base,
                {
                    "router.complexity_threshold": threshold,
                    "router.tasks.min_confidence": confidence,
                },
            ),
        )
        for index, (threshold, confidence) in enumerate(settings)
    ]
    points = sweep(history, base, configs, evidence=evidence)
    candidates = [
        Candidate(threshold, confidence, point.result)
        for (threshold, confidence), point in zip(settings, points, strict=True)
    ]
    current = next(
        (
            c
            for c in candidates
            if abs(c.complexity_threshold - base.router.complexity_threshold) < 1e-9
            and abs(c.min_confidence - base.router.tasks.min_confidence) < 1e-9
        ),
        None,
    )
    good = [c for c in candidates if qualifies(c.result, min_quality)]
    best = min(
        good,
        key=lambda c: (c.result.cost_after_usd, -c.result.local_after, -c.complexity_threshold),
        default=None,
    )
    cloud = candidates[0].result.quality_all_cloud
    judged = cloud.judged if cloud else 0
    if as_json:
        echo_json(
            {
                "db": str(path),
                "min_quality": min_quality,
                "evidence": len(evidence),
                "judged": judged,
                "all_cloud_quality": cloud.quality if cloud else None,
                "proposal": best.to_dict() if best else None,
                "current": current.to_dict() if current else None,
                "candidates": [c.to_dict() for c in candidates],
            }
        )
        return 0 if best else 1
    all_cloud = f"{cloud.quality:.1%}" if cloud and cloud.quality is not None else "unknown"
    click.echo(
        f"evidence: {len(evidence)} request(s) in {path}; all-cloud judged quality {all_cloud} "
        f"on {judged}"
    )
    if best is None:
        click.echo(f"no setting tried keeps {min_quality:.0%} of all-cloud quality")
        return 1
    click.echo(_describe("proposed", best))
    if current is not None:
        click.echo(_describe("current ", current))
    click.echo(
        "apply with: switchboard whatif "
        f"--set router.complexity_threshold={best.complexity_threshold:g} "
        f"--set router.tasks.min_confidence={best.min_confidence:g}  (then the policy editor)"
    )
    return 0


def _describe(label: str, candidate: Candidate) -> str:
    r = candidate.result
    quality = r.quality_after
    share = f"{r.local_after / r.decided:.1%}" if r.decided else "-"
    judged = (
        f"{quality.quality:.1%} of {quality.judged} judged"
        if quality and quality.quality is not None
        else "no evidence"
    )
    return (
        f"{label} router.complexity_threshold={candidate.complexity_threshold:g} "
        f"router.tasks.min_confidence={candidate.min_confidence:g}: local {share}, "
        f"cost ${r.cost_after_usd:.4f}, quality {judged}"
    )
