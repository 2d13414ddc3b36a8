"""The cost ledger: one SQLite row per request, written exactly once, whatever happened.

SQLite through sqlite-utils (schema, migrations), WAL with synchronous=NORMAL (a committed row
survives an application crash) and a busy timeout, so two consoles can share one file.
`Ledger.record` never raises into the request path: a refused write (read-only, disk full,
locked) keeps the record in a bounded queue, visible as `pending`/`last_error`, retried later.
Rows are inserted with the plain sqlite3 `executemany` because the hot path needs exact
transaction control and ~20 µs per row; sqlite-utils does the schema work.

Each write also folds its rows into `hourly_totals` (hour, local day, tier, status) in the same
transaction, so the rollup can never disagree with the rows; reports and `spend()` read it and
take milliseconds over a million requests.

The file also holds saved conversations (console.conversations) and quality evidence
(console.evidence). Their tables are part of this schema (version 5) and of its migrations; a
conversation turn is written in the transaction of its request's row (`Ledger.insert`), so the
two can never disagree, and both are journaled together when the ledger refuses them.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import os
import sqlite3
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, NamedTuple

import platformdirs
import sqlite_utils

from console.outcome import Outcome, Status
from policies.config import SetupError
from policies.prices import Spend, local_day_bounds

RoutedTier = Literal["local", "pool", "cloud", "none"]
StorePrompts = Literal["full", "redacted", "none"]

SCHEMA_VERSION = 5
SQLITE_HEADER = b"SQLite format 3\x00"
#: Files up to this size get a full `PRAGMA quick_check` when opened.
QUICK_CHECK_MAX_BYTES = 16 * 1024 * 1024
_TIERS = frozenset(("local", "pool", "cloud", "none"))
_STATUSES = frozenset(("ok", "fallback", "failed", "cancelled", "blocked", "interrupted"))
_RETRY_MIN_S = 0.5
_RETRY_MAX_S = 30.0


class LedgerError(SetupError):
    """The ledger file is unusable (not SQLite, corrupt, too new, not writable); names the path."""


def default_db_path(config_path_value: str, cli_override: Path | None) -> Path:
    """Where the ledger lives: `--db`, else `[ledger] path`, else the per-user data directory."""
    if cli_override is not None:
        return cli_override.expanduser()
    if config_path_value:
        return Path(config_path_value).expanduser()
    return Path(platformdirs.user_data_dir("switchboard")) / "ledger.sqlite"


def prompt_hash(prompt: str) -> str:
    """The sha256 hex digest of the prompt text, kept for every request."""
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


def stored_prompt(mode: StorePrompts, prompt: str, redacted: str | None) -> str | None:
    """The prompt text to keep under `[ledger] store_prompts`.

    "full" keeps `prompt`; "redacted" keeps `redacted` (the text with PII placeholders, which is
    the prompt itself when the scan found nothing), and None when no redacted text exists, so an
    unscanned prompt is never stored in the clear; "none" keeps nothing.
    """
    return {"full": prompt, "redacted": redacted}.get(mode)


def _local_day(ts: float) -> int:
    """The local calendar day of `ts` as yyyymmdd, stored so summaries group by an indexed int."""
    moment = time.localtime(ts)
    return moment.tm_year * 10_000 + moment.tm_mon * 100 + moment.tm_mday


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One request, as recorded. `counterfactual_usd` is None when the cloud model has no price.

    `inputs_json` is the compact router inputs (`policies.trace_inputs.encode_inputs`) that
    what-if re-decides from; None (rows before schema 3, callers that do not give it) leaves
    what-if to parse `decision_json`, the full trace.
    """

    ts: float
    session: str
    request_id: str
    prompt_hash: str
    prompt_text: str | None
    decision_json: str
    routed_tier: RoutedTier
    tier: RoutedTier
    fallback_path: str
    fired_rule: str
    model: str
    tokens_in: int
    tokens_out: int
    usage_estimated: bool
    ttft_s: float | None
    latency_s: float
    tokens_per_s: float | None
    cpu_seconds: float
    cost_usd: float
    counterfactual_usd: float | None
    cost_known: bool
    status: Status
    error_class: str | None
    redacted: bool
    pii_count: int
    inputs_json: str | None = None
    #: The pool server that answered ("" for other tiers, and rows before schema 4).
    server: str = ""

    def __post_init__(self) -> None:
        if self.routed_tier not in _TIERS or self.tier not in _TIERS:
            raise ValueError(f"tier must be one of {sorted(_TIERS)}")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")


@dataclass(frozen=True, slots=True)
class StoredRequest(LedgerRecord):
    """A recorded request read back (replay, inspector): every column."""

    @property
    def outcome(self) -> Outcome:
        """How it ended, as the dispatcher's result said (`console.outcome.badge` renders it)."""
        path = tuple(self.fallback_path.split(">")) if self.fallback_path else (self.tier,)
        return Outcome(self.status, self.tier, path, self.redacted, self.server)


class Inserted(NamedTuple):
    """What one `Ledger.insert` did: rows written, and rows whose request_id was already there."""

    inserted: int
    ignored: int
    #: Conversation turns written (a turn whose request_id is already stored is not).
    turns: int = 0


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One answered turn of a saved conversation, written with its request's row.

    The texts are None when `[ledger] store_prompts` keeps none. `title` names the conversation
    when this turn creates it; a non-empty `system_prompt` replaces the stored one.
    """

    conversation_id: str
    turn: int
    request_id: str
    ts: float
    tier: str
    cost_usd: float
    prompt: str | None
    answer: str | None
    system_prompt: str = ""
    title: str = ""


class HistoryRow(NamedTuple):
    """What what-if needs of one past request, and nothing more (policies.whatif.HistoryRow).

    `inputs` is the row's compact router inputs (`inputs_json`, a JSON array of ~100 bytes) when
    it has them, else its full trace (`decision_json`, a JSON object of ~2 KB: rows recorded
    before schema 3 or without inputs); the first byte, `[` or `{`, says which. The scan reads
    the covering index `ix_requests_history`, not the ~2 KB trace of each row. Either way it
    comes as UTF-8 bytes, not str: orjson parses bytes directly, and SQLite hands a BLOB over
    without the UTF-8 decoding Python's sqlite3 does for TEXT. `json.loads` takes bytes too.

    Immutable and typed like the frozen dataclasses elsewhere, but a NamedTuple: SQLite's row
    tuples become HistoryRows in C (`tuple.__new__`), where a frozen dataclass costs ~0.9 µs of
    Python per row, too much for the million-row scan in under two seconds. For the same reason
    it carries no column what-if does not read: each one costs ~0.1 s per million rows.
    """

    request_id: str
    inputs: bytes
    tier: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    counterfactual_usd: float | None
    cpu_seconds: float


_RECORD_COLUMNS = tuple(field.name for field in fields(LedgerRecord))
#: The SELECT list of `iter_history`, in HistoryRow's order; the inputs cross as a BLOB. Only a
#: row without compact inputs (recorded before schema 3) fetches its trace from the table row.
_HISTORY_COLUMNS = tuple(
    "CAST(COALESCE(inputs_json, "
    "(SELECT decision_json FROM requests AS t WHERE t.id = r.id)) AS BLOB)"
    if name == "inputs"
    else name
    for name in HistoryRow._fields
)
#: The columns of `requests`, after its id. Prompt texts live in their own table, `prompts`,
#: so that scans of `requests` (what-if history) do not read them: a million rows carrying
#: 1,000-character prompts scan ~25% slower, 3,000 characters ~60%.
_STORED_COLUMNS = (*(name for name in _RECORD_COLUMNS if name != "prompt_text"), "day")
_INSERT_SQL = (
    f"INSERT INTO requests (id, {', '.join(_STORED_COLUMNS)}) "
    f"VALUES (?, {', '.join('?' for _ in _STORED_COLUMNS)})"
)
_INSERT_OR_IGNORE = _INSERT_SQL.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1)
_INSERT_PROMPT = "INSERT INTO prompts (id, text) VALUES (?, ?)"
_SELECT_RECORD = (
    "SELECT "
    + ", ".join("p.text" if name == "prompt_text" else f"r.{name}" for name in _RECORD_COLUMNS)
    + " FROM requests AS r LEFT JOIN prompts AS p ON p.id = r.id"
)

_stored_values = operator.attrgetter(*_STORED_COLUMNS[:-1])


def _row_of(rec: LedgerRecord) -> tuple[Any, ...]:
    """The values of `_STORED_COLUMNS`, then the prompt text (None when not kept)."""
    return (*_stored_values(rec), _local_day(rec.ts), rec.prompt_text)


def _stored(row: tuple[Any, ...]) -> StoredRequest:
    values: list[Any] = list(row)
    for name in ("usage_estimated", "cost_known", "redacted"):
        index = _RECORD_COLUMNS.index(name)
        values[index] = bool(values[index])
    return StoredRequest(*values)


def _migrate_1(db: sqlite_utils.Database) -> None:
    """Version 1: the first ledger, one row per request with its tier, tokens and cost."""
    db.table("requests").create(
        {
            "id": int,
            "request_id": str,
            "ts": float,
            "session": str,
            "prompt_hash": str,
            "prompt_text": str,
            "decision_json": str,
            "tier": str,
            "model": str,
            "tokens_in": int,
            "tokens_out": int,
            "latency_s": float,
            "cost_usd": float,
            "status": str,
            "error_class": str,
        },
        pk="id",
        not_null=["request_id", "ts", "session", "prompt_hash", "decision_json", "tier", "status"],
    )
    db.table("requests").create_index(["request_id"], unique=True)
    db.table("requests").create_index(["ts"])


def _migrate_2(db: sqlite_utils.Database) -> None:
    """Version 2: honest economics (counterfactual, unknown prices, CPU-seconds), routing, PII."""
    table = db.table("requests")
    for name, kind, default in (
        ("routed_tier", str, ""),
        ("fallback_path", str, ""),
        ("fired_rule", str, ""),
        ("usage_estimated", int, 0),
        ("ttft_s", float, None),
        ("tokens_per_s", float, None),
        ("cpu_seconds", float, 0.0),
        ("counterfactual_usd", float, None),
        ("cost_known", int, 1),
        ("redacted", int, 0),
        ("pii_count", int, 0),
        ("day", int, 0),
    ):
        table.add_column(name, kind, not_null_default=default)
    db.table("prompts").create({"id": int, "text": str}, pk="id", not_null=["text"])
    db.execute(
        "INSERT INTO prompts (id, text) SELECT id, prompt_text FROM requests "
        "WHERE prompt_text IS NOT NULL"
    )
    db.execute("ALTER TABLE requests DROP COLUMN prompt_text")
    rows = db.execute("SELECT id, ts FROM requests").fetchall()
    db.conn.executemany(
        "UPDATE requests SET day = ?, routed_tier = tier, model = COALESCE(model, ''), "
        "tokens_in = COALESCE(tokens_in, 0), tokens_out = COALESCE(tokens_out, 0), "
        "latency_s = COALESCE(latency_s, 0.0), cost_usd = COALESCE(cost_usd, 0.0) WHERE id = ?",
        [(_local_day(ts), row_id) for row_id, ts in rows],
    )
    table.create_index(["day", "cost_usd", "ts"], index_name="ix_requests_day_cost")
    # For recent() filters (inspector, replay): newest first within a tier, rule or status.
    table.create_index(["tier", "ts"], index_name="ix_requests_tier_ts")
    table.create_index(["status", "ts"], index_name="ix_requests_status_ts")
    table.create_index(["fired_rule", "ts"], index_name="ix_requests_rule_ts")
    db.table("hourly_totals").create(
        {column: kind for column, kind, _ in _ROLLUP},
        pk=("hour", "day", "tier", "status"),
        not_null=[column for column, _, _ in _ROLLUP],
    )
    # Backfill the rollup from version 1's rows; `Ledger._write` keeps it current from now on.
    columns = ", ".join(column for column, _, _ in _ROLLUP)
    sums = ", ".join(
        expression if column in _ROLLUP_KEY else f"{_AGGREGATE[column]}({expression})"
        for column, _, expression in _ROLLUP
    )
    db.execute(
        f"INSERT INTO hourly_totals ({columns}) SELECT {sums} FROM requests GROUP BY 1, 2, 3, 4"
    )


def _migrate_3(db: sqlite_utils.Database) -> None:
    """Version 3: `inputs_json`, the compact router inputs what-if scans (NULL on older rows).

    With the covering index `ix_requests_history` (every column `iter_history` reads, by id) the
    history scan reads ~200 bytes a row instead of table pages holding each ~2 KB trace: a
    million rows are ~0.2 GB to read instead of ~2.3 GB.
    """
    table = db.table("requests")
    table.add_column("inputs_json", str)
    table.create_index(
        [
            "id",
            "ts",
            "request_id",
            "inputs_json",
            "tier",
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "counterfactual_usd",
            "cpu_seconds",
        ],
        index_name="ix_requests_history",
    )


#: The rollup the reports read: (column, type, SQL of one `requests` row's contribution).
_ROLLUP: tuple[tuple[str, type, str], ...] = (
    ("hour", int, "CAST(ts / 3600 AS INTEGER)"),
    ("day", int, "day"),
    ("tier", str, "tier"),
    ("status", str, "status"),
    ("requests", int, "1"),
    ("tokens_in", int, "tokens_in"),
    ("tokens_out", int, "tokens_out"),
    ("cost_usd", float, "cost_usd"),
    ("counterfactual_usd", float, "COALESCE(counterfactual_usd, 0.0)"),
    ("cpu_seconds", float, "cpu_seconds"),
    ("unpriced", int, "cost_known = 0"),
    ("fallbacks", int, "fallback_path != ''"),
    (
        "savings_usd",
        float,
        "CASE WHEN cost_known AND counterfactual_usd IS NOT NULL "
        "THEN counterfactual_usd - cost_usd ELSE 0.0 END",
    ),
    ("min_ts", float, "ts"),
)
_ROLLUP_KEY = frozenset(("hour", "day", "tier", "status"))
_AGGREGATE = {column: "MIN" if column == "min_ts" else "TOTAL" for column, _, _ in _ROLLUP}
#: The rollup's per-row values, for summing raw rows of a partial hour the same way.
ROLLUP_SUMS = ", ".join(
    f"{_AGGREGATE[column]}({expression})"
    for column, _, expression in _ROLLUP
    if column not in _ROLLUP_KEY
)
_UPSERT_ROLLUP = (
    f"INSERT INTO hourly_totals ({', '.join(column for column, _, _ in _ROLLUP)}) "
    f"VALUES ({', '.join('?' for _ in _ROLLUP)}) "
    "ON CONFLICT (hour, day, tier, status) DO UPDATE SET "
    + ", ".join(
        f"{column} = MIN({column}, excluded.{column})"
        if column == "min_ts"
        else f"{column} = {column} + excluded.{column}"
        for column, _, _ in _ROLLUP
        if column not in _ROLLUP_KEY
    )
)


def _rollup_rows(rows: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Fold inserted rows (as `_row_of` makes them) into hourly_totals increments."""
    index = {name: position for position, name in enumerate(_STORED_COLUMNS)}
    ts_at, day_at, tier_at, status_at = (index[name] for name in ("ts", "day", "tier", "status"))
    t_in, t_out, cost_at, cf_at, cpu_at, known_at, path_at = (
        index[name]
        for name in (
            "tokens_in",
            "tokens_out",
            "cost_usd",
            "counterfactual_usd",
            "cpu_seconds",
            "cost_known",
            "fallback_path",
        )
    )
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        ts, cost, counterfactual = row[ts_at], row[cost_at], row[cf_at]
        key = (int(ts // 3600), row[day_at], row[tier_at], row[status_at])
        group = groups.get(key)
        if group is None:
            group = groups[key] = [0, 0, 0, 0.0, 0.0, 0.0, 0, 0, 0.0, ts]
        group[0] += 1
        group[1] += row[t_in]
        group[2] += row[t_out]
        group[3] += cost
        group[4] += counterfactual or 0.0
        group[5] += row[cpu_at]
        group[6] += not row[known_at]
        group[7] += row[path_at] != ""
        if row[known_at] and counterfactual is not None:
            group[8] += counterfactual - cost
        group[9] = min(group[9], ts)
    return [(*key, *values) for key, values in groups.items()]


def _migrate_4(db: sqlite_utils.Database) -> None:
    """Version 4: `server`, the pool server that answered a pool request ("" otherwise)."""
    db.table("requests").add_column("server", str, not_null_default="")


#: Schema 5's tables, as console.conversations and console.evidence created them on their own
#: (IF NOT EXISTS) before they joined the migrations: a version 4 file may already hold them,
#: with rows, and keeps both.
_TABLES_5: dict[str, str] = {
    "conversations": """CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        system_prompt TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        turns INTEGER NOT NULL DEFAULT 0,
        cost_usd REAL NOT NULL DEFAULT 0,
        tiers TEXT NOT NULL DEFAULT ''
    )""",
    "conversation_turns": """CREATE TABLE IF NOT EXISTS conversation_turns (
        conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        turn INTEGER NOT NULL,
        request_id TEXT NOT NULL UNIQUE,
        ts REAL NOT NULL,
        tier TEXT NOT NULL,
        cost_usd REAL NOT NULL,
        prompt TEXT,
        answer TEXT,
        PRIMARY KEY (conversation_id, turn)
    )""",
    "evidence_ratings": """CREATE TABLE IF NOT EXISTS evidence_ratings (
        request_id TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        good INTEGER NOT NULL,
        ts REAL NOT NULL
    )""",
    "eval_items": """CREATE TABLE IF NOT EXISTS eval_items (
        item_key TEXT PRIMARY KEY,
        prompt_hash TEXT NOT NULL,
        method TEXT NOT NULL,
        judge TEXT NOT NULL,
        local_request_id TEXT NOT NULL,
        cloud_request_id TEXT NOT NULL,
        verdict TEXT NOT NULL,
        local_good INTEGER,
        cloud_good INTEGER,
        ts REAL NOT NULL
    )""",
    "eval_judgments": """CREATE TABLE IF NOT EXISTS eval_judgments (
        id INTEGER PRIMARY KEY,
        item_key TEXT NOT NULL,
        call INTEGER NOT NULL,
        first TEXT NOT NULL,
        preference TEXT,
        raw TEXT NOT NULL,
        ts REAL NOT NULL
    )""",
}
_INDEXES_5 = (
    "CREATE INDEX IF NOT EXISTS ix_conversations_updated ON conversations (updated)",
    "CREATE INDEX IF NOT EXISTS ix_eval_judgments_item ON eval_judgments (item_key)",
    "CREATE INDEX IF NOT EXISTS ix_eval_items_local ON eval_items (local_request_id)",
)


def _migrate_5(db: sqlite_utils.Database) -> None:
    """Version 5: saved conversations and quality evidence join the schema's versions.

    Tables already made by the code of version 4 are kept with their rows; one whose columns
    are not the expected ones is refused (the migration rolls back, the file stays as it was).
    """
    scratch = sqlite3.connect(":memory:")
    try:
        for name, create in _TABLES_5.items():
            scratch.execute(create)
            expected = [row[1] for row in scratch.execute(f"PRAGMA table_info({name})")]
            existing = [column.name for column in db.table(name).columns]
            if existing and existing != expected:
                raise sqlite3.DatabaseError(f"table {name} has columns {existing}, not {expected}")
            db.execute(create)
    finally:
        scratch.close()
    for create in _INDEXES_5:
        db.execute(create)


_MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _migrate_1,
    _migrate_2,
    _migrate_3,
    _migrate_4,
    _migrate_5,
)


def insert_turns(conn: sqlite3.Connection, turns: Iterable[TurnRecord]) -> int:
    """Write conversation turns inside the caller's open transaction; how many were new.

    A turn whose request_id is stored already is not written again (a replayed journal, a
    retry). A turn number taken by another request (two processes continuing one conversation
    at once) becomes the conversation's next number: both answers are kept, in the order written.
    """
    written = 0
    for turn in turns:
        if conn.execute(
            "SELECT 1 FROM conversation_turns WHERE request_id = ?", (turn.request_id,)
        ).fetchone():
            continue
        conn.execute(
            "INSERT OR IGNORE INTO conversations (id, title, system_prompt, created, updated)"
            " VALUES (?, ?, ?, ?, ?)",
            (turn.conversation_id, turn.title, turn.system_prompt, turn.ts, turn.ts),
        )
        number = int(
            conn.execute(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM conversation_turns"
                " WHERE conversation_id = ?1 AND turn = ?2)"
                " THEN (SELECT MAX(turn) + 1 FROM conversation_turns WHERE conversation_id = ?1)"
                " ELSE ?2 END",
                (turn.conversation_id, turn.turn),
            ).fetchone()[0]
        )
        conn.execute(
            "INSERT INTO conversation_turns"
            " (conversation_id, turn, request_id, ts, tier, cost_usd, prompt, answer)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                turn.conversation_id,
                number,
                turn.request_id,
                turn.ts,
                turn.tier,
                turn.cost_usd,
                turn.prompt,
                turn.answer,
            ),
        )
        tiers = conn.execute(
            "SELECT tiers FROM conversations WHERE id = ?", (turn.conversation_id,)
        ).fetchone()[0]
        used = sorted({*filter(None, str(tiers).split(",")), turn.tier})
        conn.execute(
            "UPDATE conversations SET updated = MAX(updated, ?), turns = turns + 1,"
            " cost_usd = cost_usd + ?, tiers = ?,"
            " system_prompt = CASE WHEN ? != '' THEN ? ELSE system_prompt END"
            " WHERE id = ?",
            (
                turn.ts,
                turn.cost_usd,
                ",".join(used),
                turn.system_prompt,
                turn.system_prompt,
                turn.conversation_id,
            ),
        )
        written += 1
    return written


def _read_only_uri(path: Path) -> str:
    """An SQLite URI opening `path` read-only (quoted: a path may hold '?' or '#')."""
    return f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"


def _check_header(path: Path) -> None:
    """Refuse a non-empty file that is not SQLite before SQLite gets a chance to touch it."""
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the ledger: {exc.strerror or exc}") from None
    if header and header != SQLITE_HEADER:
        raise LedgerError(f"{path}: not an SQLite database; refusing to touch it (use --db)")


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "schema_version" not in tables:
        # Conversation or evidence tables alone were made by code of version 4 writing to a
        # file no ledger had opened yet: migration 5 adopts them.
        if tables - {"sqlite_sequence", *_TABLES_5}:
            raise LedgerError(f"{path}: an SQLite file that is not a Switchboard ledger (use --db)")
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


class Ledger:
    """The ledger of one SQLite file. Thread-safe: one connection behind a lock."""

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        *,
        read_only: bool,
        max_pending: int,
    ) -> None:
        """Use `Ledger.open`."""
        self.path = path
        self.read_only = read_only
        self._conn = conn
        self._lock = threading.RLock()
        self._pending: deque[tuple[Any, ...]] = deque()
        self._max_pending = max_pending
        self._retry_at = 0.0
        self._retry_delay = _RETRY_MIN_S
        self.last_error: str | None = None
        #: Records lost because the pending queue was full.
        self.dropped = 0
        #: Records not written because their request_id was already recorded.
        self.ignored = 0
        #: Malformed records refused (a bug in the caller, reported in last_error).
        self.rejected = 0

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        read_only: bool = False,
        busy_timeout_s: float = 5.0,
        max_pending: int = 10_000,
    ) -> Ledger:
        """Open (creating it and its directories) and upgrade the ledger at `path`.

        Raises LedgerError naming the path for a file that is not SQLite, is corrupt, has a newer
        schema, or cannot be written; such a file is never modified.
        """
        path = path.expanduser()
        if path.is_dir():
            raise LedgerError(f"{path}: is a directory, not a ledger file")
        if read_only:
            if not path.exists():
                raise LedgerError(f"{path}: no ledger here")
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise LedgerError(
                    f"{path}: cannot create the ledger directory: {exc.strerror or exc}"
                ) from None
            # WAL needs to create PATH-wal and PATH-shm next to the file, and to write the file.
            for needed in (path.parent, path):
                if needed.exists() and not os.access(needed, os.W_OK):
                    raise LedgerError(
                        f"{path}: {needed} is not writable; fix its permissions or use --db"
                    )
        if path.exists():
            _check_header(path)
        try:
            target = _read_only_uri(path) if read_only else str(path)
            conn = sqlite3.connect(
                target,
                uri=read_only,
                check_same_thread=False,
                isolation_level=None,
                timeout=busy_timeout_s,
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: cannot open the ledger: {exc}") from None
        try:
            cls._prepare(conn, path, read_only)
        except BaseException:
            conn.close()
            raise
        return cls(path, conn, read_only=read_only, max_pending=max_pending)

    @staticmethod
    def _prepare(conn: sqlite3.Connection, path: Path, read_only: bool) -> None:
        """Check the file, then (and only then) switch to WAL and migrate."""
        try:
            version = _schema_version(conn, path)
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"{path}: ledger schema version {version} is newer than this Switchboard "
                    f"supports ({SCHEMA_VERSION}); upgrade Switchboard or use another --db"
                )
            if version:
                # quick_check reads every page (~2 s per million rows, ~50 ms at 16 MiB), so
                # larger files get a cheap probe of the main b-tree; `quick_check()` does the rest.
                if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                    verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
                else:
                    conn.execute("SELECT MAX(id), MIN(id) FROM requests").fetchone()
                    verdict = "ok"
                if verdict != "ok":
                    raise LedgerError(f"{path}: the ledger is corrupt ({verdict}); move it aside")
            if read_only:
                if version < SCHEMA_VERSION:
                    raise LedgerError(
                        f"{path}: ledger schema version {version} needs an upgrade; "
                        "open it once with write access"
                    )
                return
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # 32 MiB of page cache: inserts into the random-uuid unique index stay in memory.
            conn.execute("PRAGMA cache_size=-32768")
            if version < SCHEMA_VERSION:
                Ledger._migrate(conn, path)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{path}: cannot use the ledger: {exc}") from None

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path) -> None:
        db = sqlite_utils.Database(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the write lock: another console may have just migrated the file.
            version = _schema_version(conn, path)
            db.table("schema_version").create(
                {"version": int, "applied_at": float}, pk="version", if_not_exists=True
            )
            for number in range(version + 1, SCHEMA_VERSION + 1):
                _MIGRATIONS[number - 1](db)
                conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (number, time.time()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Try once more to write what is pending, then close the connection."""
        with self._lock:
            if self._pending and not self.read_only:
                self._write([])
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Records kept in memory because the database refused them (retried later)."""
        return len(self._pending)

    @property
    def retry_in_s(self) -> float:
        """Seconds until `record` tries the pending records again (0 when it would try now)."""
        with self._lock:
            if not self._pending:
                return 0.0
            return max(0.0, self._retry_at - time.monotonic())

    def record(self, rec: LedgerRecord) -> bool:
        """Write one request's row, committed before returning; never raises.

        True when the row (and any earlier pending ones) is committed. On failure the record is
        queued (bounded; the oldest are dropped and counted in `dropped` when it is full),
        `last_error` says why, and the queue is retried by a later `record` (after a back-off
        of 0.5 s doubling to 30 s, so a locked file does not stall every request) or `flush`.
        """
        return self.record_many((rec,))

    def record_many(self, recs: Iterable[LedgerRecord]) -> bool:
        """Write many rows in one transaction; same guarantees as `record`."""
        rows: list[tuple[Any, ...]] = []
        problem: str | None = None
        rejected = 0
        for rec in recs:
            try:
                rows.append(_row_of(rec))
            except Exception as exc:  # a malformed record must not poison the queue
                rejected += 1
                problem = f"record {getattr(rec, 'request_id', '?')} rejected: {exc}"
        with self._lock:
            self.rejected += rejected
            if self._pending and time.monotonic() < self._retry_at:
                self._enqueue(rows)
                written = False
            else:
                written = self._write(rows)
            if problem is not None:
                self.last_error = problem
            return written and problem is None

    def flush(self) -> bool:
        """Retry the pending records now; True when nothing is left pending."""
        with self._lock:
            if not self._pending:
                return True
            return self._write([])

    def _enqueue(self, rows: Iterable[tuple[Any, ...]]) -> None:
        for row in rows:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(row)

    def insert(self, recs: Iterable[LedgerRecord], turns: Iterable[TurnRecord] = ()) -> Inserted:
        """Write `recs` in one transaction, now, or raise (sqlite3.Error, OSError, ValueError).

        The durable path (console.spool) calls this: a refused write raises instead of queueing
        in memory, so the caller can journal the rows. A request_id already recorded is not
        written again; `Inserted.ignored` counts those, so a replay can tell the two apart.
        `turns` (the conversation turns these requests answered) are written in the same
        transaction, each once (`insert_turns`).
        """
        rows = [_row_of(rec) for rec in recs]
        turns = tuple(turns)
        with self._lock:
            inserted, written = self._commit(rows, turns)
            self.ignored += len(rows) - len(inserted)
            if len(inserted) == len(rows):
                self.last_error = None
        return Inserted(inserted=len(inserted), ignored=len(rows) - len(inserted), turns=written)

    def _commit(
        self, rows: list[tuple[Any, ...]], turns: tuple[TurnRecord, ...] = ()
    ) -> tuple[list[tuple[Any, ...]], int]:
        """Insert `rows`, their rollup and `turns` in one transaction; what was inserted."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            inserted = self._insert(rows)
            conn.executemany(_UPSERT_ROLLUP, _rollup_rows(inserted))
            written = insert_turns(conn, turns)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return inserted, written

    def _write(self, batch: list[tuple[Any, ...]]) -> bool:
        rows = [*self._pending, *batch]
        if not rows:
            return True
        try:
            inserted, _ = self._commit(rows)
        except Exception as exc:  # recording must never break a request
            self._enqueue(batch)
            self.last_error = f"{self.path}: {type(exc).__name__}: {exc}"
            self._retry_at = time.monotonic() + self._retry_delay
            self._retry_delay = min(self._retry_delay * 2, _RETRY_MAX_S)
            return False
        duplicates = len(rows) - len(inserted)
        if duplicates:
            self.ignored += duplicates
            self.last_error = f"{duplicates} record(s) with an already recorded request_id ignored"
        else:
            self.last_error = None
        self._pending.clear()
        self._retry_delay = _RETRY_MIN_S
        return True

    def _insert(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Insert inside the open transaction; the rows actually inserted (never a duplicate)."""
        conn = self._conn
        # Ids are given here (the write lock is held) so each prompt text can share its row's id.
        first = int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM requests").fetchone()[0])
        conn.execute("SAVEPOINT batch")
        try:
            conn.executemany(_INSERT_SQL, [(first + n, *row[:-1]) for n, row in enumerate(rows)])
            conn.executemany(
                _INSERT_PROMPT,
                [(first + n, row[-1]) for n, row in enumerate(rows) if row[-1] is not None],
            )
        except sqlite3.IntegrityError:
            # A request_id already recorded (a retry after an ambiguous failure): go row by
            # row so the others still land and the rollup counts each request once.
            conn.execute("ROLLBACK TO batch")
            conn.execute("RELEASE batch")
            inserted = []
            for row in rows:
                if conn.execute(_INSERT_OR_IGNORE, (first, *row[:-1])).rowcount:
                    if row[-1] is not None:
                        conn.execute(_INSERT_PROMPT, (first, row[-1]))
                    inserted.append(row)
                    first += 1
            return inserted
        conn.execute("RELEASE batch")
        return rows

    def spend(self, now: float | None = None) -> Spend:
        """Cloud spend over the local calendar day and month containing `now` (default: now)."""
        now = time.time() if now is None else now
        _, _, month_start, month_end = local_day_bounds(now)
        today = _local_day(now)
        # The rollup's day column is the local day at recording; the hour range uses its index.
        with self._lock:
            today_usd, month_usd = self._conn.execute(
                "SELECT TOTAL(CASE WHEN day = ? THEN cost_usd END), TOTAL(cost_usd) "
                "FROM hourly_totals WHERE hour >= ? AND hour <= ? AND tier = 'cloud' "
                "AND day >= ? AND day < ?",
                (
                    today,
                    int(month_start // 3600),
                    int(month_end // 3600),
                    today // 100 * 100,
                    today // 100 * 100 + 100,
                ),
            ).fetchone()
        return Spend(today_usd=float(today_usd), month_usd=float(month_usd))

    def iter_history(
        self, since_ts: float | None = None, limit: int | None = None
    ) -> Iterator[HistoryRow]:
        """Past requests in recording order (oldest first), streamed; memory stays flat.

        Reads through its own read-only connection: writers are not blocked while a scan runs
        (a WAL reader sees a snapshot). `since_ts` starts the table scan at the first row that
        recent, found through the ts index.
        """
        sql = (
            f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM requests AS r "
            "INDEXED BY ix_requests_history"
        )
        params: list[float | int] = []
        if since_ts is not None:
            sql += " WHERE id >= (SELECT MIN(id) FROM requests WHERE ts >= ?) AND ts >= ?"
            params += [since_ts, since_ts]
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        reader = sqlite3.connect(_read_only_uri(self.path), uri=True, check_same_thread=False)
        try:
            cursor = reader.execute(sql, params)
            cursor.arraysize = 4096
            make = functools.partial(tuple.__new__, HistoryRow)
            while rows := cursor.fetchmany():
                yield from map(make, rows)
        finally:
            reader.close()

    def recent(
        self,
        limit: int = 50,
        tier: str | None = None,
        rule: str | None = None,
        since_ts: float | None = None,
    ) -> list[StoredRequest]:
        """The latest requests first, optionally only one tier, one fired rule, or since a time."""
        clauses: list[str] = []
        params: list[object] = []
        for clause, value in (("tier = ?", tier), ("fired_rule = ?", rule), ("ts >= ?", since_ts)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(limit)
        with self._lock:
            rows = self._conn.execute(
                f"{_SELECT_RECORD}{where} ORDER BY ts DESC LIMIT ?", params
            ).fetchall()
        return [_stored(row) for row in rows]

    def get(self, request_id: str) -> StoredRequest | None:
        """One request by its id, or None."""
        with self._lock:
            row = self._conn.execute(
                f"{_SELECT_RECORD} WHERE request_id = ?", (request_id,)
            ).fetchone()
        return None if row is None else _stored(row)

    def count(self) -> int:
        """Rows in the ledger."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0])

    def quick_check(self) -> str:
        """SQLite's `PRAGMA quick_check` verdict ("ok" when the file is sound)."""
        with self._lock:
            return str(self._conn.execute("PRAGMA quick_check").fetchone()[0])

    def execute(self, sql: str, params: Iterable[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read query under the ledger's lock (used by the reports)."""
        with self._lock:
            return [tuple(row) for row in self._conn.execute(sql, tuple(params)).fetchall()]


def open_for_report(path: Path) -> Ledger:
    """Open a ledger: read-write when the file may be written, else read-only.

    Recording opens it this way too: a read-only ledger still gives today's spend, so budgets
    stay enforced from what the file holds, and the rows it refuses go to the spool
    (console.spool) until a process may write them.
    """
    if path.exists() and not _writable(path):
        return Ledger.open(path, read_only=True)
    return Ledger.open(path)


def connect_current(path: Path, *, busy_timeout_s: float = 5.0) -> sqlite3.Connection:
    """A plain connection to the ledger at `path`, its schema first brought up to date.

    For the modules keeping their tables in the ledger file (console.conversations,
    console.evidence): a file that is missing or older than SCHEMA_VERSION is created or
    migrated through `Ledger.open`, so a foreign, corrupt, newer or unwritable old file is
    refused with its one-line LedgerError, untouched.
    """
    if not _is_current(path):
        Ledger.open(path, busy_timeout_s=busy_timeout_s).close()
    try:
        return sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
    except sqlite3.Error as exc:
        raise LedgerError(f"{path}: cannot open the ledger: {exc}") from None


def _is_current(path: Path) -> bool:
    """Whether `path` is a ledger at SCHEMA_VERSION: a cheap read; `Ledger.open` judges the rest."""
    if not path.is_file():
        return False
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True)
    except sqlite3.Error:
        return False
    try:
        return _schema_version(conn, path) == SCHEMA_VERSION
    except (sqlite3.Error, LedgerError):
        return False
    finally:
        conn.close()


def _writable(path: Path) -> bool:
    """Whether SQLite in WAL mode can write `path`: the file and its directory (-wal, -shm)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
