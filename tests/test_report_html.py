"""`switchboard report --html`: a real ledger file in, one self-contained, escaped page out."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path

from console.ledger import Ledger, LedgerRecord, RoutedTier, prompt_hash
from console.report_html import QualityPoint, gather, render
from policies.config import Config, LedgerConfig
from policies.features import extract_features
from policies.router import Signals, decide
from policies.trace_inputs import encode_inputs

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script></td><img src=x onerror=alert(1)> \x1b[31mred\x1b[0m & co'
VOID = {"meta", "img", "br", "hr", "input", "link", "rect", "circle", "line", "polyline"}


def record(
    ts: float,
    tier: RoutedTier,
    *,
    prompt: str = "Summarize the incident report.",
    pii: tuple[str, ...] = (),
    cost: float = 0.0,
    counterfactual: float = 0.001,
    rule: str = "default",
    status: str = "ok",
    fallback: str = "",
    error_class: str | None = None,
) -> LedgerRecord:
    """One ledger row whose compact inputs carry the PII types, as the dispatcher writes them."""
    decision = decide(extract_features(prompt, pii), Signals(), Config())
    return LedgerRecord(
        ts=ts,
        session="test",
        request_id=uuid.uuid4().hex,
        prompt_hash=prompt_hash(prompt),
        prompt_text=prompt,
        decision_json=json.dumps(decision.to_dict()),
        inputs_json=encode_inputs(decision),
        routed_tier=tier,
        tier=tier,
        fallback_path=fallback,
        fired_rule=rule,
        model="gpt-4o-mini" if tier == "cloud" else "gemma-3-270m",
        tokens_in=100,
        tokens_out=50,
        usage_estimated=False,
        ttft_s=0.2,
        latency_s=1.0,
        tokens_per_s=40.0,
        cpu_seconds=1.0,
        cost_usd=cost,
        counterfactual_usd=counterfactual,
        cost_known=True,
        status=status,  # type: ignore[arg-type]
        error_class=error_class,
        redacted=False,
        pii_count=len(pii),
    )


def fill(path: Path, now: float) -> None:
    """Six requests over two days: local and cloud, PII, a fallback, a failure, a hostile prompt."""
    with Ledger.open(path) as ledger:
        assert ledger.record_many(
            [
                record(now - 86400 - 60, "local", rule="privacy", pii=("PERSON", "EMAIL_ADDRESS")),
                record(now - 86400, "local", rule="privacy", pii=("PERSON",)),
                record(
                    now - 3000,
                    "cloud",
                    rule="complexity",
                    cost=0.004,
                    counterfactual=0.004,
                    prompt=HOSTILE,
                ),
                record(
                    now - 2000,
                    "local",
                    rule="complexity",
                    status="fallback",
                    fallback="cloud>local",
                    error_class="EngineUnavailable",
                ),
                record(
                    now - 1000,
                    "none",
                    rule="default",
                    status="failed",
                    error_class="BreakerOpen",
                    counterfactual=0.0,
                ),
                record(now - 500, "local", rule="default", pii=("SECRET",)),
            ]
        )
        # Older than the 7-day window: must not be counted.
        assert ledger.record(record(now - 30 * 86400, "cloud", rule="complexity", cost=1.0))


def run_report(tmp_path: Path, *args: str, config: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.toml").write_text(config)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--config",
            str(tmp_path / "config.toml"),
            "--db",
            str(tmp_path / "ledger.sqlite"),
            "report",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), "XDG_DATA_HOME": str(tmp_path / "data")},
    )


class TagBalance(HTMLParser):
    """Checks that every non-void element is closed in order, and collects the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> TagBalance:
    checker = TagBalance()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == [], (checker.errors, checker.stack)
    return checker


def test_report_is_self_contained_escaped_and_counts_the_window(tmp_path: Path) -> None:
    now = time.time()
    fill(tmp_path / "ledger.sqlite", now)
    out = tmp_path / "report.html"
    done = run_report(tmp_path, "--html", str(out), "--since", "7d")
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (6 requests" in done.stdout
    page = out.read_text(encoding="utf-8")
    assert len(page.encode()) <= 2 * 1024 * 1024
    checker = parsed(page)
    # Self-contained: no script, no external resource of any kind.
    assert not any(tag == "script" for tag, _ in checker.tags)
    assert not any({"src", "href", "srcset"} & set(attrs) for _, attrs in checker.tags)
    assert "@import" not in page and "url(" not in page
    # The hostile prompt is shown as text, never as markup or control codes.
    text = "".join(checker.text)
    assert '<script>alert("x")</script></td><img src=x onerror=alert(1)>' in text
    assert "\x1b" not in page and "onerror=alert(1)>" not in page.replace("&gt;", "")
    assert "red & co" in text
    # The window: six requests, not the 30-day-old one.
    assert "Summary" in text and "6" in text
    tier_row = re.search(r"<tr><td>local</td><td class=num>([\d,]+)</td>", page)
    assert tier_row is not None and tier_row.group(1) == "4"
    # PII by type, each counted once per prompt: PERSON 2, EMAIL_ADDRESS 1, SECRET 1.
    assert "3 prompt(s) contained personal data or secrets" in text
    bars = dict(re.findall(r'text-anchor="end">([A-Z_]+)</text>.*?class="value"[^>]*>(\d+)<', page))
    assert bars["PERSON"] == "2" and bars["EMAIL_ADDRESS"] == "1" and bars["SECRET"] == "1"
    # Rules, fallbacks, failures and the breaker's refusal.
    assert "privacy" in text and "complexity" in text
    assert "cloud → local" in text and "EngineUnavailable" in text and "BreakerOpen" in text
    # Charts are inline SVG with titles; the quality section is there and says it is empty.
    assert page.count("<svg") >= 5
    assert "no quality evidence" in text


def test_prompts_are_hidden_when_the_ledger_keeps_none(tmp_path: Path) -> None:
    now = time.time()
    fill(tmp_path / "ledger.sqlite", now)
    out = tmp_path / "report.html"
    done = run_report(tmp_path, "--html", str(out), config='[ledger]\nstore_prompts = "none"\n')
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "Summarize the incident" not in page and "alert" not in page
    assert 'store_prompts = "none"' in page.replace("&quot;", '"')


def test_empty_ledger_and_missing_ledger_are_one_clear_line(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    missing = run_report(tmp_path, "--html", str(out))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "no ledger here yet" in missing.stderr
    assert not out.exists()
    Ledger.open(tmp_path / "ledger.sqlite").close()
    empty = run_report(tmp_path, "--html", str(out), "--since", "24h")
    assert empty.returncode == 0
    lines = empty.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds no request in the last 24h" in lines[0]
    assert "Traceback" not in empty.stderr
    page = out.read_text(encoding="utf-8")
    parsed(page)
    assert "No requests" in page
    bad = run_report(tmp_path, "--html", str(out), "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_cost_quality_curve_when_evidence_exists(tmp_path: Path) -> None:
    now = time.time()
    fill(tmp_path / "ledger.sqlite", now)
    points = [
        QualityPoint("complexity_threshold=0.3", 0.02, 0.91, 40),
        QualityPoint("complexity_threshold=0.6", 0.01, 0.84, 40),
        QualityPoint("<all local>", 0.0, 0.62, 40),
    ]
    with Ledger.open(tmp_path / "ledger.sqlite") as ledger:
        data = gather(ledger, Config(ledger=LedgerConfig()), "7d", now, quality=points)
    page = render(data)
    checker = parsed(page)
    text = "".join(checker.text)
    assert "no quality evidence" not in text
    assert "&lt;all local&gt;" in page and "<all local>" in text
    assert page.count('class="dot cloud"') == 3
    assert "0.910" in text and "0.620" in text


def test_the_curve_comes_from_ratings_in_the_ledger(tmp_path: Path) -> None:
    from console.evidence import rate

    now = time.time()
    path = tmp_path / "ledger.sqlite"
    rows = [record(now - 60 * i, "local" if i % 2 else "cloud", cost=0.0001) for i in range(6)]
    with Ledger.open(path) as ledger:
        ledger.record_many(rows)
    for index, row in enumerate(rows):
        rate(path, row.request_id, good=index % 3 != 0)
    with Ledger.open(path) as ledger:
        data = gather(ledger, Config(ledger=LedgerConfig()), "7d", now)
        without = gather(ledger, Config(ledger=LedgerConfig()), "7d", now, quality=())
    assert len(data.quality) == 11 and without.quality == ()
    assert all(point.samples > 0 and 0.0 <= point.quality <= 1.0 for point in data.quality)
    assert "no quality evidence" not in "".join(parsed(render(data)).text)
