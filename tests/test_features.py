"""Prompt features: override prefixes, token and output estimates, explainable complexity."""

from __future__ import annotations

import json

import pytest

from policies.features import (
    DEFAULT_OUTPUT_TOKENS,
    SIGNAL_WEIGHTS,
    estimate_tokens,
    extract_features,
    features_from_dict,
)

CODE_PROMPT = """Why does this raise IndexError?
```python
def first(items):
    return items[0]
```
Fix it and explain why."""
ANALYSIS_PROMPT = (
    "Analyze and compare the trade-offs of Raft and Paxos for a geo-replicated database, "
    "step by step, in a detailed report."
)


@pytest.mark.parametrize(
    ("prompt", "override", "text"),
    [
        ("/local what is 2+2?", "local", "what is 2+2?"),
        ("/cloud   write a poem", "cloud", "write a poem"),
        ("  /cloud\nsummarise this", "cloud", "summarise this"),
        ("/local", "local", ""),
        ("/localhost is down", None, "/localhost is down"),
        ("please /cloud this", None, "please /cloud this"),
        ("/Cloud shouting", None, "/Cloud shouting"),
    ],
)
def test_override_prefix(prompt: str, override: str | None, text: str) -> None:
    features = extract_features(prompt)
    assert features.override == override
    assert features.text == text
    assert features.chars == len(text)


def test_complexity_signals_are_named_bounded_and_add_up() -> None:
    for prompt in ("hi", CODE_PROMPT, ANALYSIS_PROMPT, "word " * 5000):
        features = extract_features(prompt)
        names = [signal.name for signal in features.signals]
        assert names == list(SIGNAL_WEIGHTS)
        for signal in features.signals:
            assert 0.0 <= signal.value <= 1.0
            assert signal.weight == SIGNAL_WEIGHTS[signal.name]
            assert signal.contribution == pytest.approx(signal.value * signal.weight, abs=1e-4)
            assert signal.why
        total = sum(signal.contribution for signal in features.signals)
        assert 0.0 <= features.complexity <= 1.0
        assert features.complexity == pytest.approx(min(1.0, total), abs=1e-3)


def test_each_signal_responds_to_its_cue() -> None:
    def by_name(prompt: str) -> dict[str, float]:
        return {s.name: s.value for s in extract_features(prompt).signals}

    plain = by_name("Hi! How are you today?")
    assert list(plain) == list(SIGNAL_WEIGHTS)
    assert plain["task"] < 0.3 and plain["length"] < 0.05 and plain["output_size"] < 0.05
    assert by_name(CODE_PROMPT)["task"] >= 0.8
    assert by_name("Solve for x: 3x + 7 = 22.")["task"] >= 0.8
    assert by_name("lorem ipsum " * 400)["length"] == 1.0
    assert by_name("Write a 3000 words essay about Rome")["output_size"] == 1.0


def test_features_carry_the_task_signal() -> None:
    features = extract_features(CODE_PROMPT)
    assert features.task == "code"
    assert 0.5 <= features.task_probability <= 1.0
    assert features.task_top[0] == ("code", features.task_probability)
    assert [p for _, p in features.task_top] == sorted(
        (p for _, p in features.task_top), reverse=True
    )
    task_signal = next(s for s in features.signals if s.name == "task")
    assert task_signal.why.startswith("code (p=")
    stored = features_from_dict(json.loads(json.dumps(features.to_dict())))
    assert (stored.task, stored.task_probability, stored.task_top) == (
        "code",
        features.task_probability,
        features.task_top,
    )


def test_complexity_orders_prompts_sensibly() -> None:
    simple = extract_features("Hello there, nice to meet you!").complexity
    code = extract_features(CODE_PROMPT).complexity
    analysis = extract_features(ANALYSIS_PROMPT).complexity
    assert simple < 0.2
    assert code >= 0.6
    assert analysis > simple


@pytest.mark.parametrize(
    ("prompt", "low", "high"),
    [
        ("Is Paris in France? Answer in one word.", 1, 10),
        ("Answer yes or no: is water wet?", 1, 10),
        ("Summarize this in one sentence: the cat sat.", 10, 60),
        ("Write a 2000 words story about a lighthouse.", 2000, 4000),
        ("Give me 5 bullet points on testing.", 100, 250),
        ("Write a detailed report on our Q3 incidents.", 1000, 2000),
        ("Explain how TLS works step by step.", 300, 600),
        ("Tell me about owls.", DEFAULT_OUTPUT_TOKENS, DEFAULT_OUTPUT_TOKENS),
    ],
)
def test_expected_output_tokens(prompt: str, low: int, high: int) -> None:
    assert low <= extract_features(prompt).expected_output_tokens <= high


def test_token_estimate_without_tokenizer() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    prose = "The quick brown fox jumps over the lazy dog. " * 10
    assert 90 <= estimate_tokens(prose) <= 150
    assert extract_features(prose).est_tokens == estimate_tokens(prose)


def test_pii_types_count_every_entity_and_list_each_type_once() -> None:
    features = extract_features("x", ["PERSON", "EMAIL_ADDRESS", "PERSON"])
    assert features.pii_count == 3
    assert features.pii_types == ("EMAIL_ADDRESS", "PERSON")
    assert extract_features("x").pii_count == 0


def test_to_dict_round_trip_leaves_the_prompt_out() -> None:
    features = extract_features("/cloud " + ANALYSIS_PROMPT, ["PERSON"])
    data = json.loads(json.dumps(features.to_dict()))
    assert "text" not in data
    assert ANALYSIS_PROMPT not in json.dumps(data)
    again = features_from_dict(data)
    assert again.text == ""
    assert again == type(features)(**{**features.__dict__, "text": ""})
