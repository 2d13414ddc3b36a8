"""The circuit breaker's state machine, driven by an injected clock (no sleeping)."""

from __future__ import annotations

import threading

from engines.breaker import Admission, CircuitBreaker, percentile
from policies.config import BreakerConfig


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(**settings: object) -> tuple[CircuitBreaker, FakeClock]:
    clock = FakeClock()
    return CircuitBreaker(BreakerConfig.model_validate(settings), clock), clock


def test_opens_after_consecutive_failures_and_rejects() -> None:
    breaker, _ = make(failure_threshold=3, cooldown_s=10)
    for _ in range(2):
        breaker.record_failure("answered 500")
    assert breaker.state == "closed" and breaker.admit() is Admission.ALLOW
    breaker.record_failure("answered 503")
    snap = breaker.snapshot()
    assert snap.state == "open" and snap.consecutive_failures == 3
    assert snap.last_error == "answered 503" and snap.cooldown_remaining_s == 10
    assert breaker.admit() is Admission.REJECT


def test_a_success_resets_the_consecutive_count() -> None:
    breaker, _ = make(failure_threshold=2, error_rate=1.0)
    for _ in range(5):
        breaker.record_failure("x")
        breaker.record_success(1.0, 0.5)
    assert breaker.state == "closed" and breaker.snapshot().consecutive_failures == 0


def test_opens_on_the_error_rate_once_enough_requests_were_seen() -> None:
    breaker, _ = make(failure_threshold=100, error_rate=0.5, window=10)
    breaker.record_failure("x")
    breaker.record_success()
    breaker.record_failure("x")
    # 2 of 3 failed, but three requests are too few to judge a rate.
    assert breaker.state == "closed"
    breaker.record_success()
    breaker.record_failure("x")
    assert breaker.snapshot().error_rate == 0.6
    assert breaker.state == "open"


def test_the_rate_only_counts_the_window() -> None:
    breaker, _ = make(failure_threshold=100, error_rate=0.5, window=6)
    for _ in range(2):
        breaker.record_failure("x")
        breaker.record_success()
    for _ in range(4):
        breaker.record_success()
    breaker.record_failure("x")
    snap = breaker.snapshot()
    assert snap.requests_in_window == 6 and snap.error_rate == 1 / 6
    assert snap.state == "closed"


def test_cooldown_then_one_probe_then_closed() -> None:
    breaker, clock = make(failure_threshold=1, cooldown_s=30)
    breaker.record_failure("down")
    clock.now = 29.0
    assert breaker.snapshot().cooldown_remaining_s == 1.0
    assert breaker.admit() is Admission.REJECT
    clock.now = 30.0
    assert breaker.state == "half_open"
    assert breaker.admit() is Admission.PROBE
    assert breaker.admit() is Admission.REJECT, "only one probe at a time"
    breaker.record_success(0.2, 0.1)
    snap = breaker.snapshot()
    assert snap.state == "closed" and snap.requests_in_window == 1 and snap.error_rate == 0
    assert breaker.admit() is Admission.ALLOW


def test_a_failed_probe_opens_again_for_a_full_cooldown() -> None:
    breaker, clock = make(failure_threshold=1, cooldown_s=30)
    breaker.record_failure("down")
    clock.now = 31.0
    assert breaker.admit() is Admission.PROBE
    breaker.record_failure("still down")
    snap = breaker.snapshot()
    assert snap.state == "open" and snap.cooldown_remaining_s == 30.0
    assert snap.last_error == "still down"
    clock.now = 61.0
    assert breaker.admit() is Admission.PROBE, "the failed probe no longer holds the slot"
    assert breaker.admit() is Admission.REJECT


def test_after_a_probe_closed_the_circuit_the_next_opening_probes_again() -> None:
    breaker, clock = make(failure_threshold=1, cooldown_s=10)
    breaker.record_failure("down")
    clock.now = 10.0
    assert breaker.admit() is Admission.PROBE
    breaker.record_success()
    assert breaker.admit() is Admission.ALLOW
    breaker.record_failure("down again")
    assert breaker.admit() is Admission.REJECT
    clock.now = 20.0
    assert breaker.admit() is Admission.PROBE


def test_a_late_failure_of_an_older_request_during_the_probe_reopens_and_frees_the_slot() -> None:
    breaker, clock = make(failure_threshold=1, cooldown_s=10)
    breaker.record_failure("down")
    clock.now = 10.0
    assert breaker.admit() is Admission.PROBE  # the probe is out and never reports
    breaker.record_failure("a request sent before the opening failed late")
    assert breaker.state == "open"
    clock.now = 20.0
    assert breaker.admit() is Admission.PROBE


def test_a_cancelled_probe_frees_the_slot() -> None:
    breaker, clock = make(failure_threshold=1, cooldown_s=5)
    breaker.record_failure("down")
    clock.now = 5.0
    assert breaker.admit() is Admission.PROBE
    breaker.release()
    assert breaker.state == "half_open" and breaker.admit() is Admission.PROBE


def test_failures_while_open_do_not_extend_the_cooldown() -> None:
    breaker, clock = make(failure_threshold=1, cooldown_s=10)
    breaker.record_failure("a")
    clock.now = 8.0
    breaker.record_failure("b")
    assert breaker.snapshot().cooldown_remaining_s == 2.0
    assert breaker.snapshot().last_error == "b"


def test_latency_percentiles_over_successes() -> None:
    breaker, _ = make()
    for value in range(1, 21):
        breaker.record_success(latency_s=float(value), ttft_s=value / 10)
    breaker.record_failure("not counted in latency")
    snap = breaker.snapshot()
    assert (snap.latency_p50_s, snap.latency_p95_s) == (10.0, 19.0)
    assert (snap.ttft_p50_s, snap.ttft_p95_s) == (1.0, 1.9)
    empty = make()[0].snapshot()
    assert empty.latency_p50_s is None and empty.ttft_p95_s is None


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.95) == 4.0


def test_concurrent_outcomes_are_all_counted() -> None:
    breaker, _ = make(failure_threshold=1000, error_rate=1.0, window=10_000)

    def hammer() -> None:
        for _ in range(1000):
            breaker.record_failure("x")

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.snapshot().consecutive_failures == 4000


def test_latency_percentiles_cover_the_last_hundred_successes() -> None:
    breaker, _ = make()
    for value in range(1, 151):
        breaker.record_success(latency_s=float(value), ttft_s=float(value))
    snap = breaker.snapshot()
    # 51..150 are kept: the nearest-rank median of those hundred is the 50th, 100.
    assert (snap.latency_p50_s, snap.ttft_p50_s, snap.latency_p95_s) == (100.0, 100.0, 145.0)


def test_a_smaller_window_keeps_only_the_newest_outcomes() -> None:
    breaker, _ = make(failure_threshold=100, error_rate=1.0, window=10)
    for _ in range(6):
        breaker.record_failure("x")
    for _ in range(4):
        breaker.record_success()
    breaker.reconfigure(BreakerConfig.model_validate({"window": 4, "error_rate": 1.0}))
    snap = breaker.snapshot()
    assert (snap.requests_in_window, snap.error_rate) == (4, 0.0)
    breaker.reconfigure(BreakerConfig.model_validate({"window": 20, "error_rate": 1.0}))
    breaker.record_failure("y")
    assert breaker.snapshot().requests_in_window == 5
