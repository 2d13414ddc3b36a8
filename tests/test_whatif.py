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
from policies.router import PoolSignals, Signals, decide, decide_target
from policies.trace_inputs import decode_inputs, decode_row, encode_inputs
from policies.whatif import (
    ConfigCostModel,
    TierEvidence,
    WhatIfResult,
    read_history,
    sweep,
    whatif,
)

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


# --- the pool tier ------------------------------------------------------------------------------

POOL_TEXT = """
[[pool.servers]]
name = "lab-a"
base_url = "http://127.0.0.1:9/v1"
model = "m"
trusted = true
cost_per_hour = 3.6

[[pool.servers]]
name = "lab-b"
base_url = "http://127.0.0.1:9/v1"
model = "m"
cost_per_hour = 7.2
"""
POOL_BASE = parse_config(CONFIG_TEXT + POOL_TEXT)
RECORDED_POOL = PoolSignals(
    configured=True,
    server="lab-b",
    why="lab-b: least loaded",
    trusted_server="lab-a",
    trusted_why="lab-a: least loaded",
    servers=(("lab-a", True, "ok"), ("lab-b", False, "ok")),
)
POOL_SIGNALS = Signals(local_tps=100.0, pool=RECORDED_POOL)


def _as_version_2(compact: str) -> str:
    """A version-3 encoding as a row recorded before the pool signals stored it."""
    value = json.loads(compact)
    assert value[0] == 3
    return json.dumps([2, *value[1:20], value[21]])


def _pool_record(
    number: int,
    prompt: str,
    tier: RoutedTier,
    *,
    pii: tuple[str, ...] = (),
    tokens: tuple[int, int] = (10, 20),
    cpu_seconds: float = 0.0,
    cost: float = 0.0,
    signals: Signals = POOL_SIGNALS,
    version: int = 3,
) -> LedgerRecord:
    decision = decide(extract_features(prompt, pii), signals, POOL_BASE)
    compact = encode_inputs(decision)
    return replace(
        _record(number, prompt, tier, pii=pii, tokens=tokens, cpu_seconds=cpu_seconds, cost=cost),
        request_id=f"p{number}",
        decision_json=json.dumps(decision.to_dict()),
        routed_tier=decision.target if decision.target != "blocked" else "none",
        fired_rule=decision.fired,
        inputs_json=compact if version == 3 else _as_version_2(compact),
    )


POOL_COST = 0.01
POOL_CLOUD = (100 * 1.0 + 500 * 2.0) / 1e6


def _pool_history() -> list[LedgerRecord]:
    """Hand-counted: 5 local rows, 3 that ran on the pool, 1 recorded before pool signals."""
    local = {"cpu_seconds": 2.0, "cost": 2.0 * CPU_USD}
    big = (100, 500)
    return [
        *(_pool_record(i, SIMPLE, "local", **local) for i in range(3)),  # type: ignore[arg-type]
        *(_pool_record(i, MEDIUM, "local", **local) for i in range(3, 5)),  # type: ignore[arg-type]
        *(_pool_record(i, COMPLEX, "pool", tokens=big, cost=POOL_COST) for i in range(5, 7)),
        _pool_record(7, COMPLEX, "pool", pii=("PERSON",), tokens=big, cost=POOL_COST),
        _pool_record(8, COMPLEX, "cloud", tokens=big, cost=POOL_CLOUD, signals=SIGNALS, version=2),
    ]


@pytest.fixture(scope="module")
def pool_ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("whatif-pool") / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        assert ledger.record_many(_pool_history())
    return path


def _pool_whatif(path: Path, changed: Config, base: Config = POOL_BASE) -> WhatIfResult:
    with Ledger.open(path, read_only=True) as ledger:
        return whatif(ledger.iter_history(), base, changed)


def _config(*servers: tuple[str, bool, float], extra: str = "") -> Config:
    text = CONFIG_TEXT + extra
    for name, trusted, rate in servers:
        text += (
            f'\n[[pool.servers]]\nname = "{name}"\nbase_url = "http://127.0.0.1:9/v1"\n'
            f'model = "m"\ntrusted = {str(trusted).lower()}\ncost_per_hour = {rate}\n'
        )
    return parse_config(text)


def test_the_pool_scenario_routes_as_recorded() -> None:
    decisions = {
        row.request_id: (row.routed_tier, json.loads(row.decision_json)["rules"][-1])
        for row in _pool_history()
    }
    assert [tier for tier, _ in decisions.values()] == ["local"] * 5 + ["pool"] * 3 + ["cloud"]
    assert decisions["p5"][1]["value"] == "lab-b"
    assert decisions["p7"][1]["value"] == "lab-a"  # personal data: the trusted server


def test_unchanged_pool_config_changes_nothing_and_reports_the_shares(pool_ledger: Path) -> None:
    result = _pool_whatif(pool_ledger, POOL_BASE)
    assert (result.changed, result.unreadable, result.total) == (0, 0, 9)
    assert (result.local_before, result.pool_before, result.cloud_before) == (5, 3, 1)
    assert (result.local_after, result.pool_after, result.cloud_after) == (5, 3, 1)
    data = result.to_dict()
    assert data["pool_share_before"] == data["pool_share_after"] == pytest.approx(3 / 9)
    assert data["cloud_share_after"] == pytest.approx(1 / 9)
    assert data["pool_servers_assumed"] == [] and data["pool_assumed_rows"] == 0
    assert data["to_pool"] == 0


def test_removing_the_pool_sends_its_rows_to_the_cloud_or_keeps_private_ones_local(
    pool_ledger: Path,
) -> None:
    result = _pool_whatif(pool_ledger, BASE)
    assert result.transitions == (("pool", "cloud", 2), ("pool", "local", 1))
    assert set(result.sample_request_ids) == {"p5", "p6", "p7"}
    assert (result.local_after, result.pool_after, result.cloud_after) == (6, 0, 3)
    assert result.to_dict()["from_pool"] == result.from_pool == 3
    # p7 (500 answer tokens) goes local at the history's 0.1 CPU-s per token: 50 CPU-s.
    assert (result.local_cpu_estimated, result.pool_cost_estimated) == (1, 0)
    before = sum(r.cost_usd for r in _pool_history())
    expected = before - 3 * POOL_COST + 2 * POOL_CLOUD + 50 * CPU_USD
    assert result.cost_after_usd == pytest.approx(expected)
    # The row recorded before the pool signals was decided without a pool then and now.
    assert "p8" not in result.sample_request_ids


def test_an_untrusted_server_no_longer_takes_personal_data(pool_ledger: Path) -> None:
    untrusted = _config(("lab-a", False, 3.6), ("lab-b", False, 7.2))
    result = _pool_whatif(pool_ledger, untrusted)
    assert (result.transitions, result.sample_request_ids) == ((("pool", "local", 1),), ("p7",))
    before = sum(r.cost_usd for r in _pool_history())
    assert result.cost_after_usd == pytest.approx(before - POOL_COST + 50 * CPU_USD)
    back = _pool_whatif(pool_ledger, POOL_BASE, base=untrusted)
    assert back.transitions == (("local", "pool", 1),)
    assert (back.pool_cost_recorded, back.pool_cost_estimated) == (1, 0)  # p7 ran on the pool
    assert back.cost_after_usd == pytest.approx(before)


def test_a_lower_threshold_moves_medium_prompts_to_the_pool_priced_from_its_history(
    pool_ledger: Path,
) -> None:
    changed = with_changes(POOL_BASE, {"router.complexity_threshold": "0.3"})
    result = _pool_whatif(pool_ledger, changed)
    assert (result.transitions, set(result.sample_request_ids)) == (
        (("local", "pool", 2),),
        {"p3", "p4"},
    )
    # The history's pool rows: 3 x $0.01 for 500 answer tokens = $0.00002 a token; 20 tokens each.
    assert (result.pool_cost_recorded, result.pool_cost_estimated) == (0, 2)
    assert result.pool_cost_basis.startswith("$0.020000 per 1,000 answer tokens")
    assert "3 pool request(s)" in result.pool_cost_basis
    before = sum(r.cost_usd for r in _pool_history())
    assert result.cost_after_usd == pytest.approx(before - 2 * 2.0 * CPU_USD + 2 * 20 * 2e-5)
    cloud = (10 * 1.0 + 20 * 2.0) / 1e6
    assert result.savings_after_usd == pytest.approx(
        result.savings_before_usd - 2 * ((cloud - 2.0 * CPU_USD) - (cloud - 20 * 2e-5))
    )


def test_servers_added_and_removed_are_re_picked_new_ones_assumed_free(pool_ledger: Path) -> None:
    swapped = _config(("lab-c", True, 3.6), ("lab-b", False, 7.2))
    result = _pool_whatif(pool_ledger, swapped)
    assert result.changed == 0  # p7 now goes to lab-c, the others stay on lab-b
    assert (result.pool_servers_assumed, result.pool_assumed_rows) == (("lab-c",), 8)
    only_untrusted = _config(("lab-b", False, 7.2))
    assert _pool_whatif(pool_ledger, only_untrusted).transitions == (("pool", "local", 1),)


def test_a_new_pool_with_no_pool_history_is_priced_from_cost_per_hour(tmp_path: Path) -> None:
    bare = Signals(local_tps=100.0)  # recorded with no pool configured (version 3)
    rows = [
        _pool_record(0, SIMPLE, "local", cpu_seconds=2.0, cost=2.0 * CPU_USD, signals=bare),
        _pool_record(1, COMPLEX, "cloud", tokens=(100, 500), cost=POOL_CLOUD, signals=bare),
    ]
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        assert ledger.record_many(rows)
    result = _pool_whatif(path, POOL_BASE, base=BASE)
    assert (result.transitions, result.pool_cost_estimated) == ((("cloud", "pool", 1),), 1)
    assert (result.pool_servers_assumed, result.pool_assumed_rows) == (("lab-a", "lab-b"), 2)
    assert result.pool_cost_basis.startswith("assumed: each server's pool cost_per_hour")
    # No pick on record: the first server configured, lab-a at $3.60/h, for 500 tokens at
    # router.assumed_local_tps = 20: 25 s.
    assert result.cost_after_usd == pytest.approx(2.0 * CPU_USD + 25 * 3.6 / 3600)
    pricier = _config(("lab-b", False, 7.2), ("lab-a", True, 3.6))
    assert _pool_whatif(path, pricier, base=BASE).cost_after_usd == pytest.approx(
        2.0 * CPU_USD + 25 * 7.2 / 3600
    )


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ((("a", True, "ok"), ("b", False, "ok")), ("b", "a", False)),
        ((("a", True, "full"), ("b", False, "out")), ("", "", True)),
        # A server that failed its health check is tried when no other one may take it.
        ((("a", True, "down"), ("b", False, "ok")), ("b", "a", False)),
        ((("a", True, "down"), ("b", False, "out")), ("a", "a", False)),
        ((("a", True, "out"), ("b", False, "full")), ("", "", True)),
    ],
)
def test_a_pool_is_re_picked_from_each_servers_recorded_availability(
    states: tuple[tuple[str, bool, str], ...], expected: tuple[str, str, bool]
) -> None:
    from policies.whatif import _pick

    server, full, _ = _pick(states, "b", trusted_only=False)
    trusted, _, _ = _pick(states, "", trusted_only=True)
    assert (server, trusted, full) == expected


def test_rows_without_pool_signals_decode_as_no_pool_then() -> None:
    from policies.whatif import _inputs, _trace_inputs_part

    decision = decide(extract_features(COMPLEX), POOL_SIGNALS, POOL_BASE)
    assert decision.target == "pool"
    compact = encode_inputs(decision)
    fresh = decode_row(compact)
    assert fresh.pool_recorded and fresh.signals.pool == replace(
        RECORDED_POOL, why="", trusted_why=""
    )
    old = decode_row(_as_version_2(compact))
    assert (old.pool_recorded, old.signals.pool, old.features) == (
        False,
        PoolSignals(),
        fresh.features,
    )
    assert decide_target(old.features, old.signals, POOL_BASE) == "cloud"
    version_1 = json.dumps([1, *json.loads(compact)[1:18]])
    assert decode_row(version_1).pool_recorded is False
    trace = decision.to_dict()
    del trace["signals"]["pool"]["servers"]  # a trace from before the server list was kept
    from_trace = _inputs(_trace_inputs_part(json.dumps(trace).encode()))
    assert (from_trace.pool_recorded, from_trace.signals.pool) == (False, PoolSignals())
    assert decode_row(compact).signals.pool is fresh.signals.pool  # equal states are shared
    # console.report_html reads ",[]," as "no PII": with PII it may not appear, even with no
    # task types (the pool comes before them).
    private = decide(
        replace(extract_features(COMPLEX, ("PERSON",)), task_top=()), POOL_SIGNALS, BASE
    )
    assert ",[]," not in encode_inputs(private)


@pytest.mark.parametrize(
    "pool",
    [b'"lab"', b'["a","b",false,false,""]', b'["a","b",false,false,"",[["a",true,"sideways"]]]'],
)
def test_malformed_pool_signals_are_refused(pool: bytes) -> None:
    compact = encode_inputs(decide(extract_features(SIMPLE), POOL_SIGNALS, POOL_BASE))
    value = json.loads(compact)
    text = json.dumps([*value[:20], "@", value[21]]).encode().replace(b'"@"', pool)
    with pytest.raises(ValueError):
        decode_inputs(text)


def test_whatif_command_shows_the_pool_share(pool_ledger: Path, tmp_path: Path) -> None:
    config, bare = tmp_path / "config.toml", tmp_path / "no-pool.toml"
    config.write_text(CONFIG_TEXT + POOL_TEXT, encoding="utf-8")
    bare.write_text(CONFIG_TEXT, encoding="utf-8")
    common = ("--config", str(config), "--db", str(pool_ledger), "whatif", "--against", str(bare))
    as_json, as_text = _cli(*common, "--json", cwd=tmp_path), _cli(*common, cwd=tmp_path)
    sweep = _cli(*common, "--sweep", "router.complexity_threshold=0.3:0.6:0.3", cwd=tmp_path)
    (out, err), code = as_json.communicate(timeout=120), as_json.returncode
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["against"] == str(bare)
    assert (data["from_pool"], data["to_pool"]) == (3, 0)
    assert data["pool_share_before"] == pytest.approx(3 / 9)
    assert (data["pool_share_after"], data["cloud_share_after"]) == (0.0, pytest.approx(3 / 9))
    out, err = as_text.communicate(timeout=120)
    assert as_text.returncode == 0, err
    assert out.startswith(f"3 of 9 requests change tier with {bare}\n")
    assert "pool     33.3% → 0.0%\n" in out and "cloud    11.1% → 33.3%\n" in out
    out, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:4] == ["value", "local", "pool", "cloud"]
    # Without the pool, threshold 0.3 sends the medium prompts to the cloud too: 3 local (p0-p2
    # and p7, private), 0 pool, 5 cloud; 0.6: 6 local, 3 cloud.
    assert lines[2].split()[:4] == ["0.3", "44.4%", "0.0%", "55.6%"]
    assert lines[3].split()[:4] == ["0.6", "66.7%", "0.0%", "33.3%"]


# --- the fast path against deciding each row from its full trace -------------------------------

VARIED_POOLS = [
    PoolSignals(),
    RECORDED_POOL,
    PoolSignals(  # every server at max_inflight
        configured=True,
        unavailable_reason="all at max_inflight (lab-a, lab-b)",
        full=True,
        trusted_full=True,
        servers=(("lab-a", True, "full"), ("lab-b", False, "full")),
    ),
    PoolSignals(  # lab-b's breaker open: lab-a takes everything
        configured=True,
        server="lab-a",
        why="lab-a: least loaded; skipped lab-b: breaker open",
        trusted_server="lab-a",
        servers=(("lab-a", True, "ok"), ("lab-b", False, "out")),
    ),
    PoolSignals(  # the trusted server down, the other free
        configured=True,
        server="lab-b",
        trusted_server="lab-a",
        servers=(("lab-a", True, "down"), ("lab-b", False, "ok")),
    ),
]


def _varied_history(count: int, seed: int) -> list[LedgerRecord]:
    """Rows of every kind: prompts, PII, live signals, pool states, overrides, fallbacks, the
    three stored layouts (compact version 3, version 2 with an old trace, trace only), failed
    requests without usage, and unreadable traces."""
    import random

    rng = random.Random(seed)
    prompts = [
        SIMPLE,
        MEDIUM,
        COMPLEX,
        "Write an essay about the sea.",
        "What is 17 * 23?",
        "/cloud " + SIMPLE,
        "/local " + COMPLEX,
        "/pool " + MEDIUM,
        "Summarize this: " + "the meeting went well and we agreed on a plan. " * 40,
    ]
    pii_sets: list[tuple[str, ...]] = [(), (), ("PERSON",), ("SECRET",), ("EMAIL_ADDRESS",)]
    rows = []
    for number in range(count):
        signals = Signals(
            local_queue_depth=rng.choice((0, 0, 5)),
            local_cpu_pct=rng.choice((10.0, 40.0, 97.5)),
            local_tps=rng.choice((None, 8.0, 100.0)),
            local_ready=rng.random() > 0.1,
            cloud_state=rng.choice(("closed", "closed", "open")),
            cloud_available=rng.random() > 0.15,
            cloud_unavailable_reason="no API key",
            spend_today_usd=rng.choice((0.0, 0.4, 3.0)),
            spend_month_usd=rng.uniform(0, 60),
            pool=rng.choice(VARIED_POOLS),
        )
        features = extract_features(rng.choice(prompts), rng.choice(pii_sets))
        decision = decide(features, signals, POOL_BASE)
        routed = "none" if decision.target == "blocked" else decision.target
        tier = routed if rng.random() > 0.15 else rng.choice(("local", "pool", "cloud", "none"))
        ran = tier != "none" and rng.random() > 0.1
        tokens = (rng.randint(5, 300), rng.randint(5, 900)) if ran else (0, 0)
        cpu = tokens[1] * rng.uniform(0.02, 0.2) if tier == "local" and ran else 0.0
        cost = {"local": cpu * CPU_USD, "pool": tokens[1] * rng.uniform(1e-6, 5e-5)}.get(
            tier, (tokens[0] * 1.0 + tokens[1] * 2.0) / 1e6
        )
        trace = decision.to_dict()
        compact: str | None = encode_inputs(decision)
        layout = rng.choice(("v3", "v3", "v2", "trace", "old-trace", "junk"))
        if layout in ("v2", "old-trace"):
            # Recorded before the pool signals: the trace has none and the decision saw no pool.
            decision = decide(features, replace(signals, pool=PoolSignals()), POOL_BASE)
            trace = decision.to_dict()
            del trace["signals"]["pool"]
            compact = _as_version_2(encode_inputs(decision))
        if layout in ("trace", "old-trace", "junk"):
            compact = None
        record = _record(number, SIMPLE, tier if tier != "none" else "none")
        rows.append(
            replace(
                record,
                request_id=f"v{number}",
                decision_json="{}" if layout == "junk" else json.dumps(trace),
                inputs_json=compact,
                routed_tier=routed,
                tokens_in=tokens[0],
                tokens_out=tokens[1],
                cpu_seconds=cpu,
                cost_usd=cost,
                counterfactual_usd=None
                if rng.random() < 0.1
                else (tokens[0] + 2 * tokens[1]) / 1e6,
            )
        )
    return rows


def _expected_pool(recorded: PoolSignals, config: Config) -> PoolSignals:
    """The pool a config would have given a row, written from the rules (the slow path)."""
    servers = [(server.name, server.trusted) for server in config.pool.servers]
    if [(name, trusted) for name, trusted, _ in recorded.servers] == servers:
        return recorded
    if not servers:
        return PoolSignals()
    known = {name: state for name, _, state in recorded.servers}

    def pick(trusted_only: bool, previous: str) -> tuple[str, bool]:
        usable = [
            (name, known.get(name, "ok"))
            for name, trusted in servers
            if known.get(name, "ok") != "out" and (trusted or not trusted_only)
        ]
        healthy = [item for item in usable if item[1] != "down"] or usable
        room = [name for name, state in healthy if state != "full"]
        if not room:
            return "", bool(healthy)
        return (previous if previous in room else room[0]), False

    server, full = pick(False, recorded.server)
    trusted_server, trusted_full = pick(True, recorded.trusted_server)
    return PoolSignals(
        configured=True,
        server=server,
        trusted_server=trusted_server,
        full=full,
        trusted_full=trusted_full,
        servers=tuple((name, trusted, known.get(name, "ok")) for name, trusted in servers),
    )


def _slow_whatif(
    rows: list[LedgerRecord],
    base: Config,
    changed: Config,
    evidence: dict[str, TierEvidence],
) -> dict[str, object]:
    """What-if the plain way: every row decided by `decide` from its full trace, then priced."""
    from policies.router import Decision, pool_server

    inputs: list[tuple[Features, Signals, bool] | None] = []
    for row in rows:
        try:
            decision = Decision.from_dict(json.loads(row.decision_json))
        except ValueError:
            inputs.append(None)
            continue
        stored = json.loads(row.decision_json)["signals"]
        recorded = "servers" in stored.get("pool", {})
        if row.inputs_json is not None and json.loads(row.inputs_json)[0] == 2:
            recorded = False
        inputs.append((decision.features, decision.signals, recorded))

    def signals_under(item: tuple[Features, Signals, bool], config: Config) -> Signals:
        _, signals, recorded = item
        pool = _expected_pool(signals.pool, config) if recorded else PoolSignals()
        return replace(signals, pool=pool)

    def target(item: tuple[Features, Signals, bool] | None, config: Config) -> str | None:
        if item is None:
            return None
        return decide(item[0], signals_under(item, config), config).target

    befores = [target(item, base) for item in inputs]
    afters = [target(item, changed) for item in inputs]
    costs = ConfigCostModel.of(changed)
    local = [r for r in rows if r.tier == "local" and r.cpu_seconds > 0 and r.tokens_out > 0]
    cpu_per_token = sum(r.cpu_seconds for r in local) / sum(r.tokens_out for r in local)
    pooled = [r for r in rows if r.tier == "pool" and r.tokens_out > 0]
    pool_per_token = sum(r.cost_usd for r in pooled) / sum(r.tokens_out for r in pooled)
    cost = sum(r.cost_usd for r in rows)
    savings = sum(
        r.counterfactual_usd - r.cost_usd for r in rows if r.counterfactual_usd is not None
    )
    transitions: dict[tuple[str, str], int] = {}
    for row, item, before, after in zip(rows, inputs, befores, afters, strict=True):
        if item is None or before is None or after is None or before == after:
            continue
        transitions[(before, after)] = transitions.get((before, after), 0) + 1
        features = item[0]
        tokens_in = row.tokens_in or features.est_tokens
        tokens_out = row.tokens_out or features.expected_output_tokens
        cloud = costs.cloud_usd(tokens_in, tokens_out)
        assert cloud is not None
        if after == "cloud":
            new = cloud
        elif after == "local" and row.tier == "local" and row.cpu_seconds > 0:
            new = row.cpu_seconds * CPU_USD
        elif after == "local":
            new = tokens_out * cpu_per_token * CPU_USD
        elif after == "pool" and row.tier == "pool":
            new = row.cost_usd
        elif after == "pool":
            new = tokens_out * pool_per_token
            assert pool_server(features, signals_under(item, changed), changed)
        else:
            new = 0.0
        cost += new - row.cost_usd
        savings += cloud - new
        if row.counterfactual_usd is not None:
            savings -= row.counterfactual_usd - row.cost_usd

    def quality(routed: list[str]) -> tuple[int, int]:
        judged = good = 0
        for item, tier in zip(found, routed, strict=True):
            verdict = {"local": item.local_good, "cloud": item.cloud_good}.get(tier)
            if verdict is not None:
                judged, good = judged + 1, good + verdict
        return judged, good

    found, base_routes, changed_routes = [], [], []
    for row, item in zip(rows, inputs, strict=True):
        if row.request_id in evidence and item is not None:
            known = evidence[row.request_id]
            features = replace(item[0], override=None) if known.eval_pair else item[0]
            found.append(known)
            for config, routes in ((base, base_routes), (changed, changed_routes)):
                routes.append(decide(features, signals_under(item, config), config).target)
    decided = sum(item is not None for item in inputs)
    return {
        "total": len(rows),
        "unreadable": len(rows) - decided,
        "transitions": sorted(transitions.items()),
        "shares": {
            tier: (befores.count(tier), afters.count(tier)) for tier in ("local", "pool", "cloud")
        },
        "cost_before_usd": sum(r.cost_usd for r in rows),
        "cost_after_usd": cost,
        "savings_after_usd": savings,
        "quality": (quality(base_routes), quality(changed_routes)),
    }


def _fast_view(result: WhatIfResult) -> dict[str, object]:
    """The fast result in `_slow_whatif`'s shape."""
    assert result.quality_before is not None and result.quality_after is not None
    return {
        "total": result.total,
        "unreadable": result.unreadable,
        "transitions": [((before, after), n) for before, after, n in result.transitions],
        "shares": {
            "local": (result.local_before, result.local_after),
            "pool": (result.pool_before, result.pool_after),
            "cloud": (result.cloud_before, result.cloud_after),
        },
        "cost_before_usd": pytest.approx(result.cost_before_usd, rel=1e-9),
        "cost_after_usd": pytest.approx(result.cost_after_usd, rel=1e-9),
        "savings_after_usd": pytest.approx(result.savings_after_usd, rel=1e-9),
        "quality": (
            (result.quality_before.judged, result.quality_before.good),
            (result.quality_after.judged, result.quality_after.good),
        ),
    }


FAST_SLOW_CONFIGS = [
    POOL_BASE,
    BASE,
    with_changes(POOL_BASE, {"router.complexity_threshold": "0.3"}),
    with_changes(POOL_BASE, {"router.complexity_threshold": "0.9", "pii.on_pii": "redact"}),
    with_changes(POOL_BASE, {"pii.on_pii": "block", "router.default_tier": "cloud"}),
    with_changes(POOL_BASE, {"router.max_local_cpu": "50", "budget.daily_usd": "0.3"}),
    _config(("lab-a", False, 3.6), ("lab-b", False, 7.2)),
    _config(("lab-c", True, 1.0), ("lab-b", False, 7.2)),
    _config(("lab-b", False, 7.2), extra='\n[pool]\nroute = "burst_only"\n'),
]


def test_the_fast_path_decides_and_prices_exactly_as_the_full_traces(tmp_path: Path) -> None:
    import random

    rows = _varied_history(500, seed=12)
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path) as ledger:
        assert ledger.record_many(rows)
    rng = random.Random(3)
    evidence = {
        row.request_id: TierEvidence(
            rng.choice((True, False, None)), rng.choice((True, False, None)), rng.random() < 0.3
        )
        for row in rng.sample(rows, 120)
    }
    with Ledger.open(path, read_only=True) as ledger:
        history = read_history(ledger.iter_history())
    layouts = {row.inputs_json[:2] if row.inputs_json else row.decision_json[:2] for row in rows}
    assert layouts == {"[3", "[2", '{"', "{}"}
    tiers = {tier for row in rows if (tier := row.tier)}
    assert tiers == {"local", "pool", "cloud", "none"}
    moved = 0
    for base in FAST_SLOW_CONFIGS[:2]:
        for changed in FAST_SLOW_CONFIGS:
            fast = whatif(history, base, changed, evidence=evidence)
            assert _slow_whatif(rows, base, changed, evidence) == _fast_view(fast)
            moved += fast.changed
            # A sweep decides each row twice in all, whatever the number of settings.
            values = [0.0, 0.35, 0.6, 1.0]
            points = sweep(
                history,
                base,
                [
                    (v, with_changes(changed, {"router.complexity_threshold": str(v)}))
                    for v in values
                ],
                evidence=evidence,
            )
            for value, point in zip(values, points, strict=True):
                one = with_changes(changed, {"router.complexity_threshold": str(value)})
                assert point.result == whatif(history, base, one, evidence=evidence)
    assert moved > 500  # the configs move rows in every direction, not a few


async def test_a_real_pool_request_records_its_pool_and_a_what_if_re_decides_it(
    tmp_path: Path,
) -> None:
    """Real server processes, the real runtime and dispatcher: the ledger row carries the pool
    signals (version 3), and a what-if without the pool moves it."""
    import sqlite3

    from tests.pool_servers import FakeServers
    from tests.test_pool_dispatch import PLAIN_PROMPT, make_runtime

    fakes = FakeServers(tmp_path)
    try:
        vault, lab = fakes.start("vault"), fakes.start("lab")
        runtime = await make_runtime(tmp_path, vault, lab, "local")
        try:
            result = await runtime.dispatcher.run(PLAIN_PROMPT)
        finally:
            await runtime.aclose()
    finally:
        fakes.close()
    assert (result.tier, result.server) in {("pool", "vault"), ("pool", "lab")}
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        (compact,) = db.execute("SELECT inputs_json FROM requests").fetchone()
    stored = decode_row(compact)
    assert stored.pool_recorded
    assert stored.signals.pool.servers == (("vault", True, "ok"), ("lab", False, "ok"))
    config = parse_config((tmp_path / "config.toml").read_text(encoding="utf-8"))
    without = config.model_copy(update={"pool": type(config.pool)()})
    with Ledger.open(path, read_only=True) as ledger:
        history = read_history(ledger.iter_history())
    same = whatif(history, config, config)
    assert (same.changed, same.pool_before, same.pool_after) == (0, 1, 1)
    # No pool and no cloud key: the local engine takes it, priced at an assumed CPU rate.
    moved = whatif(history, config, without)
    assert moved.transitions == (("pool", "local", 1),)
    assert moved.local_cpu_estimated == 1 and "assumed" in moved.local_cpu_basis


async def test_the_pool_reports_each_servers_availability_as_the_router_records_it(
    tmp_path: Path,
) -> None:
    """Free, full (at max_inflight), down (failed its health check) and out (breaker open)."""
    import asyncio

    from engines.base import Chunk, GenerationRequest, Message
    from engines.pool import PoolEngine
    from engines.pool_settings import PoolServer, PoolSettings
    from policies.config import BreakerConfig
    from tests.pool_servers import FakeServers

    fakes = FakeServers(tmp_path)
    try:
        free, busy = fakes.start("free"), fakes.start("busy", token_delay=0.5, tokens=40)
        tripped, gone = fakes.start("tripped"), fakes.start("gone")
        tripped.kill()
        gone.kill()
        servers = (
            PoolServer(name="tripped", base_url=tripped.base_url, model="m"),
            PoolServer(name="free", base_url=free.base_url, model="m"),
            PoolServer(
                name="busy", base_url=busy.base_url, model="m", max_inflight=1, trusted=True
            ),
            PoolServer(name="gone", base_url=gone.base_url, model="m"),
        )
        pool = PoolEngine(
            PoolSettings(servers=servers, strategy="round_robin"),
            BreakerConfig(failure_threshold=1, cooldown_s=600),
        )
        request = GenerationRequest((Message("user", "hi"),), max_tokens=40, temperature=0.0)
        try:
            assert [state for _, _, state in pool.availability()] == ["ok"] * 4
            # Round robin starts with "tripped": it fails, its breaker opens, "free" answers.
            async for _ in pool.stream(request):
                pass
            await pool.refresh()
            assert pool.availability() == (
                ("tripped", False, "out"),
                ("free", False, "ok"),
                ("busy", True, "ok"),
                ("gone", False, "down"),
            )
            stream = pool.stream(request, trusted_only=True)  # only "busy" is trusted
            first = await asyncio.wait_for(anext(stream), timeout=30)
            assert isinstance(first, Chunk)
            assert pool.availability()[2] == ("busy", True, "full")
            await stream.aclose()
        finally:
            await pool.aclose()
    finally:
        fakes.close()


def test_the_garbage_collector_is_paused_only_while_a_history_is_read_and_decided(
    history: Ledger,
) -> None:
    import gc
    import sqlite3

    from console.ledger import HistoryRow

    seen: list[bool] = []

    def rows() -> Iterator[HistoryRow]:
        for row in history.iter_history():
            seen.append(gc.isenabled())
            yield row

    def broken() -> Iterator[HistoryRow]:
        yield from rows()
        raise sqlite3.DatabaseError("disk I/O error")

    assert gc.isenabled()
    whatif(rows(), BASE, BASE)
    assert seen == [False] * 10 and gc.isenabled()
    with pytest.raises(sqlite3.DatabaseError):
        sweep(broken(), BASE, [(0.5, BASE)])
    assert gc.isenabled()
    gc.disable()
    try:
        whatif(history.iter_history(), BASE, BASE)
        assert not gc.isenabled()  # the caller's choice stands
    finally:
        gc.enable()
