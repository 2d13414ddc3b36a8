"""What a replay showed: the routing split, the redactions, the cost and the savings.

Shared by `switchboard replay` and the console's Replay screen, so both tell the same story.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.dispatch import RefusedPrompt, RequestResult, check_prompt
from policies.config import SetupError


@dataclass
class ReplaySummary:
    """Totals over the results of a replay, filled in as they arrive.

    The totals are kept as results are added: the progress bar and the console's replay screen
    read them after every result, and recounting the whole list each time made a replay of
    10,000 prompts spend seconds of CPU on its own progress bar.
    """

    results: list[RequestResult] = field(default_factory=list)
    _tiers: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _rules: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    _failed: int = field(default=0, init=False, repr=False)
    _redacted: int = field(default=0, init=False, repr=False)
    _kept_local: int = field(default=0, init=False, repr=False)
    _cost_usd: float = field(default=0.0, init=False, repr=False)
    _cloud_only_usd: float = field(default=0.0, init=False, repr=False)
    _unpriced: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        given, self.results = self.results, []
        for result in given:
            self.add(result)

    def add(self, result: RequestResult) -> None:
        """Count one more result."""
        self.results.append(result)
        self._tiers[result.tier] += 1
        self._rules[result.decision.fired] += 1
        self._failed += result.status in ("failed", "cancelled", "interrupted")
        self._redacted += result.redacted
        self._kept_local += bool(result.pii_types) and result.tier == "local"
        if result.cost is not None:
            self._cost_usd += result.cost.total_usd
            self._unpriced += not result.cost.known
        self._cloud_only_usd += result.counterfactual_usd or 0.0

    @property
    def failed(self) -> int:
        """Requests that got no answer (blocked prompts are not failures)."""
        return self._failed

    @property
    def by_tier(self) -> Counter[str]:
        """Requests by the tier that answered ("none" for failed or blocked ones)."""
        return Counter(self._tiers)

    @property
    def by_rule(self) -> Counter[str]:
        """Requests by the routing rule that fired."""
        return Counter(self._rules)

    @property
    def redacted(self) -> int:
        """Requests sent out (cloud, an untrusted pool server) with placeholders for PII."""
        return self._redacted

    @property
    def kept_local_for_privacy(self) -> int:
        """Requests with PII that never left the machine."""
        return self._kept_local

    @property
    def cost_usd(self) -> float:
        """What the replay cost (local cost basis included)."""
        return self._cost_usd

    @property
    def cloud_only_usd(self) -> float:
        """What the same tokens would have cost on the cloud model alone."""
        return self._cloud_only_usd

    @property
    def unpriced(self) -> int:
        """Requests whose cost is unknown (a cloud model without a price)."""
        return self._unpriced

    def line(self, index: int, total: int, result: RequestResult) -> str:
        """One progress line for `result`."""
        cost = f"${result.cost.total_usd:.6f}" if result.cost and result.cost.known else "cost n/a"
        pii = f" pii={','.join(result.pii_types)}" if result.pii_types else ""
        prompt = " ".join(result.prompt.split())
        if len(prompt) > 48:
            prompt = prompt[:47] + "…"
        return (
            f"[{index + 1:>3}/{total}] {result.badge:<22} rule={result.decision.fired:<12} "
            f"{cost:>12}{pii}  {prompt}"
        )

    def text(self) -> str:
        """The summary as a few readable lines."""
        total = len(self.results)
        split = ", ".join(f"{tier} {count}" for tier, count in sorted(self.by_tier.items()))
        rules = ", ".join(f"{rule} {count}" for rule, count in self.by_rule.most_common())
        savings = self.cloud_only_usd - self.cost_usd
        lines = [
            f"{total} prompts: {split}",
            f"rules fired: {rules}",
            f"PII: {self.kept_local_for_privacy} kept local, {self.redacted} sent redacted",
            f"cost ${self.cost_usd:.6f}, cloud-only ${self.cloud_only_usd:.6f}, "
            f"savings ${savings:.6f}",
        ]
        if self.unpriced:
            lines.append(f"{self.unpriced} requests on a cloud model with no known price")
        if self.failed:
            lines.append(f"{self.failed} requests failed")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The summary and one entry per result, for `--json`."""
        return {
            "summary": {
                "prompts": len(self.results),
                "by_tier": dict(self.by_tier),
                "by_rule": dict(self.by_rule),
                "kept_local_for_privacy": self.kept_local_for_privacy,
                "redacted": self.redacted,
                "failed": self.failed,
                "cost_usd": self.cost_usd,
                "cloud_only_usd": self.cloud_only_usd,
                "savings_usd": self.cloud_only_usd - self.cost_usd,
                "unpriced": self.unpriced,
            },
            "results": [
                {
                    "request_id": r.request_id,
                    "prompt": r.prompt,
                    "badge": r.badge,
                    "tier": r.tier,
                    "fired": r.decision.fired,
                    "status": r.status,
                    "pii_types": list(r.pii_types),
                    "cost_usd": r.cost.total_usd if r.cost else None,
                    "counterfactual_usd": r.counterfactual_usd,
                    "error": r.error,
                }
                for r in self.results
            ],
        }


def read_scripts(path: Path) -> list[str | tuple[str, ...]]:
    """Prompts of a JSONL file: `{"prompt": ...}` lines, each its own conversation, and
    `{"turns": [...]}` lines, the prompts of one conversation in order (for `Dispatcher.replay`).

    The whole file is checked before anything runs; the first bad line stops it with one line
    naming `path:line` (see `_objects`), as does a prompt with nothing to answer or that is not
    text (a lone surrogate)."""
    items: list[str | tuple[str, ...]] = []
    for number, item in _objects(path):
        turns = item.get("turns")
        if isinstance(item.get("prompt"), str):
            items.append(_checked(path, number, item["prompt"]))
        elif isinstance(turns, list) and turns and all(isinstance(t, str) for t in turns):
            items.append(tuple(_checked(path, number, turn) for turn in turns))
        else:
            raise SetupError(
                f'{path}:{number}: expected {{"prompt": "..."}} or {{"turns": ["...", ...]}}'
            )
    return items


def script_prompts(items: Sequence[str | tuple[str, ...]]) -> int:
    """How many prompts `items` play in all."""
    return sum(1 if isinstance(item, str) else len(item) for item in items)


def _checked(path: Path, number: int, prompt: str) -> str:
    try:
        check_prompt(prompt)
    except RefusedPrompt as exc:
        raise SetupError(f"{path}:{number}: {exc}") from None
    return prompt


def _objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSONL file with their line numbers; blank lines are skipped.

    A line that is not UTF-8 or not JSON stops it with one line naming `path:line`.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SetupError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SetupError(
                f"{path}:{number}: not valid UTF-8 (byte {exc.start + 1} of the line)"
            ) from None
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SetupError(f"{path}:{number}: not valid JSON: {exc.msg}") from None
        if not isinstance(item, dict):
            raise SetupError(f"{path}:{number}: expected a JSON object")
        yield number, item


def read_prompts(path: Path) -> list[str]:
    """Prompts of a JSONL file (`{"prompt": ...}` per line); a bad line is named by its number."""
    prompts: list[str] = []
    for number, item in _objects(path):
        if not isinstance(item.get("prompt"), str):
            raise SetupError(f'{path}:{number}: expected an object {{"prompt": "..."}}')
        prompts.append(_checked(path, number, item["prompt"]))
    return prompts


@contextlib.contextmanager
def progress_bar(total: int, *, enabled: bool) -> Iterator[Callable[[ReplaySummary], None]]:
    """A progress bar on stderr (requests done, and by tier so far); a no-op when not enabled.

    On a terminal it redraws in place and disappears at the end; redirected, it stays silent.
    """
    if not enabled:
        yield lambda summary: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("", total=total)

    def advance(summary: ReplaySummary) -> None:
        tiers = " · ".join(f"{tier} {count}" for tier, count in sorted(summary.by_tier.items()))
        progress.update(task, completed=len(summary.results), description=tiers)

    with progress:
        yield advance
