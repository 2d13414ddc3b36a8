"""A small OpenAI-compatible server for the pool tests, run as its own process (killable by pid).

    python tests/fake_pool_server.py [--kind llama.cpp|vllm|ollama|openai] [--slots N]
        [--tokens N] [--token-delay S] [--first-delay S] [--log FILE] [--port N]

It prints `PORT <n>` on its first line (it binds 127.0.0.1, port 0 unless told), then serves:
POST /v1/chat/completions (SSE, `--tokens` chunks "t0 ", "t1 ", ... `--token-delay` apart, at
most `--slots` at a time, the others waiting: "deferred"), GET /v1/models, /health, /slots and
/metrics (llama.cpp or vLLM Prometheus text, from its live counters), /api/ps (Ollama), and
GET /stats: {"peak": most requests generating at once, "requests": total, "active": now}.
With `--log`, every chat request body is appended to FILE as one JSON line, so tests can see
exactly what reached the server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class State:
    """Counters shared by the handler threads."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.lock = threading.Lock()
        self.slots = threading.Semaphore(args.slots)
        self.active = 0
        self.waiting = 0
        self.peak = 0
        self.requests = 0
        self.generated = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, payload: object, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _text(self, text: str) -> None:
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        state = self.state
        kind = state.args.kind
        with state.lock:
            active, waiting, peak = state.active, state.waiting, state.peak
            requests, generated = state.requests, state.generated
        if self.path == "/health":
            self._json({"status": "ok"})
        elif self.path == "/v1/models":
            self._json({"object": "list", "data": [{"id": state.args.model, "object": "model"}]})
        elif self.path == "/stats":
            self._json({"peak": peak, "requests": requests, "active": active})
        elif self.path == "/slots" and kind == "llama.cpp":
            slots = [{"id": i, "is_processing": i < active} for i in range(state.args.slots)]
            self._json(slots)
        elif self.path == "/metrics" and kind == "llama.cpp":
            self._text(
                "# HELP llamacpp:requests_processing Number of requests processing.\n"
                "# TYPE llamacpp:requests_processing gauge\n"
                f"llamacpp:requests_processing {active}\n"
                "# HELP llamacpp:requests_deferred Number of requests deferred.\n"
                "# TYPE llamacpp:requests_deferred gauge\n"
                f"llamacpp:requests_deferred {waiting}\n"
                "# HELP llamacpp:predicted_tokens_seconds Average generation throughput.\n"
                "# TYPE llamacpp:predicted_tokens_seconds gauge\n"
                f"llamacpp:predicted_tokens_seconds {42.5 if generated else 0}\n"
            )
        elif self.path == "/metrics" and kind == "vllm":
            label = f'{{model_name="{state.args.model}"}}'
            self._text(
                "# TYPE vllm:num_requests_running gauge\n"
                f"vllm:num_requests_running{label} {active}\n"
                "# TYPE vllm:num_requests_waiting gauge\n"
                f"vllm:num_requests_waiting{label} {waiting}\n"
                "# TYPE vllm:kv_cache_usage_perc gauge\n"
                f"vllm:kv_cache_usage_perc{label} 0.25\n"
                "# TYPE vllm:generation_tokens counter\n"
                f"vllm:generation_tokens_total{label} {generated}\n"
            )
        elif self.path == "/api/ps" and kind == "ollama":
            self._json({"models": [{"name": state.args.model, "model": state.args.model}]})
        else:
            self._json({"error": "not found"}, 404)

    def do_POST(self) -> None:
        state = self.state
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path != "/v1/chat/completions":
            self._json({"error": "not found"}, 404)
            return
        if state.args.log:
            with state.lock, open(state.args.log, "ab") as log:
                log.write(raw.replace(b"\n", b" ") + b"\n")
        body = json.loads(raw)
        with state.lock:
            state.requests += 1
            state.waiting += 1
        state.slots.acquire()
        with state.lock:
            state.waiting -= 1
            state.active += 1
            state.peak = max(state.peak, state.active)
        try:
            self._stream(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with state.lock:
                state.active -= 1
            state.slots.release()

    def _event(self, payload: object) -> None:
        data = f"data: {json.dumps(payload) if not isinstance(payload, str) else payload}\n\n"
        chunk = data.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.flush()

    def _stream(self, body: dict[str, Any]) -> None:
        args = self.state.args
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        time.sleep(args.first_delay)
        count = min(args.tokens, int(body.get("max_tokens") or args.tokens))
        model = args.model
        for index in range(count):
            choice = {"index": 0, "delta": {"content": f"t{index} "}, "finish_reason": None}
            self._event({"model": model, "choices": [choice]})
            with self.state.lock:
                self.state.generated += 1
            time.sleep(args.token_delay)
        self._event(
            {"model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        )
        usage = {"prompt_tokens": 5, "completion_tokens": count, "total_tokens": 5 + count}
        self._event({"model": model, "choices": [], "usage": usage})
        self._event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a cancelled stream, a test's end) are normal here, not errors."""

    def handle_error(self, request: object, client_address: object) -> None:
        return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", default="llama.cpp")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument("--token-delay", type=float, default=0.01)
    parser.add_argument("--first-delay", type=float, default=0.0)
    parser.add_argument("--log", default="")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    Handler.state = State(args)
    server = QuietServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
