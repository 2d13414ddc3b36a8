"""Build the task-type data set: train.jsonl (grammar A + pasted long prompts) and test.jsonl.

Run: python bench/data/tasks/make_tasks.py   (deterministic; rewrites train.jsonl and test.jsonl)

Sources, all written for this project (no public benchmark or instruction set was copied):
- grammar_a.py   templates in plain imperative English                        -> train
- grammar_c.py   terse search-box / messaging styles, its own vocabulary    -> train
- grammar_d.py   a situation, then the ask, everyday words                 -> train
- grammar_e.py   broad vocabularies, so the ask tells the type, not the nouns -> train
- grammar_f.py   many phrasings of each ask crossed with many subjects     -> train
- grammar_g.py   (wave 3) prompts composed of an ask placed around generated content, hard types
                 in prose, generated puzzles, named role-play characters               -> train
- paraphrases    (wave 3) rule-based rewrites of grammar G and hand_train prompts
                 (paraphrase.py: question form, context first, texting register, ...)  -> train
- hand_train.jsonl  prompts written by hand for training (none shared with the test split) -> train
- noisy copies   of a third of the generated training prompts: lower case, no final punctuation,
                 a swapped-letter typo or a casual opener (people type like that)       -> train
- pasted         grammar-A-style asks around long pasted code, logs, articles -> train
- grammar_b.py   separately written chatty templates, other vocabulary        -> test
- hand.jsonl     prompts written by hand one by one, varied length and style  -> test
The test split is split by source, so it measures generalisation to unseen phrasing. It was
frozen (committed) before the classifier was tuned.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[2]))

import grammar_a  # noqa: E402
import grammar_b  # noqa: E402
import grammar_c  # noqa: E402
import grammar_d  # noqa: E402
import grammar_e  # noqa: E402
import grammar_f  # noqa: E402
import grammar_g  # noqa: E402
from paraphrase import paraphrase  # noqa: E402

from policies.tasks import TASK_TYPES  # noqa: E402

# The head's own list, so the data and the shipped head name the same types in one order.
TASKS = TASK_TYPES
PER_TYPE_A = 320
PER_TYPE_B = 200
PER_TYPE_C = 300
PER_TYPE_D = 250
PER_TYPE_E = 300
PER_TYPE_F = 250
PER_TYPE_PASTED = 40
PER_TYPE_G = 400
# Share of grammar G prompts that also get a paraphrased copy (every hand_train prompt does).
PARAPHRASE_SHARE = 0.4

_CODE_FILES = [
    "class OrderService:\n    def __init__(self, db):\n        self.db = db\n\n"
    "    def total(self, order_id):\n        rows = self.db.query('select * from lines where "
    "order_id=%s' % order_id)\n        t = 0\n        for r in rows:\n"
    "            t += r[2] * r[3]\n"
    "        return t\n\n    def ship(self, order_id):\n        o = self.db.get(order_id)\n"
    "        if o.status == 'paid':\n            o.status = 'shipped'\n"
    "            self.db.save(o)\n",
    "function debounce(fn, ms) {\n  let t;\n  return function(...args) {\n    clearTimeout(t);\n"
    "    t = setTimeout(() => fn.apply(this, args), ms);\n  };\n}\n\nexport default debounce;\n",
    "func readAll(path string) ([]string, error) {\n\tf, err := os.Open(path)\n\tif err != nil {\n"
    "\t\treturn nil, err\n\t}\n\tdefer f.Close()\n\tvar out []string\n\ts := bufio.NewScanner(f)\n"
    "\tfor s.Scan() {\n\t\tout = append(out, s.Text())\n\t}\n\treturn out, s.Err()\n}\n",
    "public class Cache<K, V> {\n    private final Map<K, V> map = new HashMap<>();\n"
    "    public synchronized V get(K k) { return map.get(k); }\n"
    "    public synchronized void put(K k, V v) { map.put(k, v); }\n}\n",
]
_SHORT_CODE = [
    "def last(xs):\n    return xs[len(xs)]",
    "for (let i = 0; i <= arr.length; i++) {\n  sum += arr[i];\n}",
    "while n > 0:\n    total += n",
    "user = users.get(id)\nprint(user.name)",
    "int avg(int *a, int n) { int s; for (int i = 0; i < n; i++) s += a[i]; return s / n; }",
    "SELECT id, COUNT(*) FROM orders GROUP BY customer_id;",
    'fn main() {\n    let s = String::from("hi");\n    let t = s;\n    println!("{}", s);\n}',
    "with open(path) as f:\n    data = json.load(f)\nreturn data['items'][0]['price']",
]
_CODE_ASKS = [
    "Why does this raise an error? Fix it and explain why.",
    "Why does this crash?",
    "What's wrong with this function?",
    "Explain why this never terminates and fix it:",
    "Why is the result always wrong here?",
    "Refactor this code to be easier to test:",
    "Review this code and point out bugs:",
    "Add error handling and logging to this:",
    "Rewrite this using modern idioms and explain the changes:",
    "Why is this slow, and how would you fix it?",
]
_LOG_LINES = [
    "2024-06-02 10:14:{s:02d} INFO  worker-{n} job {j} started",
    "2024-06-02 10:14:{s:02d} WARN  worker-{n} job {j} slow: {ms} ms",
    "2024-06-02 10:14:{s:02d} ERROR worker-{n} job {j} failed: TimeoutError: read timed out",
    'Traceback (most recent call last):\n  File "app/jobs.py", line {ms}, in run\n'
    "    result = client.fetch(url)\nTimeoutError: read timed out",
]
_LOG_ASKS = [
    "Here are my service logs. Debug why the jobs fail and suggest a code fix:",
    "Our Python worker crashes with this traceback, what is the bug in the code?",
]
_LOG_EXTRACT_ASKS = [
    "Extract every job id and its status from these logs as JSON:",
    "List the timestamps and worker numbers of all ERROR lines in this log:",
]
_ARTICLE_SENTENCES = [
    "The regional council approved a new housing plan after months of consultation.",
    "Residents raised concerns about traffic and the loss of green space near the river.",
    "Developers promised that a third of the new homes would be affordable.",
    "Opposition members argued that the schools in the area are already full.",
    "The plan includes a new cycle path and a small park next to the station.",
    "Construction is expected to start next spring and last about four years.",
    "Local businesses welcomed the prospect of more customers in the town centre.",
    "An independent review of the flood risk will be published before work begins.",
]
_ARTICLE_ASKS = [
    "Summarize this article in three sentences:",
    "Give me the main points of this news story:",
    "Translate this article into French:",
    "Extract the names of every group mentioned in this article and what each wants:",
]


def _pasted(kind: str, rng: random.Random) -> str | None:
    """A long prompt: an ask around pasted code, logs or an article (None if not this kind)."""
    if kind == "code":
        if rng.random() < 0.6:
            code = rng.choice(_CODE_FILES + _SHORT_CODE)
            fence = rng.choice(["```\n", "```python\n", ""])
            ask = rng.choice(_CODE_ASKS)
            body = f"{fence}{code}\n{'```' if fence else ''}"
            return f"{ask}\n{body}" if rng.random() < 0.7 else f"{body}\n{ask}"
        lines = [
            rng.choice(_LOG_LINES).format(
                s=rng.randint(0, 59),
                n=rng.randint(1, 8),
                j=rng.randint(100, 999),
                ms=rng.randint(20, 900),
            )
            for _ in range(rng.randint(6, 25))
        ]
        return f"{rng.choice(_LOG_ASKS)}\n\n" + "\n".join(lines)
    if kind == "extraction":
        lines = [
            rng.choice(_LOG_LINES[:3]).format(
                s=rng.randint(0, 59),
                n=rng.randint(1, 8),
                j=rng.randint(100, 999),
                ms=rng.randint(20, 900),
            )
            for _ in range(rng.randint(6, 25))
        ]
        return f"{rng.choice(_LOG_EXTRACT_ASKS)}\n\n" + "\n".join(lines)
    article = " ".join(rng.sample(_ARTICLE_SENTENCES, rng.randint(4, 8)))
    if kind == "summarization":
        return f"{rng.choice(_ARTICLE_ASKS[:2])}\n\n{article}"
    if kind == "translation":
        return f"{_ARTICLE_ASKS[2]}\n\n{article}"
    if kind == "rewriting":
        return f"Rewrite this paragraph in a neutral, formal tone:\n\n{article}"
    return None


# Casual openers for the noisy copies (written for them; the test grammar has its own).
_OPENERS = [
    "hiya, ",
    "question - ",
    "right, ",
    "Hi! ",
    "help please: ",
    "need a hand. ",
    "for school: ",
    "my friend asked: ",
    "hmm, ",
    "one more: ",
]


def _noisy(prompt: str, rng: random.Random) -> str:
    """A copy of `prompt` typed carelessly: one or two of four kinds of noise."""
    text = prompt
    for kind in rng.sample(("lower", "unpunctuated", "typo", "opener"), rng.randint(1, 2)):
        if kind == "lower":
            text = text.lower()
        elif kind == "unpunctuated":
            text = text.rstrip(".?!")
        elif kind == "typo":
            words = text.split(" ")
            long_words = [i for i, word in enumerate(words) if len(word) > 4 and word.isalpha()]
            if long_words:
                i = rng.choice(long_words)
                j = rng.randint(1, len(words[i]) - 2)
                word = words[i]
                words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
                text = " ".join(words)
        else:
            text = rng.choice(_OPENERS) + text[:1].lower() + text[1:]
    return text


def build() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The train and test rows, deterministic."""
    train: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    rng = random.Random(12)
    for index, kind in enumerate(TASKS):
        for prompt in grammar_a.generate(kind, PER_TYPE_A, seed=100 + index):
            train.append({"prompt": prompt, "task": kind, "source": "grammar_a"})
        seen: set[str] = set()
        wanted = PER_TYPE_PASTED * (3 if kind == "code" else 1)
        for _ in range(wanted * 5):
            pasted = _pasted(kind, rng)
            if pasted is None or len(seen) >= wanted:
                break
            if pasted not in seen:
                seen.add(pasted)
                train.append({"prompt": pasted, "task": kind, "source": "pasted"})
        for prompt in grammar_c.generate(kind, PER_TYPE_C, seed=500 + index):
            train.append({"prompt": prompt, "task": kind, "source": "grammar_c"})
        for prompt in grammar_d.generate(kind, PER_TYPE_D, seed=700 + index):
            train.append({"prompt": prompt, "task": kind, "source": "grammar_d"})
        for prompt in grammar_e.generate(kind, PER_TYPE_E, seed=300 + index):
            train.append({"prompt": prompt, "task": kind, "source": "grammar_e"})
        for prompt in grammar_f.generate(kind, PER_TYPE_F, seed=400 + index):
            train.append({"prompt": prompt, "task": kind, "source": "grammar_f"})
        for prompt in grammar_b.generate(kind, PER_TYPE_B, seed=900 + index):
            test.append({"prompt": prompt, "task": kind, "source": "grammar_b"})
    noise = random.Random(34)
    generated = [row for row in train if row["source"].startswith("grammar")]
    for row in generated:
        if noise.random() < 0.33:
            copy = _noisy(row["prompt"], noise)
            train.append({"prompt": copy, "task": row["task"], "source": "noisy"})
    for line in (HERE / "hand_train.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            train.append({"prompt": row["prompt"], "task": row["task"], "source": "hand_train"})
    # Wave 3, appended after the wave-2 rows so that those stay exactly as they were.
    rewrite = random.Random(56)
    for index, kind in enumerate(TASKS):
        for prompt in grammar_g.generate(kind, PER_TYPE_G, seed=1100 + index):
            train.append({"prompt": prompt, "task": kind, "source": "grammar_g"})
            if rewrite.random() < PARAPHRASE_SHARE:
                variant = paraphrase(prompt, rewrite)
                if variant != prompt:
                    train.append({"prompt": variant, "task": kind, "source": "paraphrase"})
    for row in [r for r in train if r["source"] == "hand_train"]:
        variant = paraphrase(row["prompt"], rewrite)
        if variant != row["prompt"]:
            train.append({"prompt": variant, "task": row["task"], "source": "paraphrase"})
    for line in (HERE / "hand.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["task"] not in TASKS:
                raise ValueError(f"hand.jsonl: unknown task {row['task']!r}")
            test.append({"prompt": row["prompt"], "task": row["task"], "source": "hand"})
    return train, test


def main() -> None:
    """Write train.jsonl and test.jsonl next to this script and print counts per type."""
    train, test = build()
    for name, rows in (("train", train), ("test", test)):
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts = {kind: sum(1 for r in rows if r["task"] == kind) for kind in TASKS}
        print(name, len(rows), counts)


if __name__ == "__main__":
    main()
