"""Switching conversations: the time from ctrl+o until the list of 200 saved ones is on screen.

Issue 11's target: with 200 saved conversations, the console shows the list in <= 100 ms.
Measured in a real terminal: `switchboard` runs in a private tmux server over a ledger file
holding 200 conversations of three turns each, written by the real ConversationStore. Once the
model and the PII analyzer have loaded, each round sends ctrl+o as a key, polls the pane until
the list's status line ("200 saved conversations") is on it, then closes it with escape and
waits until it is gone. The help screen (f1, a modal with no data to read) is timed the same way
in alternate rounds, so the figure beside it is the cost of any modal screen on this machine
under the same load, and the difference is the list's.
The pane is polled every few ms (`tmux capture-pane`), which bounds the resolution.

Run: python bench/conversation_list.py [--rounds N] [--saved N]
Last line: `conversation_list_p99_ms X`. Absolute times depend on the machine's load: say so.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.conversations import ConversationStore, StoredTurn  # noqa: E402
from console.ledger import Ledger  # noqa: E402

DEADLINE_S = 10.0


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _save(path: Path, saved: int) -> None:
    # The ledger first: the console refuses a SQLite file that is not one.
    Ledger.open(path).close()
    store = ConversationStore(path)
    now = time.time()
    try:
        for index in range(saved):
            conversation = uuid.uuid4().hex
            for turn in range(3):
                store.add_turn(
                    conversation,
                    StoredTurn(
                        turn=turn,
                        request_id=uuid.uuid4().hex,
                        ts=now - (saved - index) * 60 + turn,
                        tier=("local", "cloud", "pool")[turn],
                        cost_usd=0.0004 * turn,
                        prompt=f"Question {turn} about the export job number {index}",
                        answer=f"Answer {turn}: the worker reads queue q{index}.",
                    ),
                    title=f"Export job {index}",
                )
    finally:
        store.close()


class Pane:
    """A private tmux server running the console in one pane."""

    def __init__(self, command: list[str]) -> None:
        self.name = f"switchboard-bench-{uuid.uuid4().hex[:8]}"
        self.tmux = ["tmux", "-L", self.name]
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", self.name, "-x", "140", "-y", "44",
             "-e", "TERM=xterm-256color", "-e", f"PYTHONPATH={ROOT}", shlex.join(command)],
            check=True, capture_output=True,
        )  # fmt: skip

    def text(self) -> str:
        """What the pane shows now."""
        return subprocess.run(
            [*self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        ).stdout

    def keys(self, *keys: str) -> None:
        """Send keys as the terminal would."""
        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def until(self, shown: bool, text: str, deadline_s: float = DEADLINE_S) -> float:
        """Seconds until `text` is (or is no longer) on the pane; exits past the deadline."""
        started = time.perf_counter()
        while (text in self.text()) != shown:
            if time.perf_counter() - started > deadline_s:
                verdict = "never showed" if shown else "stayed"
                raise SystemExit(f"{text!r} {verdict}:\n{self.text()}")
        return time.perf_counter() - started

    def close(self) -> None:
        """End the tmux server this bench started (and the console in it)."""
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def _command(tmp: Path) -> list[str]:
    config = tmp / "config.toml"
    # No engine: opening a list asks none, and a loading model would only add noise.
    config.write_text('[local]\nmodel = "bundled"\n')
    script = Path(sys.executable).parent / "switchboard"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "console.cli"]
    return [
        "env", "-u", "COLUMNS", "-u", "LINES",
        *base, "--config", str(config), "--db", str(tmp / "ledger.sqlite"),
    ]  # fmt: skip


def measure(rounds: int, saved: int) -> tuple[list[float], list[float]]:
    """Milliseconds from the key to the list on screen, and to the help screen, per round."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        _save(tmp / "ledger.sqlite", saved)
        pane = Pane(_command(tmp))
        listed: list[float] = []
        helped: list[float] = []
        try:
            pane.until(True, "Ask anything")
            # The model and the PII analyzer load in the background at start (the analyzer in
            # a thread of this process): measure the console as it is once they are loaded.
            pane.until(False, "loading", deadline_s=120)
            status = f"{saved} saved conversations"
            for _ in range(rounds):
                for key, marker, into in (("C-o", status, listed), ("F1", "Good to know", helped)):
                    started = time.perf_counter()
                    pane.keys(key)
                    pane.until(True, marker)
                    into.append((time.perf_counter() - started) * 1000)
                    pane.keys("Escape")
                    pane.until(False, marker)
        finally:
            pane.close()
    return listed, helped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--saved", type=int, default=200)
    args = parser.parse_args()
    listed, helped = measure(args.rounds, args.saved)
    load = os.getloadavg()[0]
    print(f"{args.rounds} rounds, {args.saved} saved conversations, load average {load:.1f}")
    print(f"{'key to screen, real terminal':<40}{'p50 ms':>10}{'p99 ms':>10}")
    for name, values in (
        (f"ctrl+o: list of {args.saved} conversations", listed),
        ("f1: help screen (reference)", helped),
    ):
        print(f"{name:<40}{statistics.median(values):>10.1f}{_p(values, 0.99):>10.1f}")
    print("target: list <= 100 ms")
    print(f"conversation_list_p99_ms {_p(listed, 0.99):.1f}")


if __name__ == "__main__":
    main()
