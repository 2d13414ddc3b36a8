"""Routing quality: the task head on the frozen test split, and where each kind of prompt goes.

Run: python bench/routing_quality.py
1. Task-type F1 per type and macro-F1 of the shipped head on bench/data/tasks/test.jsonl (grammar
   B + hand-written prompts: sources the head was not trained on), per source as well.
2. Share of each type's prompts the router sends to the cloud: the old keyword complexity score
   (bench/baseline_keyword_score.py, the router before the task signal: complexity >= 0.6 or a
   long answer) beside today's router (default config, idle machine, usable cloud), same
   prompts. PII scanning is left out (no prompt here names a person), so privacy never fires.
3. Hard types (math, code, reasoning) against writing, role-play and opinion (humanities).
Last line: `task_macro_f1 X`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from baseline_keyword_score import old_complexity  # noqa: E402

from policies.config import Config  # noqa: E402
from policies.features import extract_features  # noqa: E402
from policies.router import Signals, decide_target  # noqa: E402
from policies.tasks import TASK_TYPES, default_head  # noqa: E402

TEST = ROOT / "bench" / "data" / "tasks" / "test.jsonl"
HARD = ("math", "code", "reasoning")
EASY = ("creative", "roleplay", "opinion")
# The old router: complexity at or above 0.6, or an answer too long for 20 s at 20 tok/s.
OLD_THRESHOLD = 0.6
OLD_LONG_TOKENS = 400
OLD_LATENCY_TOKENS = 20.0 * 20.0


def macro_f1(gold: list[str], predicted: list[str]) -> tuple[float, dict[str, float]]:
    """Macro-F1 over TASK_TYPES and each type's F1."""
    scores: dict[str, float] = {}
    for task in TASK_TYPES:
        tp = sum(g == p == task for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == task != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == task != p for g, p in zip(gold, predicted, strict=True))
        scores[task] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return sum(scores.values()) / len(scores), scores


def old_to_cloud(prompt: str) -> bool:
    """Where the router before the task signal sent `prompt` (idle machine, usable cloud)."""
    score, output_tokens = old_complexity(prompt)
    long_answer = output_tokens > OLD_LONG_TOKENS and output_tokens > OLD_LATENCY_TOKENS
    return score >= OLD_THRESHOLD or long_answer


def main() -> None:
    """Print the tables and the headline figure."""
    rows = [json.loads(line) for line in TEST.read_text().splitlines() if line]
    head = default_head()
    gold = [row["task"] for row in rows]
    predicted = [head.classify(row["prompt"]).task for row in rows]
    macro, per_type = macro_f1(gold, predicted)
    config, signals = Config(), Signals()
    new_cloud: Counter[str] = Counter()
    old_cloud: Counter[str] = Counter()
    totals: Counter[str] = Counter(gold)
    for row in rows:
        features = extract_features(row["prompt"])
        new_cloud[row["task"]] += decide_target(features, signals, config) == "cloud"
        old_cloud[row["task"]] += old_to_cloud(row["prompt"])

    print(f"frozen test split: {len(rows)} prompts ({TEST.relative_to(ROOT)})")
    for source in sorted({row["source"] for row in rows}):
        picked = [i for i, row in enumerate(rows) if row["source"] == source]
        score, _ = macro_f1([gold[i] for i in picked], [predicted[i] for i in picked])
        print(f"  macro-F1 on {source:<10} ({len(picked):>4} prompts): {score:.3f}")
    print()
    print(f"{'type':<14} {'n':>4} {'F1':>6}   {'cloud, old keyword':>18} {'cloud, task-aware':>18}")
    for task in TASK_TYPES:
        n = totals[task]
        print(
            f"{task:<14} {n:>4} {per_type[task]:>6.3f}   {old_cloud[task] / n:>18.1%} "
            f"{new_cloud[task] / n:>18.1%}"
        )

    def share(counter: Counter[str], group: tuple[str, ...]) -> float:
        return sum(counter[t] for t in group) / sum(totals[t] for t in group)

    print()
    print(f"{'group':<40} {'old keyword':>12} {'task-aware':>12}")
    for label, group in (
        ("math, code, reasoning -> cloud", HARD),
        ("creative, role-play, opinion -> cloud", EASY),
    ):
        print(f"{label:<40} {share(old_cloud, group):>12.1%} {share(new_cloud, group):>12.1%}")
    gap_old = share(old_cloud, HARD) - share(old_cloud, EASY)
    gap_new = share(new_cloud, HARD) - share(new_cloud, EASY)
    print(f"{'gap (points)':<40} {gap_old * 100:>12.1f} {gap_new * 100:>12.1f}")
    print(f"task_macro_f1 {macro:.4f}")


if __name__ == "__main__":
    main()
