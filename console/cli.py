"""The `switchboard` command: the TUI by default, headless subcommands for scripts.

Each subcommand is a thin layer over the domain modules; heavy imports (llama.cpp, Presidio,
Textual) are deferred into the commands that need them so `switchboard --help` stays instant.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error (one clear line on stderr).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from engines.base import EngineError
from policies.config import Config, ConfigStore, SetupError

if TYPE_CHECKING:
    from console.runtime import Runtime

T = TypeVar("T")


@dataclass
class CliContext:
    """The global options, shared by every subcommand."""

    config_path: Path | None
    db_path: Path | None
    demo_cloud: bool
    _store: ConfigStore | None = None

    @property
    def store(self) -> ConfigStore:
        """The configuration, loaded on first use (ConfigError surfaces as exit code 2)."""
        if self._store is None:
            self._store = ConfigStore.open(self.config_path)
        return self._store

    @property
    def config(self) -> Config:
        """The configuration in force."""
        return self.store.config


pass_cli = click.make_pass_decorator(CliContext)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="config.toml to use (default: ./config.toml, else built-in defaults).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ledger SQLite file (default: [ledger] path, else the per-user data directory).",
)
@click.option(
    "--demo-cloud",
    is_flag=True,
    help="Serve the bundled model on 127.0.0.1 as the cloud tier (no credentials needed).",
)
@click.version_option(package_name="switchboard")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, db_path: Path | None, demo_cloud: bool) -> None:
    """Switchboard: route each prompt to a local llama.cpp model or a cloud API, by policy.

    Without a command, opens the console (TUI).
    """
    ctx.obj = CliContext(config_path=config_path, db_path=db_path, demo_cloud=demo_cloud)
    if ctx.invoked_subcommand is None:
        from console.tui.app import run_tui

        run_tui(ctx.obj)


def run_with_runtime(
    cli_ctx: CliContext,
    body: Callable[[Runtime], Awaitable[T]],
    *,
    local: bool = True,
    pii: bool = True,
    cloud: bool = True,
) -> T:
    """Build a Runtime, start the parts `body` needs, run it, and close everything."""
    from console.runtime import Runtime

    async def run() -> T:
        runtime = Runtime(cli_ctx.store, cli_ctx.db_path, cli_ctx.demo_cloud)
        try:
            if runtime.ledger_error:
                raise SetupError(runtime.ledger_error)
            await runtime.start(local=local, pii=pii, cloud=cloud)
            return await body(runtime)
        finally:
            await runtime.aclose()

    return asyncio.run(run())


def read_prompts(path: Path) -> list[str]:
    """Prompts of a JSONL file (`{"prompt": ...}` per line); a bad line is named by its number."""
    prompts: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SetupError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SetupError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
            raise SetupError(f'{path}:{number}: expected an object {{"prompt": "..."}}')
        prompts.append(item["prompt"])
    return prompts


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--max-tokens", type=click.IntRange(1, 131_072), default=None, help="Cap per answer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: results and summary.")
@pass_cli
def replay(cli_ctx: CliContext, file: Path, max_tokens: int | None, as_json: bool) -> int:
    """Run the prompts of FILE.jsonl through today's policy and summarise the routing."""
    from console.replay import ReplaySummary

    prompts = read_prompts(file)

    async def body(runtime: Runtime) -> ReplaySummary:
        summary = ReplaySummary()
        async for index, result in runtime.dispatcher.replay(prompts, max_tokens=max_tokens):
            summary.add(result)
            if not as_json:
                click.echo(summary.line(index, len(prompts), result))
        return summary

    summary = run_with_runtime(cli_ctx, body)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(summary.text())
    return 1 if summary.failed else 0


def _fail(message: str, code: int) -> None:
    click.echo(f"switchboard: {message}", err=True)
    sys.exit(code)


def main() -> None:
    """Entry point of the `switchboard` console script."""
    try:
        result = cli.main(prog_name="switchboard", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SetupError as exc:
        _fail(str(exc), 2)
    except EngineError as exc:
        _fail(f"{exc}{f' ({exc.fix})' if exc.fix else ''}", 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(result if isinstance(result, int) else 0)
