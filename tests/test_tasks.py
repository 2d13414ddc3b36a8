"""The task signal: the shipped head loads offline and safely, and classifies held-out prompts."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from policies.tasks import TASK_TYPES, TaskHead, default_head, featurize, shipped_head_path

ROOT = Path(__file__).resolve().parent.parent
TEST_SPLIT = ROOT / "bench" / "data" / "tasks" / "test.jsonl"
FRESH_SET = ROOT / "bench" / "data" / "tasks" / "fresh_test.jsonl"

NO_NETWORK = """
import socket, sys
def refuse(*args, **kwargs):
    raise RuntimeError("network access attempted")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from policies.tasks import classify
signal = classify("Write a Python function that reverses a linked list.")
print(signal.task, signal.probability)
"""


def test_the_head_loads_from_the_package_with_sockets_blocked() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_NETWORK],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    task, probability = done.stdout.split()
    assert task == "code" and 0.5 < float(probability) <= 1.0


def test_the_head_file_is_plain_arrays_in_the_package() -> None:
    path = shipped_head_path()
    assert path.parent.name == "policies" and path.stat().st_size < 2_000_000
    # allow_pickle=False: loading can run no code; every array is numbers or strings.
    with np.load(path, allow_pickle=False) as data:
        assert {data[name].dtype.kind for name in data.files} <= {"U", "f", "i"}
        assert tuple(str(c) for c in data["classes"]) == tuple(sorted(TASK_TYPES))
    head = TaskHead.load(path)
    assert set(head.classes) == set(TASK_TYPES)


def test_a_malformed_head_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "head.npz"
    np.savez(
        bad,
        version=np.array(1),
        classes=np.array(["a", "b"]),
        vocabulary=np.array(["x"]),
        idf=np.ones(1),
        coef=np.ones((2, 2)),
        intercept=np.zeros(2),
    )
    with pytest.raises(ValueError, match="shapes"):
        TaskHead.load(bad)
    np.savez(bad, version=np.array(99))
    with pytest.raises(ValueError, match="version 99"):
        TaskHead.load(bad)


def test_probabilities_are_a_distribution_and_the_signal_is_sorted() -> None:
    head = default_head()
    for text in ("", "hi", "x" * 5000, "Solve 2x + 3 = 9", "```\nint main() {}\n```"):
        probs = head.probabilities(text)
        assert probs.shape == (len(TASK_TYPES),)
        assert abs(float(probs.sum()) - 1.0) < 1e-6 and float(probs.min()) >= 0.0
    signal = head.classify("Translate 'good morning' into German.")
    assert signal.task == "translation"
    assert [p for _, p in signal.top] == sorted((p for _, p in signal.top), reverse=True)


def test_features_look_at_the_ask_not_the_whole_paste() -> None:
    paste = "lorem ipsum dolor " * 2000
    features = featurize("Summarize this article:\n" + paste)
    assert "w summarize" in features
    assert len(features) < 6000


def test_held_out_macro_f1_does_not_regress() -> None:
    """The frozen test split (grammar B + hand-written prompts, unseen in training)."""
    rows = [json.loads(line) for line in TEST_SPLIT.read_text().splitlines() if line]
    head = default_head()
    predicted = [head.classify(row["prompt"]).task for row in rows]
    scores = []
    for task in TASK_TYPES:
        tp = sum(p == task == r["task"] for p, r in zip(predicted, rows, strict=True))
        fp = sum(p == task != r["task"] for p, r in zip(predicted, rows, strict=True))
        fn = sum(r["task"] == task != p for p, r in zip(predicted, rows, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    macro = sum(scores) / len(scores)
    # bench/routing_quality.py reports the figure; this only guards against a regression.
    assert macro >= 0.72, f"macro-F1 {macro:.3f}"


def test_the_task_rule_reads_from_the_features_not_the_text() -> None:
    from policies.config import Config
    from policies.features import extract_features
    from policies.router import Signals, decide

    features = extract_features("Solve for x: 4x - 7 = 21.")
    # The text is gone: decide can only use what the features carry.
    decision = decide(replace(features, text=""), Signals(), Config())
    task = next(r for r in decision.rules if r.name == "task")
    assert (decision.target, decision.fired) == ("cloud", "task")
    assert task.value >= features.task_probability and task.threshold == 0.5


def test_the_fresh_set_stays_apart_from_the_training_data() -> None:
    """The fresh hand-written set is frozen: 40 prompts per type, none of them trained on."""
    fresh = [json.loads(line) for line in FRESH_SET.read_text().splitlines() if line]
    counts = Counter(row["task"] for row in fresh)
    assert counts == dict.fromkeys(TASK_TYPES, 40)
    train = TEST_SPLIT.with_name("train.jsonl").read_text(encoding="utf-8").splitlines()
    trained = {json.loads(line)["prompt"].strip().lower() for line in train if line}
    assert not [row["prompt"] for row in fresh if row["prompt"].strip().lower() in trained]
