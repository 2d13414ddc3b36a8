"""The OpenTelemetry half of tracing: spans built from recordings, exported over OTLP/HTTP.

Imported only when `[tracing] otlp_endpoint` is set (OpenTelemetry takes ~0.2 s to import).
See console/tracing.py for what is recorded and why spans are built after the fact.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

from console.dispatch import RequestResult
from console.tracing import AttributeValue, PhaseRecorder, request_attributes
from policies.config import TracingConfig


class ReportingExporter(SpanExporter):
    """Wraps an exporter: the first failed export is said in one line on stderr, all are counted."""

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self._inner = inner
        self._endpoint = endpoint
        self.failed_batches = 0
        self.exported_spans = 0
        self.last_error: str | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export through the wrapped exporter; a failure is counted and said once."""
        try:
            outcome = self._inner.export(spans)
        except Exception as exc:  # the exporter's thread must never die of a bad collector
            outcome = SpanExportResult.FAILURE
            self.last_error = type(exc).__name__
        if outcome == SpanExportResult.SUCCESS:
            self.exported_spans += len(spans)
            return outcome
        self.failed_batches += 1
        if self.failed_batches == 1:
            sys.stderr.write(
                f"switchboard: tracing: cannot export spans to {self._endpoint} "
                f"({self.last_error or 'unreachable or refused'}); spans are dropped, requests "
                "and the ledger are not affected (check [tracing] otlp_endpoint)\n"
            )
            sys.stderr.flush()
        return outcome

    def shutdown(self) -> None:
        """Shut the wrapped exporter down (it stops retrying)."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the wrapped exporter."""
        return bool(self._inner.force_flush(timeout_millis))


class OtlpTracer(PhaseRecorder):
    """Records requests' phases and exports them as spans to `[tracing] otlp_endpoint`."""

    def __init__(self, config: TracingConfig) -> None:
        # The SDK logs each failed export with a traceback through the root logger (stderr, or
        # the console's screen); ReportingExporter says it once, in one line, instead.
        otel_log = logging.getLogger("opentelemetry")
        otel_log.addHandler(logging.NullHandler())
        otel_log.propagate = False
        self.endpoint = f"{config.otlp_endpoint}/v1/traces"
        self.exporter = ReportingExporter(
            OTLPSpanExporter(endpoint=self.endpoint, timeout=config.timeout_s), self.endpoint
        )
        self._provider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}),
            shutdown_on_exit=False,
        )
        self._provider.add_span_processor(
            BatchSpanProcessor(
                self.exporter,
                schedule_delay_millis=500,
                export_timeout_millis=int(config.timeout_s * 1000),
            )
        )
        self._tracer = self._provider.get_tracer("switchboard")

    def on_result(self, result: RequestResult) -> None:
        """Emit the request's span and one child per recorded phase (the request is recorded)."""
        recording = self.finish(result)
        attributes = request_attributes(result)
        root = self._tracer.start_span(
            f"chat {result.model}" if result.model else "chat",
            kind=SpanKind.INTERNAL,
            start_time=recording.start_ns,
            attributes=attributes,
        )
        if result.status in ("failed", "blocked"):
            root.set_status(Status(StatusCode.ERROR, result.error_class or result.status))
        parent = trace.set_span_in_context(root)
        with recording.lock:
            phases = list(recording.phases)
        attempts = [phase for phase in phases if phase.name == "engine.attempt"]
        answered = attempts[-1] if attempts and result.status in ("ok", "fallback") else None
        gen_ai = {key: value for key, value in attributes.items() if key.startswith("gen_ai.")}
        end = recording.start_ns
        for phase in phases:
            extra: dict[str, AttributeValue] = gen_ai if phase is answered else {}
            child = self._tracer.start_span(
                phase.name,
                context=parent,
                start_time=phase.start_ns,
                attributes={**phase.attributes, **extra},
            )
            if phase.error is not None:
                child.set_status(Status(StatusCode.ERROR, phase.error))
            child.end(end_time=phase.end_ns)
            end = max(end, phase.end_ns)
        root.end(end_time=max(end, recording.start_ns + int(result.latency_s * 1e9)))

    def close(self) -> None:
        """Export what is pending (bounded by `[tracing] timeout_s`), then stop."""
        self._provider.shutdown()
