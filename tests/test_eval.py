"""Quality evidence: ratings, judge verdicts, what-if quality by hand count, the eval command."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.evidence import (
    EvidenceError,
    ItemVerdict,
    combine,
    item_key,
    parse_preference,
    rate,
    rating,
    record_item,
    reference_verdict,
    tier_evidence,
)
from console.ledger import Ledger, LedgerRecord, RoutedTier
from policies.config import Config, with_changes
from policies.features import extract_features
from policies.router import Signals, decide
from policies.trace_inputs import encode_inputs
from policies.whatif import read_history, sweep, whatif
from tests.openai_stub import OpenAIStub

ROOT = Path(__file__).resolve().parent.parent
CHAT = "Hello, how are you?"
MATH = "Solve for x: 3x + 5 = 20."
BASE = Config()


def _record(
    request_id: str, prompt: str, tier: RoutedTier, force: str | None = None
) -> LedgerRecord:
    features = extract_features(f"/{force} {prompt}" if force else prompt)
    decision = decide(features, Signals(local_tps=100.0), BASE)
    return LedgerRecord(
        ts=time.time(),
        session="s",
        request_id=request_id,
        prompt_hash="0" * 64,
        prompt_text=None,
        decision_json=json.dumps(decision.to_dict()),
        routed_tier=decision.target if decision.target != "blocked" else "none",
        tier=tier,
        fallback_path="",
        fired_rule=decision.fired,
        model="m",
        tokens_in=10,
        tokens_out=20,
        usage_estimated=False,
        ttft_s=0.1,
        latency_s=1.0,
        tokens_per_s=20.0,
        cpu_seconds=1.0 if tier == "local" else 0.0,
        cost_usd=0.0,
        counterfactual_usd=None,
        cost_known=True,
        status="ok" if tier != "none" else "blocked",
        error_class=None,
        redacted=False,
        pii_count=0,
        inputs_json=encode_inputs(decision),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A small real ledger with ratings and two eval pairs (see the hand count below)."""
    path = tmp_path / "ledger.sqlite"
    ledger = Ledger.open(path)
    try:
        assert ledger.record_many(
            [
                _record("r1", CHAT, "local"),
                _record("r2", CHAT, "local"),
                _record("r3", MATH, "cloud"),
                _record("r4", MATH, "local", force="local"),
                _record("r5", MATH, "cloud", force="cloud"),
                _record("r6", CHAT, "local", force="local"),
                _record("r7", CHAT, "cloud", force="cloud"),
                _record("r8", CHAT, "none"),
            ]
        )
    finally:
        ledger.close()
    assert rate(path, "r1", True) == "local"
    assert rate(path, "r2", True) == "local"
    assert rate(path, "r2", False) == "local"  # a second rating replaces the first
    assert rate(path, "r3", True) == "cloud"
    for local, cloud, outcome in (
        ("r4", "r5", ItemVerdict("cloud better", False, True)),
        ("r6", "r7", ItemVerdict("local as good", True, True)),
    ):
        record_item(
            path,
            item_key(local, None, "judge"),
            prompt=local,
            method="judge",
            judge="judge",
            local_request_id=local,
            cloud_request_id=cloud,
            outcome=outcome,
        )
    return path


def test_ratings_are_stored_per_request_and_refused_for_unknown_ones(db: Path) -> None:
    assert (rating(db, "r1"), rating(db, "r2"), rating(db, "r3"), rating(db, "r4")) == (
        True,
        False,
        True,
        None,
    )
    with pytest.raises(EvidenceError, match="no request 'nope'"):
        rate(db, "nope", True)
    with pytest.raises(EvidenceError, match="no answer to rate"):
        rate(db, "r8", True)


def test_whatif_quality_matches_a_hand_count(db: Path) -> None:
    evidence = tier_evidence(db)
    assert set(evidence) == {"r1", "r2", "r3", "r4", "r6"}
    ledger = Ledger.open(db, read_only=True)
    try:
        history = read_history(ledger.iter_history())
    finally:
        ledger.close()
    # Math may stay local, and nothing is complex enough for the cloud.
    changed = with_changes(
        BASE, {"router.tasks.math": "local", "router.complexity_threshold": "1.0"}
    )
    result = whatif(history, BASE, changed, evidence=evidence)
    # Before: r1 local good, r2 local bad, r3 cloud good, r4 (un-forced: math) cloud good,
    # r6 (un-forced: chat) local good -> 4 of 5.
    before = result.quality_before
    assert before is not None and (before.evidence, before.judged, before.good) == (5, 5, 4)
    # After: r3 goes local (its rating speaks only for the cloud: not judged), r4 local bad.
    after = result.quality_after
    assert after is not None and (after.judged, after.good) == (4, 2)
    assert after.quality == 0.5
    # All cloud: only r3, r4 and r6 say anything about the cloud, all good.
    cloud = result.quality_all_cloud
    assert cloud is not None and (cloud.judged, cloud.good) == (3, 3)
    data = result.to_dict()
    assert data["quality_after"] == {"evidence": 5, "judged": 4, "good": 2, "quality": 0.5}
    # Local share: r8 (blocked, no readable tier change) counts as decided; forced rows stay.
    assert result.local_before == 5 and result.local_after == 6


def test_a_sweep_reads_once_and_matches_single_whatifs(db: Path) -> None:
    evidence = tier_evidence(db)
    ledger = Ledger.open(db, read_only=True)
    try:
        history = read_history(ledger.iter_history())
    finally:
        ledger.close()
    configs = [
        (value, with_changes(BASE, {"router.tasks.min_confidence": value}))
        for value in (0.0, 0.5, 1.0)
    ]
    points = sweep(history, BASE, configs, evidence=evidence)
    assert [p.value for p in points] == [0.0, 0.5, 1.0]
    for point, (_, config) in zip(points, configs, strict=True):
        assert point.result == whatif(history, BASE, config, evidence=evidence)
    # Only the complexity threshold changes: the fast path, which must agree exactly.
    thresholds = [
        (value / 20, with_changes(BASE, {"router.complexity_threshold": value / 20}))
        for value in range(21)
    ]
    fast = sweep(history, BASE, thresholds, evidence=evidence)
    for point, (_, config) in zip(fast, thresholds, strict=True):
        assert point.result == whatif(history, BASE, config, evidence=evidence)
    assert len({point.result.local_after for point in fast}) > 1  # the sweep moves rows


def test_whatif_sweep_and_calibrate_commands(db: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    common = [sys.executable, "-m", "console.cli", "--db", str(db)]
    done = subprocess.run(
        [*common, "whatif", "--sweep", "router.complexity_threshold=0:1:0.05", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["sweep"] == "router.complexity_threshold" and data["current"] == 0.6
    assert [p["value"] for p in data["points"]] == [round(i * 0.05, 2) for i in range(21)]
    assert data["evidence"] == 5
    assert all(p["quality_all_cloud"]["judged"] == 3 for p in data["points"])
    bad = subprocess.run(
        [*common, "whatif", "--sweep", "router.complexity_threshold=1:0:0.1"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "STOP >= START" in bad.stderr and "Traceback" not in bad.stderr
    calibrated = subprocess.run(
        [*common, "calibrate", "--min-quality", "0.95", "--json"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert calibrated.returncode == 0, calibrated.stderr
    proposal = json.loads(calibrated.stdout)
    assert proposal["evidence"] == 5 and proposal["all_cloud_quality"] == 1.0
    assert proposal["proposal"]["quality"]["quality"] >= 0.95
    assert proposal["current"]["quality"]["quality"] == 0.8


def test_calibrate_without_evidence_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite"
    ledger = Ledger.open(path)
    ledger.record_many([_record("r1", CHAT, "local")])
    ledger.close()
    done = subprocess.run(
        [sys.executable, "-m", "console.cli", "--db", str(path), "calibrate"],
        capture_output=True, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no quality evidence" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "first", "expected"),
    [
        ("Both are fine. [[C]]", "local", "tie"),
        ("A is right. [[A]]", "local", "local"),
        ("A is right. [[A]]", "cloud", "cloud"),
        ("[[ B ]]", "local", "cloud"),
        ("I think A. Final: [[A]] ... no, [[B]]", "local", None),
        ("Answer A is better.", "local", None),
        ("", "cloud", None),
    ],
)
def test_judge_output_is_parsed_or_no_verdict(text: str, first: str, expected: str | None) -> None:
    assert parse_preference(text, first) == expected  # type: ignore[arg-type]


def test_two_calls_combine_as_mt_bench_does() -> None:
    assert combine("cloud", "cloud").verdict == "cloud better"
    assert combine("local", "cloud").verdict == "local as good"  # flips with order: a tie
    assert combine("tie", "local") == ItemVerdict("local as good", True, True)
    assert combine(None, "cloud") == ItemVerdict("no verdict", None, None)


def test_reference_matching() -> None:
    assert reference_verdict("5", "x = 5", "The answer is 5.") == ItemVerdict(
        "local as good", True, True
    )
    assert reference_verdict("5", "x = 15", "x is 5") == ItemVerdict("cloud better", False, True)
    assert reference_verdict("Paris", "paris!", "Lyon").verdict == "local as good"
    assert reference_verdict("  ", "a", "b").verdict == "no verdict"


def _eval_rows(db: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, int]]]:
    conn = sqlite3.connect(db)
    try:
        items = conn.execute(
            "SELECT item_key, verdict, method FROM eval_items ORDER BY ts"
        ).fetchall()
        calls = conn.execute(
            "SELECT item_key, COUNT(*) FROM eval_judgments GROUP BY item_key"
        ).fetchall()
    finally:
        conn.close()
    return items, calls


@pytest.mark.slow
def test_eval_judges_with_the_demo_server_and_resumes_after_kill_9(tmp_path: Path) -> None:
    prompts = tmp_path / "eval.jsonl"
    prompts.write_text(
        "\n".join(
            json.dumps(row)
            for row in (
                {"prompt": "Name a colour."},
                {"prompt": "What is 2 + 2?", "reference": "4"},
                {"prompt": "Say hello."},
                {"prompt": "Name an animal."},
            )
        )
        + "\n"
    )
    db = tmp_path / "ledger.sqlite"
    command = [
        sys.executable, "-m", "console.cli", "--db", str(db), "--demo-cloud",
        "eval", str(prompts), "--max-tokens", "6", "--judge-max-tokens", "12",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data")}
    first = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and first.poll() is None:
            if db.exists() and _eval_rows_safe(db) >= 1:
                break
            time.sleep(0.2)
        assert first.poll() is None, first.communicate()[1].decode()[-2000:]
        os.killpg(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    items, _ = _eval_rows(db)
    killed_with = len(items)
    assert 1 <= killed_with < 4
    second = subprocess.run(
        [*command, "--json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert second.returncode == 0, second.stderr[-2000:]
    report = json.loads(second.stdout)
    assert report["skipped"] == killed_with
    assert len(report["judged"]) == 4 - killed_with
    assert "already judged, skipped" in second.stderr
    items, calls = _eval_rows(db)
    # One verdict row per prompt; two judge calls per judged (non-reference) prompt.
    assert len(items) == 4 and len({key for key, _, _ in items}) == 4
    assert {verdict for _, verdict, _ in items} <= {"local as good", "cloud better", "no verdict"}
    methods = {key: method for key, _, method in items}
    # A pair whose answer the scan finds personal data in (the 270M model may invent a name) is
    # withheld from the judge: "no verdict", no judge call.
    assert list(methods.values()).count("reference") == 1
    assert set(methods.values()) <= {"judge", "withheld", "reference"}
    assert all(v == "no verdict" for _, v, m in items if m == "withheld")
    assert dict(calls) == {key: 2 for key, method in methods.items() if method == "judge"}
    # Each prompt ran on both tiers, forced, and is in the ledger twice.
    conn = sqlite3.connect(db)
    try:
        tiers = conn.execute(
            "SELECT r.tier, COUNT(*) FROM eval_items AS e JOIN requests AS r "
            "ON r.request_id IN (e.local_request_id, e.cloud_request_id) GROUP BY r.tier"
        ).fetchall()
    finally:
        conn.close()
    assert dict(tiers) == {"local": 4, "cloud": 4}


def _eval_rows_safe(db: Path) -> int:
    try:
        return len(_eval_rows(db)[0])
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0


@pytest.mark.slow
def test_eval_never_sends_personal_data_to_the_judge(tmp_path: Path) -> None:
    cloud, judge = OpenAIStub().start(), OpenAIStub().start()
    try:
        config = tmp_path / "config.toml"
        config.write_text(
            # Greedy decoding: the clean line's local answer is the same plain word every run.
            "[local]\ntemperature = 0.0\n"
            f'[cloud]\nbase_url = "{cloud.base_url}"\nmodel = "stub-model"\n'
            'api_key_env = "SB_EVAL_TEST_KEY"\n[pii]\non_pii = "redact"\n'
        )
        prompts = tmp_path / "eval.jsonl"
        rows = (
            {"prompt": "Write a short apology to jane.doe@example.com for the outage."},
            {"prompt": "Name a colour."},
        )
        prompts.write_text("".join(json.dumps(row) + "\n" for row in rows))
        done = subprocess.run(
            [
                sys.executable, "-m", "console.cli", "--config", str(config),
                "--db", str(tmp_path / "ledger.sqlite"),
                "eval", str(prompts), "--judge", judge.base_url, "--max-tokens", "6", "--json",
            ],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
            env={**os.environ, "PYTHONPATH": str(ROOT), "SB_EVAL_TEST_KEY": "sk-test",
                 "XDG_DATA_HOME": str(tmp_path / "data")},
        )  # fmt: skip
    finally:
        cloud.stop()
        judge.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["withheld"] == 1 and len(report["judged"]) == 2
    verdicts = {row["line"]: (row["method"], row["verdict"]) for row in report["judged"]}
    assert verdicts[1] == ("withheld", "no verdict")
    assert verdicts[2][0] == "judge"
    assert "personal data (EMAIL_ADDRESS) is never sent to the judge" in done.stderr
    # The clean line was judged twice (order swapped); nothing of the other reached the judge.
    assert len(judge.bodies) == 2
    assert "jane.doe" not in json.dumps(judge.bodies)
    assert "colour" in json.dumps(judge.bodies)
    # The cloud tier itself had the prompt redacted.
    assert "jane.doe" not in json.dumps(cloud.bodies)
