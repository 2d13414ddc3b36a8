"""Fake pool servers for the tests: tests/fake_pool_server.py in child processes, by pid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SCRIPT = Path(__file__).with_name("fake_pool_server.py")


@dataclass
class FakeServer:
    """One fake OpenAI-compatible server process on 127.0.0.1."""

    name: str
    args: list[str]
    log: Path
    process: subprocess.Popen[str] | None = None
    port: int = 0
    history: list[int] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """Its OpenAI-compatible API root."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeServer:
        """Start (or restart, on the same port) and wait for its PORT line."""
        command = [sys.executable, str(SCRIPT), *self.args, "--log", str(self.log)]
        if self.port:
            command += ["--port", str(self.port)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("PORT "), f"fake server {self.name} did not start: {line!r}"
        self.port = int(line.split()[1])
        self.history.append(self.process.pid)
        return self

    def kill(self) -> None:
        """SIGKILL by pid, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stats(self) -> dict[str, int]:
        """Its counters: peak concurrent generations, requests, active now."""
        response = httpx.get(f"http://127.0.0.1:{self.port}/stats", timeout=5, trust_env=False)
        data: dict[str, int] = response.json()
        return data

    def bodies(self) -> list[dict[str, object]]:
        """Every chat request body it received, in order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def received_text(self) -> str:
        """All message contents it received, joined."""
        parts: list[str] = []
        for body in self.bodies():
            messages = body.get("messages")
            assert isinstance(messages, list)
            parts.extend(str(message["content"]) for message in messages)
        return "\n".join(parts)


class FakeServers:
    """Starts fake servers and kills every one of them at teardown."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[FakeServer] = []

    def start(
        self,
        name: str,
        *,
        kind: str = "llama.cpp",
        slots: int = 4,
        tokens: int = 8,
        token_delay: float = 0.01,
        first_delay: float = 0.0,
    ) -> FakeServer:
        """A new server process, ready to answer."""
        args = ["--kind", kind, "--slots", str(slots), "--tokens", str(tokens)]
        args += ["--token-delay", str(token_delay), "--first-delay", str(first_delay)]
        args += ["--model", f"model-{name}"]
        server = FakeServer(name, args, self.directory / f"{name}.jsonl")
        self.started.append(server)
        return server.start()

    def close(self) -> None:
        """Kill every server still running."""
        for server in self.started:
            server.kill()
