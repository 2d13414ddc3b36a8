"""Promises that survived a mutation check before: each test here fails on one such mutant.

- the latency rule at equality: `decide` and what-if's `decide_target` must agree exactly there;
- placeholders numbered 10 and above are restored in a streamed answer, split anywhere;
- the badge is rendered from the outcome's fields (status, tier, path, redaction), not parsed;
- earlier turns are sent redacted exactly when the request is, never unscanned;
- the cloud engine's timings: time to first token within the request, generation speed after it
  (a small loopback server of the test's own, streamed and not streamed).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from console.dispatch import _messages
from console.outcome import Outcome, badge
from engines.base import Chunk, Finished, GenerationRequest, Message
from engines.cloud import CloudEngine
from policies.config import BreakerConfig, CloudConfig, Config
from policies.context import Turn, fit
from policies.features import extract_features
from policies.pii import PiiEntity, PiiScan, Pseudonymizer
from policies.router import Signals, decide, decide_target
from tests.faultproxy import Fault, FaultProxy


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


NAME = "Maria Gonzalez"


def _scanned_turn(prompt: str, answer: str) -> Turn:
    """A turn whose scans found the name wherever it appears."""

    def scan(text: str) -> PiiScan:
        start = text.find(NAME)
        found = (PiiEntity("PERSON", start, start + len(NAME), 0.9),) if start >= 0 else ()
        return PiiScan(text, found)

    return Turn(prompt, answer, "local", scan(prompt), scan(answer))


def test_earlier_turns_go_verbatim_to_a_tier_that_may_see_them_and_redacted_to_others() -> None:
    turns = (
        _scanned_turn(f"Write to {NAME}.", f"Dear {NAME}, hello."),
        _scanned_turn("Shorter please.", "Hello."),
    )
    fitted = fit(turns, "Be brief.", "Thanks.", 10_000, 10)
    plain = _messages("Be brief.", fitted, "Thanks.", None)
    assert [(m.role, m.content) for m in plain] == [
        ("system", "Be brief."),
        ("user", f"Write to {NAME}."),
        ("assistant", f"Dear {NAME}, hello."),
        ("user", "Shorter please."),
        ("assistant", "Hello."),
        ("user", "Thanks."),
    ]
    pseudonymizer = Pseudonymizer()
    redacted = _messages("", fitted, "Thanks.", pseudonymizer)
    assert [m.content for m in redacted] == [
        "Write to <PERSON_1>.",
        "Dear <PERSON_1>, hello.",
        "Shorter please.",
        "Hello.",
        "Thanks.",
    ]
    unscanned = fit((Turn(f"Write to {NAME}.", "Done."),), "", "Thanks.", 10_000, 10)
    assert _messages("", unscanned, "Thanks.", None)[0].content == f"Write to {NAME}."
    with pytest.raises(ValueError, match="never scanned"):
        _messages("", unscanned, "Thanks.", Pseudonymizer())


def _engine(base_url: str) -> CloudEngine:
    settings = {
        "base_url": base_url,
        "model": "m",
        "api_key_env": "SWITCHBOARD_TEST_UNSET_KEY",
        "proxy": "none",
        "max_retries": 0,
    }
    return CloudEngine(CloudConfig.model_validate(settings), BreakerConfig(), demo=True)


@pytest.mark.parametrize("streamed", [True, False])
async def test_cloud_timings_lie_within_the_request(streamed: bool) -> None:
    usage = {"prompt_tokens": 4, "completion_tokens": 3}
    if streamed:
        events = (
            json.dumps({"choices": [{"delta": {"content": "One two"}}]}),
            json.dumps({"choices": [{"delta": {"content": " three"}, "finish_reason": "stop"}]}),
            json.dumps({"choices": [], "usage": usage}),
            "[DONE]",
        )
        fault = Fault("sse", events=events, delay_s=0.05)
    else:
        whole = {"choices": [{"message": {"content": "One two three"}}], "usage": usage}
        fault = Fault("status", 200, (), json.dumps(whole).encode(), delay_s=0.05)
    server = await FaultProxy().start()
    engine = _engine(server.base_url)
    try:
        server.queue(fault)
        request = GenerationRequest((Message("user", "Count."),), max_tokens=8, temperature=0.0)
        events = [event async for event in engine.stream(request)]
    finally:
        await engine.aclose()
        await server.stop()
    assert "".join(e.text for e in events if isinstance(e, Chunk)) == "One two three"
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.ttft_s is not None
    assert 0.05 <= finished.ttft_s <= finished.total_s < 30
    assert finished.gen_tps == pytest.approx(3 / (finished.total_s - finished.ttft_s))
