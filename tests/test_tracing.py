"""OpenTelemetry traces from a real `switchboard ask`, received by an OTLP/HTTP receiver the test
runs on 127.0.0.1 and decoded with opentelemetry-proto."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.openai_stub import COMPLETION_TOKENS, PROMPT_TOKENS, OpenAIStub
from tests.test_metrics import env_for, free_port, write_config

PII_PROMPT = "Email Maria Gonzalez at maria.gonzalez@example.org the Q3 incident summary."
PII_VALUES = ("Maria", "Gonzalez", "maria.gonzalez", "example.org", "Q3 incident")


class OtlpReceiver:
    """A minimal OTLP/HTTP trace receiver: POST /v1/traces with a protobuf body."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.raw.append(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource_spans in request.resource_spans:
                    receiver.resources.append(_attributes(resource_spans.resource.attributes))
                    for scope in resource_spans.scope_spans:
                        for span in scope.spans:
                            receiver.spans.append(
                                {
                                    "name": span.name,
                                    "trace_id": span.trace_id.hex(),
                                    "span_id": span.span_id.hex(),
                                    "parent": span.parent_span_id.hex(),
                                    "start": span.start_time_unix_nano,
                                    "end": span.end_time_unix_nano,
                                    "status": span.status.code,
                                    "attributes": _attributes(span.attributes),
                                }
                            )
                receiver.received.set()
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _attributes(attributes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in attributes:
        kind = item.value.WhichOneof("value")
        values[item.key] = getattr(item.value, kind) if kind else None
    return values


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    server = OpenAIStub().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver().start()
    try:
        yield server
    finally:
        server.stop()


def ask(tmp_path: Path, config: Path, prompt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--config",
            str(config),
            "--db",
            str(tmp_path / "ledger.sqlite"),
            "ask",
            prompt,
            "--cloud",
            "--max-tokens",
            "8",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env_for(tmp_path),
        timeout=120,
    )


def test_request_spans_with_genai_attributes_and_no_pii(
    tmp_path: Path, stub: OpenAIStub, receiver: OtlpReceiver
) -> None:
    config = write_config(
        tmp_path,
        None,
        stub,
        f'[pii]\non_pii = "redact"\n[tracing]\notlp_endpoint = "{receiver.endpoint}"\n',
    )
    done = ask(tmp_path, config, PII_PROMPT)
    assert done.returncode == 0, done.stderr
    # The cloud got the redacted text (the privacy promise), and the spans were exported at exit.
    sent = stub.bodies[0]["messages"][0]["content"]
    assert "Maria" not in sent and "<PERSON_1>" in sent
    assert receiver.received.is_set(), "no spans reached the receiver before the process ended"
    spans = receiver.spans
    roots = [span for span in spans if not span["parent"]]
    assert len(roots) == 1
    root = roots[0]
    children = {span["name"]: span for span in spans if span["parent"] == root["span_id"]}
    assert set(children) == {"pii.scan", "route", "engine.attempt", "ledger.write"}
    assert all(span["trace_id"] == root["trace_id"] for span in spans)
    for child in children.values():
        assert root["start"] <= child["start"] <= child["end"] <= root["end"]
    attributes = root["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
    assert attributes["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    assert attributes["gen_ai.response.model"] == "stub-model"
    assert attributes["switchboard.tier"] == "cloud"
    assert attributes["switchboard.rule"] == "override"
    assert attributes["switchboard.outcome"] == "ok"
    assert attributes["switchboard.redacted"] is True
    assert attributes["switchboard.pii.count"] >= 2
    assert set(attributes["switchboard.pii.types"].split(",")) >= {"PERSON", "EMAIL_ADDRESS"}
    assert attributes["switchboard.cost_usd"] == pytest.approx((11 * 1.0 + 7 * 2.0) / 1e6)
    attempt = children["engine.attempt"]["attributes"]
    assert attempt["switchboard.tier"] == "cloud" and attempt["switchboard.redacted"] is True
    assert attempt["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    assert receiver.resources[0]["service.name"] == "switchboard"
    with sqlite3.connect(tmp_path / "ledger.sqlite") as ledger:
        (request_id,) = ledger.execute("SELECT request_id FROM requests").fetchone()
    assert attributes["switchboard.request_id"] == request_id
    # No PII, prompt text or key anywhere in what was exported, at the byte level.
    everything = b"".join(receiver.raw)
    for value in (*PII_VALUES, "sk-test-stub-key", "Email"):
        assert value.encode() not in everything, value


def test_unreachable_collector_is_one_line_and_loses_nothing(
    tmp_path: Path, stub: OpenAIStub
) -> None:
    closed = free_port()  # nothing listens there
    config = write_config(
        tmp_path,
        None,
        stub,
        f'[tracing]\notlp_endpoint = "http://127.0.0.1:{closed}"\ntimeout_s = 1.0\n',
    )
    done = ask(tmp_path, config, "Say hello.")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello from the stub."
    tracing_lines = [line for line in done.stderr.splitlines() if "tracing" in line]
    assert len(tracing_lines) == 1, done.stderr
    assert f"http://127.0.0.1:{closed}/v1/traces" in tracing_lines[0]
    assert "requests and the ledger are not affected" in tracing_lines[0]
    assert "Traceback" not in done.stderr
    with sqlite3.connect(tmp_path / "ledger.sqlite") as ledger:
        assert ledger.execute("SELECT COUNT(*), MIN(status) FROM requests").fetchone() == (1, "ok")


def test_tracing_url_must_be_http(tmp_path: Path, stub: OpenAIStub) -> None:
    config = write_config(tmp_path, None, stub, '[tracing]\notlp_endpoint = "127.0.0.1:4318"\n')
    done = ask(tmp_path, config, "hi")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "tracing.otlp_endpoint" in lines[0] and "http" in lines[0]


def test_tracing_off_imports_no_opentelemetry(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from policies.config import ConfigStore\n"
        "from console.runtime import Runtime\n"
        "runtime = Runtime(ConfigStore.open(None), db_path=Path(sys.argv[1]))\n"
        "assert runtime.observers.observers == ()\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')]\n"
        "runtime.ledger.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "l.sqlite")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env_for(tmp_path),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def test_failed_attempt_is_an_error_span_beside_the_one_that_answered(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    """A fallback's two engine attempts, recorded across a task and a thread as the dispatcher
    runs them, exported in-process to the real receiver."""
    import asyncio

    from console.dispatch import RequestResult, Timings
    from console.otlp import OtlpTracer
    from engines.base import EngineCrashed, Usage
    from policies.config import Config, TracingConfig
    from policies.features import extract_features
    from policies.router import Signals, decide

    tracer = OtlpTracer(TracingConfig(otlp_endpoint=receiver.endpoint))
    decision = decide(extract_features("Explain the outage."), Signals(), Config())

    async def request() -> None:
        tracer.begin("req-1")

        async def scan() -> None:
            with tracer.span("pii.scan"):
                await asyncio.to_thread(lambda: None)

        await asyncio.ensure_future(scan())  # a task of its own, like the dispatcher's _prepare
        with pytest.raises(EngineCrashed), tracer.span("engine.attempt", tier="local"):
            raise EngineCrashed("worker died")
        with tracer.span("engine.attempt", tier="cloud"):
            await asyncio.sleep(0)
        # Told in the request's own context, as the dispatcher does after the ledger write.
        tracer.on_result(
            RequestResult(
                request_id="req-1",
                prompt="Explain the outage.",
                answer="ok",
                decision=decision,
                tier="cloud",
                fallback_path=("local", "cloud"),
                status="fallback",
                error=None,
                error_class=None,
                fix=None,
                usage=Usage(prompt_tokens=12, completion_tokens=3),
                ttft_s=0.1,
                latency_s=0.2,
                gen_tps=30.0,
                cost=None,
                counterfactual_usd=None,
                timings=Timings(1.0, 0.1, 0.0, 100.0, 100.0),
                sent_text="Explain the outage.",
                model="stub-model",
                pii_types=(),
                redacted=False,
            )
        )

    asyncio.run(request())
    tracer.close()
    spans = receiver.spans
    names = sorted(span["name"] for span in spans)
    assert names == ["chat stub-model", "engine.attempt", "engine.attempt", "pii.scan"]
    attempts = {
        s["attributes"]["switchboard.tier"]: s for s in spans if s["name"] == "engine.attempt"
    }
    assert attempts["local"]["status"] == 2  # STATUS_CODE_ERROR
    assert "gen_ai.usage.input_tokens" not in attempts["local"]["attributes"]
    assert attempts["cloud"]["status"] == 0
    assert attempts["cloud"]["attributes"]["gen_ai.usage.input_tokens"] == 12
    root = next(s for s in spans if not s["parent"])
    assert root["attributes"]["switchboard.fallback_path"] == "local>cloud"
    assert root["attributes"]["switchboard.outcome"] == "fallback"
