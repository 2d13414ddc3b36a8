"""A small OpenAI-compatible server the tests own: real HTTP and SSE on 127.0.0.1.

It answers every chat completion with the same short streamed answer and the same usage
(`PROMPT_TOKENS`, `COMPLETION_TOKENS`), so tests know exactly what each request must add to the
counters. A prompt containing `HOLD` is held until the test calls `release()`: the switchboard
process stays alive with every earlier request recorded, so it can be scraped or inspected.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
MODEL = "stub-model"
ANSWER = ("Hello", " from", " the", " stub.")
HOLD_MARK = "HOLD"


class OpenAIStub:
    """The server; `base_url` is its API root (…/v1)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.held = threading.Event()
        self._release = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test output is for assertions."""

            def _json(self, status: int, payload: object) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                stub.bodies.append(body)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "not found"}})
                    return
                text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
                if HOLD_MARK in text:
                    stub.held.set()
                    stub._release.wait(timeout=120)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for piece in ANSWER:
                    self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self._event(
                    {
                        "choices": [],
                        "usage": {
                            "prompt_tokens": PROMPT_TOKENS,
                            "completion_tokens": COMPLETION_TOKENS,
                            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
                        },
                    }
                )
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, payload: dict[str, Any]) -> None:
                chunk = {"id": "stub", "object": "chat.completion.chunk", "model": MODEL, **payload}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The API root, e.g. http://127.0.0.1:PORT/v1."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> OpenAIStub:
        """Serve from a daemon thread."""
        self._thread.start()
        return self

    def release(self) -> None:
        """Let a held request answer."""
        self._release.set()

    def stop(self) -> None:
        """Release anything held and stop serving."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
