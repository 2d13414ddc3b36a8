"""The --demo-cloud endpoint: llama-cpp-python's own OpenAI-compatible server on 127.0.0.1.

`DemoServer` runs `python -m llama_cpp.server` with the bundled model as a child process, waits
until GET /v1/models answers, and stops it by its pid. The console points a CloudEngine at
`base_url` (known from construction, so the engine can be built before the server is up) and
labels it "demo endpoint". The bundled model is a base model without a chat template, so the
server gets a plain "User: ... / Assistant:" template; a model with its own template keeps it.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from engines.base import EngineUnavailable

if TYPE_CHECKING:
    from engines.model import ResolvedModel

#: A dialogue template for a base model: the server appends an empty assistant turn, which
#: renders as the trailing "Assistant:"; the "eos" string doubles as the stop sequence.
PLAIN_DIALOGUE = {
    "bos_token": "<bos>",
    "eos_token": "\nUser:",
    "chat_template": (
        "{{ bos_token }}{% for m in messages %}"
        "{% if m.role == 'assistant' and not m.content %}Assistant:"
        "{% elif m.role == 'system' %}{{ m.content }}\n\n"
        "{% else %}{{ 'User' if m.role == 'user' else 'Assistant' }}: {{ m.content }}\n"
        "{% endif %}{% endfor %}"
    ),
}

#: Runs llama_cpp.server like `python -m`, plus a watchdog thread that ends the server when
#: Switchboard's process is gone (even after kill -9), so no orphan keeps the model and port.
_LAUNCHER = (
    "import os, runpy, sys, threading, time\n"
    "parent = int(sys.argv.pop(1))\n"
    "def watch():\n"
    "    while os.getppid() == parent:\n"
    "        time.sleep(0.5)\n"
    "    os._exit(0)\n"
    "threading.Thread(target=watch, daemon=True).start()\n"
    "sys.argv[0] = 'llama_cpp.server'\n"
    "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)

FIX = "pip install 'llama-cpp-python[server]' (the `server` extra of switchboard)"


class DemoServerError(EngineUnavailable):
    """The demo endpoint could not be started."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class DemoServer:
    """A llama_cpp.server child process serving one GGUF model on 127.0.0.1."""

    def __init__(
        self,
        model: ResolvedModel | Path,
        *,
        port: int | None = None,
        n_threads: int = 1,
        startup_timeout_s: float = 60.0,
        python: str = sys.executable,
        new_session: bool = False,
    ) -> None:
        if isinstance(model, Path):
            self.model_path = model
            self._has_template = False
        else:
            self.model_path = model.path
            self._has_template = bool(model.info.chat_template)
        self.port = port if port is not None else free_port()
        self.n_threads = n_threads
        self.startup_timeout_s = startup_timeout_s
        self._python = python
        #: Run the server in a session of its own. Where the kernel groups CPU time by session
        #: (autogroup), it then gets its own share like a separate machine, instead of
        #: splitting its starter's: two servers started by one program would otherwise get
        #: no more CPU together than one alone on a busy machine (the pool benches use it).
        self.new_session = new_session
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, e.g. http://127.0.0.1:8123/v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int | None:
        """The server process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def _command(self, workdir: Path) -> list[str]:
        command = [
            self._python,
            "-c",
            _LAUNCHER,
            str(os.getpid()),
            "--model",
            str(self.model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            str(self.n_threads),
            # Prompt processing too: the server's default is every core, so two servers of
            # "one thread" each spun two threads apiece on a 2-core machine and slowed each other.
            "--n_threads_batch",
            str(self.n_threads),
            # By default a new request (even GET /v1/models, a health probe) ends the answer
            # being streamed: concurrent requests and probes would cut each other off.
            "--interrupt_requests",
            "false",
        ]
        if not self._has_template:
            template = workdir / "tokenizer_config.json"
            template.write_text(json.dumps(PLAIN_DIALOGUE), encoding="utf-8")
            command += ["--chat_format", "hf-tokenizer-config"]
            command += ["--hf_tokenizer_config_path", str(template)]
        return command

    def _log_tail(self) -> str:
        if self._workdir is None:
            return ""
        try:
            lines = (self._workdir / "server.log").read_text("utf-8", "replace").splitlines()
        except OSError:
            return ""
        meaningful = [line.strip() for line in lines if line.strip()]
        return meaningful[-1] if meaningful else ""

    def start_blocking(self) -> str:
        """Start the server and wait until it answers; return `base_url`.

        Raises DemoServerError (with the server's last log line) when it exits or does not
        answer within `startup_timeout_s`.
        """
        if self.running:
            return self.base_url
        if not self.model_path.is_file():
            raise DemoServerError(f"demo endpoint: model file {self.model_path} does not exist")
        self._workdir = Path(tempfile.mkdtemp(prefix="switchboard-demo-"))
        with (self._workdir / "server.log").open("wb") as log_file:
            self._process = subprocess.Popen(
                self._command(self._workdir),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=self.new_session,
            )
        atexit.register(self.stop_blocking)
        deadline = time.monotonic() + self.startup_timeout_s
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while True:
                code = self._process.poll()
                if code is not None:
                    tail = self._log_tail()
                    self.stop_blocking()
                    raise DemoServerError(
                        f"demo endpoint: llama_cpp.server exited with code {code}: {tail}", fix=FIX
                    )
                try:
                    if client.get(f"{self.base_url}/models").status_code == 200:
                        return self.base_url
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop_blocking()
                    raise DemoServerError(
                        f"demo endpoint: no answer on {self.base_url} within "
                        f"{self.startup_timeout_s:g} s",
                        fix=FIX,
                    )
                time.sleep(0.1)

    async def start(self) -> str:
        """Start the server without blocking the event loop; return `base_url`."""
        return await asyncio.to_thread(self.start_blocking)

    def stop_blocking(self) -> None:
        """Terminate the server by its pid (kill it if it does not exit within 5 s)."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            atexit.unregister(self.stop_blocking)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    async def stop(self) -> None:
        """Stop the server without blocking the event loop."""
        await asyncio.to_thread(self.stop_blocking)

    def __enter__(self) -> DemoServer:
        self.start_blocking()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_blocking()
