"""Routing quality: the task head on two held-out sets, and where each kind of prompt goes.

Run: python bench/routing_quality.py [--no-pii]
1. Task-type F1 per type and macro-F1 of the shipped head on two sets, side by side:
   - "fresh": bench/data/tasks/fresh_test.jsonl, 520 prompts written by hand by a new hand and
     committed before anything was evaluated on it; never used for training or tuning. This is
     the honest figure, and the headline.
   - "split": bench/data/tasks/test.jsonl (grammar B + hand.jsonl), the wave-2 frozen test split.
     Its scores were seen while the training sources were chosen, so it is optimistic.
2. Share of each type's fresh prompts the router sends to the cloud: the old keyword complexity
   score (bench/baseline_keyword_score.py, the router before the task signal: complexity >= 0.6
   or a long answer) beside today's router (default config, idle machine, usable cloud), same
   prompts; and today's router with the PII scan in front of it, as the dispatcher runs it (the
   default `[pii] on_pii = "local"` keeps prompts that name a person on this machine).
   `--no-pii` leaves that column out (it loads spaCy and scans every prompt: about a minute).
3. Hard types (math, code, reasoning) against creative writing, role-play and opinion
   (humanities), and the gap between them, per router.
Last line: `task_macro_f1 X`, X the macro-F1 on the fresh set.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from baseline_keyword_score import old_complexity  # noqa: E402

from policies.config import Config  # noqa: E402
from policies.features import extract_features  # noqa: E402
from policies.router import Signals, decide_target  # noqa: E402
from policies.tasks import TASK_TYPES, default_head  # noqa: E402

DATA = ROOT / "bench" / "data" / "tasks"
FRESH = DATA / "fresh_test.jsonl"
SPLIT = DATA / "test.jsonl"
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


def load(path: Path) -> list[dict[str, str]]:
    """The rows of a task-data JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def pii_router(config: Config) -> Callable[[str], bool]:
    """Today's router behind the dispatcher's PII scan: True when `prompt` goes to the cloud."""
    from policies.pii import PiiScanner

    scanner = PiiScanner(config.pii)
    scanner.load()
    signals = Signals()

    def to_cloud(prompt: str) -> bool:
        scan = scanner.scan(prompt)
        features = extract_features(prompt, [entity.type for entity in scan.entities])
        return decide_target(features, signals, config) == "cloud"

    return to_cloud


def main() -> None:
    """Print the tables and the headline figure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-pii", action="store_true", help="skip the router-with-PII column")
    args = parser.parse_args()
    head = default_head()
    sets = {"fresh": load(FRESH), "split": load(SPLIT)}
    scores: dict[str, tuple[float, dict[str, float]]] = {}
    predicted: dict[str, list[str]] = {}
    for name, rows in sets.items():
        predicted[name] = [head.classify(row["prompt"]).task for row in rows]
        scores[name] = macro_f1([row["task"] for row in rows], predicted[name])

    fresh = sets["fresh"]
    config, signals = Config(), Signals()
    routers: dict[str, Callable[[str], bool]] = {
        "old keyword": old_to_cloud,
        "task-aware": lambda p: decide_target(extract_features(p), signals, config) == "cloud",
    }
    if not args.no_pii:
        routers["task-aware+PII"] = pii_router(config)
    cloud: dict[str, Counter[str]] = {name: Counter() for name in routers}
    for row in fresh:
        for name, to_cloud in routers.items():
            cloud[name][row["task"]] += to_cloud(row["prompt"])
    totals: Counter[str] = Counter(row["task"] for row in fresh)

    print(
        f"fresh: {len(fresh)} hand-written prompts ({FRESH.relative_to(ROOT)}), frozen, never "
        "tuned on"
    )
    print(
        f"split: {len(sets['split'])} prompts ({SPLIT.relative_to(ROOT)}), seen while choosing "
        "sources"
    )
    split_rows = sets["split"]
    for source in sorted({row["source"] for row in split_rows}):
        picked = [i for i, row in enumerate(split_rows) if row["source"] == source]
        score, _ = macro_f1(
            [split_rows[i]["task"] for i in picked], [predicted["split"][i] for i in picked]
        )
        print(f"  split macro-F1 on {source:<10} ({len(picked):>4} prompts): {score:.3f}")
    print()
    columns = "".join(f" {name:>15}" for name in routers)
    print(f"{'type':<14} {'n':>3} {'F1 fresh':>9} {'F1 split':>9}   cloud share (fresh):{columns}")
    for task in TASK_TYPES:
        n = totals[task]
        shares = "".join(f" {cloud[name][task] / n:>15.1%}" for name in routers)
        print(
            f"{task:<14} {n:>3} {scores['fresh'][1][task]:>9.3f} {scores['split'][1][task]:>9.3f}"
            f"   {'':<20}{shares}"
        )
    print(f"{'macro-F1':<14} {'':>3} {scores['fresh'][0]:>9.3f} {scores['split'][0]:>9.3f}")

    def share(counter: Counter[str], group: tuple[str, ...]) -> float:
        return sum(counter[t] for t in group) / sum(totals[t] for t in group)

    print()
    print(f"{'fresh set, group -> cloud':<40}" + "".join(f" {name:>15}" for name in routers))
    for label, group in (
        ("math, code, reasoning", HARD),
        ("creative, role-play, opinion", EASY),
    ):
        print(f"{label:<40}" + "".join(f" {share(cloud[n], group):>15.1%}" for n in routers))
    gaps = "".join(
        f" {(share(cloud[n], HARD) - share(cloud[n], EASY)) * 100:>15.1f}" for n in routers
    )
    print(f"{'gap (points)':<40}{gaps}")
    print()
    print("headline: macro-F1 on the fresh hand-written set (the split's figure is optimistic)")
    print(f"task_macro_f1 {scores['fresh'][0]:.4f}")


if __name__ == "__main__":
    main()
