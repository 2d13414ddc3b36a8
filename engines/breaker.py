"""A circuit breaker per cloud endpoint: stop sending requests to an endpoint that keeps failing.

closed --(failure_threshold consecutive failures, or error rate >= error_rate over the last
`window` requests)--> open --(cooldown_s)--> half_open --(one probe succeeds)--> closed
                                                       --(the probe fails)--> open again

The engine asks `admit()` before each request and reports the outcome with `record_success` /
`record_failure` (or `release` when the user cancelled). The clock is injectable so the state
machine is tested without sleeping. Thread-safe: the console reads `snapshot()` from a worker
thread while the event loop records outcomes.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from engines.settings import BreakerConfig

BreakerState = Literal["closed", "open", "half_open"]

#: The error-rate rule needs this many outcomes in the window before it can open the circuit,
#: so that one early failure out of two requests does not count as a 50% error rate.
MIN_RATE_SAMPLES = 5

#: Latency percentiles are taken over this many recent successful requests.
LATENCY_SAMPLES = 100


class Admission(Enum):
    """What `admit()` decided for the next request."""

    ALLOW = "allow"
    PROBE = "probe"
    REJECT = "reject"


@dataclass(frozen=True)
class BreakerSnapshot:
    """The breaker's state and the endpoint's recent latency, for the router and the UI."""

    state: BreakerState
    consecutive_failures: int
    last_error: str | None
    cooldown_remaining_s: float
    error_rate: float
    requests_in_window: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    ttft_p50_s: float | None
    ttft_p95_s: float | None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


class CircuitBreaker:
    """The closed / open / half-open state machine of one endpoint."""

    def __init__(self, config: BreakerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._opened_at = 0.0
        self._consecutive = 0
        self._last_error: str | None = None
        self._outcomes: deque[bool] = deque(maxlen=config.window)
        self._latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._ttfts: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._probe_in_flight = False

    def reconfigure(self, config: BreakerConfig) -> None:
        """Take new `[breaker]` settings live, keeping the state and the recent outcomes."""
        with self._lock:
            self.config = config
            # The newest outcomes that fit the (possibly new) window.
            self._outcomes = deque(self._outcomes, maxlen=config.window)

    def _current(self) -> BreakerState:
        """The state now, moving open -> half_open once the cooldown has passed (lock held).

        States are matched, not compared: an ordering of their names would mean nothing.
        """
        match self._state:
            case "open" if self._clock() - self._opened_at >= self.config.cooldown_s:
                self._state = "half_open"
        return self._state

    @property
    def state(self) -> BreakerState:
        """closed, open or half_open, as of now."""
        with self._lock:
            return self._current()

    def admit(self) -> Admission:
        """Whether the next request may go: ALLOW, PROBE (it is the half-open trial) or REJECT."""
        with self._lock:
            match self._current():
                case "closed":
                    return Admission.ALLOW
                case "half_open" if not self._probe_in_flight:
                    self._probe_in_flight = True
                    return Admission.PROBE
                case _:
                    return Admission.REJECT

    def release(self) -> None:
        """Forget an admitted request without an outcome (the user cancelled it)."""
        with self._lock:
            self._probe_in_flight = False

    def record_success(self, latency_s: float | None = None, ttft_s: float | None = None) -> None:
        """A request (or probe) succeeded: the circuit closes if it was not closed."""
        with self._lock:
            match self._current():
                case "open" | "half_open":
                    self._state = "closed"
                    self._outcomes.clear()
            self._consecutive = 0
            self._outcomes.append(True)
            if latency_s is not None:
                self._latencies.append(latency_s)
            if ttft_s is not None:
                self._ttfts.append(ttft_s)

    def record_failure(self, error: str) -> None:
        """A request (or probe) failed; `error` must hold no secret (it is shown to the user)."""
        with self._lock:
            state = self._current()
            self._last_error = error
            self._consecutive += 1
            match state:
                case "half_open":
                    self._open()
                case "closed":
                    self._outcomes.append(False)
                    if self._consecutive >= self.config.failure_threshold or self._rate_exceeded():
                        self._open()

    def _rate_exceeded(self) -> bool:
        count = len(self._outcomes)
        if count < min(self.config.window, MIN_RATE_SAMPLES):
            return False
        return self._outcomes.count(False) / count >= self.config.error_rate

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self._clock()
        # The one place the probe slot is freed by an outcome: the flag only means something in
        # half_open, which is reached from here alone; a failed probe opens again through here.
        self._probe_in_flight = False

    def snapshot(self) -> BreakerSnapshot:
        """A frozen view of the breaker and the endpoint's latency."""
        with self._lock:
            state = self._current()
            remaining = 0.0
            match state:
                case "open":
                    remaining = max(0.0, self._opened_at + self.config.cooldown_s - self._clock())
            count = len(self._outcomes)
            latencies = list(self._latencies)
            ttfts = list(self._ttfts)
            return BreakerSnapshot(
                state=state,
                consecutive_failures=self._consecutive,
                last_error=self._last_error,
                cooldown_remaining_s=remaining,
                error_rate=self._outcomes.count(False) / count if count else 0.0,
                requests_in_window=count,
                latency_p50_s=percentile(latencies, 0.50),
                latency_p95_s=percentile(latencies, 0.95),
                ttft_p50_s=percentile(ttfts, 0.50),
                ttft_p95_s=percentile(ttfts, 0.95),
            )
