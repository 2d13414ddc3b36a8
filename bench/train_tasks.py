"""Train the task-type head on bench/data/tasks/train.jsonl and write policies/task_head.npz.

Run: python bench/train_tasks.py [--c C] [--min-df N] [--balanced] [--out PATH] [--cv | --validate]
Needs scikit-learn (the `data` extra); the package itself loads the result with numpy only.
With --cv, prints 5-fold cross-validated macro-F1 on the training split for a few C values and
writes nothing. With --validate, the validation split is carved from the training data by source:
each of a few whole sources is held out in turn (with the copies made from it) and the head is
trained on the rest, for a small grid of settings; nothing is written. Tuning looks at the
training data only, never at the frozen test split or the fresh hand-written set.
Last line: `train_macro_f1 X` (on the training data itself, or the best CV/validation figure).
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.tasks import TASK_TYPES, TaskHead, featurize, shipped_head_path  # noqa: E402

DATA = ROOT / "bench" / "data" / "tasks"


def load(name: str) -> tuple[list[str], list[str], list[str]]:
    """Prompts, task labels and sources of one split."""
    rows = [json.loads(line) for line in (DATA / f"{name}.jsonl").read_text().splitlines() if line]
    return [r["prompt"] for r in rows], [r["task"] for r in rows], [r["source"] for r in rows]


def pipeline(c: float, min_df: int, balanced: bool = False):  # type: ignore[no-untyped-def]
    """Count n-grams, tf-idf (sublinear tf, as at run time), multinomial logistic regression."""
    return make_pipeline(
        CountVectorizer(analyzer=featurize, min_df=min_df, lowercase=False),
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=c, max_iter=3000, class_weight="balanced" if balanced else None),
    )


# Held out in turn by --validate, each with the copies derived from it: a hand-written source,
# the newest grammar and two older ones of different styles.
VALIDATION_SOURCES = ("hand_train", "grammar_g", "grammar_d", "grammar_e")
DERIVED = {
    "noisy": ("grammar_a", "grammar_c", "grammar_d", "grammar_e", "grammar_f"),
    "paraphrase": ("grammar_g", "hand_train"),
}
#: --validate's settings: C values, "b" for balanced class weights.
GRID = "1,3,10,3b"


def validate(
    prompts: list[str], labels: list[str], sources: list[str], min_df: int, grid: str
) -> float:
    """Macro-F1 on each held-out source for each grid setting; return the best mean."""
    features = [featurize(p) for p in prompts]  # computed once, shared by every fit
    held_out = [s for s in VALIDATION_SOURCES if s in sources]
    best = 0.0
    print(f"{'C':>5} {'balanced':>8} " + " ".join(f"{s:>10}" for s in held_out) + "   mean")
    for setting in grid.split(","):
        c, balanced = float(setting.rstrip("b")), setting.endswith("b")
        scores = []
        for held in held_out:
            train = [
                i
                for i, s in enumerate(sources)
                if s != held and not (s in DERIVED and held in DERIVED[s])
            ]
            test = [i for i, s in enumerate(sources) if s == held]
            model = make_pipeline(
                CountVectorizer(analyzer=_given, min_df=min_df, lowercase=False),
                TfidfTransformer(sublinear_tf=True),
                LogisticRegression(
                    C=c, max_iter=3000, class_weight="balanced" if balanced else None
                ),
            ).fit([features[i] for i in train], [labels[i] for i in train])
            predicted = model.predict([features[i] for i in test])
            scores.append(f1_score([labels[i] for i in test], predicted, average="macro"))
        mean = sum(scores) / len(scores)
        best = max(best, mean)
        print(
            f"{c:>5g} {balanced!s:>8} " + " ".join(f"{s:>10.4f}" for s in scores) + f"  {mean:.4f}",
            flush=True,
        )
    return best


def _given(features: list[str]) -> list[str]:
    return features


def export(model, out: Path) -> int:  # type: ignore[no-untyped-def]
    """Write the fitted pipeline as a TaskHead npz; return the vocabulary size."""
    vectorizer, tfidf, logistic = (step for _, step in model.steps)
    vocabulary = vectorizer.get_feature_names_out().tolist()
    classes = tuple(str(name) for name in logistic.classes_)
    head = TaskHead(classes, vocabulary, tfidf.idf_, logistic.coef_.T, logistic.intercept_)
    head.save(out)
    return len(vocabulary)


def main() -> None:
    """Train (or cross-validate) and report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--c", type=float, default=1.0)
    parser.add_argument("--min-df", type=int, default=2)
    parser.add_argument("--out", type=Path, default=shipped_head_path())
    parser.add_argument("--balanced", action="store_true", help="class weights ~ 1/frequency")
    parser.add_argument("--cv", action="store_true")
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--grid", default=GRID, help=f"--validate's settings (default {GRID})")
    parser.add_argument(
        "--exclude", default="", help="comma-separated sources left out (to measure what they add)"
    )
    args = parser.parse_args()
    prompts, labels, sources = load("train")
    excluded = set(filter(None, args.exclude.split(",")))
    if excluded:
        kept = [i for i, s in enumerate(sources) if s not in excluded]
        prompts, labels, sources = ([xs[i] for i in kept] for xs in (prompts, labels, sources))
    unknown = set(labels) - set(TASK_TYPES)
    if unknown:
        raise SystemExit(f"train.jsonl: unknown task types {sorted(unknown)}")
    if args.validate:
        print(f"train_macro_f1 {validate(prompts, labels, sources, args.min_df, args.grid):.4f}")
        return
    if args.cv:
        # Folds grouped by template family would be ideal; grouping by source at least keeps
        # the pasted prompts' near-duplicates out of their own validation fold.
        groups = [
            zlib.crc32(p[:40].encode()) % 5 if s == "grammar_a" else 5
            for p, s in zip(prompts, sources, strict=True)
        ]
        best = 0.0
        for c in (1.0, 3.0, 10.0, 30.0):
            predicted = cross_val_predict(
                pipeline(c, args.min_df), prompts, labels, cv=GroupKFold(5), groups=groups
            )
            score = f1_score(labels, predicted, average="macro")
            best = max(best, score)
            print(f"C={c:<5g} cv macro-F1 {score:.4f}")
        print(f"train_macro_f1 {best:.4f}")
        return
    model = pipeline(args.c, args.min_df, args.balanced).fit(prompts, labels)
    size = export(model, args.out)
    fitted = f1_score(labels, model.predict(prompts), average="macro")
    kib = args.out.stat().st_size / 1024
    print(
        f"wrote {args.out} ({size} features, {kib:.0f} KiB), C={args.c:g}, balanced={args.balanced}"
    )
    print(f"train_macro_f1 {fitted:.4f}")
    assert np.isfinite(fitted)


if __name__ == "__main__":
    main()
