"""Paraphrase variants of training prompts by rule-based rewriting. Training only.

The noisy copies of make_tasks.py damage the surface (case, typos, a casual opener). These
rewrite the request itself, one or two rules per copy:
- question form: an imperative ask becomes a question ("Write X" -> "Could you write X?",
  "Would you mind writing X?", "Can I get X?");
- statement of need: "I need X" / "I'd like X" / "I want you to X";
- context first: a sentence about who is asking and why before the ask;
- texting register: "you" -> "u", "please" -> "pls", no capitals, no final stop;
- word swaps from a small synonym table written for this file (verbs of asking and common
  words: "explain" -> "go over", "quick" -> "brief", ...), never the words that name a task type;
- for prompts with pasted content (a blank line), the ask moves after the content.
Applied to grammar G and the hand-written training prompts, never to a test set.
"""

from __future__ import annotations

import random
import re

_CONTEXTS = [
    "I'm a nurse on night shifts.",
    "Working on a side project this weekend.",
    "My manager asked me this and I'm stuck.",
    "I teach year 9.",
    "I run a small shop.",
    "This is for a uni assignment.",
    "Asking for my dad.",
    "I'm preparing for an interview.",
    "We're planning a trip next month.",
    "I volunteer at a youth club.",
    "Bit of a weird one.",
    "I've been wondering about this all day.",
]
_QUESTION = [
    "Could you {ask}?",
    "Would you {ask}?",
    "Can you {ask} for me?",
    "Mind if I ask you to {ask}?",
    "Is it possible to {ask}?",
    "Any chance you can {ask}?",
]
_NEED = [
    "I need you to {ask}.",
    "I'd like you to {ask}.",
    "I want you to {ask}.",
    "Help me out and {ask}.",
    "Your task: {ask}.",
]
_SWAPS = {
    "explain": "go over",
    "tell me": "let me know",
    "quick": "brief",
    "please": "kindly",
    "help": "assist",
    "show": "demonstrate",
    "about": "on",
    "really": "truly",
    "big": "large",
    "small": "little",
    "maybe": "perhaps",
    "give me": "provide",
    "make": "create",
    "simple": "plain",
    "start": "begin",
    "idea": "notion",
    "problem": "issue",
}
_IMPERATIVE = re.compile(
    r"^(write|compose|draft|explain|solve|calculate|translate|summari[sz]e|extract|list|give|"
    r"rewrite|fix|make|tell|describe|find|pull|pretend|act|play|be|convert|create|implement|"
    r"proofread|rephrase|simplify|compute|work out|prove|show|turn|sum)\b",
    re.IGNORECASE,
)


def _question(text: str, rng: random.Random) -> str:
    head, sep, rest = text.partition("\n")
    match = _IMPERATIVE.match(head)
    if not match:
        return text
    ask = head[:1].lower() + head[1:]
    ask = ask.rstrip(".!:? ")
    return rng.choice(_QUESTION).format(ask=ask) + (sep + rest if sep else "")


def _need(text: str, rng: random.Random) -> str:
    head, sep, rest = text.partition("\n")
    if not _IMPERATIVE.match(head):
        return text
    ask = (head[:1].lower() + head[1:]).rstrip(".!:? ")
    return rng.choice(_NEED).format(ask=ask) + (sep + rest if sep else "")


def _context(text: str, rng: random.Random) -> str:
    return f"{rng.choice(_CONTEXTS)} {text}"


def _texting(text: str, rng: random.Random) -> str:
    out = re.sub(r"\byou\b", "u", text.lower())
    out = re.sub(r"\bplease\b", "pls", out)
    out = re.sub(r"\bare\b", "r", out) if rng.random() < 0.5 else out
    return out.rstrip(".!")


def _swap(text: str, rng: random.Random) -> str:
    keys = [k for k in _SWAPS if re.search(rf"\b{k}\b", text, re.IGNORECASE)]
    for key in rng.sample(keys, min(len(keys), 2)):
        text = re.sub(rf"\b{key}\b", _SWAPS[key], text, count=1, flags=re.IGNORECASE)
    return text


def _ask_last(text: str, rng: random.Random) -> str:
    head, sep, rest = text.partition("\n\n")
    if not sep or len(head) > 200:
        return text
    return f"{rest}\n\n{head}"


_RULES = (_question, _need, _context, _texting, _swap, _ask_last)


def paraphrase(text: str, rng: random.Random) -> str:
    """A variant of `text` made by one or two rewriting rules (may equal `text`)."""
    for rule in rng.sample(_RULES, rng.randint(1, 2)):
        text = rule(text, rng)
    return text
