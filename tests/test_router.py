"""The router: every rule firing and being skipped, fallback chains, the trace, its round trip."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from policies.config import Config, with_changes
from policies.features import Features, extract_features
from policies.router import (
    RULE_NAMES,
    Decision,
    Signals,
    cloud_task_mass,
    decide,
    decide_target,
    signals_from_dict,
)

REPO = Path(__file__).resolve().parent.parent
SIMPLE = "Hi there, how are you today?"
COMPLEX = (
    "Prove step by step that the sum of the first n odd numbers is n squared, in a detailed report."
)
#: The task rule never acts (no type reaches probability 1): the complexity rule decides.
NO_TASK_RULE = {"router__tasks__min_confidence": 1.0}
LONG = "Write a 1500 words story about a lighthouse keeper."
NO_KEY = Signals(
    cloud_available=False, cloud_unavailable_reason="no API key ($OPENAI_API_KEY unset)"
)
BREAKER_OPEN = Signals(cloud_state="open")
BASE = Config()
IDLE = Signals()


def config(**changes: str | int | float | bool) -> Config:
    return with_changes(BASE, {key.replace("__", "."): value for key, value in changes.items()})


def rule(decision: Decision, name: str) -> tuple[str, str]:
    found = next(r for r in decision.rules if r.name == name)
    return found.verdict, found.why


def route(
    prompt: str, signals: Signals = IDLE, cfg: Config = BASE, pii: tuple[str, ...] = ()
) -> Decision:
    decision = decide(extract_features(prompt, pii), signals, cfg)
    assert decide_target(decision.features, signals, cfg) == decision.target
    return decision


def test_default_rule_fires_for_a_simple_prompt() -> None:
    decision = route(SIMPLE)
    assert (decision.target, decision.fired, decision.chain) == (
        "local",
        "default",
        ("local", "cloud"),
    )
    assert [r.verdict for r in decision.rules[:-1]] == ["pass"] * (len(RULE_NAMES) - 1)
    cloud_default = route(SIMPLE, cfg=config(router__default_tier="cloud"))
    assert (cloud_default.target, cloud_default.chain) == ("cloud", ("cloud", "local"))


def test_default_cloud_without_a_key_stays_local_and_says_why() -> None:
    decision = route(SIMPLE, NO_KEY, config(router__default_tier="cloud"))
    assert (decision.target, decision.fired, decision.chain) == ("local", "default", ("local",))
    assert "no API key ($OPENAI_API_KEY unset)" in rule(decision, "default")[1]


def test_override_prefixes_fire_first_and_do_not_fall_back() -> None:
    local = route("/local " + COMPLEX)
    assert (local.target, local.fired, local.chain) == ("local", "override", ("local",))
    cloud = route("/cloud " + SIMPLE)
    assert (cloud.target, cloud.fired, cloud.chain) == ("cloud", "override", ("cloud",))
    assert all(r.verdict == "skip" and r.why.startswith("not reached") for r in cloud.rules[1:])


def test_cloud_override_is_skipped_when_the_cloud_cannot_take_it() -> None:
    for signals, reason in ((NO_KEY, "no API key"), (BREAKER_OPEN, "breaker open")):
        decision = route("/cloud " + SIMPLE, signals)
        verdict, why = rule(decision, "override")
        assert verdict == "skip"
        assert why.startswith("/cloud ignored: ") and reason in why
        assert (decision.target, decision.chain) == ("local", ("local",))
    spent = route("/cloud " + SIMPLE, Signals(spend_today_usd=5.0))
    assert rule(spent, "override")[0] == "skip"
    assert (spent.target, spent.fired) == ("local", "budget")


def test_privacy_local_never_chains_to_the_cloud() -> None:
    hostile = [
        Signals(),
        Signals(local_ready=False),
        Signals(local_queue_depth=50, local_cpu_pct=100.0),
        Signals(local_ready=False, local_queue_depth=50, local_cpu_pct=100.0, local_tps=1.0),
    ]
    for signals, prompt in itertools.product(hostile, (SIMPLE, COMPLEX, LONG, "/cloud " + COMPLEX)):
        decision = route(prompt, signals, pii=("PERSON", "EMAIL_ADDRESS"))
        assert decision.target == "local"
        assert decision.chain == ("local",)
        assert decision.fired == "privacy"
        assert not decision.redact
        assert rule(decision, "privacy") == (
            "local",
            "2 PII entities (EMAIL_ADDRESS, PERSON): pii.on_pii = local keeps it on this machine",
        )
    forced = route("/cloud " + SIMPLE, pii=("PERSON",))
    assert rule(forced, "override")[0] == "skip"
    assert "pii.on_pii = local" in rule(forced, "override")[1]


def test_privacy_block_refuses_even_an_override() -> None:
    cfg = config(pii__on_pii="block")
    for prompt in (SIMPLE, "/local " + SIMPLE, "/cloud " + SIMPLE):
        decision = route(prompt, cfg=cfg, pii=("US_SSN",))
        assert (decision.target, decision.chain, decision.fired) == ("blocked", (), "privacy")
        assert rule(decision, "privacy")[0] == "block"
    assert route(SIMPLE, cfg=cfg).target == "local"


def test_privacy_redact_lets_the_prompt_go_to_the_cloud_redacted() -> None:
    cfg = config(pii__on_pii="redact")
    complex_pii = route(COMPLEX, cfg=cfg, pii=("PERSON",))
    assert rule(complex_pii, "privacy")[0] == "pass"
    assert (complex_pii.target, complex_pii.fired) == ("cloud", "task")
    assert complex_pii.chain == ("cloud", "local")
    assert complex_pii.redact
    simple_pii = route(SIMPLE, cfg=cfg, pii=("PERSON",))
    assert (simple_pii.target, simple_pii.chain, simple_pii.redact) == (
        "local",
        ("local", "cloud"),
        True,
    )
    offline = route(SIMPLE, NO_KEY, cfg, pii=("PERSON",))
    assert (offline.chain, offline.redact) == (("local",), False)
    assert not route(COMPLEX, cfg=cfg).redact


@pytest.mark.parametrize(
    "signals",
    [Signals(spend_today_usd=2.0), Signals(spend_month_usd=40.5), Signals(spend_today_usd=0.01)],
)
def test_budget_exhausted_keeps_everything_local(signals: Signals) -> None:
    cfg = config(budget__daily_usd=0.01) if signals.spend_today_usd == 0.01 else BASE
    decision = route(COMPLEX, Signals(**{**signals.to_dict(), "local_cpu_pct": 100.0}), cfg)
    assert (decision.target, decision.fired, decision.chain) == ("local", "budget", ("local",))
    verdict, why = rule(decision, "budget")
    assert verdict == "local" and "cloud budget used up" in why
    used = next(r for r in decision.rules if r.name == "budget").value
    assert isinstance(used, float) and used >= 1.0


def test_budget_with_room_passes_and_shows_the_spend() -> None:
    decision = route(SIMPLE, Signals(spend_today_usd=1.5, spend_month_usd=3.0))
    verdict, why = rule(decision, "budget")
    assert verdict == "pass"
    assert why == "$1.50 of $2.00 today, $3.00 of $40.00 this month"
    assert next(r for r in decision.rules if r.name == "budget").value == 0.75


@pytest.mark.parametrize(
    ("name", "signals"),
    [
        ("local_ready", Signals(local_ready=False)),
        ("local_queue", Signals(local_queue_depth=3)),
        ("local_cpu", Signals(local_cpu_pct=99.0)),
    ],
)
def test_local_load_bursts_to_the_cloud_or_is_skipped(name: str, signals: Signals) -> None:
    burst = route(SIMPLE, signals)
    assert (burst.target, burst.fired, burst.chain) == ("cloud", name, ("cloud", "local"))
    blocked = route(SIMPLE, replace(signals, cloud_state="open"))
    assert rule(blocked, name)[0] == "skip"
    assert rule(blocked, name)[1].endswith("but breaker open")
    assert (blocked.target, blocked.fired, blocked.chain) == ("local", "default", ("local",))


def test_load_at_the_threshold_does_not_burst() -> None:
    decision = route(SIMPLE, Signals(local_queue_depth=2, local_cpu_pct=95.0))
    assert rule(decision, "local_queue")[0] == "pass"
    assert rule(decision, "local_cpu")[0] == "pass"


def test_complexity_at_or_above_the_threshold_goes_to_the_cloud() -> None:
    features = extract_features(COMPLEX)
    assert features.complexity >= 0.6
    base = config(**NO_TASK_RULE)
    decision = route(COMPLEX, cfg=base)
    assert (decision.target, decision.fired) == ("cloud", "complexity")
    found = next(r for r in decision.rules if r.name == "complexity")
    assert (found.value, found.threshold) == (features.complexity, 0.6)
    assert "task" in found.why
    exact = route(
        COMPLEX, cfg=config(router__complexity_threshold=features.complexity, **NO_TASK_RULE)
    )
    assert exact.fired == "complexity"
    above = route(COMPLEX, cfg=config(router__complexity_threshold=0.99, **NO_TASK_RULE))
    assert rule(above, "complexity")[0] == "pass"
    skipped = route(COMPLEX, NO_KEY, cfg=base)
    assert rule(skipped, "complexity")[0] == "skip"
    assert "no API key" in rule(skipped, "complexity")[1]


def test_task_rule_follows_the_capability_profile() -> None:
    features = extract_features(COMPLEX)
    assert features.task == "math" and features.task_probability >= 0.5
    decision = route(COMPLEX)
    assert (decision.target, decision.fired) == ("cloud", "task")
    found = next(r for r in decision.rules if r.name == "task")
    assert (found.value, found.threshold) == (cloud_task_mass(features, BASE), 0.5)
    assert found.value >= features.task_probability
    assert found.why.startswith(f"math {features.task_probability:.2f}")
    assert "cloud types (router.tasks)" in found.why
    # The profile says local: the rule passes and the later rules decide.
    local = route(COMPLEX, cfg=config(router__tasks__math="local", **NO_TASK_RULE))
    assert rule(local, "task")[0] == "pass"
    # A number: local only when the head is at least that sure of the type.
    sure = route(COMPLEX, cfg=config(router__tasks__math=0.01, router__complexity_threshold=1.0))
    assert rule(sure, "task")[0] == "pass" and sure.fired != "task"
    unsure = route(COMPLEX, cfg=config(router__tasks__math=1.0, router__complexity_threshold=1.0))
    assert (unsure.fired, unsure.target) == ("task", "cloud")
    assert rule(route(COMPLEX, NO_KEY), "task")[0] == "skip"
    chat = route("Hi there, how are you doing today?")
    assert (chat.target, rule(chat, "task")[0]) == ("local", "pass")


def test_the_seeds_three_prompts_route_as_the_seeds_say() -> None:
    weather = route("What's the weather like today?")
    assert weather.target == "local"
    refactor = route(
        "Refactor this Python class to use dependency injection and add unit tests:\n\n"
        "class ReportService:\n"
        "    def __init__(self):\n"
        "        self.db = PostgresClient('prod')\n"
        "        self.mailer = SmtpMailer()\n\n"
        "    def send_monthly(self, user_id):\n"
        "        rows = self.db.query('select * from sales where user=%s' % user_id)\n"
        "        total = sum(r.amount for r in rows)\n"
        "        self.mailer.send(user_id, f'Your total: {total}')\n"
    )
    assert (refactor.target, refactor.fired) == ("cloud", "task")
    assert refactor.features.task == "code"
    complaint = route(
        "I'm furious: my order 4471 arrived broken and nobody answers. Please call me back, "
        "Maria Lopez, on 555-0142 or maria.lopez@example.com.",
        pii=("PERSON", "PHONE_NUMBER", "EMAIL_ADDRESS"),
    )
    assert (complaint.target, complaint.fired) == ("local", "privacy")


def test_latency_rule_weighs_local_speed_against_the_target() -> None:
    features = extract_features(LONG)
    assert features.expected_output_tokens > 400
    assert features.complexity < 0.6
    slow = route(LONG, Signals(local_tps=10.0))
    assert (slow.target, slow.fired) == ("cloud", "latency")
    found = next(r for r in slow.rules if r.name == "latency")
    assert found.value == round(features.expected_output_tokens / 10.0, 2)
    assert found.threshold == 20.0
    assert "measured" in found.why
    fast = route(LONG, Signals(local_tps=1000.0))
    assert rule(fast, "latency")[0] == "pass"
    assumed = route(LONG, cfg=config(router__assumed_local_tps=5.0))
    assert assumed.fired == "latency" and "assumed" in rule(assumed, "latency")[1]
    short = route(SIMPLE, Signals(local_tps=0.5))
    assert rule(short, "latency") == ("pass", "~150 answer tokens <= 400: not a long answer")
    assert rule(route(LONG, Signals(local_tps=10.0, cloud_state="open")), "latency")[0] == "skip"


def test_the_trace_has_the_documented_json_shape() -> None:
    decision = route("/cloud " + COMPLEX, Signals(local_tps=35.5, spend_month_usd=1.25))
    data = json.loads(json.dumps(decision.to_dict()))
    assert set(data) == {"target", "chain", "fired", "rules", "features", "signals", "redact"}
    assert data["target"] == "cloud" and data["chain"] == ["cloud"] and data["fired"] == "override"
    assert [r["name"] for r in data["rules"]] == list(RULE_NAMES)
    for item in data["rules"]:
        assert set(item) == {"name", "value", "threshold", "verdict", "why"}
        assert item["verdict"] in ("local", "cloud", "block", "pass", "skip")
    assert set(data["features"]) == {
        "chars",
        "est_tokens",
        "pii_count",
        "pii_types",
        "complexity",
        "signals",
        "expected_output_tokens",
        "override",
        "task",
        "task_probability",
        "task_top",
        "context_tokens",
        "pii_turns",
        "earlier_turns",
        "local_dropped_turns",
    }
    assert data["signals"] == Signals(local_tps=35.5, spend_month_usd=1.25).to_dict()
    assert signals_from_dict(data["signals"]) == Signals(local_tps=35.5, spend_month_usd=1.25)
    assert data["redact"] is False


def _grid() -> list[tuple[Features, Signals, Config]]:
    prompts = [SIMPLE, COMPLEX, LONG, "/cloud " + SIMPLE, "/local " + COMPLEX]
    piis: list[tuple[str, ...]] = [(), ("PERSON",)]
    signals = [
        Signals(),
        NO_KEY,
        BREAKER_OPEN,
        Signals(cloud_state="half_open", local_tps=5.0),
        Signals(local_ready=False),
        Signals(local_queue_depth=9, spend_today_usd=1.0),
        Signals(local_cpu_pct=99.5, spend_month_usd=41.0),
    ]
    configs = [BASE] + [
        config(**{"pii__on_pii": on_pii, "router__default_tier": tier})
        for on_pii in ("redact", "block")
        for tier in ("local", "cloud")
    ]
    return [
        (extract_features(prompt, pii), sig, cfg)
        for prompt, pii, sig, cfg in itertools.product(prompts, piis, signals, configs)
    ]


def test_round_trip_re_decides_identically_and_chains_are_sound() -> None:
    for features, signals, cfg in _grid():
        decision = decide(features, signals, cfg)
        stored = json.dumps(decision.to_dict())
        again = Decision.from_dict(json.loads(stored))
        redecided = decide(again.features, again.signals, cfg)
        assert redecided.to_dict() == decision.to_dict()
        assert again.to_dict() == decision.to_dict()
        assert decide_target(features, signals, cfg) == decision.target
        if signals.cloud_blocker():
            assert "cloud" not in decision.chain
        if features.pii_count and cfg.pii.on_pii != "redact":
            assert "cloud" not in decision.chain
        assert len(set(decision.chain)) == len(decision.chain)
        assert decision.fired in RULE_NAMES
        assert [r.name for r in decision.rules] == list(RULE_NAMES)


def test_from_dict_rejects_a_malformed_trace() -> None:
    good = route(SIMPLE).to_dict()
    with pytest.raises(ValueError, match="not a decision trace"):
        Decision.from_dict({k: v for k, v in good.items() if k != "features"})
    with pytest.raises(ValueError, match="target"):
        Decision.from_dict({**good, "target": "moon"})
    with pytest.raises(ValueError, match="cloud_state"):
        Decision.from_dict({**good, "signals": {**good["signals"], "cloud_state": "ajar"}})


def test_route_command_prints_the_trace_and_runs_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[cloud]\napi_key_env = "SWITCHBOARD_TEST_ROUTE_KEY"\n', encoding="utf-8")
    secret = "sk-test-do-not-print-0123456789"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SWITCHBOARD_TEST_ROUTE_KEY": secret}
    prompt = "/cloud Write to john.smith@example.com about the invoice"
    command = [sys.executable, "-c", "from console.cli import main; main()", "--config"]
    command += [str(config), "--db", str(tmp_path / "none.sqlite"), "route", prompt, "--json"]
    run = subprocess.run(
        command, cwd=tmp_path, env=env, text=True, capture_output=True, timeout=180, check=False
    )
    assert (run.returncode, run.stderr) == (0, "")
    assert secret not in run.stdout
    data = json.loads(run.stdout)
    assert set(data) == {"target", "chain", "fired", "rules", "features", "signals", "redact"}
    assert [r["name"] for r in data["rules"]] == list(RULE_NAMES)
    assert (data["target"], data["fired"], data["chain"]) == ("local", "privacy", ["local"])
    assert "EMAIL_ADDRESS" in data["features"]["pii_types"]
    assert data["rules"][0]["verdict"] == "skip"
    assert data["signals"]["cloud_available"] is True
    assert not (tmp_path / "none.sqlite").exists()
