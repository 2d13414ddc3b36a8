"""Train the task-type head on bench/data/tasks/train.jsonl and write policies/task_head.npz.

Run: python bench/train_tasks.py [--c C] [--min-df N] [--out PATH] [--cv]
Needs scikit-learn (the `data` extra); the package itself loads the result with numpy only.
With --cv, prints 5-fold cross-validated macro-F1 on the training split for a few C values and
writes nothing: tuning looks at the training data only, never at the frozen test split.
Last line: `train_macro_f1 X` (on the training data itself, or the best CV figure with --cv).
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


def pipeline(c: float, min_df: int):  # type: ignore[no-untyped-def]
    """Count n-grams, tf-idf (sublinear tf, as at run time), multinomial logistic regression."""
    return make_pipeline(
        CountVectorizer(analyzer=featurize, min_df=min_df, lowercase=False),
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=c, max_iter=3000),
    )


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
    parser.add_argument("--cv", action="store_true")
    args = parser.parse_args()
    prompts, labels, sources = load("train")
    unknown = set(labels) - set(TASK_TYPES)
    if unknown:
        raise SystemExit(f"train.jsonl: unknown task types {sorted(unknown)}")
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
    model = pipeline(args.c, args.min_df).fit(prompts, labels)
    size = export(model, args.out)
    fitted = f1_score(labels, model.predict(prompts), average="macro")
    kib = args.out.stat().st_size / 1024
    print(f"wrote {args.out} ({size} features, {kib:.0f} KiB), C={args.c:g}")
    print(f"train_macro_f1 {fitted:.4f}")
    assert np.isfinite(fitted)


if __name__ == "__main__":
    main()
