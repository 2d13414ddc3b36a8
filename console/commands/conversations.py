"""`switchboard conversations`: list, show, rename and delete saved conversations.

The console does the same from its conversation list; both go through console.conversations.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import TYPE_CHECKING

import click

from console.outside_text import for_stream

if TYPE_CHECKING:
    from console.cli_context import CliContext
    from console.conversations import ConversationStore


@contextmanager
def _store(cli_ctx: CliContext) -> Iterator[ConversationStore]:
    """The conversation tables of the ledger the global options name (opened, and upgraded)."""
    from console.conversations import ConversationError, ConversationStore
    from console.ledger import Ledger, default_db_path
    from policies.config import SetupError

    path = default_db_path(cli_ctx.config.ledger.path, cli_ctx.db_path)
    Ledger.open(path).close()  # a foreign, corrupt or newer file is refused here, untouched
    try:
        store = ConversationStore(path)
    except ConversationError as exc:
        raise SetupError(str(exc)) from None
    try:
        yield store
    except ConversationError as exc:
        raise SetupError(str(exc)) from None
    finally:
        store.close()


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _echo(text: str) -> None:
    click.echo(for_stream(text, sys.stdout))


@click.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="The list as JSON.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=200, help="At most this many.")
@click.pass_context
def conversations(ctx: click.Context, as_json: bool, limit: int) -> None:
    """Saved conversations, most recent first (`ask --conversation new` starts one)."""
    if ctx.invoked_subcommand is not None:
        return
    with _store(ctx.obj) as store:
        rows = store.list(limit)
    if as_json:
        click.echo(json.dumps({"conversations": [asdict(row) for row in rows]}, indent=2))
        return
    if not rows:
        click.echo("no saved conversations")
        return
    for row in rows:
        tiers = "+".join(row.tiers) or "-"
        _echo(
            f"{row.id}  {_when(row.updated)}  {row.turns:>3} turns  {tiers:<12} "
            f"${row.cost_usd:.4f}  {row.title}"
        )


@conversations.command("show")
@click.argument("conversation_id")
@click.option("--json", "as_json", is_flag=True, help="The conversation as JSON.")
@click.pass_obj
def show(cli_ctx: CliContext, conversation_id: str, as_json: bool) -> None:
    """The turns of one conversation, as stored ([ledger] store_prompts decides the text)."""
    with _store(cli_ctx) as store:
        stored = store.load(conversation_id)
    if as_json:
        data = asdict(stored)
        click.echo(json.dumps(data, indent=2))
        return
    _echo(f"{stored.summary.title} ({stored.summary.id}, {stored.summary.turns} turns)")
    if stored.system_prompt:
        _echo(f"system: {stored.system_prompt}")
    for turn in stored.turns:
        _echo(f"\n[{turn.turn}] {turn.tier} · ${turn.cost_usd:.4f}")
        _echo(f"user: {turn.prompt if turn.prompt is not None else '(text not stored)'}")
        _echo(f"assistant: {turn.answer if turn.answer is not None else '(text not stored)'}")


@conversations.command("rename")
@click.argument("conversation_id")
@click.argument("title")
@click.pass_obj
def rename(cli_ctx: CliContext, conversation_id: str, title: str) -> None:
    """Give a conversation a new title."""
    with _store(cli_ctx) as store:
        store.rename(conversation_id, title)


@conversations.command("delete")
@click.argument("conversation_id")
@click.pass_obj
def delete(cli_ctx: CliContext, conversation_id: str) -> None:
    """Forget a conversation's turns and text (the ledger keeps its requests and costs)."""
    with _store(cli_ctx) as store:
        store.delete(conversation_id)
