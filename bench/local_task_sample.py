"""The bundled 270M model's answers to the first 3 hand-written prompts of each task type.

Run: python bench/local_task_sample.py > answers.jsonl
One JSON line per answer. bench/data/tasks/local_sample_270m.jsonl is one such run with an `ok`
field added by hand after reading each answer (is it right and usable?); it backs the
`[router.tasks]` defaults. This is a sample for reading, not a benchmark: its last line is the
count of answers, `local_sample_answers N`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from llama_cpp import Llama

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engines.base import Message  # noqa: E402
from engines.model import resolve_model  # noqa: E402
from engines.prompt_format import dialogue_prompt  # noqa: E402

PER_TYPE = 3


def main() -> None:
    """Print the answers as JSON lines, then the count."""
    llm = Llama(model_path=str(resolve_model("bundled").path), n_ctx=1024, verbose=False)
    lines = (ROOT / "bench" / "data" / "tasks" / "hand.jsonl").read_text().splitlines()
    by_task: dict[str, list[str]] = {}
    for line in lines:
        row = json.loads(line)
        by_task.setdefault(row["task"], []).append(row["prompt"])
    count = 0
    for task, prompts in by_task.items():
        for prompt in prompts[:PER_TYPE]:
            rendered = dialogue_prompt([Message("user", prompt)])
            result = llm(
                rendered.text,
                max_tokens=80,
                stop=list(rendered.stop),
                temperature=0.2,
                repeat_penalty=1.1,
            )
            answer = result["choices"][0]["text"].strip()
            print(json.dumps({"task": task, "prompt": prompt, "answer": answer}), flush=True)
            count += 1
    print(f"local_sample_answers {count}")


if __name__ == "__main__":
    main()
