"""Money and words for people: the one place figures and states become text on a screen.

Every screen and panel formats dollars with `money()`, shares with `percent()`, the cloud
breaker with `cloud_health()` and the privacy outcome with `privacy_verdict()`, so the same
figure reads the same everywhere (the CLI keeps its own machine-readable formats).
"""

from __future__ import annotations

import math
from typing import Literal

#: What a breaker state means to someone who is not an engineer.
CLOUD_HEALTH: dict[str, str] = {
    "closed": "cloud healthy",
    "half_open": "cloud degraded",
    "open": "cloud paused",
}

PrivacyOutcome = Literal["none", "local", "redacted", "cloud", "blocked", "pool", "pool_redacted"]


def money(usd: float | None, *, known: bool = True) -> str:
    """A dollar amount, rounded: two significant digits below a cent ($0.0012), at most four
    decimals below a dollar ($0.0125, $0.50), cents from a dollar up ($1,234.57).

    None is "—" (nothing ran); an amount whose price is unknown is "price unknown".
    """
    if not known:
        return "price unknown"
    if usd is None or math.isnan(usd):
        return "—"
    sign = "-" if usd < 0 else ""
    value = abs(usd)
    if value == 0:
        return "$0.00"
    if value < 0.01:
        decimals = 1 - math.floor(math.log10(value))
        rounded = round(value, decimals)
        if rounded < 0.01:
            return f"{sign}${rounded:.{decimals}f}"
        value = rounded
    if value < 1:
        text = f"{value:.4f}".rstrip("0")
        whole, _, fraction = text.partition(".")
        return f"{sign}${whole}.{fraction.ljust(2, '0')}"
    return f"{sign}${value:,.2f}"


def percent(fraction: float | None) -> str:
    """A share as a percentage: whole percents, one decimal below 10%; never "100%" for a
    share that is not all, nor "0%" for one that is not nothing."""
    if fraction is None or math.isnan(fraction):
        return "—"
    pct = fraction * 100
    if pct == 0 or pct >= 100:
        return f"{pct:.0f}%"
    if pct < 10:
        shown = f"{pct:.1f}"
        return "<0.1%" if shown == "0.0" else f"{shown}%"
    shown = f"{pct:.0f}"
    return "99%" if shown == "100" else f"{shown}%"


def cloud_health(state: str, cooldown_remaining_s: float = 0.0) -> str:
    """The breaker state in words: healthy, degraded (testing again) or paused (with when)."""
    words = CLOUD_HEALTH.get(state, f"cloud {state.replace('_', '-')}")
    if state == "open" and cooldown_remaining_s > 0:
        words += f" · retry in {cooldown_remaining_s:.0f} s"
    return words


def items(count: int, noun: str = "personal data item") -> str:
    """`count` with its noun, singular or plural ("1 personal data item", "3 … items")."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def privacy_verdict(found: int, outcome: PrivacyOutcome) -> str:
    """What privacy did with one prompt, in one phrase ("3 personal data items: kept local")."""
    if found == 0:
        if outcome == "blocked":
            return "blocked: nothing was sent"
        return "no personal data found"
    what = items(found)
    if outcome == "blocked":
        return f"{what}: blocked, nothing was sent"
    if outcome == "redacted":
        return f"{what}: replaced before sending to the cloud, restored in the answer"
    if outcome == "cloud":
        return f"{what}: sent to the cloud as typed"
    if outcome == "pool":
        return f"{what}: sent as typed to a trusted lab server"
    if outcome == "pool_redacted":
        return f"{what}: replaced before sending to an untrusted lab server, restored in the answer"
    return f"{what}: kept local"


def privacy_outcome(status: str, tier: str, redacted: bool) -> PrivacyOutcome:
    """What happened to a prompt's text: blocked, kept local, sent redacted or as typed."""
    if status == "blocked":
        return "blocked"
    if tier == "cloud":
        return "redacted" if redacted else "cloud"
    if tier == "pool":
        # Personal data reaches an untrusted server only redacted; as typed, a trusted one.
        return "pool_redacted" if redacted else "pool"
    return "local"


#: Why a rule sent a prompt where it went, in plain words (the inspector has the numbers).
RULE_REASONS: dict[str, str] = {
    "override": "you asked for it with a /{tier} prefix",
    "privacy": "it contains personal data",
    "budget": "the cloud budget is used up",
    "local_ready": "the local engine was not ready",
    "local_queue": "the local engine was busy with other prompts",
    "local_cpu": "this machine's processor was busy",
    "context": "it is too long for the local model's context",
    "task": "it looks like {task}, which the small local model cannot do well",
    "complexity": "it looks like a multi-step analysis, too hard for the small local model",
    "pool": "the lab's servers take it before the paid cloud",
    "latency": "a long answer finishes sooner there",
    "default": "nothing special about it: the default tier",
}


#: Task types as a sentence names them.
TASK_WORDS: dict[str, str] = {
    "code": "a coding request",
    "math": "a math problem",
    "reasoning": "a reasoning puzzle",
    "extraction": "a structured extraction",
    "translation": "a translation",
    "science": "a science explanation",
    "factual": "a factual question",
}


def reason_sentence(
    tier: str, fired: str, *, redacted: bool = False, status: str = "ok", task: str = ""
) -> str:
    """The reason for one answer in one plain sentence ("→ cloud: it looks like …").

    `task` is the task type the router saw ("math", "code", …), used by the task rule's reason.
    """
    if status == "blocked":
        return "→ blocked: it contains personal data and the policy sends it nowhere"
    if status in ("failed", "cancelled"):
        return f"→ {status}: no answer"
    where = "cloud·redacted" if redacted else tier
    kind = TASK_WORDS.get(task, f"a {task} request" if task else "a hard request")
    reason = RULE_REASONS.get(fired, f"rule {fired}").format(tier=tier, task=kind)
    if fired == "privacy":
        reason += (
            ": replaced with placeholders before sending" if redacted else ": kept on this machine"
        )
    return f"→ {where}: {reason}"


def duration_words(days: float) -> str:
    """A span of history for a projection ("from 3 hours", "from 2.5 days")."""
    hours = days * 24
    if hours < 1:
        return f"from {max(round(hours * 60), 1)} minutes of history"
    if hours < 48:
        return f"from {hours:.0f} hours of history"
    return f"from {days:.1f} days of history"


__all__ = [
    "CLOUD_HEALTH",
    "cloud_health",
    "duration_words",
    "items",
    "money",
    "percent",
    "privacy_outcome",
    "privacy_verdict",
    "reason_sentence",
]
