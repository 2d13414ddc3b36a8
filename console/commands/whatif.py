"""`switchboard whatif`: re-decide the ledger's history under changed settings, with quality.

`--set KEY=VALUE` compares one changed config with today's; `--against FILE` compares another
config file's settings (say, with pool servers added, removed or trusted), `--set` applying on
top; `--sweep KEY=START:STOP:STEP` walks one numeric key through a range (the history is read
once). Each result gives the local, pool and cloud shares. Wherever the ledger holds quality
evidence (ratings, `switchboard eval` verdicts) each result also gives the estimated quality:
the share of evidence-carrying requests whose routed tier was judged good enough.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from console.outside_text import clean
from policies.config import SetupError

if TYPE_CHECKING:
    from console.cli_context import CliContext
    from policies.config import Config
    from policies.whatif import QualityEstimate, WhatIfResult


def parse_sets(values: tuple[str, ...]) -> dict[str, str | int | float | bool]:
    """`KEY=VALUE` options as a dict of changes."""
    changes: dict[str, str | int | float | bool] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{item}': expected KEY=VALUE", param_hint="--set")
        changes[key.strip()] = value.strip()
    return changes


def quality_text(estimate: QualityEstimate | None) -> str:
    """`93.1% of 58 judged` or `no evidence`."""
    if estimate is None or estimate.quality is None:
        return "no evidence"
    return f"{estimate.quality:.1%} of {estimate.judged} judged"


def _share(count: int, result: WhatIfResult) -> str:
    return f"{count / result.decided:.1%}" if result.decided else "-"


@click.command("whatif")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="A changed setting, e.g. router.complexity_threshold=0.4 (repeatable).",
)
@click.option(
    "--sweep",
    "sweep_spec",
    default=None,
    metavar="KEY=START:STOP:STEP",
    help="Walk one numeric key through a range, e.g. router.complexity_threshold=0:1:0.05.",
)
@click.option(
    "--against",
    "against",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Compare with this config file's settings (e.g. other [[pool.servers]]).",
)
@click.option(
    "--since",
    default="all",
    show_default=True,
    help="The window: 24h, 7d, 30d (any Nh or Nd) or all.",
)
@click.option("--json", "as_json", is_flag=True, help="The result as JSON.")
@click.pass_obj
def whatif(
    cli_ctx: CliContext,
    sets: tuple[str, ...],
    sweep_spec: str | None,
    against: Path | None,
    since: str,
    as_json: bool,
) -> None:
    """Re-decide the ledger's history under changed settings; no model is called."""
    import sqlite3

    from console.cli import echo_json
    from console.evidence import tier_evidence
    from console.ledger import LedgerError, default_db_path, open_for_report
    from console.ledger_report import parse_since
    from policies.config import load_config, with_changes
    from policies.whatif import sweep, sweep_values
    from policies.whatif import whatif as run_whatif

    if not sets and sweep_spec is None and against is None:
        raise click.UsageError(
            "give --set KEY=VALUE, --against FILE or --sweep KEY=START:STOP:STEP"
        )
    try:
        window = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    since_ts = None if window is None else time.time() - window
    base = cli_ctx.config
    changes = parse_sets(sets)
    changed = with_changes(base if against is None else load_config(against), changes)
    points: list[tuple[float, Config]] = []
    if sweep_spec is not None:
        try:
            key, values = sweep_values(sweep_spec)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--sweep") from None
        points = [(value, with_changes(changed, {key: value})) for value in values]
    path = default_db_path(base.ledger.path, cli_ctx.db_path)
    if not path.exists():
        raise SetupError(f"{path}: no ledger here yet (nothing recorded); see --db")
    ledger = open_for_report(path)
    try:
        evidence = tier_evidence(path)
        # The history is read while it is decided: parsed and freed inside policies.whatif.
        history = ledger.iter_history(since_ts=since_ts)
        if sweep_spec is None:
            result = run_whatif(history, base, changed, evidence=evidence)
        else:
            results = sweep(history, base, points, evidence=evidence)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path}: cannot read the ledger: {exc} (move it aside)") from None
    finally:
        ledger.close()
    if sweep_spec is None:
        if as_json:
            echo_json(
                {
                    "db": str(path),
                    "set": list(sets),
                    "against": None if against is None else str(against),
                    **result.to_dict(),
                }
            )
        else:
            label = ", ".join([*([] if against is None else [str(against)]), *sets])
            _show(result, label)
        return
    current = float(getattr_dotted(base, key))
    if as_json:
        echo_json(
            {
                "db": str(path),
                "set": list(sets),
                "sweep": key,
                "current": current,
                "evidence": len(evidence),
                "points": [point.to_dict() for point in results],
            }
        )
        return
    current = float(getattr_dotted(base, key))
    click.echo(
        f"{key} swept over {len(results)} settings; {len(evidence)} request(s) carry evidence"
    )
    click.echo(f"{'value':>8}  {'local':>7}  {'pool':>7}  {'cloud':>7}  {'cost USD':>10}  quality")
    for point in results:
        mark = "  ← current" if abs(point.value - current) < 1e-9 else ""
        r = point.result
        click.echo(
            f"{point.value:>8g}  {_share(r.local_after, r):>7}  {_share(r.pool_after, r):>7}  "
            f"{_share(r.cloud_after, r):>7}  {r.cost_after_usd:>10.4f}  "
            f"{quality_text(r.quality_after)}{mark}"
        )
    if results:
        click.echo(f"all-cloud quality: {quality_text(results[0].result.quality_all_cloud)}")


def getattr_dotted(config: object, key: str) -> Any:
    """The value of a dotted key (`router.tasks.min_confidence`) of a config."""
    value = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def _show(result: WhatIfResult, label: str) -> None:
    click.echo(f"{result.changed} of {result.total} requests change tier with {label}")
    for before, after, count in result.transitions:
        click.echo(f"  {before} → {after}: {count}")
    for tier, old, new in (
        ("local", result.local_before, result.local_after),
        ("pool", result.pool_before, result.pool_after),
        ("cloud", result.cloud_before, result.cloud_after),
    ):
        click.echo(f"{tier:<8} {_share(old, result)} → {_share(new, result)}")
    click.echo(f"cost     ${result.cost_before_usd:.4f} → ${result.cost_after_usd:.4f}")
    click.echo(f"savings  ${result.savings_before_usd:.4f} → ${result.savings_after_usd:.4f}")
    click.echo(
        f"quality  {quality_text(result.quality_before)} → {quality_text(result.quality_after)}"
        f" (all cloud: {quality_text(result.quality_all_cloud)})"
    )
    if result.local_cpu_estimated:
        click.echo(
            f"local cost of {result.local_cpu_estimated} moved request(s) estimated: "
            f"{result.local_cpu_basis}"
        )
    if result.pool_cost_estimated:
        click.echo(
            f"pool cost of {result.pool_cost_estimated} moved request(s) estimated: "
            f"{result.pool_cost_basis}"
        )
    if result.pool_servers_assumed:
        names = ", ".join(clean(name) for name in result.pool_servers_assumed)
        click.echo(
            f"pool server(s) {names} assumed free for {result.pool_assumed_rows} request(s) "
            "recorded without them"
        )
    if result.cost_unknown:
        click.echo(f"{result.cost_unknown} moved request(s) have no known cloud price (counted 0)")
    if result.unreadable:
        click.echo(f"{result.unreadable} row(s) without a readable decision trace (unchanged)")
    if result.sample_request_ids:
        click.echo(f"e.g. {', '.join(result.sample_request_ids[:5])}")
