"""The spool: an append-only journal that keeps every ledger row the ledger cannot take at once.

The ledger's promise is one row per request, always. SQLite can refuse a row (another process
holds the write lock, the disk is full, the file is read-only, its columns do not match), and a
process can die in the middle of a request (SIGKILL, a closed terminal). So:

- Before a request's first engine call, an *intent* line is appended and fsync'ed: the row as it
  would be if the request were interrupted there (status `interrupted`, its decision and
  redaction). A request that ends normally appends a *settled* line after its row is committed.
- A row the ledger refuses is appended as a *record* line, fsync'ed before the answer is shown;
  when the request answered a turn of a saved conversation, the line carries that turn too, and
  both are written in one transaction, so a turn is never lost nor kept without its row.
- The next process that opens the ledger for writing (ask, replay, the console) replays the
  journals: records, and intents of processes that are gone without settling them, are
  inserted with `request_id` UNIQUE, so a row is never counted twice (`SpoolReplay.ignored`
  counts rows that were already in the ledger), and so is each turn.

Each process appends to its own file, `<state dir>/spool/<ledger key>/<pid>-<start ms>.jsonl`,
so appends never interleave and a journal whose owner still runs is left alone (its intents are
requests in flight). One JSON object per line; a line torn by a crash mid-write is skipped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
import psutil

from console.ledger import Ledger, LedgerRecord, TurnRecord

#: Where a row ended up: committed to the ledger, or journaled in the spool.
Kept = Literal["ledger", "spool"]

#: Own journal lines settled since the last compaction, before it is compacted again.
_COMPACT_EVERY = 64


class SpoolError(OSError):
    """Neither the ledger nor the spool could keep a row (both refused); names both paths."""


def default_spool_dir() -> Path:
    """The spool's root: `spool/` in the per-user state directory (XDG_STATE_HOME on Linux)."""
    return Path(platformdirs.user_state_dir("switchboard")) / "spool"


@dataclass(frozen=True)
class SpoolReplay:
    """What one replay did."""

    inserted: int = 0
    ignored: int = 0
    turns: int = 0
    interrupted: int = 0
    unreadable: int = 0
    left: int = 0
    error: str | None = None

    def describe(self) -> str:
        """One line for the user, or "" when there was nothing to replay."""
        if not (self.inserted or self.ignored or self.unreadable or self.error):
            return ""
        parts = [f"{self.inserted} spooled row(s) written to the ledger"]
        if self.turns:
            parts.append(f"{self.turns} conversation turn(s) with them")
        if self.interrupted:
            parts.append(f"{self.interrupted} of them interrupted requests")
        if self.ignored:
            parts.append(f"{self.ignored} already recorded")
        if self.unreadable:
            parts.append(f"{self.unreadable} torn line(s) skipped")
        if self.error:
            parts.append(f"{self.left} still waiting: {self.error}")
        return "; ".join(parts)


@dataclass
class _Journal:
    """One journal file read back: rows to insert, and intents still in flight."""

    records: dict[str, LedgerRecord] = dataclasses.field(default_factory=dict)
    #: The conversation turns of records, by request_id.
    turns: dict[str, TurnRecord] = dataclasses.field(default_factory=dict)
    intents: dict[str, LedgerRecord] = dataclasses.field(default_factory=dict)
    settled: set[str] = dataclasses.field(default_factory=set)
    unreadable: int = 0

    def waiting(self, owner_alive: bool) -> tuple[list[LedgerRecord], list[LedgerRecord]]:
        """(rows to insert now, intents to keep): a live owner's open intents are in flight."""
        rows = [rec for rid, rec in self.records.items() if rid not in self.settled]
        open_intents = [
            rec
            for rid, rec in self.intents.items()
            if rid not in self.settled and rid not in self.records
        ]
        if owner_alive:
            return rows, open_intents
        return rows + open_intents, []


def _process_key(pid: int) -> str:
    """`pid-<start time in ms>`: a pid reused by another process gets another key."""
    return f"{pid}-{int(psutil.Process(pid).create_time() * 1000)}"


def _alive(key: str) -> bool:
    pid_text, _, _ = key.partition("-")
    try:
        return _process_key(int(pid_text)) == key
    except (ValueError, psutil.Error):
        return False


def _encode(
    kind: str,
    rec: LedgerRecord | None = None,
    request_id: str = "",
    turn: TurnRecord | None = None,
) -> bytes:
    data: dict[str, Any] = {"kind": kind}
    if rec is not None:
        data["record"] = dataclasses.asdict(rec)
        if turn is not None:
            data["turn"] = dataclasses.asdict(turn)
    else:
        data["request_id"] = request_id
    return (json.dumps(data, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def _read(path: Path) -> _Journal:
    journal = _Journal()
    with path.open("rb") as handle:
        for raw in handle:
            try:
                data = json.loads(raw)
                kind = data["kind"]
                if kind == "settled":
                    journal.settled.add(str(data["request_id"]))
                    continue
                rec = LedgerRecord(**data["record"])
                turn = TurnRecord(**data["turn"]) if "turn" in data else None
            except (ValueError, KeyError, TypeError):
                journal.unreadable += 1
                continue
            (journal.records if kind == "record" else journal.intents)[rec.request_id] = rec
            if turn is not None and kind == "record":
                journal.turns[rec.request_id] = turn
    return journal


class Spool:
    """This process's journal for one ledger, and the replay of every journal of that ledger.

    Thread-safe: the dispatcher records from worker threads.
    """

    def __init__(self, ledger_path: Path, ledger: Ledger | None, root: Path | None = None) -> None:
        self.ledger_path = ledger_path.expanduser().absolute()
        self.ledger = ledger
        key = hashlib.sha256(str(self.ledger_path).encode("utf-8", "surrogatepass")).hexdigest()
        self.directory = (root or default_spool_dir()) / key[:16]
        self._own_key = _process_key(os.getpid())
        self.path = self.directory / f"{self._own_key}.jsonl"
        self._lock = threading.RLock()
        self._settled_since_compaction = 0
        self.last_error: str | None = None

    # -- writing ---------------------------------------------------------------------------
    def intend(self, rec: LedgerRecord) -> None:
        """Journal the row of a request about to ask an engine (fsync'ed; survives kill -9).

        A journal that cannot be written is reported in `last_error`, never raised: the request
        itself still runs and is still recorded at its end.
        """
        try:
            self._append(_encode("intent", rec), sync=True)
        except OSError as exc:
            self.last_error = f"{self.path}: {exc.strerror or exc}"

    def record(self, rec: LedgerRecord, turn: TurnRecord | None = None) -> Kept:
        """Commit `rec` (and the conversation `turn` it answered) to the ledger, or journal both
        in one fsync'ed line when the ledger refuses them.

        Raises SpoolError only when both refuse: the caller must then say the row is lost.
        """
        why = "no ledger is open"
        turns = () if turn is None else (turn,)
        if self.ledger is not None:
            try:
                self.ledger.insert((rec,), turns)
            except Exception as exc:  # any refusal: the row goes to the journal instead
                why = f"{type(exc).__name__}: {exc}"
            else:
                self.last_error = None
                self._settle(rec.request_id)
                return "ledger"
        try:
            self._append(_encode("record", rec, turn=turn), sync=True)
        except OSError as exc:
            raise SpoolError(
                f"{self.ledger_path} refused the row ({why}) and the spool {self.path} "
                f"could not keep it either: {exc.strerror or exc}"
            ) from None
        self.last_error = f"{self.ledger_path}: {why}"
        return "spool"

    def _settle(self, request_id: str) -> None:
        """Mark the intent of a recorded request as done (no fsync: replaying it is harmless)."""
        with self._lock:
            if not self.path.exists():
                return
            try:
                self._append(_encode("settled", request_id=request_id), sync=False)
            except OSError as exc:
                self.last_error = f"{self.path}: {exc.strerror or exc}"
                return
            self._settled_since_compaction += 1
            if self._settled_since_compaction >= _COMPACT_EVERY:
                self.replay()

    def _append(self, line: bytes, *, sync: bool) -> None:
        with self._lock:
            created = not self.path.exists()
            if created:
                self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                # One write of one line: appends of whole lines never interleave.
                os.write(fd, line)
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if created and sync:
                _fsync_directory(self.directory)

    # -- reading ---------------------------------------------------------------------------
    def _journals(self) -> Iterator[tuple[Path, str]]:
        try:
            paths = sorted(self.directory.glob("*.jsonl"))
        except OSError:
            return
        for path in paths:
            yield path, path.stem

    def pending(self) -> int:
        """Rows waiting in the journals of this ledger (requests in flight are not counted)."""
        count = 0
        for path, key in self._journals():
            try:
                journal = _read(path)
            except OSError:
                continue
            alive = key == self._own_key or _alive(key)
            count += len(journal.waiting(owner_alive=alive)[0])
        return count

    def replay(self) -> SpoolReplay:
        """Insert what the journals hold into the ledger, exactly once; drop what is done.

        Journals of live processes other than this one are left to their owner.
        """
        total = SpoolReplay()
        if self.ledger is None or self.ledger.read_only:
            return dataclasses.replace(total, left=self.pending())
        with self._lock:
            for path, key in self._journals():
                own = key == self._own_key
                if not own and _alive(key):
                    continue
                total = _add(total, self._replay_one(path, own))
            self._settled_since_compaction = 0
        return total

    def _replay_one(self, path: Path, own: bool) -> SpoolReplay:
        assert self.ledger is not None
        try:
            handle = path.open("rb+")
        except OSError:
            return SpoolReplay()  # another process replayed and removed it meanwhile
        with handle:
            try:
                # Another replayer holds it: it will write these rows; do not wait for it.
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return SpoolReplay()
            journal = _read(path)
            rows, keep = journal.waiting(owner_alive=own)
            interrupted = sum(1 for rec in rows if rec.request_id not in journal.records)
            turns = [journal.turns[r.request_id] for r in rows if r.request_id in journal.turns]
            try:
                done = self.ledger.insert(rows, turns) if rows else None
            except Exception as exc:  # the ledger still refuses: the journal stays as it is
                return SpoolReplay(unreadable=journal.unreadable, left=len(rows), error=f"{exc}")
            if keep:
                _rewrite(path, b"".join(_encode("intent", rec) for rec in keep))
            else:
                path.unlink(missing_ok=True)
            return SpoolReplay(
                inserted=done.inserted if done else 0,
                ignored=done.ignored if done else 0,
                turns=done.turns if done else 0,
                interrupted=interrupted,
                unreadable=journal.unreadable,
            )


def _add(a: SpoolReplay, b: SpoolReplay) -> SpoolReplay:
    return SpoolReplay(
        inserted=a.inserted + b.inserted,
        ignored=a.ignored + b.ignored,
        turns=a.turns + b.turns,
        interrupted=a.interrupted + b.interrupted,
        unreadable=a.unreadable + b.unreadable,
        left=a.left + b.left,
        error=b.error or a.error,
    )


def _rewrite(path: Path, content: bytes) -> None:
    """Replace `path` with `content` atomically (write aside, fsync, rename)."""
    aside = path.with_suffix(".tmp")
    with aside.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    aside.replace(path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a created or renamed file's directory entry durable too."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["Kept", "Spool", "SpoolError", "SpoolReplay", "default_spool_dir"]
