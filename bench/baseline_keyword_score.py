"""The keyword complexity score the router used before the task signal (frozen copy, baseline).

Copied unchanged from policies/features.py as it was before the task head (git c5895f2), minus
the dataclasses: bench/routing_quality.py routes the same prompts with it, side by side with
the task-aware router, to show what changed. Not used by the package.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Literal

Override = Literal["local", "cloud"]

#: Weights of the complexity signals. complexity = min(1, sum of value x weight). They add up to
#: more than 1 on purpose: two strong signals (code and reasoning, say) are enough to call a prompt
#: complex, while a single one (a long paste, or one "explain why") is not.
SIGNAL_WEIGHTS: Mapping[str, float] = {
    "code": 0.35,
    "multi_step": 0.25,
    "reasoning": 0.40,
    "length": 0.15,
    "output_size": 0.20,
}

#: Output tokens assumed when the prompt says nothing about the size of the answer.
DEFAULT_OUTPUT_TOKENS = 150

# Markers counted per signal; each signal saturates at a small count because a second or third
# marker already says "this is that kind of prompt" and more should not dominate the score.
_CODE_SATURATION = 3
_STEP_SATURATION = 3
_REASONING_SATURATION = 2
# A prompt of this many estimated tokens counts as fully "long" (a page of text or code).
_LONG_PROMPT_TOKENS = 600
# Output sizes between these map linearly onto [0, 1] for the output_size signal.
_SHORT_OUTPUT_TOKENS = 100
_LARGE_OUTPUT_TOKENS = 1500

# Every pattern below runs on the lower-cased prompt: that is 2-4x faster than IGNORECASE.
_PREFIX = re.compile(r"^\s*/(local|cloud)(?:\s+|$)")
_WORD = re.compile(r"\w+")
_FENCE = re.compile(r"```")
_CODE = re.compile(
    r"\b(?:def|class|return|import|lambda|async|await|fn|impl|struct|const|function|void|"
    r"python|javascript|typescript|java|rust|golang|sql|regex|bash|shell|script|compile[rsd]?|"
    r"debug|refactor|implement|algorithm|api|unit tests?|stack ?trace|exception|bug)\b"
    r"|\b\w+\([^()\n]*\)|c\+\+|#include|=>|->|==|!=|:=|\{\s*$|;\s*$",
    re.MULTILINE,
)
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+\S", re.MULTILINE)
_SEQUENCE = re.compile(
    r"\b(?:first(?:ly)?|second(?:ly)?|then|next|after that|afterwards|finally|lastly|"
    r"step[- ]by[- ]step|steps?|and also|as well as|in addition)\b"
)
_REASONING = re.compile(
    r"\b(?:analy[sz]e|analysis|compare|comparison|contrast|evaluate|assess|critique|justify|"
    r"prove|proof|derive|derivation|reason(?:ing)?|explain why|why does|why is|infer|deduce|"
    r"design|architect(?:ure)?|optimi[sz]e|trade-?offs?|pros and cons|implications?|diagnose|"
    r"strateg(?:y|ies)|plan|estimate|calculate|solve|formali[sz]e|synthesi[sz]e)\b"
)

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


def _examples(matches: Sequence[str], limit: int = 3) -> str:
    seen: list[str] = []
    for match in matches:
        cleaned = match.strip()[:24]
        if cleaned and cleaned not in seen:
            seen.append(cleaned)
        if len(seen) == limit:
            break
    return ", ".join(repr(item) for item in seen)


def _signal(name: str, value: float, why: str) -> tuple[str, float]:
    value = min(1.0, max(0.0, value))
    weight = SIGNAL_WEIGHTS[name]
    del why  # the old trace kept it; the score needs only the contribution
    return name, round(value * weight, 4)


def _complexity_signals(text: str, est_tokens: int, output_tokens: int) -> list[tuple[str, float]]:
    """The signals of the lower-cased prompt `text`."""
    code = _CODE.findall(text)
    fences = len(_FENCE.findall(text))
    if fences:
        code_signal = _signal("code", 1.0, f"code block ({fences // 2 or 1} fenced)")
    elif code:
        code_signal = _signal(
            "code", len(code) / _CODE_SATURATION, f"{len(code)} code markers ({_examples(code)})"
        )
    else:
        code_signal = _signal("code", 0.0, "no code")

    items = len(_LIST_ITEM.findall(text))
    sequence = _SEQUENCE.findall(text)
    questions = max(0, text.count("?") - 1)
    steps = items + len(sequence) + questions
    parts = []
    if items:
        parts.append(f"{items} list items")
    if sequence:
        parts.append(f"sequencing words ({_examples(sequence)})")
    if questions:
        parts.append(f"{questions + 1} questions")
    step_signal = _signal(
        "multi_step", steps / _STEP_SATURATION, "; ".join(parts) if parts else "a single request"
    )

    reasoning = _REASONING.findall(text)
    reasoning_signal = _signal(
        "reasoning",
        len(reasoning) / _REASONING_SATURATION,
        f"reasoning verbs ({_examples(reasoning)})"
        if reasoning
        else "no reasoning or analysis asked",
    )
    length_signal = _signal(
        "length", est_tokens / _LONG_PROMPT_TOKENS, f"~{est_tokens} prompt tokens"
    )
    output_signal = _signal(
        "output_size",
        (output_tokens - _SHORT_OUTPUT_TOKENS) / (_LARGE_OUTPUT_TOKENS - _SHORT_OUTPUT_TOKENS),
        f"~{output_tokens} answer tokens expected",
    )
    return [code_signal, step_signal, reasoning_signal, length_signal, output_signal]


def old_complexity(prompt: str) -> tuple[float, int]:
    """The old complexity score of `prompt` and its expected answer tokens."""
    lowered = prompt.lower()
    output_tokens, _ = expected_output_tokens(lowered)
    signals = _complexity_signals(lowered, estimate_tokens(prompt), output_tokens)
    return round(min(1.0, sum(contribution for _, contribution in signals)), 4), output_tokens
