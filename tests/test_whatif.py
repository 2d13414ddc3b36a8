"""What-if on a small real SQLite ledger: counts per direction, costs, and the `whatif` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import get_type_hints

import pytest

from console.ledger import Ledger, LedgerRecord, RoutedTier
from policies.config import Config, parse_config, with_changes
from policies.features import Features, extract_features
from policies.router import Signals, decide, decide_target
from policies.trace_inputs import decode_inputs, encode_inputs
from policies.whatif import ConfigCostModel, whatif

REPO = Path(__file__).resolve().parent.parent
CONFIG_TEXT = """
[cloud]
model = "test-model"

[prices."test-model"]
input_per_mtok = 1.0
output_per_mtok = 2.0

[local_cost]
# 3.6 USD per core-hour = 0.001 USD per CPU-second
core_hour_usd = 3.6

[router.tasks]
# The task rule never acts here: these scenarios are about the complexity threshold.
min_confidence = 1.0
"""
SIMPLE = "Hello, how are you?"
MEDIUM = "Explain why the sky is blue and compare it with sunsets."
COMPLEX = "Write a Python function that merges two sorted lists."
# Fast enough locally that the latency rule never sends a long answer to the cloud.
SIGNALS = Signals(local_tps=100.0)
CPU_USD = 0.001


def _record(
    number: int,
    prompt: str,
    tier: RoutedTier,
    *,
    pii: tuple[str, ...] = (),
    tokens: tuple[int, int] = (10, 20),
    cpu_seconds: float = 0.0,
    cost: float = 0.0,
    trace: str | None = None,
    compact: bool = True,
) -> LedgerRecord:
    decision = decide(extract_features(prompt, pii), SIGNALS, BASE)
    return LedgerRecord(
        ts=time.time() - 1000 + number,
        session="s",
        request_id=f"r{number}",
        prompt_hash="0" * 64,
        prompt_text=None,
        decision_json=trace if trace is not None else json.dumps(decision.to_dict()),
        routed_tier=decision.target if decision.target != "blocked" else "none",
        tier=tier,
        fallback_path="",
        fired_rule=decision.fired,
        model="m",
        tokens_in=tokens[0],
        tokens_out=tokens[1],
        usage_estimated=False,
        ttft_s=0.1,
        latency_s=1.0,
        tokens_per_s=20.0,
        cpu_seconds=cpu_seconds,
        cost_usd=cost,
        counterfactual_usd=(tokens[0] * 1.0 + tokens[1] * 2.0) / 1e6,
        cost_known=True,
        status="ok",
        error_class=None,
        redacted=False,
        pii_count=len(pii),
        inputs_json=encode_inputs(decision) if compact and trace is None else None,
    )


BASE = parse_config(CONFIG_TEXT)


def _history(layout: str = "mixed") -> list[LedgerRecord]:
    """The scenario's rows; "mixed" keeps compact inputs on even rows, "full" on none."""
    cpu, cost = 2.0, 2.0 * CPU_USD
    rows = [
        *(_record(i, SIMPLE, "local", cpu_seconds=cpu, cost=cost) for i in range(3)),
        *(_record(i, MEDIUM, "local", cpu_seconds=cpu, cost=cost) for i in range(3, 5)),
        _record(5, COMPLEX, "local", pii=("PERSON",), cpu_seconds=cpu, cost=cost),
        *(
            _record(i, COMPLEX, "cloud", tokens=(100, 500), cost=(100 + 1000) / 1e6)
            for i in range(6, 8)
        ),
        # Routed to the cloud, fell back to local: its CPU-seconds are on record.
        _record(8, COMPLEX, "local", tokens=(100, 300), cpu_seconds=30.0, cost=30 * CPU_USD),
        _record(9, SIMPLE, "local", trace="{}"),
    ]
    keep = {"mixed": lambda number: number % 2 == 0, "full": lambda number: False}[layout]
    return [
        row if row.inputs_json is None or keep(number) else replace(row, inputs_json=None)
        for number, row in enumerate(rows)
    ]


def _ledger(path: Path, layout: str) -> Path:
    ledger = Ledger.open(path)
    try:
        assert ledger.record_many(_history(layout))
    finally:
        ledger.close()
    return path


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ledger(tmp_path_factory.mktemp("whatif") / "ledger.sqlite", "mixed")


@pytest.fixture
def history(ledger_path: Path) -> Iterator[Ledger]:
    ledger = Ledger.open(ledger_path, read_only=True)
    yield ledger
    ledger.close()


def test_the_prompts_sit_where_the_scenario_needs_them() -> None:
    simple, medium, complex_ = (extract_features(p).complexity for p in (SIMPLE, MEDIUM, COMPLEX))
    assert simple < 0.3 <= medium < 0.6 <= complex_ < 0.9


def test_lowering_the_complexity_threshold_moves_medium_prompts_to_the_cloud(
    history: Ledger,
) -> None:
    changed = with_changes(BASE, {"router.complexity_threshold": "0.3"})
    result = whatif(history.iter_history(), BASE, changed)
    assert result.total == 10
    assert result.unreadable == 1
    assert (result.changed, result.to_cloud, result.to_local, result.to_blocked) == (2, 2, 0, 0)
    assert result.transitions == (("local", "cloud", 2),)
    assert set(result.sample_request_ids) == {"r3", "r4"}
    records = _history()
    before = sum(r.cost_usd for r in records)
    assert result.cost_before_usd == pytest.approx(before)
    cloud = (10 * 1.0 + 20 * 2.0) / 1e6
    assert result.cost_after_usd == pytest.approx(before - 2 * 2.0 * CPU_USD + 2 * cloud)
    savings = sum(r.counterfactual_usd - r.cost_usd for r in records if r.counterfactual_usd)
    assert result.savings_before_usd == pytest.approx(savings)
    assert result.savings_after_usd == pytest.approx(savings - 2 * (cloud - 2.0 * CPU_USD))
    assert result.local_cpu_estimated == 0 and result.cost_unknown == 0


def test_raising_the_threshold_moves_complex_prompts_to_local_with_recorded_or_estimated_cpu(
    history: Ledger,
) -> None:
    changed = with_changes(BASE, {"router.complexity_threshold": "0.9"})
    result = whatif(history.iter_history(), BASE, changed, ConfigCostModel.of(changed))
    assert (result.changed, result.to_local, result.to_cloud) == (3, 3, 0)
    assert set(result.sample_request_ids) == {"r6", "r7", "r8"}
    assert result.local_cpu_recorded == 1
    assert result.local_cpu_estimated == 2
    # The history's local rows: 6 x (2 CPU-s, 20 tokens) + (30 CPU-s, 300 tokens) = 0.1 CPU-s/token
    assert result.local_cpu_basis.startswith("0.1000 CPU-s per answer token, from the history")
    records = _history()
    before = sum(r.cost_usd for r in records)
    cloud_rows = 2 * (100 + 1000) / 1e6
    estimated = 2 * 500 * 0.1 * CPU_USD
    assert result.cost_after_usd == pytest.approx(before - cloud_rows + estimated)


def test_privacy_and_blocking_are_re_decided_too(history: Ledger) -> None:
    blocked = with_changes(BASE, {"pii.on_pii": "block"})
    result = whatif(history.iter_history(), BASE, blocked)
    assert (result.changed, result.to_blocked, result.sample_request_ids) == (1, 1, ("r5",))
    assert result.cost_after_usd == pytest.approx(result.cost_before_usd - 2.0 * CPU_USD)
    back = whatif(history.iter_history(), blocked, BASE)
    assert (back.changed, back.from_blocked, back.to_local) == (1, 1, 1)
    redact = with_changes(BASE, {"pii.on_pii": "redact"})
    assert whatif(history.iter_history(), BASE, redact).to_cloud == 1


def test_no_change_means_no_difference(history: Ledger) -> None:
    result = whatif(history.iter_history(), BASE, BASE)
    assert (result.changed, result.transitions, result.sample_request_ids) == (0, (), ())
    assert result.cost_after_usd == pytest.approx(result.cost_before_usd)
    assert result.savings_after_usd == pytest.approx(result.savings_before_usd)


def test_a_cloud_model_without_a_price_is_reported_not_priced_at_zero_silently(
    history: Ledger,
) -> None:
    unpriced = Config.model_validate(
        {**BASE.model_dump(), "cloud": {**BASE.cloud.model_dump(), "model": "no-such-model-x"}}
    )
    changed = with_changes(unpriced, {"router.complexity_threshold": "0.3"})
    result = whatif(history.iter_history(), unpriced, changed)
    assert (result.changed, result.cost_unknown) == (2, 2)


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from console.cli import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_whatif_command(ledger_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_TEXT, encoding="utf-8")
    common = ("--config", str(config), "--db", str(ledger_path), "whatif")
    runs = [
        _cli(*common, "--set", "router.complexity_threshold=0.9", "--json", cwd=tmp_path),
        _cli(*common, "--set", "router.complexity_threshold=0.9", "--since", "1h", cwd=tmp_path),
        _cli(*common, "--set", "router.complexity_treshold=0.9", cwd=tmp_path),
        _cli(
            "--config",
            str(config),
            "--db",
            str(tmp_path / "none.sqlite"),
            "whatif",
            "--set",
            "router.complexity_threshold=0.9",
            cwd=tmp_path,
        ),
    ]
    (out, err), code = runs[0].communicate(timeout=120), runs[0].returncode
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert (data["total"], data["changed"], data["to_local"], data["unreadable"]) == (10, 3, 3, 1)
    assert data["set"] == ["router.complexity_threshold=0.9"]
    assert sorted(data["sample_request_ids"]) == ["r6", "r7", "r8"]
    out, err = runs[1].communicate(timeout=120)
    assert runs[1].returncode == 0
    assert out.startswith("3 of 10 requests change tier with router.complexity_threshold=0.9\n")
    assert "  cloud → local: 3\n" in out
    out, err = runs[2].communicate(timeout=120)
    assert runs[2].returncode == 2
    assert err == "switchboard: 'router.complexity_treshold': unknown key\n"
    out, err = runs[3].communicate(timeout=120)
    assert runs[3].returncode == 2
    assert err.startswith(f"switchboard: {tmp_path / 'none.sqlite'}: no ledger here yet")


def test_traces_are_read_the_same_whatever_their_layout() -> None:
    from policies.whatif import _inputs, _trace_inputs_part

    decision = decide(extract_features('Say "features": yes', ("PERSON",)), SIGNALS, BASE)
    data = decision.to_dict()
    data["rules"][0]["why"] = 'a tricky why, café ☕: "features": {"chars": 0}'
    layouts = [
        json.dumps(data),
        json.dumps(data, separators=(",", ":")),
        json.dumps(data, sort_keys=True),
        json.dumps({"features": data["features"], **data}),
    ]
    expected = (
        replace(decision.features, signals=(), text=""),
        decision.signals,
        True,  # the pool signals are on record (no pool configured)
    )
    for text in layouts:
        assert _inputs(_trace_inputs_part(text.encode())) == expected
    assert _inputs(_trace_inputs_part(json.dumps(data, ensure_ascii=False).encode())) == expected
    with pytest.raises(KeyError):
        _inputs(_trace_inputs_part(json.dumps({"rules": []}).encode()))


def test_the_ledger_rows_carry_exactly_what_whatif_reads() -> None:
    from console.ledger import HistoryRow
    from policies.whatif import HistoryRow as WhatIfRow

    read = {
        name: member for name, member in vars(WhatIfRow).items() if isinstance(member, property)
    }
    assert set(HistoryRow._fields) == set(read)
    carried = get_type_hints(HistoryRow)
    assert {name: get_type_hints(member.fget)["return"] for name, member in read.items()} == carried
    assert carried["inputs"] is bytes


@pytest.mark.parametrize(
    "changes",
    [
        {"router.complexity_threshold": "0.3"},
        {"router.complexity_threshold": "0.9"},
        {"pii.on_pii": "redact"},
        {"pii.on_pii": "block"},
        {"router.default_tier": "cloud", "pii.on_pii": "redact"},
    ],
)
def test_compact_and_full_trace_rows_give_identical_results(
    ledger_path: Path, tmp_path: Path, changes: dict[str, str]
) -> None:
    full = _ledger(tmp_path / "full.sqlite", "full")
    with Ledger.open(full, read_only=True) as old, Ledger.open(ledger_path) as mixed:
        assert [row.inputs[:1] for row in old.iter_history()] == [b"{"] * 10
        assert [row.inputs[:1] for row in mixed.iter_history()] == [b"[", b"{"] * 5
        changed = with_changes(BASE, changes)
        expected = whatif(old.iter_history(), BASE, changed).to_dict()
        assert whatif(mixed.iter_history(), BASE, changed).to_dict() == expected
        assert (
            whatif(mixed.iter_history(), changed, BASE).to_dict()
            == whatif(old.iter_history(), changed, BASE).to_dict()
        )
    assert expected["total"] == 10 and expected["unreadable"] == 1


def _grid() -> Iterator[tuple[Features, Signals]]:
    prompts = [SIMPLE, MEDIUM, COMPLEX, "/cloud " + SIMPLE, "/local " + COMPLEX, "Write an essay."]
    pii_sets: list[tuple[str, ...]] = [(), ("PERSON",), ("EMAIL_ADDRESS", "PHONE_NUMBER")]
    signal_sets = [
        Signals(),
        SIGNALS,
        Signals(local_tps=2.5, local_queue_depth=9, local_cpu_pct=97.25),
        Signals(local_ready=False, cloud_state="half_open"),
        Signals(cloud_state="open", cloud_unavailable_reason="breaker open: 5 failures"),
        Signals(cloud_available=False, cloud_unavailable_reason="no API key ($X unset) ☕"),
        Signals(spend_today_usd=2.5, spend_month_usd=0.1),
        Signals(spend_today_usd=0.1 + 0.2, spend_month_usd=40.000000001),
    ]
    for prompt in prompts:
        for pii in pii_sets:
            for signals in signal_sets:
                yield extract_features(prompt, pii), signals


def test_compact_inputs_decide_exactly_as_the_full_trace() -> None:
    from policies.whatif import _inputs, _trace_inputs_part

    configs = [
        BASE,
        *(
            with_changes(BASE, changes)
            for changes in (
                {"pii.on_pii": "redact", "router.default_tier": "cloud"},
                {"pii.on_pii": "block", "router.complexity_threshold": "0.3"},
                {"router.latency_target_s": "1", "router.long_output_tokens": "10"},
                {"budget.daily_usd": "0.3", "router.max_local_cpu": "50"},
            )
        ),
    ]
    count = 0
    for features, signals in _grid():
        for config in configs:
            decision = decide(features, signals, config)
            compact = encode_inputs(decision)
            assert len(compact.encode()) < 300
            from_compact = decode_inputs(compact.encode())
            from_trace = _inputs(_trace_inputs_part(json.dumps(decision.to_dict()).encode()))[:2]
            assert (
                from_compact
                == from_trace
                == (
                    replace(features, signals=(), text=""),
                    signals,
                )
            )
            for other in configs:
                target = decide(*from_trace, other).target
                assert decide(*from_compact, other).target == target
                assert decide_target(*from_compact, other) == target
                count += 1
    assert count == 6 * 3 * 8 * 5 * 5


@pytest.mark.parametrize(
    "text",
    [
        b"{}",
        b"[]",
        b"[2," + b"0," * 15 + b"0]",
        b'[1,5,2,0,[],0.1,64,"sideways",0,0.0,null,true,"closed",true,"",0.0,0.0]',
        b'[1,5,2,0,[],0.1,64,null,0,0.0,null,true,"ajar",true,"",0.0,0.0]',
        b'[1,5,2,0,7,0.1,64,null,0,0.0,null,true,"closed",true,"",0.0,0.0]',
        b"[1,5,2",
    ],
)
def test_malformed_compact_inputs_are_refused(text: bytes) -> None:
    with pytest.raises(ValueError):
        decode_inputs(text)
