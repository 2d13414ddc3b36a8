"""Conversation overhead: preparing a request with a 50-turn history vs a single-turn prompt.

Run: python bench/conversation_speed.py [--rounds N] [--turns N]
Target (issue 11): a 50-turn history adds <= 10 ms p99 to preparing a request (the PII scan of
the new text, the cached scans of earlier turns, routing and context fitting), and building the
redacted cloud messages of that history is measured beside it.

Both runs use one real Runtime with the real Presidio scanner and a real SQLite ledger (no
engine is started: preparing asks none). The two cases alternate so machine load hits both alike.
Wall-clock and CPU time (this process, every thread) are both printed: on a busy 2-core machine
the wall-clock p99 of a paired difference measures the neighbours, the CPU time what the history
costs. The headline is the wall-clock figure.
Last line: `conversation_prepare_added_p99_ms X.XX`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.dispatch import Conversation, _messages  # noqa: E402
from console.runtime import Runtime  # noqa: E402
from policies.config import ConfigStore  # noqa: E402
from policies.context import Turn, fit  # noqa: E402

PROMPT = (
    "Can you check the deploy log below and tell me why the canary failed? "
    "The health check on port 8080 timed out twice after the config reload at 14:02. "
) * 3
TURN_PROMPTS = (
    "Ticket from Dana Whitfield (dana.whitfield@example.org): the export job stalls at 80%.",
    "Which queue does the export worker read from?",
    "Summarise the last answer in two lines.",
    "What would change if we doubled the worker count?",
)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _main(rounds: int, turns: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text('[pii]\non_pii = "redact"\n')
        runtime = Runtime(ConfigStore.open(config), db_path=Path(tmp) / "ledger.sqlite")
        await runtime.start(local=False, pii=True, cloud=False)
        await asyncio.to_thread(runtime.scanner.load)
        dispatcher = runtime.dispatcher
        cfg = runtime.config()
        history = Conversation()
        for index in range(turns):
            text = TURN_PROMPTS[index % len(TURN_PROMPTS)]
            history.turns.append(Turn(text, f"Answer {index}: the worker reads queue q{index}."))
        # The first prepare scans the history once; every later one reads the cached scans.
        await dispatcher.prepare(PROMPT, conversation=history)
        wall: dict[str, list[float]] = {"single": [], "multi": []}
        cpu: dict[str, list[float]] = {"single": [], "multi": []}
        messages_ms: list[float] = []
        for _ in range(rounds):
            for case, conversation in (("single", Conversation()), ("multi", history)):
                started, started_cpu = time.perf_counter(), time.process_time()
                prepared = await dispatcher.prepare(PROMPT, conversation=conversation)
                wall[case].append((time.perf_counter() - started) * 1000)
                cpu[case].append((time.process_time() - started_cpu) * 1000)
            started = time.perf_counter()
            fitted = fit(prepared.history, "", PROMPT, cfg.chat.cloud_context_tokens, 512)
            _messages("", fitted, prepared.redacted, history.pseudonymizer)
            messages_ms.append((time.perf_counter() - started) * 1000)
        await runtime.aclose()
    added = [m - s for m, s in zip(wall["multi"], wall["single"], strict=True)]
    added_cpu = [m - s for m, s in zip(cpu["multi"], cpu["single"], strict=True)]
    print(f"{rounds} rounds, prompt {len(PROMPT)} chars, history {turns} turns (scans cached)")
    print(f"{'case':<40}{'p50 ms':>10}{'p99 ms':>10}")
    for name, values in (
        ("prepare, single turn (wall)", wall["single"]),
        (f"prepare, {turns}-turn history (wall)", wall["multi"]),
        ("added by the history (wall, paired)", added),
        ("prepare, single turn (CPU)", cpu["single"]),
        (f"prepare, {turns}-turn history (CPU)", cpu["multi"]),
        ("added by the history (CPU, paired)", added_cpu),
        (f"redacted cloud messages, {turns} turns", messages_ms),
    ):
        print(f"{name:<40}{statistics.median(values):>10.2f}{_p(values, 0.99):>10.2f}")
    print("target: added p99 <= 10 ms")
    print(f"conversation_prepare_added_p99_ms {_p(added, 0.99):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(_main(args.rounds, args.turns))


if __name__ == "__main__":
    main()
