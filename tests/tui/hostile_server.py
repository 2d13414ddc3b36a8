"""A tiny OpenAI-compatible server on 127.0.0.1 whose answers attack the terminal and the markup.

Every chat completion streams HOSTILE, split across SSE chunks in the middle of its escape
sequences (as a network may split them), then a usage chunk and [DONE]. GET /models answers the
breaker's probe. It runs in a thread of the test process, on a port the OS picks, so it serves a
console in tmux (another process) as well as a Pilot test (same process).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: What the clipboard would receive through OSC 52, and the title OSC 2 would set.
CLIPBOARD_PAYLOAD = "switchboard-pwned-clipboard"
TITLE_PAYLOAD = "switchboard-pwned-title"

HOSTILE = (
    "Sure.\n"
    f"\x1b]52;c;{base64.b64encode(CLIPBOARD_PAYLOAD.encode()).decode()}\x07"  # OSC 52, BEL
    f"\x1b]2;{TITLE_PAYLOAD}\x1b\\"  # OSC 2, ST
    "\x1b[2J\x1b[H"  # clear the screen, cursor home
    "\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ "  # OSC 8 hyperlink
    "\x9b2J"  # 8-bit CSI
    f"\x9d52;c;{base64.b64encode(b'c1-pwned').decode()}\x9c"  # 8-bit OSC 52
    "\x1bP+q544e\x1b\\"  # DCS (XTGETTCAP)
    "[@click=app.quit]quit-link[/] [/] [bold]not bold[/bold] done."
)
#: What the console must show of HOSTILE: its text, every sequence and control removed.
SHOWN = "Sure.\nlink [@click=app.quit]quit-link[/] [/] [bold]not bold[/bold] done."
#: Chunk boundaries inside the sequences (after ESC, inside an OSC, between ESC and \\).
SPLITS = (7, 9, 30, 52, 53, 60, 75, 120, 121, 140)


def chunks(text: str = HOSTILE) -> list[str]:
    """`text` cut at SPLITS."""
    bounds = [0, *[s for s in SPLITS if s < len(text)], len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is about the console."""

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "hostile", "object": "model"}]})
        self._send(200, "application/json", body.encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        events = []
        for piece in chunks():
            delta = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            events.append(json.dumps({"id": "h", "object": "chat.completion.chunk", **delta}))
        done = {"index": 0, "delta": {}, "finish_reason": "stop"}
        usage = {"prompt_tokens": 11, "completion_tokens": 42, "total_tokens": 53}
        events.append(json.dumps({"id": "h", "choices": [done], "usage": usage}))
        events.append("[DONE]")
        payload = "".join(f"data: {event}\n\n" for event in events).encode()
        self._send(200, "text/event-stream", payload)

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def hostile_server() -> Iterator[str]:
    """Serve in a thread; yields the API root (`http://127.0.0.1:PORT/v1`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
