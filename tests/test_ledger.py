"""The cost ledger on real SQLite files: schema, migrations, refusals, failures, crash safety."""

from __future__ import annotations

import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import platformdirs
import pytest

import console.ledger as ledger_module
from console.ledger import (
    SCHEMA_VERSION,
    HistoryRow,
    Ledger,
    LedgerError,
    LedgerRecord,
    TurnRecord,
    default_db_path,
    prompt_hash,
    stored_prompt,
)

REPO = Path(__file__).resolve().parents[1]


def make_record(
    ts: float | None = None,
    *,
    tier: str = "local",
    cost: float = 0.001,
    counterfactual: float | None = 0.002,
    **changes: object,
) -> LedgerRecord:
    """A valid record; `changes` override any field."""
    prompt = str(changes.pop("prompt", "What is the capital of France?"))
    rec = LedgerRecord(
        ts=time.time() if ts is None else ts,
        session="test",
        request_id=str(uuid.uuid4()),
        prompt_hash=prompt_hash(prompt),
        prompt_text=prompt,
        decision_json=json.dumps({"target": tier, "fired": "default", "features": {"n": 1}}),
        routed_tier=tier,  # type: ignore[arg-type]
        tier=tier,  # type: ignore[arg-type]
        fallback_path="",
        fired_rule="default",
        model="gpt-4o-mini" if tier == "cloud" else "gemma-3-270m",
        tokens_in=12,
        tokens_out=30,
        usage_estimated=False,
        ttft_s=0.1,
        latency_s=0.8,
        tokens_per_s=37.5,
        cpu_seconds=1.5 if tier == "local" else 0.0,
        cost_usd=cost,
        counterfactual_usd=counterfactual,
        cost_known=True,
        status="ok",
        error_class=None,
        redacted=False,
        pii_count=0,
    )
    return replace(rec, **changes)  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = Ledger.open(tmp_path / "ledger.sqlite")
    yield opened
    opened.close()


def test_record_round_trips_every_column(ledger: Ledger) -> None:
    rec = make_record(
        prompt_text=None,
        tier="cloud",
        fallback_path="local>cloud",
        status="fallback",
        error_class="EngineCrashed",
        usage_estimated=True,
        ttft_s=None,
        counterfactual=None,
        cost_known=False,
        redacted=True,
        pii_count=2,
        inputs_json='[1,40,10,2,["EMAIL"],0.5,64,null,0,0.0,null,true,"closed",true,"",0.0,0.0]',
    )
    assert ledger.record(rec)
    stored = ledger.get(rec.request_id)
    assert stored is not None
    assert LedgerRecord(*[getattr(stored, name) for name in rec.__dataclass_fields__]) == rec
    assert ledger.get("no-such-id") is None


def test_request_id_is_recorded_exactly_once(ledger: Ledger) -> None:
    rec = make_record(cost=0.5)
    assert ledger.record(rec)
    other = make_record(prompt="a different prompt")
    assert ledger.record_many([rec, other])
    assert ledger.count() == 2
    stored = ledger.get(other.request_id)
    assert stored is not None and stored.prompt_text == "a different prompt"
    assert ledger.ignored == 1
    assert ledger.last_error is not None and "already recorded" in ledger.last_error
    # The duplicate is not counted twice in the summaries either.
    cost = ledger.execute("SELECT TOTAL(cost_usd) FROM hourly_totals")[0][0]
    assert cost == pytest.approx(0.5 + 0.001)


def test_malformed_record_is_rejected_without_poisoning_the_queue(ledger: Ledger) -> None:
    bad = make_record(ts="yesterday")  # type: ignore[arg-type]
    assert ledger.record(bad) is False
    assert (ledger.rejected, ledger.pending) == (1, 0)
    assert ledger.last_error is not None and bad.request_id in ledger.last_error
    good = make_record()
    assert ledger.record(good)
    assert ledger.count() == 1 and ledger.last_error is None


def test_invalid_status_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="status"):
        make_record(status="done")


def test_spend_is_cloud_only_within_local_day_and_month(ledger: Ledger) -> None:
    now = datetime(2026, 6, 15, 12, 0).timestamp()
    ledger.record_many(
        [
            make_record(now - 3600, tier="cloud", cost=1.0),  # today
            make_record(now - 3600, tier="local", cost=5.0),  # local: not spend
            make_record(datetime(2026, 6, 14, 23, 59).timestamp(), tier="cloud", cost=2.0),
            make_record(datetime(2026, 6, 1, 0, 0, 1).timestamp(), tier="cloud", cost=4.0),
            make_record(datetime(2026, 5, 31, 23, 59).timestamp(), tier="cloud", cost=8.0),
        ]
    )
    spend = ledger.spend(now)
    assert spend.today_usd == pytest.approx(1.0)
    assert spend.month_usd == pytest.approx(7.0)


def test_iter_history_streams_in_recording_order(ledger: Ledger) -> None:
    base = 1_800_000_000.0
    recs = [make_record(base + i, tier="cloud" if i % 2 else "local") for i in range(50)]
    late = make_record(base + 45.5)  # finished after the others: recorded last
    ledger.record_many(recs[:25])
    for rec in [*recs[25:], late]:
        ledger.record(rec)
    rows = list(ledger.iter_history())
    assert [row.request_id for row in rows] == [rec.request_id for rec in [*recs, late]]
    first = rows[0]
    assert isinstance(first, HistoryRow)
    assert (first.inputs, first.tier, first.tokens_out, first.counterfactual_usd) == (
        recs[0].decision_json.encode(),
        "local",
        30,
        0.002,
    )
    since = list(ledger.iter_history(since_ts=base + 45))
    assert [row.request_id for row in since] == [rec.request_id for rec in [*recs[45:], late]]
    assert [row.request_id for row in ledger.iter_history(since_ts=base + 10, limit=3)] == [
        rec.request_id for rec in recs[10:13]
    ]
    assert list(ledger.iter_history(since_ts=base + 1000)) == []
    with pytest.raises(AttributeError):
        first.tier = "cloud"  # type: ignore[misc]


def test_iter_history_hands_the_trace_over_as_its_utf8_bytes(ledger: Ledger) -> None:
    trace = json.dumps({"why": 'café "☕" 東京', "features": {"n": 1}}, ensure_ascii=False)
    rec = make_record(decision_json=trace)
    ledger.record(rec)
    (row,) = ledger.iter_history()
    assert row.inputs == trace.encode("utf-8")
    assert json.loads(row.inputs) == json.loads(trace)
    assert ledger.get(rec.request_id).decision_json == trace  # type: ignore[union-attr]


def test_iter_history_prefers_the_compact_inputs_when_recorded(ledger: Ledger) -> None:
    compact = '[1,5,2,0,[],0.1,64,"cloud",3,12.5,null,true,"open",false,"café",0.5,1.5]'
    with_inputs = make_record(1_800_000_000.0, inputs_json=compact)
    without = make_record(1_800_000_001.0)
    ledger.record_many([with_inputs, without])
    first, second = ledger.iter_history()
    assert first.inputs == compact.encode("utf-8")
    assert second.inputs == without.decision_json.encode("utf-8")
    stored = ledger.get(with_inputs.request_id)
    assert stored is not None
    assert (stored.inputs_json, stored.decision_json) == (compact, with_inputs.decision_json)
    assert ledger.execute("SELECT inputs_json FROM requests ORDER BY id") == [(compact,), (None,)]


def test_recent_filters_and_orders_latest_first(ledger: Ledger) -> None:
    base = 1_800_000_000.0
    ledger.record_many(
        [
            make_record(base, tier="cloud", fired_rule="complexity"),
            make_record(base + 1, tier="local", fired_rule="privacy"),
            make_record(base + 2, tier="local", fired_rule="default"),
        ]
    )
    assert [r.ts for r in ledger.recent()] == [base + 2, base + 1, base]
    assert [r.fired_rule for r in ledger.recent(tier="local")] == ["default", "privacy"]
    assert [r.tier for r in ledger.recent(rule="complexity")] == ["cloud"]
    assert [r.ts for r in ledger.recent(limit=1, since_ts=base + 1)] == [base + 2]


def test_default_db_path_precedence(tmp_path: Path) -> None:
    override = tmp_path / "cli.sqlite"
    assert default_db_path("~/from-config.sqlite", override) == override
    assert default_db_path("~/from-config.sqlite", None) == Path.home() / "from-config.sqlite"
    assert default_db_path("", None) == (
        Path(platformdirs.user_data_dir("switchboard")) / "ledger.sqlite"
    )


def test_stored_prompt_modes() -> None:
    assert stored_prompt("full", "Mail bob@x.org", "Mail <EMAIL_1>") == "Mail bob@x.org"
    assert stored_prompt("redacted", "Mail bob@x.org", "Mail <EMAIL_1>") == "Mail <EMAIL_1>"
    # Never the clear text when no redacted version exists.
    assert stored_prompt("redacted", "Mail bob@x.org", None) is None
    assert stored_prompt("none", "Mail bob@x.org", "Mail <EMAIL_1>") is None


def test_open_creates_directories_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "ledger.sqlite"
    with Ledger.open(path) as opened:
        assert opened.execute("PRAGMA journal_mode")[0][0] == "wal"
        assert opened.execute("SELECT MAX(version) FROM schema_version")[0][0] == SCHEMA_VERSION
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"


def test_paths_with_uri_characters_work(tmp_path: Path) -> None:
    path = tmp_path / "my ledger?#%20.sqlite"
    rec = make_record()
    with Ledger.open(path) as opened:
        assert opened.record(rec)
        assert [row.request_id for row in opened.iter_history()] == [rec.request_id]
    with Ledger.open(path, read_only=True) as reader:
        assert reader.get(rec.request_id) is not None
        assert reader.record(make_record()) is False  # refused, kept pending, no exception
        assert reader.pending == 1
    assert not (tmp_path / "my ledger").exists()


# Version 1 as it was shipped: this DDL is frozen here on purpose, independent of the code.
V1_SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at FLOAT);
CREATE TABLE requests (
    id INTEGER PRIMARY KEY, request_id TEXT NOT NULL, ts FLOAT NOT NULL, session TEXT NOT NULL,
    prompt_hash TEXT NOT NULL, prompt_text TEXT, decision_json TEXT NOT NULL, tier TEXT NOT NULL,
    model TEXT, tokens_in INTEGER, tokens_out INTEGER, latency_s FLOAT, cost_usd FLOAT,
    status TEXT NOT NULL, error_class TEXT
);
CREATE UNIQUE INDEX idx_requests_request_id ON requests (request_id);
CREATE INDEX idx_requests_ts ON requests (ts);
INSERT INTO schema_version VALUES (1, 1700000000.0);
"""


def _write_v1(path: Path, rows: list[tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.executemany(
        "INSERT INTO requests (request_id, ts, session, prompt_hash, prompt_text, decision_json,"
        " tier, model, tokens_in, tokens_out, latency_s, cost_usd, status, error_class)"
        " VALUES (?, ?, 's', 'h', 'p', '{}', ?, 'm', 10, 20, 1.0, ?, 'ok', NULL)",
        rows,
    )
    conn.commit()
    conn.close()


def test_v1_database_is_upgraded_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    ts = datetime(2026, 6, 15, 10, 30).timestamp()
    _write_v1(path, [("r1", ts, "cloud", 0.25), ("r2", ts + 60, "local", 0.0)])
    conn = sqlite3.connect(path)  # version 1 allowed a row without model, tokens or cost
    conn.execute(
        "INSERT INTO requests (request_id, ts, session, prompt_hash, decision_json, tier, status)"
        " VALUES ('r0', ?, 's', 'h', '{}', 'none', 'failed')",
        (ts - 60,),
    )
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="needs an upgrade"):
        Ledger.open(path, read_only=True)
    with Ledger.open(path) as upgraded:
        assert upgraded.execute("SELECT MAX(version) FROM schema_version")[0][0] == SCHEMA_VERSION
        old = upgraded.get("r1")
        assert old is not None
        assert (old.routed_tier, old.tier, old.cost_usd, old.counterfactual_usd) == (
            "cloud",
            "cloud",
            0.25,
            None,
        )
        assert old.prompt_text == "p"  # moved to the prompts table
        bare = upgraded.get("r0")
        assert bare is not None and bare.prompt_text is None and bare.inputs_json is None
        assert (bare.model, bare.tokens_in, bare.cost_usd, bare.status) == ("", 0, 0.0, "failed")
        assert upgraded.spend(ts).today_usd == pytest.approx(0.25)
        assert upgraded.record(make_record(ts + 120, tier="cloud", cost=0.5))
        assert upgraded.spend(ts).today_usd == pytest.approx(0.75)
        assert upgraded.count() == 4
    with Ledger.open(path, read_only=True) as reader:
        assert reader.count() == 4


def test_v2_database_gains_the_inputs_column_and_keeps_its_traces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "v2.sqlite"
    ts = datetime(2026, 6, 15, 10, 30).timestamp()
    _write_v1(path, [("r1", ts, "cloud", 0.25)])
    with monkeypatch.context() as patch:  # this Switchboard as it was at version 2
        patch.setattr(ledger_module, "SCHEMA_VERSION", 2)
        Ledger.open(path).close()
    conn = sqlite3.connect(path)
    assert "inputs_json" not in [row[1] for row in conn.execute("PRAGMA table_info(requests)")]
    conn.close()
    with Ledger.open(path) as upgraded:
        versions = upgraded.execute("SELECT version FROM schema_version ORDER BY version")
        assert versions == [(n,) for n in range(1, SCHEMA_VERSION + 1)]
        old = upgraded.get("r1")
        assert old is not None and old.inputs_json is None
        plan = upgraded.execute(
            "EXPLAIN QUERY PLAN SELECT request_id, inputs_json, tier FROM requests "
            "INDEXED BY ix_requests_history ORDER BY id"
        )
        assert "USING COVERING INDEX ix_requests_history" in plan[0][-1]
        compact = "[1]"
        new = make_record(ts + 60, inputs_json=compact)
        assert upgraded.record(new)
        rows = list(upgraded.iter_history())
        assert [(row.request_id, row.inputs) for row in rows] == [
            ("r1", b"{}"),  # the trace: recorded before version 3
            (new.request_id, compact.encode()),
        ]


def test_failed_migration_leaves_the_old_version_whole(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _write_v1(path, [("r1", 1_800_000_000.0, "cloud", 0.25)])
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE hourly_totals (clash TEXT)")  # makes migration 2 fail midway
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match=r"old\.sqlite.*hourly_totals"):
        Ledger.open(path)
    conn = sqlite3.connect(path)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(requests)")]
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
    conn.close()
    assert "routed_tier" not in columns and len(columns) == 15


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    with Ledger.open(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=r"future\.sqlite.*version 99 is newer"):
        Ledger.open(path)
    assert path.read_bytes() == before


def test_not_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my precious notes, not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(LedgerError, match=r"notes\.txt: not an SQLite database"):
        Ledger.open(path)
    assert path.read_bytes() == before
    assert not path.with_name("notes.txt-wal").exists()


def test_corrupt_ledger_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.sqlite"
    with Ledger.open(path) as opened:
        opened.record_many(make_record() for _ in range(200))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    # Keep the header page, wreck the rest.
    data[4096:] = bytes((i * 7 + 3) % 256 for i in range(len(data) - 4096))
    path.write_bytes(bytes(data))
    with pytest.raises(LedgerError, match=r"corrupt\.sqlite"):
        Ledger.open(path)
    assert path.read_bytes() == bytes(data)


def test_large_files_get_the_cheap_probe_at_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.sqlite"
    with Ledger.open(path) as opened:
        opened.record_many(make_record() for _ in range(300))
    monkeypatch.setattr(ledger_module, "QUICK_CHECK_MAX_BYTES", 0)
    with Ledger.open(path) as reopened:
        assert reopened.count() == 300
        assert reopened.quick_check() == "ok"


def test_other_sqlite_database_and_directory_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "app.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match=r"app\.db: an SQLite file that is not a Switchboard"):
        Ledger.open(other)
    with pytest.raises(LedgerError, match="is a directory"):
        Ledger.open(tmp_path)


def test_locked_database_queues_then_resumes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger.open(path, busy_timeout_s=0.05)
    other = sqlite3.connect(path, isolation_level=None)  # another console holding the lock
    other.execute("BEGIN EXCLUSIVE")
    first, second = make_record(), make_record()
    assert ledger.record(first) is False
    assert ledger.pending == 1
    assert ledger.last_error is not None and "locked" in ledger.last_error
    assert ledger.record(second) is False  # still backing off: queued without waiting
    assert ledger.pending == 2
    other.execute("ROLLBACK")
    other.close()
    assert ledger.flush()
    assert ledger.pending == 0 and ledger.last_error is None
    assert {ledger.get(r.request_id) is not None for r in (first, second)} == {True}
    ledger.close()


def test_read_only_database_keeps_records_pending(ledger: Ledger) -> None:
    # Tests may run as root, where chmod does not stop writes; SQLite's query_only is a real
    # refusal by the database engine itself.
    ledger.execute("PRAGMA query_only = ON")
    rec = make_record()
    assert ledger.record(rec) is False
    assert ledger.pending == 1
    assert ledger.last_error is not None and "readonly" in ledger.last_error
    ledger.execute("PRAGMA query_only = OFF")
    assert ledger.flush()
    assert ledger.get(rec.request_id) is not None


def test_full_disk_keeps_records_pending_then_resumes(ledger: Ledger) -> None:
    pages = ledger.execute("PRAGMA page_count")[0][0]
    ledger.execute(f"PRAGMA max_page_count = {pages}")  # SQLite reports SQLITE_FULL from here
    big = [make_record(prompt="x" * 4000) for _ in range(20)]
    assert ledger.record_many(big) is False
    assert ledger.pending == 20
    assert ledger.last_error is not None and "full" in ledger.last_error
    assert ledger.count() == 0
    ledger.execute("PRAGMA max_page_count = 1073741823")
    assert ledger.flush()
    assert ledger.count() == 20


def test_pending_queue_is_bounded(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "l.sqlite", max_pending=3)
    ledger.execute("PRAGMA query_only = ON")
    recs = [make_record() for _ in range(5)]
    for rec in recs:
        ledger.record(rec)
    assert (ledger.pending, ledger.dropped) == (3, 2)
    ledger.execute("PRAGMA query_only = OFF")
    assert ledger.flush()
    assert [r.request_id for r in ledger.recent(limit=10)] == [
        r.request_id for r in reversed(recs[2:])
    ]
    ledger.close()


def test_threads_and_two_consoles_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    first, second = Ledger.open(path), Ledger.open(path)

    def burst(ledger: Ledger) -> None:
        for _ in range(50):
            assert ledger.record(make_record(tier="cloud", cost=0.01))

    threads = [threading.Thread(target=burst, args=(lg,)) for lg in (first, first, second, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert first.count() == second.count() == 200
    assert first.spend().today_usd == pytest.approx(2.0)
    first.close()
    second.close()


_CHILD = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.test_ledger import make_record
from console.ledger import Ledger
ledger = Ledger.open(Path({path!r}))
while True:
    rec = make_record()
    if ledger.record(rec):
        print(rec.request_id, flush=True)
    else:
        print("FAILED", ledger.last_error, file=sys.stderr, flush=True)
"""


def test_kill_9_during_a_burst_loses_no_returned_record(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD.format(repo=str(REPO), path=str(path))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert child.stdout is not None
    returned = [child.stdout.readline().strip() for _ in range(300)]
    os.kill(child.pid, signal.SIGKILL)
    rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    # Lines printed before the kill are records whose record() had returned True.
    returned += [line.strip() for line in rest.splitlines() if len(line.strip()) == 36]
    with Ledger.open(path) as reopened:
        assert reopened.quick_check() == "ok"
        missing = [rid for rid in returned if reopened.get(rid) is None]
        assert missing == []
        assert reopened.count() >= len(returned)


def test_route_and_whatif_upgrade_an_older_ledger_instead_of_failing(tmp_path: Path) -> None:
    # After an upgrade of Switchboard, the read-only commands must still work on the old file.
    path = tmp_path / "old.sqlite"
    ts = datetime(2026, 6, 15, 10, 30).timestamp()
    _write_v1(path, [("r1", ts, "cloud", 0.25)])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    for args in (["route", "hello", "--json"], ["whatif", "--set", "router.default_tier=cloud"]):
        done = subprocess.run(
            [sys.executable, "-m", "console.cli", "--db", str(path), *args],
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    with Ledger.open(path, read_only=True) as upgraded:
        assert upgraded.execute("SELECT MAX(version) FROM schema_version")[0][0] == SCHEMA_VERSION


def test_a_stored_row_gives_back_the_outcome_its_badge_is_drawn_from(ledger: Ledger) -> None:
    from console.outcome import badge

    fell = make_record(tier="cloud", fallback_path="local>cloud", status="fallback")
    redacted = make_record(tier="cloud", redacted=True)
    plain = make_record()
    ledger.insert([fell, redacted, plain])
    shown = {}
    for rec in (fell, redacted, plain):
        stored = ledger.get(rec.request_id)
        assert stored is not None
        shown[rec.request_id] = (stored.outcome, badge(stored.outcome).label)
    assert shown[fell.request_id][0].path == ("local", "cloud")
    assert shown[fell.request_id][1] == "FALLBACK local→cloud"
    assert shown[redacted.request_id][0].path == ("cloud",)
    assert shown[redacted.request_id][1] == "CLOUD·redacted"
    assert shown[plain.request_id][0].path == ("local",)
    assert shown[plain.request_id][1] == "LOCAL"


# -- schema 5: conversations and evidence join the migrations ----------------------------------

#: Written by the code of schema 4 (commit 2c942e9: Ledger.insert of five rows, then
#: ConversationStore.add_turn/rename and console.evidence's rate/record_judgment/record_item),
#: checkpointed into one file and gzipped.
V4_FIXTURE = REPO / "tests" / "data" / "ledger_v4.sqlite.gz"
SCHEMA_5_TABLES = (
    "conversations",
    "conversation_turns",
    "evidence_ratings",
    "eval_items",
    "eval_judgments",
)


def _v4_file(tmp_path: Path) -> Path:
    path = tmp_path / "v4.sqlite"
    path.write_bytes(gzip.decompress(V4_FIXTURE.read_bytes()))
    return path


def _contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table but the schema's own, in a stable order."""
    conn = sqlite3.connect(path)
    try:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_version'"
            )
        ]
        return {name: sorted(conn.execute(f"SELECT * FROM {name}").fetchall()) for name in names}
    finally:
        conn.close()


def test_a_v4_ledger_with_conversations_and_evidence_is_upgraded_keeping_everything(
    tmp_path: Path,
) -> None:
    from console import evidence
    from console.conversations import ConversationStore

    path = _v4_file(tmp_path)
    before = _contents(path)
    assert before["conversation_turns"] and before["eval_judgments"]  # the fixture has rows
    with Ledger.open(path) as ledger:
        assert ledger.count() == 5
    conn = sqlite3.connect(path)
    versions = [row[0] for row in conn.execute("SELECT version FROM schema_version")]
    indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert versions == [1, 2, 3, 4, 5] and SCHEMA_VERSION == 5
    assert {"ix_conversations_updated", "ix_eval_items_local"} <= indexes
    assert _contents(path) == before
    store = ConversationStore(path)
    try:
        loaded = store.load("conv-a")
        assert [t.request_id for t in loaded.turns] == ["req-0", "req-1"]
        assert loaded.system_prompt == "Be brief." and loaded.summary.tiers == ("cloud", "local")
        assert store.load("conv-b").summary.title == "renamed"
    finally:
        store.close()
    assert evidence.rating(path, "req-1") is True and evidence.rating(path, "req-0") is False
    found = evidence.tier_evidence(path)
    assert found["req-4"].eval_pair and found["req-4"].local_good is True
    assert evidence.verdict_counts(path)["local as good"] == 1


def test_conversations_and_evidence_upgrade_an_older_ledger_on_their_own(tmp_path: Path) -> None:
    from console import evidence
    from console.conversations import ConversationStore

    for opener in ("conversations", "evidence"):
        (tmp_path / opener).mkdir()
        path = _v4_file(tmp_path / opener)
        before = _contents(path)
        if opener == "conversations":
            ConversationStore(path).close()
        else:
            assert evidence.done_items(path)
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 5
        conn.close()
        assert _contents(path) == before


def test_a_schema_4_ledger_without_those_tables_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "bare4.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    db = ledger_module.sqlite_utils.Database(conn)
    db.table("schema_version").create({"version": int, "applied_at": float}, pk="version")
    for number, migrate in enumerate(ledger_module._MIGRATIONS[:4], start=1):
        migrate(db)
        conn.execute("INSERT INTO schema_version VALUES (?, 0)", (number,))
    conn.close()
    with Ledger.open(path) as ledger:
        ledger.insert([make_record()])
    tables = set(_contents(path))
    assert set(SCHEMA_5_TABLES) <= tables


def test_evidence_tables_made_before_any_ledger_are_adopted(tmp_path: Path) -> None:
    """Code of schema 4 could write evidence tables into a file no ledger had opened yet."""
    path = tmp_path / "early.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(ledger_module._TABLES_5["evidence_ratings"])
    conn.execute("INSERT INTO evidence_ratings VALUES ('r', 'local', 1, 0)")
    conn.commit()
    conn.close()
    with Ledger.open(path) as ledger:
        assert ledger.count() == 0
    assert _contents(path)["evidence_ratings"] == [("r", "local", 1, 0.0)]


def test_a_v4_table_with_other_columns_is_refused_and_the_file_left_at_v4(
    tmp_path: Path,
) -> None:
    path = _v4_file(tmp_path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE eval_items ADD COLUMN note TEXT")
    conn.commit()
    conn.close()
    before = _contents(path)
    with pytest.raises(LedgerError, match=r"v4\.sqlite: .*table eval_items has columns"):
        Ledger.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 4
    conn.close()
    assert _contents(path) == before


def test_a_newer_ledger_is_refused_in_one_line_by_conversations_and_evidence(
    tmp_path: Path,
) -> None:
    from console import evidence
    from console.conversations import ConversationError, ConversationStore

    path = tmp_path / "future.sqlite"
    Ledger.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (6, 0)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = path.read_bytes()
    newer = r"future\.sqlite: ledger schema version 6 is newer than this Switchboard supports"
    with pytest.raises(ConversationError, match=newer) as refused:
        ConversationStore(path)
    assert "\n" not in str(refused.value)
    with pytest.raises(evidence.EvidenceError, match=newer):
        evidence.rate(path, "r", True)
    with pytest.raises(LedgerError, match=newer):
        Ledger.open(path)
    assert path.read_bytes() == before


def test_a_turn_is_written_with_its_row_once_and_renumbered_on_a_clash(ledger: Ledger) -> None:
    from console.conversations import ConversationStore

    first, second, rival = make_record(), make_record(), make_record()

    def turn(rec: LedgerRecord, number: int, ts: float) -> TurnRecord:
        return TurnRecord("c", number, rec.request_id, ts, "local", 0.5, "p", "a", title="t")

    assert ledger.insert([first], [turn(first, 1, 10.0)]) == (1, 0, 1)
    # A retry of the same request writes neither its row nor its turn again.
    assert ledger.insert([first], [turn(first, 1, 11.0)]) == (0, 1, 0)
    assert ledger.insert([second, rival], [turn(second, 2, 20.0), turn(rival, 2, 15.0)]) == (
        2,
        0,
        2,
    )
    store = ConversationStore(ledger.path)
    try:
        loaded = store.load("c")
    finally:
        store.close()
    assert [(t.turn, t.request_id) for t in loaded.turns] == [
        (1, first.request_id),
        (2, second.request_id),
        (3, rival.request_id),
    ]
    # `updated` never goes back to an older turn's time; turns and cost count each turn once.
    assert (loaded.summary.turns, loaded.summary.updated) == (3, 20.0)
    assert loaded.summary.cost_usd == pytest.approx(1.5) and loaded.summary.title == "t"


def test_a_refused_write_backs_off_doubling_from_half_a_second_to_thirty(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite"
    ledger = Ledger.open(path, busy_timeout_s=0.01)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert ledger.retry_in_s == 0.0
        assert not ledger.record(make_record())
        waits = [ledger.retry_in_s]
        for _ in range(8):
            assert not ledger.flush()  # a retry now, whatever the back-off says
            waits.append(ledger.retry_in_s)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # Each wait was read within a moment of its failure: at most 0.5 s late under any load.
    for wait, expected in zip(waits, (0.5, 1, 2, 4, 8, 16, 30, 30, 30), strict=True):
        assert expected - 0.5 < wait <= expected
    assert ledger.flush() and ledger.retry_in_s == 0.0 and ledger.count() == 1
    ledger.close()
