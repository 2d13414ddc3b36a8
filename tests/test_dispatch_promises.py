"""Promises that survived a mutation check before: each test here fails on one such mutant.

- the latency rule at equality: `decide` and what-if's `decide_target` must agree exactly there;
- placeholders numbered 10 and above are restored in a streamed answer, split anywhere;
- the badge is rendered from the outcome's fields (status, tier, path, redaction), not parsed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from console.outcome import Outcome, badge
from policies.config import Config
from policies.features import extract_features
from policies.pii import PiiEntity, PiiScan, Pseudonymizer
from policies.router import Signals, decide, decide_target


@pytest.mark.parametrize("tps", [25.0, 40.0, 64.0])
def test_the_latency_rule_at_equality_keeps_the_prompt_local_in_both_deciders(tps: float) -> None:
    config = Config()
    router = config.router
    # An answer long enough for the latency rule whose local time is exactly the target.
    expected = int(router.latency_target_s * tps)
    assert expected > router.long_output_tokens
    assert round(expected / tps, 2) == router.latency_target_s
    base = extract_features("Tell me about the history of tea.", [])
    features = replace(base, complexity=0.0, expected_output_tokens=expected)
    signals = Signals(local_tps=tps)
    at_target = decide(features, signals, config)
    latency = next(rule for rule in at_target.rules if rule.name == "latency")
    assert latency.verdict == "pass" and latency.value == latency.threshold
    assert at_target.target == decide_target(features, signals, config) == "local"
    over = replace(features, expected_output_tokens=expected + 1)
    assert decide(over, signals, config).target == decide_target(over, signals, config) == "cloud"
    assert decide(over, signals, config).fired == "latency"


def test_placeholders_numbered_ten_and_above_are_restored_even_split() -> None:
    names = [f"Person{chr(65 + n)} Example" for n in range(12)]
    text = "Invite " + ", ".join(names) + "."
    entities = []
    for name in names:
        start = text.index(name)
        entities.append(PiiEntity("PERSON", start, start + len(name), 0.9))
    pseudonymizer = Pseudonymizer()
    redacted = pseudonymizer.redact(PiiScan(text, tuple(entities)))
    assert "<PERSON_10>" in redacted and "<PERSON_12>" in redacted
    assert not any(name in redacted for name in names)
    answer = "Dear <PERSON_1>, <PERSON_10>, <PERSON_11> and <PERSON_12>: welcome."
    expected = f"Dear {names[0]}, {names[9]}, {names[10]} and {names[11]}: welcome."
    assert pseudonymizer.restore(answer) == expected
    for size in (1, 2, 3, 7):
        restorer = pseudonymizer.restorer()
        pieces = [restorer.feed(answer[i : i + size]) for i in range(0, len(answer), size)]
        assert "".join(pieces) + restorer.flush() == expected, size


@pytest.mark.parametrize(
    ("outcome", "label", "kind"),
    [
        (Outcome("ok", "local", ("local",), redacted=False), "LOCAL", "local"),
        (Outcome("ok", "cloud", ("cloud",), redacted=False), "CLOUD", "cloud"),
        (Outcome("ok", "cloud", ("cloud",), redacted=True), "CLOUD·redacted", "redacted"),
        (
            Outcome("fallback", "cloud", ("local", "cloud"), False),
            "FALLBACK local→cloud",
            "fallback",
        ),
        (
            Outcome("fallback", "local", ("cloud", "local"), True),
            "FALLBACK cloud→local",
            "fallback",
        ),
        (Outcome("failed", "local", ("local",), redacted=False), "FAILED", "failed"),
        (Outcome("cancelled", "cloud", ("cloud",), redacted=True), "CANCELLED", "cancelled"),
        (Outcome("interrupted", "none", (), redacted=False), "INTERRUPTED", "interrupted"),
        (Outcome("blocked", "none", (), redacted=False), "BLOCKED", "blocked"),
    ],
)
def test_the_badge_comes_from_the_outcome_fields(outcome: Outcome, label: str, kind: str) -> None:
    shown = badge(outcome)
    assert (shown.label, shown.kind) == (label, kind)
