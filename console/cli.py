"""The `switchboard` command: the TUI by default, headless subcommands for scripts.

Each subcommand is a thin layer over the domain modules; heavy imports (llama.cpp, Presidio,
Textual) are deferred into the commands that need them so `switchboard --help` stays instant.
Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error (one clear line on stderr).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from console.cli_context import CliContext
from console.outside_text import as_text, for_stream
from engines.base import EngineError, SwitchboardError, Tier
from policies.config import SetupError

if TYPE_CHECKING:
    from console.dispatch import Done, RequestResult
    from console.runtime import Runtime

T = TypeVar("T")


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
def cli(
    ctx: click.Context, config_path: Path | None, db_path: Path | None, demo_cloud: bool
) -> None:
    """Switchboard: route each prompt to a local llama.cpp model or a cloud API, by policy.

    Without a command, opens the console (TUI).
    """
    ctx.obj = CliContext(config_path=config_path, db_path=db_path, demo_cloud=demo_cloud)
    if ctx.invoked_subcommand is None:
        from console.tui.app import run_tui

        run_tui(ctx.obj)


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived during a command; its request was recorded as interrupted."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run_with_runtime(
    cli_ctx: CliContext,
    body: Callable[[Runtime], Awaitable[T]],
    *,
    local: bool = True,
    pii: bool = True,
    cloud: bool = True,
    create_ledger: bool = True,
) -> T:
    """Build a Runtime, start the parts `body` needs, run it, and close everything.

    SIGTERM and SIGHUP (a closed terminal) cancel `body` as an interruption: the request in
    flight is recorded with status `interrupted`, then `Stopped` is raised (exit 128+signum).
    """
    from console.runtime import Runtime

    async def run() -> T:
        runtime = Runtime(
            cli_ctx.store, cli_ctx.db_path, cli_ctx.demo_cloud, create_ledger=create_ledger
        )
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        received: list[int] = []

        def stop(signum: int) -> None:
            if not received and task is not None:
                received.append(signum)
                runtime.dispatcher.interrupt(signal.Signals(signum).name)
                task.cancel()

        for signum in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop, signum)
        try:
            if runtime.ledger_error:
                raise SetupError(runtime.ledger_error)
            if cloud and runtime.cloud.setup_error is not None:
                raise runtime.cloud.setup_error
            replayed = runtime.spool_replay.describe()
            if replayed:
                click.echo(f"switchboard: {replayed}", err=True)
            await runtime.start(local=local, pii=pii, cloud=cloud)
            return await body(runtime)
        except asyncio.CancelledError:
            if received:
                raise Stopped(received[0]) from None
            raise
        finally:
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(signum)
            await runtime.aclose()

    return asyncio.run(run())


def finite(value: object) -> object:
    """`value` with every non-finite float (inf, nan) replaced by None: JSON has no Infinity."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def echo_json(value: object, *, indent: int | None = 2) -> None:
    """Print `value` as strict JSON (never Infinity or NaN)."""
    click.echo(json.dumps(finite(value), indent=indent, allow_nan=False))


def echo_outside(text: str, *, err: bool = False, nl: bool = True) -> None:
    """Print text from outside (answers, model names, error bodies): cleaned on a terminal."""
    stream = sys.stderr if err else sys.stdout
    click.echo(for_stream(text, stream), err=err, nl=nl)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--max-tokens", type=click.IntRange(1, 131_072), default=None, help="Cap per answer.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: results and summary.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=1,
    help="Conversations run at once (each tier within its own limit); a progress bar on stderr.",
)
@pass_cli
def replay(
    cli_ctx: CliContext, file: Path, max_tokens: int | None, as_json: bool, concurrency: int
) -> int:
    """Run the prompts of FILE.jsonl through today's policy and summarise the routing.

    Lines are `{"prompt": ...}` (a conversation of one prompt) or `{"turns": [...]}` (the prompts
    of one conversation, each sent with the turns before it). The whole file is checked before
    anything runs. Rows the ledger refuses are kept in the spool (said on stderr).
    """
    from console.replay import ReplaySummary, progress_bar, read_scripts, script_prompts

    scripts = read_scripts(file)
    total = script_prompts(scripts)

    async def body(runtime: Runtime) -> ReplaySummary:
        summary = ReplaySummary()
        waiting = runtime.spool.pending()
        with progress_bar(total, enabled=concurrency > 1) as advance:
            async for index, result in runtime.dispatcher.replay(
                scripts, max_tokens=max_tokens, concurrency=concurrency
            ):
                summary.add(result)
                advance(summary)
                if not as_json:
                    echo_outside(summary.line(index, total, result))
        spooled = runtime.spool.pending() - waiting
        if spooled > 0:
            echo_outside(
                f"switchboard: the ledger refused {spooled} row(s) ({runtime.spool.last_error}); "
                "they are kept in the spool and will be written by the next command that records "
                "(not lost)",
                err=True,
            )
        return summary

    summary = run_with_runtime(cli_ctx, body)
    if as_json:
        echo_json(summary.to_dict())
    else:
        echo_outside(summary.text())
    return 1 if summary.failed else 0


def _show(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@cli.command()
@click.argument("prompt")
@click.option("--json", "as_json", is_flag=True, help="The decision and its trace as JSON.")
@pass_cli
def route(cli_ctx: CliContext, prompt: str, as_json: bool) -> None:
    """Show where PROMPT would go and why (every rule's value and threshold); nothing is run.

    It decides through the dispatcher's own `prepare()`, with the console's signals, except
    that the local engine (not started here) is taken as ready and idle.
    """
    from rich.console import Console
    from rich.table import Table

    from console.dispatch import Prepared, check_prompt

    check_prompt(prompt)

    async def body(runtime: Runtime) -> Prepared:
        await asyncio.to_thread(runtime.scanner.load)
        runtime.signals()  # starts the CPU sample the next call reads
        await asyncio.sleep(0.1)
        live = await asyncio.to_thread(runtime.signals)
        signals = dataclasses.replace(live, local_ready=True, local_queue_depth=0, local_tps=None)
        return await runtime.dispatcher.prepare(prompt, signals=signals)

    prepared = run_with_runtime(
        cli_ctx, body, local=False, pii=False, cloud=False, create_ledger=False
    )
    decision, features = prepared.decision, prepared.decision.features
    if as_json:
        echo_json(decision.to_dict())
        return
    chain = " → ".join(decision.chain) or "none"
    redact = " (redacted for the cloud)" if decision.redact else ""
    table = Table(title=f"{decision.target.upper()} via {decision.fired}; chain {chain}{redact}")
    for column in ("rule", "value", "threshold", "verdict", "why"):
        table.add_column(column, overflow="fold")
    for rule in decision.rules:
        style = "bold" if rule.name == decision.fired else ("dim" if rule.verdict == "skip" else "")
        table.add_row(
            rule.name,
            _show(rule.value),
            _show(rule.threshold),
            rule.verdict,
            as_text(rule.why),
            style=style,
        )
    signals = Table(title=f"complexity {features.complexity:.2f}")
    for column in ("signal", "value", "weight", "contribution", "why"):
        signals.add_column(column, overflow="fold")
    for item in features.signals:
        signals.add_row(
            item.name,
            f"{item.value:.2f}",
            f"{item.weight:.2f}",
            f"{item.contribution:.2f}",
            as_text(item.why),
        )
    console = Console()
    console.print(table)
    console.print(signals)


@cli.command()
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="The window: 24h, 7d, 30d (any Nh or Nd) or all.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (docs/ledger.md).")
@click.option("--csv", "as_csv", is_flag=True, help="Spend by day and tier as CSV.")
@pass_cli
def ledger(cli_ctx: CliContext, since: str, as_json: bool, as_csv: bool) -> None:
    """Requests and cost by tier, savings, budget, top prompts, projection."""
    import sqlite3

    from console.ledger import LedgerError, default_db_path, open_for_report
    from console.ledger_report import build_report, parse_since, render_text

    if as_json and as_csv:
        raise click.UsageError("--json and --csv exclude each other")
    try:
        parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config = cli_ctx.config
    path = default_db_path(config.ledger.path, cli_ctx.db_path)
    if not path.exists():
        raise SetupError(f"{path}: no ledger here yet (nothing recorded); see --db")
    opened = open_for_report(path)
    try:
        report = build_report(opened, config, since)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"{path}: cannot read the ledger: {exc} (move it aside)") from None
    finally:
        opened.close()
    if as_json:
        echo_json(report.to_dict())
    elif as_csv:
        click.echo(report.to_csv(), nl=False)
    else:
        click.echo(render_text(report))


def _summary_line(result: RequestResult) -> str:
    parts = [result.badge, result.model or "no model"]
    if result.usage is not None:
        parts.append(f"{result.usage.completion_tokens} tokens")
    if result.gen_tps is not None:
        parts.append(f"{result.gen_tps:.1f} tok/s")
    if result.ttft_s is not None:
        parts.append(f"first token {result.ttft_s * 1000:.0f} ms")
    parts.append(f"{result.latency_s:.2f} s")
    if result.cost is not None:
        parts.append(f"${result.cost.total_usd:.6f}" if result.cost.known else "cost unknown")
    parts.append(f"rule {result.decision.fired}")
    return " · ".join(parts)


def _result_json(result: RequestResult) -> dict[str, object]:
    usage = result.usage
    return {
        "request_id": result.request_id,
        "answer": result.answer,
        "tier": result.tier,
        "badge": result.badge,
        "status": result.status,
        "model": result.model,
        "fired": result.decision.fired,
        "chain": list(result.decision.chain),
        "fallback_path": list(result.fallback_path),
        "pii_types": list(result.pii_types),
        "redacted": result.redacted,
        "usage": None
        if usage is None
        else {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "estimated": usage.estimated,
        },
        "timings": {
            "ttft_s": result.ttft_s,
            "total_s": result.latency_s,
            "gen_tps": result.gen_tps,
            "cpu_seconds": result.cost.cpu_seconds if result.cost is not None else None,
            "pii_ms": result.timings.pii_ms,
            "route_ms": result.timings.route_ms,
            "queue_ms": result.timings.queue_ms,
        },
        "cost_usd": result.cost.total_usd if result.cost and result.cost.known else None,
        "counterfactual_usd": result.counterfactual_usd,
        "savings_usd": result.savings_usd,
        "error": result.error,
        "fix": result.fix,
        "conversation_id": result.conversation_id,
        "turn": result.turn,
        "context_dropped": result.context_dropped,
    }


@cli.command()
@click.argument("prompt")
@click.option("--local", "tier", flag_value="local", help="Force the local engine.")
@click.option("--cloud", "tier", flag_value="cloud", help="Force the cloud tier.")
@click.option("--max-tokens", type=click.IntRange(1, 131_072), default=None, help="Answer cap.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: answer, usage, timings.")
@click.option(
    "--conversation",
    "conversation_id",
    metavar="ID|new",
    default=None,
    help="Continue a saved conversation (its earlier turns are sent too), or start a new one.",
)
@pass_cli
def ask(
    cli_ctx: CliContext,
    prompt: str,
    tier: Tier | None,
    max_tokens: int | None,
    as_json: bool,
    conversation_id: str | None,
) -> int:
    """One prompt through the router (or a forced tier), recorded in the ledger.

    The answer streams to stdout; a summary line goes to stderr. With --conversation the prompt
    is a turn of a saved conversation, whose id the summary line (and --json) gives. A row the
    ledger refuses is kept in the spool (said on stderr); SIGTERM/SIGHUP record the request as
    interrupted.
    """
    from console.conversations import ConversationError
    from console.dispatch import Conversation, Done, FellBack, Token, check_prompt
    from engines.model import resolve_model

    check_prompt(prompt)
    if tier != "cloud":
        resolve_model(cli_ctx.config.local.model)

    async def body(runtime: Runtime) -> Done:
        if tier == "cloud" and runtime.cloud.key_missing:
            name = runtime.config().cloud.api_key_env
            raise SetupError(
                f"no API key for {runtime.cloud.endpoint}: ${name} is not set "
                f"(export {name}=..., or try --demo-cloud)"
            )
        if tier == "cloud" and runtime.cloud.key_problem is not None:
            raise SetupError(runtime.cloud.key_problem)
        conversation: Conversation | None = None
        if conversation_id == "new":
            conversation = Conversation(saved=True)
        elif conversation_id is not None:
            try:
                conversation = runtime.dispatcher.resume(conversation_id)
            except ConversationError as exc:
                raise SetupError(str(exc)) from None
        async for event in runtime.dispatcher.ask(
            prompt, force=tier, max_tokens=max_tokens, conversation=conversation
        ):
            if isinstance(event, Token) and not as_json:
                echo_outside(event.text, nl=False)
                sys.stdout.flush()
            elif isinstance(event, FellBack):
                echo_outside(
                    f"[{event.from_tier} failed: {event.error}; asking {event.to_tier}]", err=True
                )
            elif isinstance(event, Done):
                return event
        raise EngineError("the dispatcher ended without a result")

    done = run_with_runtime(cli_ctx, body, local=tier != "cloud", cloud=tier != "local")
    result = done.result
    if as_json:
        echo_json(_result_json(result) | {"recorded": done.recorded})
    elif result.answer:
        click.echo()
    if done.recorded != "ledger":
        echo_outside(f"switchboard: {_recorded_note(done)}", err=True)
    if result.status in ("failed", "blocked"):
        reason = _overridden(result, tier) or result.error or _blocked_by(result)
        fix = f" ({result.fix})" if result.fix else ""
        echo_outside(f"switchboard: {reason}{fix}", err=True)
        return 1
    summary = _summary_line(result)
    if conversation_id is not None:
        summary += f" · conversation {result.conversation_id} turn {result.turn}"
    echo_outside(summary, err=True)
    return 0 if done.recorded != "lost" else 1


def _blocked_by(result: RequestResult) -> str:
    """Why a request was blocked: the reason of the rule that fired."""
    decision = result.decision
    fired = [rule.why for rule in decision.rules if rule.name == decision.fired]
    return f"blocked: {fired[0] if fired else 'by policy'}"


def _recorded_note(done: Done) -> str:
    """What happened to a request's row that did not go straight into the ledger."""
    if done.recorded == "spool":
        return (
            f"the ledger refused this request's row ({done.record_error}); it is kept in the "
            "spool and will be written by the next command that records (not lost)"
        )
    return f"this request's row could not be recorded: {done.record_error}"


def _overridden(result: RequestResult, tier: Tier | None) -> str | None:
    """Why a forced tier was not used: the rule that overrides `--local`/`--cloud`, if any."""
    decision = result.decision
    if tier is None or decision.target == tier or decision.target == "blocked":
        return None
    rule = next((r for r in decision.rules if r.name == decision.fired), None)
    why = f": {rule.why}" if rule is not None and rule.why else ""
    return f"rule {decision.fired} keeps this prompt {decision.target}, over --{tier}{why}"


@cli.group()
def bench() -> None:
    """Measurements on this machine."""


@bench.command("threads")
@click.option("--json", "as_json", is_flag=True, help="Every setting's figures as JSON.")
@click.option("--max-tokens", type=click.IntRange(2, 4096), default=48, help="Tokens per run.")
@click.option("--repeats", type=click.IntRange(1, 20), default=2, help="Runs per setting.")
@pass_cli
def bench_threads(cli_ctx: CliContext, as_json: bool, max_tokens: int, repeats: int) -> None:
    """Sweep n_threads from 1 to the logical cores on the configured model; name the fastest."""
    from engines.thread_sweep import ThreadResult, sweep_threads

    def show(result: ThreadResult) -> None:
        if not as_json:
            click.echo(
                f"{result.n_threads:>9}  {result.prompt_tps:>10.1f}  {result.gen_tps:>9.1f}"
                f"  {result.ttft_s * 1000:>8.0f}"
            )

    if not as_json:
        click.echo(f"{'n_threads':>9}  {'prompt t/s':>10}  {'gen t/s':>9}  {'ttft ms':>8}")
    sweep = asyncio.run(
        sweep_threads(cli_ctx.config.local, max_tokens=max_tokens, repeats=repeats, on_result=show)
    )
    best = sweep.best
    if as_json:
        payload = {
            "model": sweep.model,
            "physical_cores": sweep.physical_cores,
            "logical_cores": sweep.logical_cores,
            "results": [dataclasses.asdict(r) for r in sweep.results],
            "best_n_threads": best.n_threads,
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(
            f"best: n_threads = {best.n_threads} ({best.gen_tps:.1f} tok/s generation;"
            f" {sweep.physical_cores} physical cores, model {sweep.model})"
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="The checks as JSON.")
@pass_cli
def doctor(cli_ctx: CliContext, as_json: bool) -> int:
    """Check the model, engines, cloud endpoint, API key, proxy and database; say how to fix.

    Exits 1 when any check fails. With --demo-cloud, checks the demo endpoint instead.
    """
    from rich.console import Console

    from console.doctor import checks_table, run_checks
    from console.ledger import default_db_path

    config = cli_ctx.config
    db_path = default_db_path(config.ledger.path, cli_ctx.db_path)
    checks = asyncio.run(run_checks(config, db_path, demo=cli_ctx.demo_cloud))
    ok = all(check.ok for check in checks)
    if as_json:
        echo_json({"ok": ok, "checks": [check.to_dict() for check in checks]}, indent=None)
    else:
        Console().print(checks_table(checks))
    return 0 if ok else 1


@cli.command()
@click.argument("text", required=False)
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read {"text": ...} lines on stdin; write {"text", "redacted", "entities"} per line.',
)
@pass_cli
def pii(cli_ctx: CliContext, text: str | None, jsonl: bool) -> None:
    """Show the PII in TEXT (or stdin) and the redacted text exactly as the cloud would get it.

    Each input is one prompt of its own conversation: placeholders number from 1 in each.
    """
    from policies.pii import PiiScanner, redact_text, scan_lines

    scanner = PiiScanner(cli_ctx.config.pii)
    if jsonl:
        for line in scan_lines(scanner, sys.stdin):
            click.echo(line)
            sys.stdout.flush()
        return
    if text is None:
        if sys.stdin.isatty():
            raise click.UsageError("give TEXT, or pipe the text on stdin")
        text = sys.stdin.read()
    from rich.console import Console
    from rich.table import Table

    scan, redacted = redact_text(scanner, text)
    table = Table("type", "start", "end", "score", "text", title=f"{scan.count} PII entities")
    for entity in scan.entities:
        value = text[entity.start : entity.end]
        table.add_row(
            entity.type, str(entity.start), str(entity.end), f"{entity.score:.2f}", as_text(value)
        )
    console = Console()
    console.print(table)
    console.print("redacted:", style="bold")
    console.print(as_text(redacted), highlight=False)


def _register_commands() -> None:
    """Commands that live in their own modules (console/commands/)."""
    from console.commands.calibrate import calibrate
    from console.commands.conversations import conversations
    from console.commands.demo import demo
    from console.commands.eval import eval_command
    from console.commands.pool import pool
    from console.commands.report import report_command
    from console.commands.serve import serve_command
    from console.commands.whatif import whatif

    cli.add_command(conversations)
    cli.add_command(demo)
    cli.add_command(whatif)
    cli.add_command(eval_command)
    cli.add_command(calibrate)
    cli.add_command(pool)
    cli.add_command(report_command)
    cli.add_command(serve_command)


_register_commands()


def _fail(message: str, code: int) -> None:
    # Messages may quote outside text (an endpoint's error body, a file's content, SQLite's
    # multi-line integrity report): cleaned, and always one line.
    echo_outside(f"switchboard: {' '.join(message.split())}", err=True)
    sys.exit(code)


def main() -> None:
    """Entry point of the `switchboard` console script."""
    from console.dispatch import RefusedPrompt

    try:
        result = cli.main(prog_name="switchboard", standalone_mode=False)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (SetupError, RefusedPrompt) as exc:
        _fail(exc.one_line(), 2)
    except SwitchboardError as exc:
        _fail(exc.one_line(), 1)
    except Stopped as exc:
        _fail(
            f"stopped by {exc}; the request in flight was recorded as interrupted", 128 + exc.signum
        )
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
