"""`switchboard pool [--json]`: the lab servers of the pool tier and their live state.

Asks every `[[pool.servers]]` entry for its health and load once (the same checks the running
console makes every `[pool] poll_interval_s`) and prints one row per server, or with `--json`
one object: `{"strategy", "waiting", "servers": [{name, base_url, kind, state, inflight, queued,
tok_s, ttft_p50_ms, breaker, trusted, ...}]}`. Nothing is generated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import TYPE_CHECKING

import click

from console.outside_text import as_text, clean

if TYPE_CHECKING:
    from console.cli_context import CliContext


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


@click.command("pool")
@click.option("--json", "as_json", is_flag=True, help="The servers and their state as JSON.")
@click.pass_obj
def pool(cli_ctx: CliContext, as_json: bool) -> None:
    """List the pool's servers with their live state: health, load, breaker, latency."""
    from engines.pool import PoolEngine, PoolStatus

    config = cli_ctx.config
    engine = PoolEngine(config.pool, config.breaker)

    async def check() -> PoolStatus:
        try:
            await engine.refresh()
            return engine.status()
        finally:
            await engine.aclose()

    status = asyncio.run(check())
    if as_json:
        payload = {
            "strategy": status.strategy,
            "waiting": status.waiting,
            "servers": [dataclasses.asdict(server) for server in status.servers],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not status.servers:
        console.print(
            "no [[pool.servers]] in the configuration: the pool tier is off", markup=False
        )
        return
    table = Table(title=f"pool: {len(status.servers)} servers, {status.strategy}")
    for column in ("server", "kind", "state", "breaker", "in flight", "queued", "tok/s"):
        table.add_column(column)
    for column in ("TTFT p50", "health", "trusted", "last error"):
        table.add_column(column, overflow="fold")
    for server in status.servers:
        table.add_row(
            as_text(f"{server.name}\n{server.base_url}"),
            server.kind,
            server.state,
            server.breaker,
            f"{server.inflight}/{server.max_inflight}",
            str(server.queued),
            "-" if server.tok_s is None else f"{server.tok_s:.1f}",
            _ms(server.ttft_p50_ms),
            _ms(server.health_ms),
            "yes" if server.trusted else "no",
            as_text(clean(server.last_error or "")),
        )
    console.print(table)
