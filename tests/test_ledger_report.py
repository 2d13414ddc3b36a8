"""The ledger report: totals checked against the raw records, projection, JSON docs, CLI."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import sys
from datetime import datetime
from pathlib import Path

import pytest

from console.cli import main
from console.ledger import Ledger, LedgerRecord
from console.ledger_report import MONTH_DAYS, build_report, parse_since
from policies.config import BudgetConfig, Config, EconomicsConfig
from tests.test_ledger import make_record

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 6, 15, 14, 37, 12).timestamp()  # mid-hour: windows start mid-hour too


def _random_records(count: int, seed: int = 3) -> list[LedgerRecord]:
    rng = random.Random(seed)
    recs = []
    for _ in range(count):
        tier = rng.choice(["local", "local", "cloud", "none"])
        known = rng.random() > 0.1
        recs.append(
            make_record(
                NOW - rng.uniform(0, 12 * 86400),
                tier=tier,
                cost=round(rng.uniform(0, 0.01), 6) if known else 0.0,
                counterfactual=None if rng.random() < 0.1 else round(rng.uniform(0, 0.02), 6),
                cost_known=known,
                status=rng.choice(["ok", "ok", "fallback", "failed", "cancelled", "blocked"]),
                fallback_path=rng.choice(["", "", "local>cloud"]),
                tokens_in=rng.randint(1, 500),
                tokens_out=rng.randint(0, 300),
                cpu_seconds=rng.uniform(0, 5),
            )
        )
    return recs


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[LedgerRecord]]:
    path = tmp_path_factory.mktemp("report") / "ledger.sqlite"
    recs = _random_records(3000)
    with Ledger.open(path) as ledger:
        half = len(recs) // 2
        assert ledger.record_many(recs[:half])
        for rec in recs[half:]:  # one by one too: both paths keep the rollup
            assert ledger.record(rec)
    return path, recs


@pytest.mark.parametrize("since", ["24h", "36h", "7d", "all"])
def test_totals_match_the_records(filled: tuple[Path, list[LedgerRecord]], since: str) -> None:
    path, recs = filled
    window = parse_since(since)
    inside = [r for r in recs if window is None or r.ts >= NOW - window]
    with Ledger.open(path) as ledger:
        report = build_report(ledger, Config(), since, NOW)
    assert report.requests == len(inside)
    by_tier = {t.tier: t for t in report.by_tier}
    for tier in ("local", "cloud", "none"):
        mine = [r for r in inside if r.tier == tier]
        assert by_tier[tier].requests == len(mine)
        assert by_tier[tier].tokens_in == sum(r.tokens_in for r in mine)
        assert by_tier[tier].cost_usd == pytest.approx(sum(r.cost_usd for r in mine))
        assert by_tier[tier].cpu_seconds == pytest.approx(sum(r.cpu_seconds for r in mine))
        assert by_tier[tier].unpriced == sum(not r.cost_known for r in mine)
    assert report.fallbacks == sum(r.fallback_path != "" for r in inside)
    assert report.local_share == pytest.approx(sum(r.tier == "local" for r in inside) / len(inside))
    assert report.savings_usd == pytest.approx(
        sum(
            r.counterfactual_usd - r.cost_usd
            for r in inside
            if r.cost_known and r.counterfactual_usd is not None
        )
    )
    assert report.by_status == {
        status: sum(r.status == status for r in inside)
        for status in sorted({r.status for r in inside})
    }
    assert sum(day.requests for day in report.daily) == len(inside)
    expected_top = sorted(inside, key=lambda r: (r.cost_usd, r.ts), reverse=True)[:5]
    assert [t.request_id for t in report.top_prompts] == [r.request_id for r in expected_top]


def test_projection_and_break_even(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.record(make_record(NOW - 10 * 86400, cost=0.1, counterfactual=1.1))
        config = Config(economics=EconomicsConfig(capex=MONTH_DAYS / 10 * 10, opex_per_month=0))
        projection = build_report(ledger, config, "all", NOW).projection
        assert projection.span_days == pytest.approx(10)
        assert projection.monthly_run_rate_usd == pytest.approx(0.1 / 10 * MONTH_DAYS)
        assert projection.cloud_only_run_rate_usd == pytest.approx(1.1 / 10 * MONTH_DAYS)
        assert projection.break_even_months == pytest.approx(10)
        assert projection.break_even_month == "2027-04"
        costly = Config(economics=EconomicsConfig(capex=5000, opex_per_month=MONTH_DAYS / 10))
        never = build_report(ledger, costly, "all", NOW).projection
        assert never.break_even_months is None and never.break_even_month is None
        huge = Config(economics=EconomicsConfig(capex=1e9, opex_per_month=0))
        distant = build_report(ledger, huge, "all", NOW).projection
        assert distant.break_even_months is not None and distant.break_even_months > 1200
        assert distant.break_even_month is None


def test_unknown_prices_are_reported_not_free(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.record(make_record(NOW - 60, tier="cloud", cost=0.0, cost_known=False))
        ledger.record(make_record(NOW - 60, tier="local", cost=0.001, counterfactual=0.003))
        report = build_report(ledger, Config(), "24h", NOW)
    assert report.unpriced_requests == 1
    assert report.savings_usd == pytest.approx(0.002)


def test_top_prompts_show_text_or_hash_and_budget(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.record(make_record(NOW - 3 * 86400, tier="cloud", cost=9.0))  # outside 24h
        hidden = make_record(NOW - 7200, tier="cloud", cost=0.8, prompt_text=None)
        ledger.record(hidden)
        ledger.record(make_record(NOW - 600, tier="cloud", cost=0.1, prompt="cheap one"))
        config = Config(budget=BudgetConfig(daily_usd=1.0, monthly_usd=100.0, warn_fraction=0.8))
        report = build_report(ledger, config, "24h", NOW)
    assert [t.prompt for t in report.top_prompts] == [f"sha256:{hidden.prompt_hash}", "cheap one"]
    assert report.budget.daily_used_usd == pytest.approx(0.9)
    assert report.budget.monthly_used_usd == pytest.approx(9.9)
    assert report.budget.warning and not report.budget.exhausted


def _key_paths(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        paths = set()
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths |= {path} | _key_paths(inner, path)
        return paths
    if isinstance(value, list) and value:
        return _key_paths(value[0], f"{prefix}[]")
    return set()


def test_every_json_key_is_documented(filled: tuple[Path, list[LedgerRecord]]) -> None:
    with Ledger.open(filled[0]) as ledger:
        data = build_report(ledger, Config(), "all", NOW).to_dict()
    text = (REPO / "docs" / "ledger.md").read_text(encoding="utf-8")
    section = text.split("## Ledger report (JSON)", 1)[1]
    documented = set(re.findall(r"`([a-z_\[\].]+)`", section))
    assert _key_paths(data) - documented == set()
    json.dumps(data)


def test_csv_is_spend_by_day_and_tier(filled: tuple[Path, list[LedgerRecord]]) -> None:
    with Ledger.open(filled[0]) as ledger:
        report = build_report(ledger, Config(), "7d", NOW)
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [(r["day"], r["tier"], int(r["requests"])) for r in rows] == [
        (d.day, d.tier, d.requests) for d in report.daily
    ]


def _run(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["switchboard", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return int(exited.value.code or 0)


def test_cli_ledger_outputs(
    filled: tuple[Path, list[LedgerRecord]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path, recs = filled
    monkeypatch.chdir(tmp_path)  # no ./config.toml: built-in defaults
    assert _run(monkeypatch, "--db", str(path), "ledger", "--since", "all", "--json") == 0
    assert json.loads(capsys.readouterr().out)["requests"] == len(recs)
    assert _run(monkeypatch, "--db", str(path), "ledger", "--csv") == 0
    assert capsys.readouterr().out.startswith("day,tier,requests,cost_usd")
    assert _run(monkeypatch, "--db", str(path), "ledger", "--since", "all") == 0
    assert f"{len(recs)} request(s)" in capsys.readouterr().out
    assert _run(monkeypatch, "--db", str(path), "ledger", "--json", "--csv") == 2
    assert _run(monkeypatch, "--db", str(path), "ledger", "--since", "soon") == 2
    assert "'soon': expected" in capsys.readouterr().err
    missing = tmp_path / "none.sqlite"
    assert _run(monkeypatch, "--db", str(missing), "ledger") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err
    assert not missing.exists()
