"""The cost ledger: one SQLite row per request, written exactly once, whatever happened.

SQLite through sqlite-utils (schema, migrations), WAL with synchronous=NORMAL (a committed row
survives an application crash) and a busy timeout, so two consoles can share one file.
`Ledger.record` never raises into the request path: a refused write (read-only, disk full,
locked) keeps the record in a bounded queue, visible as `pending`/`last_error`, retried later.
Rows are inserted with the plain sqlite3 `executemany` because the hot path needs exact
transaction control and ~20 µs per row; sqlite-utils does the schema work.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import platformdirs
import sqlite_utils

from policies.config import SetupError
from policies.prices import Spend, local_day_bounds

RoutedTier = Literal["local", "cloud", "none"]
Status = Literal["ok", "fallback", "failed", "cancelled", "blocked"]
StorePrompts = Literal["full", "redacted", "none"]

SCHEMA_VERSION = 2
SQLITE_HEADER = b"SQLite format 3\x00"
_TIERS = frozenset(("local", "cloud", "none"))
_STATUSES = frozenset(("ok", "fallback", "failed", "cancelled", "blocked"))
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
    if mode == "full":
        return prompt
    if mode == "redacted":
        return redacted
    return None


def _local_day(ts: float) -> int:
    """The local calendar day of `ts` as yyyymmdd, stored so summaries group by an indexed int."""
    moment = time.localtime(ts)
    return moment.tm_year * 10_000 + moment.tm_mon * 100 + moment.tm_mday


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One request, as recorded. `counterfactual_usd` is None when the cloud model has no price."""

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

    def __post_init__(self) -> None:
        if self.routed_tier not in _TIERS or self.tier not in _TIERS:
            raise ValueError(f"tier must be one of {sorted(_TIERS)}")
        if self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")


@dataclass(frozen=True, slots=True)
class StoredRequest(LedgerRecord):
    """A recorded request read back (replay, inspector): every column."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """What what-if needs of one past request; `decision_json` stays a str (decode lazily)."""

    request_id: str
    ts: float
    decision_json: str
    routed_tier: str
    tier: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    counterfactual_usd: float | None
    cpu_seconds: float
    status: str


_RECORD_COLUMNS = tuple(field.name for field in fields(LedgerRecord))
_HISTORY_COLUMNS = tuple(field.name for field in fields(HistoryRow))
_INSERT_SQL = (
    f"INSERT OR IGNORE INTO requests ({', '.join(_RECORD_COLUMNS)}, day) "
    f"VALUES ({', '.join('?' for _ in _RECORD_COLUMNS)}, ?)"
)
_SELECT_RECORD = f"SELECT {', '.join(_RECORD_COLUMNS)} FROM requests"


def _row_of(rec: LedgerRecord) -> tuple[object, ...]:
    return (*astuple(rec), _local_day(rec.ts))


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
    rows = db.execute("SELECT id, ts FROM requests").fetchall()
    db.conn.executemany(
        "UPDATE requests SET day = ?, routed_tier = tier WHERE id = ?",
        [(_local_day(ts), row_id) for row_id, ts in rows],
    )
    # The summary index below starts with ts, so version 1's index on ts alone is redundant.
    db.execute("DROP INDEX IF EXISTS idx_requests_ts")
    table.create_index(["tier", "ts", "cost_usd"], index_name="ix_requests_tier_ts")
    table.create_index(["status"], index_name="ix_requests_status")
    # Covering index: the report's aggregates read it instead of the wide rows.
    table.create_index(
        [
            "ts",
            "day",
            "tier",
            "status",
            "fallback_path",
            "cost_usd",
            "counterfactual_usd",
            "cost_known",
            "tokens_in",
            "tokens_out",
            "cpu_seconds",
        ],
        index_name="ix_requests_summary",
    )
    table.create_index(["cost_usd"], index_name="ix_requests_cost")


_MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (_migrate_1, _migrate_2)


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
        if tables - {"sqlite_sequence"}:
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
        self.db = sqlite_utils.Database(conn)
        self._conn = conn
        self._lock = threading.RLock()
        self._pending: deque[LedgerRecord] = deque()
        self._max_pending = max_pending
        self._retry_at = 0.0
        self._retry_delay = _RETRY_MIN_S
        self.last_error: str | None = None
        self.dropped = 0
        self.ignored = 0

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
        if path.exists():
            _check_header(path)
        try:
            target = f"file:{path}?mode=ro" if read_only else str(path)
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
                verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
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
                self._write(())
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Records kept in memory because the database refused them (retried later)."""
        return len(self._pending)

    def record(self, rec: LedgerRecord) -> bool:
        """Write one request's row, committed before returning; never raises.

        True when the row (and any earlier pending ones) is committed. On failure the record is
        queued (bounded; the oldest are dropped and counted in `dropped` when it is full),
        `last_error` says why, and the queue is retried on the next `record`/`flush`.
        """
        return self.record_many((rec,))

    def record_many(self, recs: Iterable[LedgerRecord]) -> bool:
        """Write many rows in one transaction; same guarantees as `record`."""
        batch = tuple(recs)
        with self._lock:
            if self._pending and time.monotonic() < self._retry_at:
                self._enqueue(batch)
                return False
            return self._write(batch)

    def flush(self) -> bool:
        """Retry the pending records now; True when nothing is left pending."""
        with self._lock:
            if not self._pending:
                return True
            return self._write(())

    def _enqueue(self, batch: Iterable[LedgerRecord]) -> None:
        for rec in batch:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
            self._pending.append(rec)

    def _write(self, batch: tuple[LedgerRecord, ...]) -> bool:
        rows = [_row_of(rec) for rec in (*self._pending, *batch)]
        if not rows:
            return True
        try:
            before = self._conn.total_changes
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_INSERT_SQL, rows)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
        except Exception as exc:  # recording must never break a request
            self._enqueue(batch)
            self.last_error = f"{self.path}: {type(exc).__name__}: {exc}"
            self._retry_at = time.monotonic() + self._retry_delay
            self._retry_delay = min(self._retry_delay * 2, _RETRY_MAX_S)
            return False
        duplicates = len(rows) - (self._conn.total_changes - before)
        if duplicates:
            self.ignored += duplicates
            self.last_error = f"{duplicates} record(s) with an already recorded request_id ignored"
        else:
            self.last_error = None
        self._pending.clear()
        self._retry_delay = _RETRY_MIN_S
        return True

    def spend(self, now: float | None = None) -> Spend:
        """Cloud spend over the local calendar day and month containing `now` (default: now)."""
        day_start, day_end, month_start, month_end = local_day_bounds(
            time.time() if now is None else now
        )
        with self._lock:
            today, month = self._conn.execute(
                "SELECT TOTAL(CASE WHEN ts >= ? AND ts < ? THEN cost_usd END), TOTAL(cost_usd) "
                "FROM requests WHERE tier = 'cloud' AND ts >= ? AND ts < ?",
                (day_start, day_end, month_start, month_end),
            ).fetchone()
        return Spend(today_usd=float(today), month_usd=float(month))

    def iter_history(
        self, since_ts: float | None = None, limit: int | None = None
    ) -> Iterator[HistoryRow]:
        """Past requests, oldest first, streamed from a separate read connection.

        The records' writers are not blocked while a scan runs (WAL readers see a snapshot).
        """
        sql = f"SELECT {', '.join(_HISTORY_COLUMNS)} FROM requests"
        params: list[float | int] = []
        if since_ts is not None:
            sql += " WHERE ts >= ?"
            params.append(since_ts)
        sql += " ORDER BY ts"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            cursor = reader.execute(sql, params)
            cursor.arraysize = 4096
            make = HistoryRow
            while rows := cursor.fetchmany():
                for row in rows:
                    yield make(*row)
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
    """Open a ledger for reading: read-write when the file may be written, else read-only."""
    if path.exists() and not os.access(path, os.W_OK):
        return Ledger.open(path, read_only=True)
    return Ledger.open(path)
