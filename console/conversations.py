"""Saved conversations: their turns, in the ledger's SQLite file, beside the requests.

Two tables, part of the ledger's schema (console.ledger, version 5, which upgrades older files):
`conversations` (one row each: title, system prompt, when, how many turns, cost, tiers used) and
`conversation_turns` (one row per answered turn, keyed by conversation and turn number, with the
request id that joins it to the ledger's `requests`). The text kept obeys `[ledger] store_prompts`:
"full" keeps the prompt and the answer, "redacted" keeps both with placeholders instead of personal
data, "none" keeps no text (such a conversation can be listed but not continued with its history).

The dispatcher writes a turn with its request's ledger row, in one transaction or in one spool
line (`TurnRecord`, `Ledger.insert`); this module reads, renames and deletes them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.ledger import LedgerError, TurnRecord, connect_current, insert_turns

#: Titles are the first words of the first prompt, this long at most.
TITLE_CHARS = 60


class ConversationError(Exception):
    """A conversation that does not exist, or a database that cannot hold conversations."""


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the conversation list."""

    id: str
    title: str
    created: float
    updated: float
    turns: int
    cost_usd: float
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class StoredTurn:
    """One answered turn as stored; the texts are None under `store_prompts = "none"`."""

    turn: int
    request_id: str
    ts: float
    tier: str
    cost_usd: float
    prompt: str | None
    answer: str | None


@dataclass(frozen=True)
class StoredConversation:
    """A conversation read back to be continued or shown."""

    summary: ConversationSummary
    system_prompt: str
    turns: tuple[StoredTurn, ...]


class ConversationStore:
    """The conversation tables of one ledger file; safe to call from any one thread at a time."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        """Open the ledger at `path` (created or upgraded first); ConversationError if unusable."""
        try:
            self._conn = connect_current(path, busy_timeout_s=busy_timeout_s)
            self._conn.execute("PRAGMA foreign_keys=ON")
        except LedgerError as exc:
            raise ConversationError(str(exc)) from None
        except sqlite3.Error as exc:
            raise ConversationError(f"{path}: cannot keep conversations: {exc}") from None
        self._lock = threading.Lock()
        self.path = path

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def add_turn(
        self,
        conversation_id: str,
        turn: StoredTurn,
        *,
        system_prompt: str = "",
        title: str = "",
    ) -> bool:
        """Record one answered turn (creating its conversation on the first), in one transaction.

        False when a turn of that request is stored already: a request is one turn, never two.
        """
        record = TurnRecord(
            conversation_id,
            turn.turn,
            turn.request_id,
            turn.ts,
            turn.tier,
            turn.cost_usd,
            turn.prompt,
            turn.answer,
            system_prompt=system_prompt,
            title=title[:TITLE_CHARS],
        )
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                written = insert_turns(conn, (record,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return written == 1

    def list(self, limit: int = 200) -> list[ConversationSummary]:
        """The most recently used conversations first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, title, created, updated, turns, cost_usd, tiers FROM conversations"
                " ORDER BY updated DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_summary(row) for row in rows]

    def load(self, conversation_id: str) -> StoredConversation:
        """A conversation and its turns in order; ConversationError when there is none."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, title, created, updated, turns, cost_usd, tiers, system_prompt"
                " FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if row is None:
                raise ConversationError(
                    f"no conversation {conversation_id!r}; `switchboard conversations` lists them"
                )
            turns = self._conn.execute(
                "SELECT turn, request_id, ts, tier, cost_usd, prompt, answer"
                " FROM conversation_turns WHERE conversation_id = ? ORDER BY turn",
                (conversation_id,),
            ).fetchall()
        return StoredConversation(
            summary=_summary(row[:7]),
            system_prompt=str(row[7]),
            turns=tuple(StoredTurn(*turn) for turn in turns),
        )

    def rename(self, conversation_id: str, title: str) -> None:
        """Give a conversation a new title."""
        with self._lock:
            changed = self._conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (title.strip()[:TITLE_CHARS], conversation_id),
            ).rowcount
        if not changed:
            raise ConversationError(f"no conversation {conversation_id!r}")

    def delete(self, conversation_id: str) -> None:
        """Forget a conversation and its texts (the ledger keeps its requests and costs)."""
        with self._lock:
            changed = self._conn.execute(
                "DELETE FROM conversations WHERE id = ?", (conversation_id,)
            ).rowcount
        if not changed:
            raise ConversationError(f"no conversation {conversation_id!r}")


def _summary(row: Sequence[Any]) -> ConversationSummary:
    id_, title, created, updated, turns, cost, tiers = row
    return ConversationSummary(
        id=str(id_),
        title=str(title),
        created=float(created),
        updated=float(updated),
        turns=int(turns),
        cost_usd=float(cost),
        tiers=tuple(filter(None, str(tiers).split(","))),
    )


def title_for(prompt: str | None, when: float | None = None) -> str:
    """A title from the first prompt's first line, or the date when no text is kept."""
    first = (prompt or "").strip().splitlines()[0] if (prompt or "").strip() else ""
    if first:
        return first[:TITLE_CHARS]
    return time.strftime("conversation of %Y-%m-%d %H:%M", time.localtime(when))


__all__ = [
    "ConversationError",
    "ConversationStore",
    "ConversationSummary",
    "StoredConversation",
    "StoredTurn",
    "title_for",
]
