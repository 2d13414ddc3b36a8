"""Prompt features the router decides on: size, PII, the task type, a complexity score, output size.

The task type comes from the trained head in `policies.tasks` (about a millisecond); everything
else is a pass of precompiled regular expressions. The complexity score is a weighted sum of three
named signals, each in [0, 1]: how hard the task type is (from the head's probabilities), the
prompt's length, and the requested answer size. Every signal carries its weight, its contribution
and a sentence saying why, so the decision inspector can show exactly where a score came from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from policies.tasks import TaskSignal, default_head

Override = Literal["local", "pool", "cloud"]

#: Weights of the complexity signals. complexity = min(1, sum of value x weight). A task type the
#: head is sure is hard (code, math, reasoning) reaches the default threshold of 0.6 on its own;
#: length and answer size only tip a medium task (an extraction over a long paste) over it.
SIGNAL_WEIGHTS: Mapping[str, float] = {
    "task": 0.70,
    "length": 0.15,
    "output_size": 0.20,
}

#: How demanding each task type is for a language model, in [0, 1], independent of any one model
#: (what a given local model can do is the `[router.tasks]` profile's business): exact answers
#: that fail on one wrong step score 1, open-ended text that tolerates a plain answer scores low.
TASK_DIFFICULTY: Mapping[str, float] = {
    "code": 1.0,
    "math": 1.0,
    "reasoning": 1.0,
    "science": 0.8,
    "extraction": 0.6,
    "translation": 0.5,
    "summarization": 0.4,
    "factual": 0.4,
    "opinion": 0.3,
    "rewriting": 0.2,
    "creative": 0.2,
    "roleplay": 0.1,
    "chitchat": 0.0,
}

#: Output tokens assumed when the prompt says nothing about the size of the answer.
DEFAULT_OUTPUT_TOKENS = 150

# A prompt of this many estimated tokens counts as fully "long" (a page of text or code).
_LONG_PROMPT_TOKENS = 600
# Output sizes between these map linearly onto [0, 1] for the output_size signal.
_SHORT_OUTPUT_TOKENS = 100
_LARGE_OUTPUT_TOKENS = 1500

# Every pattern below runs on the lower-cased prompt: that is 2-4x faster than IGNORECASE.
_PREFIX = re.compile(r"^\s*/(local|pool|cloud)(?:\s+|$)")
_WORD = re.compile(r"\w+")
# Requested output size: a counted unit ("300 words", "five bullet points") wins over a kind of
# answer ("in one word", "a detailed report"); the first fixed pattern that matches decides.
_COUNTED_OUTPUT = re.compile(
    r"\b(\d{1,6}|one|two|three|four|five|six|seven|eight|nine|ten|a few|a couple of)[- ]"
    r"(words?|sentences?|paragraphs?|paras?|pages?|bullet points?|bullets|items|examples|ideas"
    r"|lines?)\b"
)
# Answer tokens per counted unit, by the unit's first letters.
_UNIT_TOKENS = (
    ("word", 1.35),
    ("sentence", 25.0),
    ("para", 120.0),
    ("page", 650.0),
    ("line", 12.0),
)
_LIST_UNIT_TOKENS = 30.0
_FIXED_OUTPUT = (
    (re.compile(r"\b(?:in (?:a|one) word|one[- ]word answer|yes or no|true or false)\b"), 5),
    (re.compile(r"\b(?:one sentence|a sentence|one line|a single line|tl;?dr)\b"), 30),
    (re.compile(r"\b(?:brief(?:ly)?|short|concise(?:ly)?|quick(?:ly)?|summar(?:y|i[sz]e))\b"), 80),
    (
        re.compile(
            r"\b(?:detailed|in[- ]depth|comprehensive|thorough|exhaustive|long|full|complete)\s+"
            r"(?:report|essay|article|analysis|guide|tutorial|document(?:ation)?|review|story|"
            r"explanation|overview|paper|chapter|plan|proposal|specification)\b"
        ),
        1200,
    ),
    (re.compile(r"\b(?:essay|report|article|chapter|whitepaper|tutorial|story)\b"), 700),
    (re.compile(r"\bstep[- ]by[- ]step\b"), 450),
    (
        re.compile(
            r"\b(?:write|generate|implement|create)\b.{0,40}\b(?:program|module|app|class)\b"
        ),
        500,
    ),
)
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a few": 3,
    "a couple of": 2,
}


@dataclass(frozen=True)
class ComplexitySignal:
    """One named part of the complexity score: value in [0, 1] x weight = contribution."""

    name: str
    value: float
    weight: float
    contribution: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the decision trace."""
        return {
            "name": self.name,
            "value": self.value,
            "weight": self.weight,
            "contribution": self.contribution,
            "why": self.why,
        }


@dataclass(frozen=True)
class Features:
    """What the router knows about one prompt; `text` is the prompt without its /local or /cloud."""

    chars: int
    est_tokens: int
    pii_count: int
    pii_types: tuple[str, ...]
    complexity: float
    signals: tuple[ComplexitySignal, ...]
    expected_output_tokens: int
    override: Override | None
    text: str = ""
    #: The task type from the trained head ("" when unknown: a trace recorded before the head),
    #: its probability, and the best few types with theirs.
    task: str = ""
    task_probability: float = 0.0
    task_top: tuple[tuple[str, float], ...] = ()
    #: Tokens that must reach the local model: system prompt + new prompt + answer reserve
    #: (0 when unknown, as in traces recorded before conversations: it then always fits).
    context_tokens: int = 0
    #: 1-based numbers of earlier turns whose PII is counted in `pii_count` / `pii_types`.
    pii_turns: tuple[int, ...] = ()
    #: Earlier turns of the conversation, and how many of them the local context leaves out.
    earlier_turns: int = 0
    local_dropped_turns: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the trace. The prompt text is left out: traces are stored and
        shown, and the ledger decides separately ([ledger] store_prompts) what text it keeps."""
        return {
            "chars": self.chars,
            "est_tokens": self.est_tokens,
            "pii_count": self.pii_count,
            "pii_types": list(self.pii_types),
            "complexity": self.complexity,
            "signals": [signal.to_dict() for signal in self.signals],
            "expected_output_tokens": self.expected_output_tokens,
            "override": self.override,
            "task": self.task,
            "task_probability": self.task_probability,
            "task_top": [[name, prob] for name, prob in self.task_top],
            "context_tokens": self.context_tokens,
            "pii_turns": list(self.pii_turns),
            "earlier_turns": self.earlier_turns,
            "local_dropped_turns": self.local_dropped_turns,
        }


def features_from_dict(data: Mapping[str, Any], *, with_signals: bool = True) -> Features:
    """Rebuild Features from `Features.to_dict()` output (a stored trace); text is not stored.

    `with_signals=False` leaves the complexity signals out: the router needs only the score, and
    what-if rebuilds 100,000 of these at a time.
    """
    override = data.get("override")
    if override not in (None, "local", "pool", "cloud"):
        raise ValueError(
            f"features.override: expected 'local', 'pool', 'cloud' or null, got {override!r}"
        )
    return Features(
        chars=int(data["chars"]),
        est_tokens=int(data["est_tokens"]),
        pii_count=int(data["pii_count"]),
        pii_types=tuple(str(kind) for kind in data["pii_types"]),
        complexity=float(data["complexity"]),
        signals=tuple(
            ComplexitySignal(
                name=str(signal["name"]),
                value=float(signal["value"]),
                weight=float(signal["weight"]),
                contribution=float(signal["contribution"]),
                why=str(signal["why"]),
            )
            for signal in (data.get("signals", ()) if with_signals else ())
        ),
        expected_output_tokens=int(data["expected_output_tokens"]),
        override=override,
        text=str(data.get("text", "")),
        task=str(data.get("task", "")),
        task_probability=float(data.get("task_probability", 0.0)),
        task_top=tuple((str(name), float(prob)) for name, prob in data.get("task_top", ())),
        context_tokens=int(data.get("context_tokens", 0)),
        pii_turns=tuple(int(turn) for turn in data.get("pii_turns", ())),
        earlier_turns=int(data.get("earlier_turns", 0)),
        local_dropped_turns=int(data.get("local_dropped_turns", 0)),
    )


def estimate_tokens(text: str) -> int:
    """Tokens of `text` without a tokenizer: the larger of ~4 characters and ~0.75 words a token."""
    if not text:
        return 0
    words = len(_WORD.findall(text))
    return max(1, round(max(len(text) / 4.0, words * 1.3)))


def _count(raw: str) -> int:
    lowered = raw.lower()
    return _NUMBER_WORDS[lowered] if lowered in _NUMBER_WORDS else int(lowered)


def _unit_tokens(unit: str) -> float:
    for prefix, tokens in _UNIT_TOKENS:
        if unit.startswith(prefix):
            return tokens
    return _LIST_UNIT_TOKENS


def expected_output_tokens(text: str) -> tuple[int, str]:
    """Tokens the answer will likely take, and the phrase of the prompt that says so.

    `text` is expected lower-cased (as `extract_features` passes it).
    """
    best: tuple[int, str] | None = None
    for match in _COUNTED_OUTPUT.finditer(text):
        tokens = max(1, math.ceil(_count(match.group(1)) * _unit_tokens(match.group(2))))
        if best is None or tokens > best[0]:
            best = (tokens, match.group(0))
    if best is not None:
        return best
    for fixed, tokens in _FIXED_OUTPUT:
        found = fixed.search(text)
        if found:
            return tokens, found.group(0)
    return DEFAULT_OUTPUT_TOKENS, ""


def _signal(name: str, value: float, why: str) -> ComplexitySignal:
    value = min(1.0, max(0.0, value))
    weight = SIGNAL_WEIGHTS[name]
    return ComplexitySignal(name, round(value, 4), weight, round(value * weight, 4), why)


def _complexity_signals(
    signal: TaskSignal, probabilities: Mapping[str, float], est_tokens: int, output_tokens: int
) -> list[ComplexitySignal]:
    """The three named signals: task difficulty, prompt length, requested answer size."""
    difficulty = sum(TASK_DIFFICULTY.get(task, 0.5) * p for task, p in probabilities.items())
    task_signal = _signal(
        "task",
        difficulty,
        f"{signal.task} (p={signal.probability:.2f}); expected difficulty {difficulty:.2f}",
    )
    length_signal = _signal(
        "length", est_tokens / _LONG_PROMPT_TOKENS, f"~{est_tokens} prompt tokens"
    )
    output_signal = _signal(
        "output_size",
        (output_tokens - _SHORT_OUTPUT_TOKENS) / (_LARGE_OUTPUT_TOKENS - _SHORT_OUTPUT_TOKENS),
        f"~{output_tokens} answer tokens expected",
    )
    return [task_signal, length_signal, output_signal]


def split_override(prompt: str) -> tuple[Override | None, str]:
    """The /local, /pool or /cloud prefix of `prompt`, if any, and the prompt without it."""
    match = _PREFIX.match(prompt)
    if match is None:
        return None, prompt
    name = match.group(1)
    tier: Override = "local" if name == "local" else "pool" if name == "pool" else "cloud"
    return tier, prompt[match.end() :]


def extract_features(prompt: str, pii_types: Iterable[str] = ()) -> Features:
    """Features of `prompt`; `pii_types` holds the type of each PII entity found, one per entity."""
    override, text = split_override(prompt)
    found = list(pii_types)
    est_tokens = estimate_tokens(text)
    lowered = text.lower()
    output_tokens, phrase = expected_output_tokens(lowered)
    head = default_head()
    probabilities = head.probabilities(text)
    by_task = dict(zip(head.classes, (float(p) for p in probabilities), strict=True))
    task = head.signal(probabilities)
    signals = _complexity_signals(task, by_task, est_tokens, output_tokens)
    if phrase:
        output = signals[-1]
        signals[-1] = ComplexitySignal(
            output.name,
            output.value,
            output.weight,
            output.contribution,
            f"{output.why}: {phrase!r}",
        )
    complexity = round(min(1.0, sum(signal.contribution for signal in signals)), 4)
    return Features(
        chars=len(text),
        est_tokens=est_tokens,
        pii_count=len(found),
        pii_types=tuple(sorted(set(found))),
        complexity=complexity,
        signals=tuple(signals),
        expected_output_tokens=output_tokens,
        override=override,
        text=text,
        task=task.task,
        task_probability=task.probability,
        task_top=task.top,
    )
