"""How a request ended, as fields, and the one function that turns it into the badge users see.

The dispatcher fills an `Outcome` from what happened; the CLI, the replay summary, the console
and the inspector (for a stored row) all render it with `badge()`. Nobody parses a badge back:
code that needs the tier, the path or the redaction reads the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "fallback", "failed", "cancelled", "blocked", "interrupted"]
AnsweredBy = Literal["local", "pool", "cloud", "none"]
#: What a badge means, for its colour (each face picks its own).
BadgeKind = Literal[
    "local",
    "pool",
    "cloud",
    "redacted",
    "fallback",
    "failed",
    "blocked",
    "cancelled",
    "interrupted",
]


@dataclass(frozen=True)
class Outcome:
    """Where a request went and how it ended.

    `tier` is the tier whose tokens the request consumed last ("none" when no engine streamed
    anything); `path` the tiers asked, in order; `redacted` whether placeholders replaced PII in
    the text sent to the cloud (or to an untrusted pool server); `server` the pool server that
    answered ("" for the other tiers).
    """

    status: Status
    tier: AnsweredBy
    path: tuple[str, ...]
    redacted: bool
    server: str = ""


@dataclass(frozen=True)
class Badge:
    """The label under an answer and what kind of label it is (the renderer picks the colour)."""

    label: str
    kind: BadgeKind


def badge(outcome: Outcome) -> Badge:
    """The badge of `outcome`: BLOCKED, FAILED, CANCELLED, INTERRUPTED, FALLBACK a→b, CLOUD…"""
    if outcome.status in ("blocked", "failed", "cancelled", "interrupted"):
        return Badge(outcome.status.upper(), outcome.status)
    if len(outcome.path) > 1:
        return Badge("FALLBACK " + "→".join(outcome.path), "fallback")
    if outcome.tier == "cloud":
        return Badge("CLOUD·redacted", "redacted") if outcome.redacted else Badge("CLOUD", "cloud")
    if outcome.tier == "pool":
        label = f"POOL {outcome.server}".rstrip()
        return Badge(f"{label}·redacted", "redacted") if outcome.redacted else Badge(label, "pool")
    return Badge("LOCAL", "local")


__all__ = ["AnsweredBy", "Badge", "BadgeKind", "Outcome", "Status", "badge"]
