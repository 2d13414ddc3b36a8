"""`switchboard serve [--port N] [--host H]`: the console in a browser, through textual-serve.

Each browser tab gets its own `switchboard` console process, started with the same global
options (`--config`, `--db`, `--demo-cloud`) through the same entry point and app factory as in
a terminal: nothing is forked. textual-serve has no authentication, so it binds to 127.0.0.1
unless `--host` says otherwise, and then warns.
"""

from __future__ import annotations

import errno
import shlex
import socket
import sys
from typing import TYPE_CHECKING

import click

from policies.config import SetupError

if TYPE_CHECKING:
    from console.cli_context import CliContext

LOOPBACK = frozenset(("127.0.0.1", "localhost", "::1"))


def console_command(cli_ctx: CliContext) -> str:
    """The shell command that opens the console with this invocation's global options."""
    args = [sys.executable, "-m", "console.cli"]
    if cli_ctx.config_path is not None:
        args += ["--config", str(cli_ctx.config_path.resolve())]
    if cli_ctx.db_path is not None:
        args += ["--db", str(cli_ctx.db_path.expanduser().resolve())]
    if cli_ctx.demo_cloud:
        args.append("--demo-cloud")
    return shlex.join(args)


def check_port(host: str, port: int) -> None:
    """Raise SetupError (one line) when `host:port` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SetupError(
                    f"port {port} on {host} is busy (another process listens there); "
                    "choose another with --port"
                ) from None
            if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
                raise SetupError(f"--host {host}: not an address of this machine") from None
            raise SetupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@click.command("serve")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind; anything but loopback exposes the console without authentication.",
)
@click.pass_obj
def serve_command(cli_ctx: CliContext, port: int, host: str) -> None:
    """Serve the console to a web browser (textual-serve) on 127.0.0.1."""
    _ = cli_ctx.config  # a broken config.toml is reported here once, not in every tab
    check_port(host, port)
    if host not in LOOPBACK:
        click.echo(
            f"switchboard: warning: serving on {host}:{port} without authentication: anyone "
            "who can reach it gets the console, its ledger and its cloud key's budget",
            err=True,
        )
    from textual_serve.server import Server

    server = Server(console_command(cli_ctx), host=host, port=port, title="Switchboard")
    click.echo(f"serving the console on http://{host}:{port} (ctrl+c stops)", err=True)
    server.serve()
