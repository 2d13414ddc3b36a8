"""A conversation's earlier turns: which of them fit a tier's context, and which hold PII.

The dispatcher sends every request with the turns before it. Two questions are answered here,
without any engine or UI:

- *What fits.* Each tier has a context limit (the local `n_ctx`, the cloud's window). When the
  history does not fit, the oldest turns are left out first; the system prompt and the new prompt
  are always kept. Tokens are estimated without a tokenizer, like every other estimate here.
- *What is private.* Privacy looks at everything that would be sent: a name in turn 1 keeps turn 5
  local (or redacted) for as long as turn 1 is in the context. The scans of earlier turns are done
  once and cached on the turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policies.features import estimate_tokens
from policies.pii import PiiScan

#: Per-message overhead of chat formats (role markers, separators), in tokens.
MESSAGE_OVERHEAD_TOKENS = 4


@dataclass(frozen=True)
class Turn:
    """One finished exchange: the user's text (without /local or /cloud) and the answer shown.

    `prompt_scan` and `answer_scan` are the PII scans of both sides, None until first needed.
    """

    prompt: str
    answer: str
    tier: str = ""
    prompt_scan: PiiScan | None = None
    answer_scan: PiiScan | None = None

    @property
    def tokens(self) -> int:
        """Estimated tokens of both messages of this turn."""
        return (
            estimate_tokens(self.prompt)
            + estimate_tokens(self.answer)
            + 2 * MESSAGE_OVERHEAD_TOKENS
        )

    @property
    def pii_types(self) -> tuple[str, ...]:
        """The type of every PII entity found on either side (one per entity)."""
        return tuple(
            entity.type
            for scan in (self.prompt_scan, self.answer_scan)
            if scan is not None
            for entity in scan.entities
        )


@dataclass(frozen=True)
class Fitted:
    """The turns that fit a context limit, and how many older ones were left out."""

    turns: tuple[Turn, ...]
    dropped: int
    tokens: int
    limit: int

    @property
    def first_kept(self) -> int:
        """The 0-based index, in the whole conversation, of the oldest turn kept."""
        return self.dropped


def prompt_tokens(system: str, prompt: str) -> int:
    """Estimated tokens of the system prompt and the new prompt: what can never be left out."""
    tokens = estimate_tokens(prompt) + MESSAGE_OVERHEAD_TOKENS
    if system:
        tokens += estimate_tokens(system) + MESSAGE_OVERHEAD_TOKENS
    return tokens


def fit(turns: Sequence[Turn], system: str, prompt: str, limit: int, reserve: int) -> Fitted:
    """The newest turns that fit `limit` tokens with the system prompt, the prompt and `reserve`
    tokens left for the answer. Oldest turns go first; a prompt that does not fit alone keeps no
    turn (whether it can be sent at all is the router's question, see `prompt_tokens`)."""
    budget = limit - reserve - prompt_tokens(system, prompt)
    used = 0
    kept = 0
    for turn in reversed(turns):
        cost = turn.tokens
        if used + cost > budget:
            break
        used += cost
        kept += 1
    return Fitted(
        turns=tuple(turns[len(turns) - kept :]),
        dropped=len(turns) - kept,
        tokens=used + prompt_tokens(system, prompt),
        limit=limit,
    )


def pii_turns(turns: Sequence[Turn], offset: int = 0) -> tuple[int, ...]:
    """The 1-based numbers of the turns (counted from `offset`) whose text holds PII."""
    return tuple(offset + index + 1 for index, turn in enumerate(turns) if turn.pii_types)


__all__ = ["MESSAGE_OVERHEAD_TOKENS", "Fitted", "Turn", "fit", "pii_turns", "prompt_tokens"]
