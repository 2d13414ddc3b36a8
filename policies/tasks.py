"""The task signal: what kind of task a prompt is (code, math, chit-chat, ...) and how sure we are.

A linear model over word and character n-grams, trained by `bench/train_tasks.py` on the data in
`bench/data/tasks/` and shipped as `policies/task_head.npz` (plain arrays: vocabulary, idf,
coefficients; loaded with `allow_pickle=False`, so loading runs no code and needs no network).
The features are computed here, by the same function at training and at run time, so the two
cannot drift apart. The head loads lazily on the first prompt and is then shared.

Inference is a dictionary lookup per n-gram and one small matrix product: about a millisecond for
a 2,000-character prompt (bench/router_speed.py).
"""

from __future__ import annotations

import itertools
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

#: The task types the shipped head knows, in its class order.
TASK_TYPES = (
    "code",
    "math",
    "reasoning",
    "extraction",
    "summarization",
    "translation",
    "rewriting",
    "creative",
    "roleplay",
    "factual",
    "science",
    "opinion",
    "chitchat",
)
HEAD_FILE = "task_head.npz"
HEAD_VERSION = 1

# A pasted document can be many pages; the ask is nearly always at its start or end, so only
# those parts are read (this also bounds the time a huge prompt takes).
_HEAD_CHARS = 1200
_TAIL_CHARS = 400
_WORD = re.compile(r"[a-z0-9_']+|[^\sa-z0-9_']")
_CHAR_NGRAMS = (3, 4, 5)


def _window(text: str) -> str:
    if len(text) <= _HEAD_CHARS + _TAIL_CHARS:
        return text
    return f"{text[:_HEAD_CHARS]} … {text[-_TAIL_CHARS:]}"


def _shape(text: str) -> list[str]:
    """Coarse shape features: size, lines, digits, code punctuation (bucketed, to generalise)."""
    size = len(text)
    symbols = sum(text.count(c) for c in "{}[]();=<>_#$\\/*+")
    digits = sum(c.isdigit() for c in text)
    return [
        f"#len{min(6, int(math.log2(size + 1) // 2))}",
        f"#lines{min(4, text.count(chr(10)).bit_length())}",
        f"#sym{min(4, int(10 * symbols / (size + 1)))}",
        f"#dig{min(4, int(10 * digits / (size + 1)))}",
        "#fence" if "```" in text else "#nofence",
        "#q" if "?" in text else "#noq",
    ]


def featurize(text: str) -> list[str]:
    """The n-gram features of `text`: words, word pairs, in-word character 3-5-grams, shape."""
    window = _window(text).lower()
    words = _WORD.findall(window)
    features = [f"w {word}" for word in words]
    features += [f"b {a} {b}" for a, b in itertools.pairwise(words)]
    for word in words:
        if len(word) < 2 or not word[0].isalnum():
            continue
        padded = f" {word} "
        for n in _CHAR_NGRAMS:
            if len(padded) < n:
                break
            features += [padded[i : i + n] for i in range(len(padded) - n + 1)]
    features += _shape(window)
    return features


@dataclass(frozen=True)
class TaskSignal:
    """The most likely task type, its probability, and the next most likely types."""

    task: str
    probability: float
    top: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the trace."""
        return {
            "task": self.task,
            "probability": self.probability,
            "top": [[name, prob] for name, prob in self.top],
        }


class TaskHead:
    """A trained linear head: tf-idf over `featurize` n-grams, then multinomial logistic scores."""

    def __init__(
        self,
        classes: tuple[str, ...],
        vocabulary: list[str],
        idf: np.ndarray[Any, Any],
        coef: np.ndarray[Any, Any],
        intercept: np.ndarray[Any, Any],
    ) -> None:
        if coef.shape != (len(vocabulary), len(classes)) or idf.shape != (len(vocabulary),):
            raise ValueError("task head: array shapes do not match the vocabulary and classes")
        self.classes = classes
        self._index = {feature: i for i, feature in enumerate(vocabulary)}
        self._idf = idf.astype(np.float64)
        self._coef = coef.astype(np.float32)
        self._intercept = intercept.astype(np.float64)

    @classmethod
    def load(cls, path: Path) -> TaskHead:
        """Read a head written by `save` (plain arrays only; raises ValueError if malformed)."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != HEAD_VERSION:
                raise ValueError(f"{path}: task head version {int(data['version'])} not supported")
            return cls(
                tuple(str(name) for name in data["classes"]),
                [str(feature) for feature in data["vocabulary"]],
                data["idf"],
                data["coef"],
                data["intercept"],
            )

    def save(self, path: Path) -> None:
        """Write the head as a compressed npz of plain arrays."""
        vocabulary = sorted(self._index, key=self._index.__getitem__)
        np.savez_compressed(
            path,
            version=np.array(HEAD_VERSION),
            classes=np.array(self.classes),
            vocabulary=np.array(vocabulary),
            idf=self._idf.astype(np.float32),
            coef=self._coef.astype(np.float16),
            intercept=self._intercept.astype(np.float32),
        )

    def probabilities(self, text: str) -> np.ndarray[Any, Any]:
        """The probability of each class (in `classes` order) for `text`."""
        counts = Counter(featurize(text))
        rows: list[int] = []
        weights: list[float] = []
        index = self._index
        for feature, count in counts.items():
            row = index.get(feature)
            if row is not None:
                rows.append(row)
                weights.append(1.0 + math.log(count))
        scores = self._intercept.copy()
        if rows:
            values = np.asarray(weights) * self._idf[rows]
            values /= np.linalg.norm(values)
            scores += values @ self._coef[rows]
        scores -= scores.max()
        exp = np.exp(scores)
        result: np.ndarray[Any, Any] = exp / exp.sum()
        return result

    def classify(self, text: str, top: int = 4) -> TaskSignal:
        """The task signal of `text`: the best class, its probability and the `top` best."""
        return self.signal(self.probabilities(text), top)

    def signal(self, probs: np.ndarray[Any, Any], top: int = 4) -> TaskSignal:
        """The task signal of class probabilities from `probabilities`."""
        order = np.argsort(-probs)[:top]
        best = tuple((self.classes[i], round(float(probs[i]), 4)) for i in order)
        return TaskSignal(best[0][0], best[0][1], best)


_lock = threading.Lock()
_head: TaskHead | None = None


def shipped_head_path() -> Path:
    """Where the trained head ships inside the package."""
    return Path(str(resources.files("policies").joinpath(HEAD_FILE)))


def default_head() -> TaskHead:
    """The shipped head, loaded on first use and shared (thread-safe)."""
    global _head
    if _head is None:
        with _lock:
            if _head is None:
                _head = TaskHead.load(shipped_head_path())
    return _head


def classify(text: str) -> TaskSignal:
    """The task signal of `text` from the shipped head."""
    return default_head().classify(text)
