"""What watches a Runtime's requests: Prometheus metrics and OpenTelemetry traces, both opt-in.

The dispatcher knows only `Observers`: it calls `on_result(result)` once per recorded request and
wraps its phases in `tracer.span(name)`. With `[metrics]` and `[tracing]` off (the default) both
are no-ops and nothing heavy is imported. An observer that fails never breaks a request: its
error is logged once and the request goes on.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from console.tracing import NO_TRACER, Tracer
from policies.config import SetupError

if TYPE_CHECKING:
    from console.dispatch import RequestResult
    from console.runtime import Runtime

log = logging.getLogger("switchboard.observers")


class RequestObserver(Protocol):
    """Something told about every recorded request."""

    def on_result(self, result: RequestResult) -> None:
        """One request ended (in any status) and was recorded."""

    def close(self) -> None:
        """Stop serving or exporting; called once when the Runtime closes."""


class Observers:
    """The observers of one Runtime and the tracer its dispatcher uses."""

    def __init__(
        self, observers: Sequence[RequestObserver] = (), tracer: Tracer = NO_TRACER
    ) -> None:
        self.observers = tuple(observers)
        self.tracer = tracer
        self._failed: set[int] = set()

    def on_result(self, result: RequestResult) -> None:
        """Tell every observer; a failing one is logged (once) and skipped, never raised."""
        for index, observer in enumerate(self.observers):
            try:
                observer.on_result(result)
            except Exception:
                if index not in self._failed:
                    self._failed.add(index)
                    log.exception("observer %s failed; requests go on", type(observer).__name__)

    def close(self) -> None:
        """Close every observer (the tracer flushes within its timeout)."""
        for observer in self.observers:
            try:
                observer.close()
            except Exception:
                log.exception("closing %s failed", type(observer).__name__)


def warn(message: str) -> None:
    """One line on stderr (the CLI's user sees it) and in the console's log file.

    Logged at INFO: a CLI has no log handler, and Python would print a WARNING a second time.
    """
    log.info("warning: %s", message)
    sys.stderr.write(f"switchboard: warning: {message}\n")
    sys.stderr.flush()


def observe(runtime: Runtime) -> Observers:
    """The observers `[metrics]` and `[tracing]` ask for, started.

    A metrics port that is busy or cannot be bound is one warning line, and this process goes
    on without metrics: the console usually holds the port while `ask` runs beside it.
    """
    config = runtime.config()
    observers: list[RequestObserver] = []
    tracer: Tracer = NO_TRACER
    if config.metrics.listen:
        from console.metrics import serve_metrics

        try:
            observers.append(serve_metrics(runtime, config.metrics.listen))
        except SetupError as exc:
            warn(str(exc))
    if config.tracing.otlp_endpoint:
        from console.otlp import OtlpTracer

        otlp = OtlpTracer(config.tracing)
        observers.append(otlp)
        tracer = otlp
    return Observers(observers, tracer)
