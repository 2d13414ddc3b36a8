"""The spool: rows the ledger refuses are journaled and written exactly once by a later process.

Real SQLite files, a real second process holding the write lock, real processes that die with
their journal open (SIGKILL) and real read-only files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.ledger import Ledger, LedgerRecord, TurnRecord
from console.spool import Spool
from tests.sqlite_lock import LockHolder, held_write_lock

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 30.0


def make_record(
    status: str = "ok", tier: str = "cloud", cost: float = 0.25, prompt_text: str = "hello"
) -> LedgerRecord:
    return LedgerRecord(
        ts=time.time(),
        session="s",
        request_id=uuid.uuid4().hex,
        prompt_hash="0" * 64,
        prompt_text=prompt_text,
        decision_json="{}",
        routed_tier="cloud",
        tier=tier,  # type: ignore[arg-type]
        fallback_path="",
        fired_rule="default",
        model="m",
        tokens_in=3,
        tokens_out=5,
        usage_estimated=False,
        ttft_s=None,
        latency_s=1.0,
        tokens_per_s=None,
        cpu_seconds=0.0,
        cost_usd=cost,
        counterfactual_usd=cost,
        cost_known=True,
        status=status,  # type: ignore[arg-type]
        error_class=None,
        redacted=False,
        pii_count=0,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    return path


@pytest.fixture
def spool_root(tmp_path: Path) -> Path:
    return tmp_path / "spool"


def _child(code: str, *args: str) -> subprocess.Popen[str]:
    """A Python child with this repository on its path, talking over stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env
    )


@pytest.fixture
def write_lock(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the ledger's write lock until it is killed."""
    holder = _child(
        "import sqlite3, sys, time\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(600)\n",
        str(db),
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait(DEADLINE_S)


def _rows(db: Path) -> list[tuple[str, str, int]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT request_id, status, tokens_out FROM requests").fetchall()
    finally:
        conn.close()


def test_a_locked_ledger_sends_the_row_to_the_spool_then_it_is_written_once(
    db: Path, spool_root: Path, write_lock: subprocess.Popen[str]
) -> None:
    ledger = Ledger.open(db, busy_timeout_s=0.2)
    spool = Spool(db, ledger, spool_root)
    rec = make_record()
    assert spool.record(rec) == "spool"
    assert spool.last_error is not None and "locked" in spool.last_error
    assert spool.pending() == 1
    line = json.loads(spool.path.read_text().splitlines()[0])
    assert line["kind"] == "record" and line["record"]["request_id"] == rec.request_id

    # Still locked: the replay leaves the journal as it is.
    still = spool.replay()
    assert (still.inserted, still.left) == (0, 1) and still.error
    assert spool.pending() == 1

    write_lock.kill()
    write_lock.wait(DEADLINE_S)
    done = spool.replay()
    assert (done.inserted, done.ignored, done.left) == (1, 0, 0)
    assert spool.pending() == 0 and not spool.path.exists()
    assert _rows(db) == [(rec.request_id, "ok", 5)]
    # A second replay finds nothing: the row is never counted twice.
    again = spool.replay()
    assert (again.inserted, again.ignored) == (0, 0)
    assert ledger.count() == 1 and ledger.ignored == 0
    ledger.close()


def test_a_dead_process_journal_is_replayed_by_the_next_process_exactly_once(
    db: Path, spool_root: Path
) -> None:
    recorded, spooled = make_record(), make_record(cost=0.5)
    ledger = Ledger.open(db)
    ledger.insert([recorded])
    # A process journals one row the ledger already has (an ambiguous failure) and one it
    # does not, then dies.
    child = _child(
        "import json, sys\n"
        "from pathlib import Path\n"
        "from console.ledger import LedgerRecord\n"
        "from console.spool import Spool\n"
        "spool = Spool(Path(sys.argv[1]), None, Path(sys.argv[2]))\n"
        "for data in json.loads(sys.argv[3]):\n"
        "    assert spool.record(LedgerRecord(**data)) == 'spool'\n"
        "print(spool.path, flush=True)\n",
        str(db),
        str(spool_root),
        json.dumps([_asdict(recorded), _asdict(spooled)]),
    )
    out, _ = child.communicate(timeout=DEADLINE_S)
    assert child.returncode == 0
    journal = Path(out.strip())
    assert journal.exists()

    spool = Spool(db, ledger, spool_root)
    assert spool.pending() == 2
    done = spool.replay()
    assert (done.inserted, done.ignored, done.interrupted) == (1, 1, 0)
    assert not journal.exists()
    assert sorted(_rows(db)) == sorted(
        [(recorded.request_id, "ok", 5), (spooled.request_id, "ok", 5)]
    )
    assert ledger.spend().today_usd == pytest.approx(0.75)
    ledger.close()


def _asdict(rec: LedgerRecord) -> dict[str, object]:
    import dataclasses

    return dataclasses.asdict(rec)


def test_an_intent_is_recorded_as_interrupted_only_once_its_process_is_gone(
    db: Path, spool_root: Path
) -> None:
    intent = make_record(status="interrupted", tier="none", cost=0.0)
    settled = make_record()
    child = _child(
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from console.ledger import Ledger, LedgerRecord\n"
        "from console.spool import Spool\n"
        "intent, settled = (LedgerRecord(**d) for d in json.loads(sys.argv[3]))\n"
        "ledger = Ledger.open(Path(sys.argv[1]))\n"
        "spool = Spool(Path(sys.argv[1]), ledger, Path(sys.argv[2]))\n"
        "spool.intend(intent)\n"
        "spool.intend(settled)\n"
        "assert spool.record(settled) == 'ledger'\n"
        "print('in flight', flush=True)\n"
        "time.sleep(600)\n",
        str(db),
        str(spool_root),
        json.dumps([_asdict(intent), _asdict(settled)]),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "in flight"
    ledger = Ledger.open(db)
    spool = Spool(db, ledger, spool_root)
    try:
        # Its owner still runs: the open intent is a request in flight, not a pending row.
        assert spool.pending() == 0
        assert spool.replay().inserted == 0
        assert [row[0] for row in _rows(db)] == [settled.request_id]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(DEADLINE_S)
    assert spool.pending() == 1
    done = spool.replay()
    assert (done.inserted, done.ignored, done.interrupted) == (1, 0, 1)
    assert sorted(_rows(db)) == sorted(
        [(settled.request_id, "ok", 5), (intent.request_id, "interrupted", 5)]
    )
    assert spool.pending() == 0
    ledger.close()


def test_a_torn_last_line_is_skipped_and_counted(db: Path, spool_root: Path) -> None:
    ledger = Ledger.open(db)
    spool = Spool(db, None, spool_root)
    rec = make_record()
    assert spool.record(rec) == "spool"
    with spool.path.open("ab") as handle:
        handle.write(b'{"kind": "record", "record": {"ts": 1')
    spool.ledger = ledger
    done = spool.replay()
    assert (done.inserted, done.unreadable) == (1, 1)
    assert [row[0] for row in _rows(db)] == [rec.request_id]
    ledger.close()


def test_a_read_only_ledger_keeps_its_spend_and_spools_new_rows(db: Path, spool_root: Path) -> None:
    # Opened read-only as `open_for_report` does for a file this user cannot write (the tests
    # run as root, for whom permission bits do not stop a write).
    with Ledger.open(db) as writer:
        writer.insert([make_record(cost=1.5)])
    ledger = Ledger.open(db, read_only=True)
    assert ledger.spend().today_usd == pytest.approx(1.5)
    spool = Spool(db, ledger, spool_root)
    rec = make_record()
    assert spool.record(rec) == "spool"
    assert spool.last_error is not None and "readonly" in spool.last_error
    assert spool.replay().left == 1
    ledger.close()
    writable = Ledger.open(db)
    done = Spool(db, writable, spool_root).replay()
    assert (done.inserted, done.ignored) == (1, 0) and writable.count() == 2
    writable.close()


def test_a_ledger_whose_columns_do_not_match_spools_the_row(db: Path, spool_root: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE requests ADD COLUMN tenant TEXT NOT NULL DEFAULT 'x'")
    conn.execute("ALTER TABLE requests RENAME COLUMN model TO model_name")
    conn.commit()
    conn.close()
    ledger = Ledger.open(db)
    spool = Spool(db, ledger, spool_root)
    assert spool.record(make_record()) == "spool"
    assert spool.last_error is not None and "model" in spool.last_error
    assert spool.pending() == 1
    ledger.close()


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB tmpfs of this test's own (tests run as root in CI and in the lab VM)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_sends_rows_to_the_spool_until_there_is_room(
    small_filesystem: Path, spool_root: Path
) -> None:
    db = small_filesystem / "ledger.sqlite"
    ledger = Ledger.open(db)
    first = make_record()
    ledger.insert([first])
    filler = small_filesystem / "filler"
    # Unbuffered: a buffered file would raise ENOSPC again when closed, with what it still holds.
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError, match="No space left"):
            for _ in range(64):  # 4 MiB: more than the filesystem holds
                os.write(fd, b"\0" * 65536)
    finally:
        os.close(fd)
    spool = Spool(db, ledger, spool_root)
    rows = [make_record(prompt_text="x" * 4000) for _ in range(5)]
    kept = [spool.record(rec) for rec in rows]
    assert "spool" in kept
    assert spool.last_error is not None and "full" in spool.last_error
    waiting = spool.pending()
    assert waiting == kept.count("spool")
    filler.unlink()
    done = spool.replay()
    assert (done.inserted, done.ignored, done.left) == (waiting, 0, 0)
    assert ledger.count() == 1 + len(rows) and ledger.ignored == 0
    ledger.close()


# -- conversation turns travel with their row --------------------------------------------------


@pytest.fixture
def releasable_lock(db: Path) -> Iterator[LockHolder]:
    """A second process holding the ledger's write lock until told to ROLLBACK."""
    with held_write_lock(db, wait_s=DEADLINE_S) as holder:
        yield holder


def make_turn(rec: LedgerRecord, conversation_id: str = "conv", turn: int = 1) -> TurnRecord:
    return TurnRecord(
        conversation_id, turn, rec.request_id, rec.ts, rec.tier, rec.cost_usd, "q", "a", title="q"
    )


def _conversation(db: Path, conversation_id: str) -> tuple[tuple[object, ...], list[object]]:
    conn = sqlite3.connect(db)
    try:
        summary = conn.execute(
            "SELECT turns, cost_usd, tiers FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
        turns = conn.execute(
            "SELECT turn, request_id, prompt, answer FROM conversation_turns"
            " WHERE conversation_id = ? ORDER BY turn",
            (conversation_id,),
        ).fetchall()
        return summary, turns
    finally:
        conn.close()


@pytest.mark.parametrize("end", ["exit", "kill -9"])
def test_a_turn_refused_by_a_locked_ledger_is_spooled_with_its_row_and_written_once(
    db: Path, spool_root: Path, releasable_lock: LockHolder, end: str
) -> None:
    rec = make_record(cost=0.5)
    turn = make_turn(rec)
    writer = _child(
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from console.ledger import Ledger, LedgerRecord, TurnRecord\n"
        "from console.spool import Spool\n"
        "ledger = Ledger.open(Path(sys.argv[1]), busy_timeout_s=0.2)\n"
        "spool = Spool(Path(sys.argv[1]), ledger, Path(sys.argv[2]))\n"
        "kept = spool.record(LedgerRecord(**json.loads(sys.argv[3])),"
        " TurnRecord(**json.loads(sys.argv[4])))\n"
        "print(kept, spool.path, flush=True)\n"
        "if sys.argv[5] == 'kill -9':\n"
        "    time.sleep(600)\n",
        str(db),
        str(spool_root),
        json.dumps(dataclasses.asdict(rec)),
        json.dumps(dataclasses.asdict(turn)),
        end,
    )
    assert writer.stdout is not None
    kept, journal = writer.stdout.readline().split()
    assert kept == "spool"
    lines = [json.loads(line) for line in Path(journal).read_text().splitlines()]
    assert [(line["kind"], line["turn"]["request_id"]) for line in lines] == [
        ("record", rec.request_id)
    ]
    if end == "kill -9":
        writer.send_signal(signal.SIGKILL)
    writer.wait(DEADLINE_S)
    assert _rows(db) == [] and _conversation(db, "conv") == (None, [])
    releasable_lock.release()
    ledger = Ledger.open(db)
    try:
        done = Spool(db, ledger, spool_root).replay()
        assert (done.inserted, done.turns, done.ignored, done.left) == (1, 1, 0, 0)
        assert "1 conversation turn(s) with them" in done.describe()
        again = Spool(db, ledger, spool_root).replay()
        assert (again.inserted, again.turns) == (0, 0)
    finally:
        ledger.close()
    assert [row[0] for row in _rows(db)] == [rec.request_id]
    summary, turns = _conversation(db, "conv")
    assert summary == (1, 0.5, "cloud")
    assert turns == [(1, rec.request_id, "q", "a")]
    assert not Path(journal).exists()


def test_a_replay_that_finds_the_row_already_written_adds_neither_row_nor_turn(
    db: Path, spool_root: Path, write_lock: subprocess.Popen[str]
) -> None:
    """Ambiguous failures: the row and its turn were committed, yet the journal kept them too."""
    rec = make_record()
    ledger = Ledger.open(db, busy_timeout_s=0.2)
    spool = Spool(db, ledger, spool_root)
    assert spool.record(rec, make_turn(rec)) == "spool"
    write_lock.kill()
    write_lock.wait(DEADLINE_S)
    assert ledger.insert([rec], [make_turn(rec)]) == (1, 0, 1)
    done = spool.replay()
    assert (done.inserted, done.ignored, done.turns) == (0, 1, 0)
    assert _conversation(db, "conv")[0] == (1, 0.25, "cloud")
    ledger.close()
