"""`switchboard report --html FILE [--since 7d]`: the shareable, self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from policies.config import SetupError

if TYPE_CHECKING:
    from console.cli_context import CliContext


@click.command("report")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The HTML file to write (one self-contained page: no scripts, no network).",
)
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="The window: 24h, 7d, 30d (any Nh or Nd) or all.",
)
@click.pass_obj
def report_command(cli_ctx: CliContext, html_path: Path, since: str) -> None:
    """Write the ledger's report as one HTML page to share: routing, cost, savings, privacy."""
    from console.ledger import default_db_path, open_for_report
    from console.ledger_report import parse_since
    from console.report_html import gather, write_report

    try:
        parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config = cli_ctx.config
    path = default_db_path(config.ledger.path, cli_ctx.db_path)
    if not path.exists():
        raise SetupError(f"{path}: no ledger here yet (nothing recorded); see --db")
    ledger = open_for_report(path)
    try:
        data = gather(ledger, config, since)
    finally:
        ledger.close()
    try:
        size = write_report(html_path, data)
    except OSError as exc:
        raise SetupError(f"{html_path}: cannot write the report: {exc.strerror or exc}") from None
    if data.report.requests == 0:
        click.echo(
            f"switchboard: {path} holds no request in the last {since}; "
            f"wrote an empty report to {html_path}",
            err=True,
        )
        return
    click.echo(f"wrote {html_path} ({data.report.requests:,} requests, {size / 1024:,.0f} KiB)")
