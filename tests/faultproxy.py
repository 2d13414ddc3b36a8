"""A fault-injecting HTTP proxy for the cloud tests: real sockets on 127.0.0.1, real failures.

`FaultProxy` listens on a free port and, for each request, takes the next `Fault` from its
queue (or `default`): pass the request through to the upstream server (the real
llama_cpp.server), optionally slowed down, reset or corrupted once the first token went by; or
answer itself (a status code with headers, an HTML page, a scripted SSE stream, a reset, or
silence). It records every request line and header block, and counts open client connections
so tests can see a cancelled request close its connection.

It also serves as a forward proxy: a request in absolute form (`GET http://host/... HTTP/1.1`)
is recorded with its full URL, which lets tests prove which proxy the client went through.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[
    "pass",
    "status",
    "html",
    "sse",
    "sse_then_stall",
    "reset",
    "reset_mid_stream",
    "malformed_mid_stream",
    "stall_mid_stream",
    "blackhole",
]

#: A streamed chunk that carries answer text (llama_cpp.server writes `"content": " The"`).
_CONTENT = re.compile(rb'"content":\s*"[^"]')


@dataclass(frozen=True)
class Fault:
    """What the proxy does with one request."""

    kind: FaultKind = "pass"
    status: int = 500
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay_s: float = 0.0
    events: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeenRequest:
    """A request the proxy received."""

    method: str
    target: str
    headers: str
    body: bytes


@dataclass
class FaultProxy:
    """An asyncio TCP server in front of `upstream_port` on 127.0.0.1."""

    upstream_port: int | None = None
    default: Fault = field(default_factory=Fault)
    faults: deque[Fault] = field(default_factory=deque)
    seen: list[SeenRequest] = field(default_factory=list)
    open_connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        """The OpenAI-style API root behind this proxy."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def url(self) -> str:
        """The proxy's own URL, for use as an HTTP forward proxy."""
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        """The request targets seen so far, in order."""
        return [request.target for request in self.seen]

    def queue(self, *faults: Fault) -> None:
        """Apply `faults` to the next requests, one each, in order."""
        self.faults.extend(faults)

    async def start(self) -> FaultProxy:
        """Listen on a free port of 127.0.0.1."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        self._idle.set()
        return self

    async def stop(self) -> None:
        """Close the listener and end every connection still open."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no client connection is open."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.open_connections += 1
        self._idle.clear()
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self.open_connections -= 1
            if self.open_connections == 0:
                self._idle.set()
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        body = await reader.readexactly(int(length.group(1))) if length else b""
        request_line, _, header_block = head.decode("latin-1").partition("\r\n")
        method, target, _ = request_line.split(" ", 2)
        self.seen.append(SeenRequest(method, target, header_block, body))
        fault = self.faults.popleft() if self.faults else self.default
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.kind == "blackhole":
            await reader.read()
            return
        if fault.kind == "reset":
            _reset(writer)
            return
        if fault.kind == "status":
            writer.write(_response(fault.status, fault.headers, fault.body))
        elif fault.kind == "html":
            page = b"<html><body>Please log in to the hotel Wi-Fi</body></html>"
            writer.write(_response(200, (("Content-Type", "text/html"),), page))
        elif fault.kind == "sse":
            payload = "".join(f"data: {event}\n\n" for event in fault.events).encode()
            writer.write(_response(200, (("Content-Type", "text/event-stream"),), payload))
        elif fault.kind == "sse_then_stall":
            # No Content-Length: the body runs until the connection closes, which it never does.
            payload = "".join(f"data: {event}\n\n" for event in fault.events).encode()
            status = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            writer.write(status + b"Connection: close\r\n\r\n" + payload)
            await writer.drain()
            await reader.read()
        else:
            await self._forward(head, body, fault, writer)
            return
        await writer.drain()

    async def _forward(
        self, head: bytes, body: bytes, fault: Fault, writer: asyncio.StreamWriter
    ) -> None:
        assert self.upstream_port is not None, "no upstream server for a pass-through fault"
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            # One request per upstream connection keeps the relay simple.
            head = re.sub(rb"(?im)^connection:[^\r\n]*\r\n", b"", head)
            head = head[:-2] + b"Connection: close\r\n\r\n"
            up_writer.write(head + body)
            await up_writer.drain()
            response_head = await up_reader.readuntil(b"\r\n\r\n")
            writer.write(response_head)
            if b"chunked" not in response_head.lower():
                writer.write(await up_reader.read())
                await writer.drain()
                return
            while True:
                size_line = await up_reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                data = await up_reader.readexactly(size + 2)
                writer.write(size_line + data)
                await writer.drain()
                if size == 0:
                    return
                if not _CONTENT.search(data):
                    continue
                if fault.kind == "reset_mid_stream":
                    _reset(writer)
                    return
                if fault.kind == "malformed_mid_stream":
                    bad = b"data: {this is not json\n\n"
                    writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(bad), bad))
                    await writer.drain()
                    return
                if fault.kind == "stall_mid_stream":
                    await asyncio.sleep(3600)
        finally:
            up_writer.close()


def _response(status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} Fault", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers]
    if not any(name.lower() == "content-type" for name, _ in headers):
        lines.append("Content-Type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), like a crashed server or middlebox."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
