"""OpenTelemetry traces of requests, exported over OTLP/HTTP (protobuf); opt-in by `[tracing]`.

The dispatcher marks a request's start with `tracer.begin(request_id)` and wraps its phases in
`tracer.span(name)`: those only take timestamps into a per-request recording held in a
ContextVar (so the recording follows the request into the tasks and threads it starts). When
the request is recorded, `on_result` turns the recording into one root span with a child per
phase, with explicit start and end times. Spans are thus never "current" across the
dispatcher's `yield`s, which OpenTelemetry's context attach/detach does not survive.

Attributes follow the GenAI semantic conventions (`gen_ai.request.model`,
`gen_ai.usage.input_tokens`, ...) plus ours (`switchboard.tier`, `.rule`, `.cost_usd`, ...).
Never prompt or answer text, PII values, error messages (they may quote an endpoint's answer)
or keys: only types, counts, names of tiers, rules and models, and numbers.

OpenTelemetry is imported only when tracing is on (console/otlp.py). An unreachable collector
costs at most `[tracing] timeout_s` per export, in the exporter's own thread: one line on stderr
says spans are being dropped, no request or ledger row waits for it, and exit waits at most
that long for the last export.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from console.dispatch import RequestResult

AttributeValue = str | int | float | bool


class Tracer(Protocol):
    """What the dispatcher calls; `NO_TRACER` when tracing is off."""

    def begin(self, request_id: str) -> None:
        """A request starts in the current context."""

    def span(
        self, name: str, **attributes: AttributeValue
    ) -> contextlib.AbstractContextManager[None]:
        """Time one phase of the current request (keys get the `switchboard.` prefix)."""


class NoTracer:
    """Tracing off: every call is a no-op."""

    def begin(self, request_id: str) -> None:
        """Nothing to record."""

    def span(
        self, name: str, **attributes: AttributeValue
    ) -> contextlib.AbstractContextManager[None]:
        """A context manager that does nothing."""
        return contextlib.nullcontext()


NO_TRACER = NoTracer()


@dataclass
class Phase:
    """One timed phase of a request (a child span to be)."""

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, AttributeValue]
    error: str | None


@dataclass
class Recording:
    """The phases of one request so far; shared by the tasks and threads it starts."""

    request_id: str
    start_ns: int
    phases: list[Phase] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_RECORDING: contextvars.ContextVar[Recording | None] = contextvars.ContextVar(
    "switchboard_trace", default=None
)


def request_attributes(result: RequestResult) -> dict[str, AttributeValue]:
    """The root span's attributes: GenAI conventions plus ours; no text, PII or secrets."""
    decision = result.decision
    attributes: dict[str, AttributeValue] = {
        "gen_ai.operation.name": "chat",
        "switchboard.request_id": result.request_id,
        "switchboard.tier": result.tier,
        "switchboard.routed_tier": decision.target,
        "switchboard.rule": decision.fired,
        "switchboard.outcome": result.status,
        "switchboard.chain": ">".join(decision.chain),
        "switchboard.fallback_path": ">".join(result.fallback_path),
        "switchboard.pii.count": decision.features.pii_count,
        "switchboard.pii.types": ",".join(result.pii_types),
        "switchboard.redacted": result.redacted,
        "switchboard.latency_s": result.latency_s,
        "switchboard.pii_ms": result.timings.pii_ms,
        "switchboard.route_ms": result.timings.route_ms,
    }
    if result.model:
        attributes["gen_ai.request.model"] = result.model
        attributes["gen_ai.response.model"] = result.model
    if result.tier != "none":
        attributes["gen_ai.provider.name"] = "llama.cpp" if result.tier == "local" else "openai"
    if result.usage is not None:
        attributes["gen_ai.usage.input_tokens"] = result.usage.prompt_tokens
        attributes["gen_ai.usage.output_tokens"] = result.usage.completion_tokens
    if result.ttft_s is not None:
        attributes["switchboard.ttft_s"] = result.ttft_s
    if result.cost is not None:
        attributes["switchboard.cost_usd"] = result.cost.total_usd
        attributes["switchboard.cost_known"] = result.cost.known
    if result.counterfactual_usd is not None:
        attributes["switchboard.counterfactual_usd"] = result.counterfactual_usd
    if result.error_class:
        attributes["error.type"] = result.error_class
    return attributes


class PhaseRecorder:
    """The recording half of a tracer: `begin`, `span`, and `finish` to take a request's phases."""

    def begin(self, request_id: str) -> None:
        """Start recording a request in the current context (its tasks and threads inherit it)."""
        _RECORDING.set(Recording(request_id, time.time_ns()))

    @contextlib.contextmanager
    def span(self, name: str, **attributes: AttributeValue) -> Iterator[None]:
        """Time one phase of the current request; an exception marks it as an error."""
        recording = _RECORDING.get()
        if recording is None:
            yield
            return
        start = time.time_ns()
        error: str | None = None
        try:
            yield
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            phase = Phase(
                name,
                start,
                time.time_ns(),
                {f"switchboard.{key}": value for key, value in attributes.items()},
                error,
            )
            with recording.lock:
                recording.phases.append(phase)

    def finish(self, result: RequestResult) -> Recording:
        """The recording of `result`'s request, taken out of the context.

        A request that was not begun here (or another's recording) gets an empty recording
        starting `latency_s` ago, so its span is still exported with its true duration.
        """
        recording = _RECORDING.get()
        _RECORDING.set(None)
        if recording is None or recording.request_id != result.request_id:
            start = time.time_ns() - int(result.latency_s * 1e9)
            return Recording(result.request_id, start)
        return recording
