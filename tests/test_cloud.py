"""CloudEngine against a real llama_cpp.server on 127.0.0.1, with and without injected faults."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
from collections.abc import AsyncIterator

import pytest

from engines.base import (
    Chunk,
    ConfigurationProblem,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    Message,
    RateLimited,
    StreamInterrupted,
    Usage,
)
from engines.cloud import (
    CloudEngine,
    MalformedResponse,
    RequestRejected,
    backoff_delay,
    parse_retry_after,
)
from engines.demo import DemoServer
from policies.config import BreakerConfig, CloudConfig
from tests.faultproxy import Fault, FaultProxy

KEY_ENV = "SWITCHBOARD_TEST_CLOUD_KEY"
PROMPT = GenerationRequest(
    messages=(Message("user", "What is the capital of France?"),), max_tokens=8, temperature=0.0
)
STOP = ("\nUser:", "\n\n")


@pytest.fixture
def server(openai_server: DemoServer) -> DemoServer:
    """The session's real OpenAI-compatible server (llama_cpp.server, bundled model)."""
    return openai_server


@pytest.fixture
async def proxy(server: DemoServer) -> AsyncIterator[FaultProxy]:
    fault_proxy = await FaultProxy(upstream_port=server.port).start()
    yield fault_proxy
    await fault_proxy.stop()


def make_engine(
    base_url: str,
    *,
    demo: bool = True,
    breaker: BreakerConfig | None = None,
    **cloud: object,
) -> CloudEngine:
    settings: dict[str, object] = {
        "base_url": base_url,
        "model": "demo-model",
        "api_key_env": KEY_ENV,
        "proxy": "none",
        "first_byte_timeout": 20.0,
        "idle_timeout": 10.0,
        "max_retries": 0,
    }
    settings.update(cloud)
    return CloudEngine(
        CloudConfig.model_validate(settings),
        breaker or BreakerConfig(failure_threshold=3, cooldown_s=30.0),
        demo=demo,
    )


async def collect(engine: CloudEngine, request: GenerationRequest = PROMPT) -> tuple[str, Finished]:
    text, finished = "", None
    async for event in engine.stream(request):
        if isinstance(event, Chunk):
            text += event.text
        else:
            finished = event
    assert finished is not None
    return text, finished


def chat_requests(proxy: FaultProxy) -> int:
    return sum(1 for path in proxy.paths() if path.endswith("/chat/completions"))


def retry_after(seconds: str) -> tuple[tuple[str, str], ...]:
    return (("Retry-After", seconds),)


# -- the happy path ------------------------------------------------------------------------------


async def test_streams_an_answer_with_timings_and_estimated_usage(server: DemoServer) -> None:
    engine = make_engine(server.base_url)
    try:
        text, finished = await collect(engine)
    finally:
        await engine.aclose()
    assert "Paris" in text
    # llama_cpp.server sends no usage in streams: the engine counts without a tokenizer.
    assert finished.usage.estimated
    assert finished.usage.completion_tokens == math.ceil(len(text) / 4)
    assert finished.usage.prompt_tokens == math.ceil(len(PROMPT.messages[0].content) / 4)
    assert finished.ttft_s is not None and 0 < finished.ttft_s <= finished.total_s
    assert finished.gen_tps is not None and finished.gen_tps > 0
    assert finished.model == "demo-model"
    assert engine.label == "demo endpoint"
    health = engine.health()
    assert health.state == "closed" and health.latency_p50_s == pytest.approx(finished.total_s)


async def test_usage_from_the_stream_is_used_when_the_server_sends_it(proxy: FaultProxy) -> None:
    events = (
        '{"model": "gpt-x", "choices": [{"delta": {"role": "assistant"}, "finish_reason": null}]}',
        '{"model": "gpt-x", "choices": [{"delta": {"content": "Hi"}, "finish_reason": null}]}',
        '{"model": "gpt-x", "choices": [{"delta": {}, "finish_reason": "length"}]}',
        '{"model": "gpt-x", "choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 1}}',
        "[DONE]",
    )
    proxy.queue(Fault("sse", events=events))
    engine = make_engine(proxy.base_url, demo=False)
    text, finished = await collect(engine)
    await engine.aclose()
    assert text == "Hi"
    assert (finished.usage.prompt_tokens, finished.usage.completion_tokens) == (11, 1)
    assert not finished.usage.estimated
    assert (finished.model, finished.finish_reason) == ("gpt-x", "length")
    body = json.loads(proxy.seen[0].body)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_a_server_that_ignores_stream_true_still_answers(proxy: FaultProxy) -> None:
    whole = {
        "model": "gpt-y",
        "choices": [{"message": {"content": "Paris."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2},
    }
    proxy.queue(Fault("status", 200, (), json.dumps(whole).encode()))
    engine = make_engine(proxy.base_url)
    text, finished = await collect(engine)
    await engine.aclose()
    assert text == "Paris." and finished.model == "gpt-y"
    assert finished.usage == Usage(prompt_tokens=9, completion_tokens=2)


async def test_cancelling_the_consumer_closes_the_connection(proxy: FaultProxy) -> None:
    engine = make_engine(proxy.base_url)
    first = asyncio.Event()
    request = GenerationRequest(PROMPT.messages, max_tokens=64, temperature=0.0, stop=("\n\n\n",))

    async def consume() -> None:
        async for event in engine.stream(request):
            if isinstance(event, Chunk) and event.text:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 20)
    assert proxy.open_connections == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await proxy.wait_idle()
    assert engine.health().consecutive_failures == 0
    text, _ = await collect(engine)
    assert text
    await engine.aclose()


# -- retries -------------------------------------------------------------------------------------


async def test_429_is_retried_after_retry_after(
    proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    proxy.queue(Fault("status", 429, retry_after("1"), b'{"error": {"message": "slow down"}}'))
    engine = make_engine(proxy.base_url, max_retries=2)
    with caplog.at_level(logging.INFO, logger="engines.cloud"):
        text, _ = await collect(engine)
    await engine.aclose()
    assert "Paris" in text
    assert chat_requests(proxy) == 2
    assert "in 1.00 s" in caplog.text and "429" in caplog.text


async def test_429_after_retries_is_rate_limited(proxy: FaultProxy) -> None:
    proxy.queue(*[Fault("status", 429, retry_after("0")) for _ in range(2)])
    engine = make_engine(proxy.base_url, max_retries=1)
    with pytest.raises(RateLimited, match="429"):
        await collect(engine)
    assert chat_requests(proxy) == 2


async def test_a_long_retry_after_is_not_waited_for(proxy: FaultProxy) -> None:
    proxy.queue(Fault("status", 429, retry_after("120")))
    engine = make_engine(proxy.base_url, max_retries=3)
    with pytest.raises(RateLimited, match="retry after 120 s"):
        await collect(engine)
    assert chat_requests(proxy) == 1


async def test_5xx_is_retried_with_backoff_then_succeeds(proxy: FaultProxy) -> None:
    proxy.queue(Fault("status", 500), Fault("status", 503, retry_after("0")))
    engine = make_engine(proxy.base_url, max_retries=2)
    text, _ = await collect(engine)
    await engine.aclose()
    assert "Paris" in text and chat_requests(proxy) == 3


async def test_5xx_after_retries_is_unavailable(proxy: FaultProxy) -> None:
    body = b'{"error": {"message": "upstream overloaded"}}'
    proxy.queue(*[Fault("status", 503, retry_after("0"), body) for _ in range(2)])
    engine = make_engine(proxy.base_url, max_retries=1)
    with pytest.raises(EngineUnavailable, match="answered 503: upstream overloaded"):
        await collect(engine)
    assert chat_requests(proxy) == 2


async def test_a_reset_before_any_token_is_retried(proxy: FaultProxy) -> None:
    proxy.queue(Fault("reset"))
    engine = make_engine(proxy.base_url, max_retries=1)
    text, _ = await collect(engine)
    await engine.aclose()
    assert text and chat_requests(proxy) == 2


# -- failures that are never retried ----------------------------------------------------------


async def test_a_reset_mid_stream_is_interrupted_with_the_partial_text(proxy: FaultProxy) -> None:
    proxy.queue(Fault("reset_mid_stream"))
    engine = make_engine(proxy.base_url, max_retries=3)
    shown = ""
    with pytest.raises(StreamInterrupted) as caught:
        async for event in engine.stream(PROMPT):
            if isinstance(event, Chunk):
                shown += event.text
    assert shown and caught.value.partial == shown
    assert chat_requests(proxy) == 1


async def test_a_malformed_line_mid_stream_is_interrupted(proxy: FaultProxy) -> None:
    proxy.queue(Fault("malformed_mid_stream"))
    engine = make_engine(proxy.base_url, max_retries=3)
    with pytest.raises(StreamInterrupted, match="malformed") as caught:
        await collect(engine)
    assert caught.value.partial
    assert chat_requests(proxy) == 1


async def test_a_malformed_first_line_is_a_malformed_response(proxy: FaultProxy) -> None:
    proxy.queue(Fault("sse", events=("{not json",)))
    engine = make_engine(proxy.base_url, max_retries=3)
    with pytest.raises(MalformedResponse, match=r"malformed stream line: '\{not json'"):
        await collect(engine)
    assert chat_requests(proxy) == 1


async def test_an_html_page_is_a_clear_error(proxy: FaultProxy) -> None:
    proxy.queue(Fault("html"))
    engine = make_engine(proxy.base_url)
    with pytest.raises(MalformedResponse, match="answered 200 with text/html") as caught:
        await collect(engine)
    assert "base_url" in caught.value.fix


async def test_a_server_that_never_answers_times_out(proxy: FaultProxy) -> None:
    proxy.default = Fault("blackhole")
    engine = make_engine(proxy.base_url, first_byte_timeout=0.3, max_retries=2)
    with pytest.raises(EngineTimeout, match=r"first_byte_timeout \(0.3 s\)"):
        await collect(engine)
    assert chat_requests(proxy) == 1
    await engine.aclose()
    await proxy.wait_idle()


async def test_a_stall_mid_stream_is_interrupted_by_the_idle_timeout(proxy: FaultProxy) -> None:
    proxy.queue(Fault("stall_mid_stream"))
    engine = make_engine(proxy.base_url, idle_timeout=0.3)
    with pytest.raises(StreamInterrupted, match=r"idle_timeout \(0.3 s\)") as caught:
        await collect(engine)
    assert caught.value.partial
    await engine.aclose()


async def test_the_total_timeout_bounds_a_slow_stream(proxy: FaultProxy) -> None:
    tick = '{"choices": [{"delta": {"content": "tick"}, "finish_reason": null}]}'
    proxy.queue(Fault("sse_then_stall", events=(tick,)))
    engine = make_engine(proxy.base_url, idle_timeout=30.0, total_timeout=0.5)
    with pytest.raises(StreamInterrupted, match=r"total_timeout \(0.5 s\)") as caught:
        await collect(engine)
    assert caught.value.partial == "tick"
    await engine.aclose()


async def test_added_latency_is_tolerated(proxy: FaultProxy) -> None:
    proxy.queue(Fault("pass", delay_s=0.3))
    engine = make_engine(proxy.base_url, first_byte_timeout=10.0)
    _, finished = await collect(engine)
    await engine.aclose()
    assert finished.ttft_s is not None and finished.ttft_s > 0.3


async def test_a_dead_endpoint_is_unavailable_naming_it() -> None:
    from engines.demo import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    engine = make_engine(url, max_retries=1)
    with pytest.raises(EngineUnavailable, match=f"cannot reach {url}"):
        await collect(engine)
    probe = await engine.probe()
    assert not probe.reachable and url in probe.detail
    await engine.aclose()


# -- configuration problems --------------------------------------------------------------------


async def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    engine = make_engine("https://api.example.invalid/v1", demo=False)
    assert engine.key_required and not engine.key_present and engine.key_missing
    with pytest.raises(ConfigurationProblem, match=rf"\${KEY_ENV} is not set"):
        await collect(engine)
    assert engine.health().consecutive_failures == 0


async def test_local_endpoints_need_no_key(
    server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    engine = make_engine(server.base_url, demo=False)
    assert not engine.key_required and not engine.key_missing
    assert engine.label == f"demo-model @ 127.0.0.1:{server.port}"
    probe = await engine.probe()
    await engine.aclose()
    assert probe.ok and probe.models


@pytest.mark.parametrize(
    ("status", "body", "error", "pattern"),
    [
        (401, b'{"error": {"message": "bad key"}}', ConfigurationProblem, "rejected the API key"),
        (403, b"forbidden", ConfigurationProblem, r"rejected the API key \(403\)"),
        (
            404,
            b'{"error": {"message": "The model does not exist"}}',
            ConfigurationProblem,
            "does not know the model 'demo-model'",
        ),
        (404, b'{"detail": "Not Found"}', ConfigurationProblem, "chat/completions was not found"),
        (
            400,
            b'{"error": {"message": "max_tokens too big"}}',
            RequestRejected,
            "max_tokens too big",
        ),
    ],
)
async def test_client_errors_are_clear_and_not_retried(
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: bytes,
    error: type[EngineError],
    pattern: str,
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test")
    proxy.queue(Fault("status", status, (), body))
    engine = make_engine(proxy.base_url, max_retries=3, demo=False)
    with pytest.raises(error, match=pattern):
        await collect(engine)
    assert chat_requests(proxy) == 1
    assert engine.health().consecutive_failures == 0


# -- the breaker, end to end ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("probe", ["models", "request"])
async def test_the_breaker_opens_probes_and_closes(proxy: FaultProxy, probe: str) -> None:
    clock = FakeClock()
    engine = CloudEngine(
        CloudConfig(base_url=proxy.base_url, api_key_env=KEY_ENV, proxy="none", max_retries=0),
        BreakerConfig(failure_threshold=2, cooldown_s=30.0, probe=probe),  # type: ignore[arg-type]
        demo=True,
        clock=clock,
    )
    proxy.queue(Fault("status", 500), Fault("status", 502))
    for _ in range(2):
        with pytest.raises(EngineUnavailable, match="answered 50"):
            await collect(engine)
    snap = engine.health()
    assert snap.state == "open" and snap.consecutive_failures == 2
    assert snap.last_error is not None and "502" in snap.last_error
    assert snap.cooldown_remaining_s == 30.0

    # Open: fails at once, nothing is sent.
    with pytest.raises(EngineUnavailable, match="circuit open"):
        await collect(engine)
    assert len(proxy.seen) == 2

    # Half-open, and the endpoint is still down: the probe fails, the circuit opens again.
    clock.now += 31
    assert engine.health().state == "half_open"
    proxy.queue(Fault("status", 503))
    with pytest.raises(EngineUnavailable):
        await collect(engine)
    assert engine.health().state == "open"
    expected_probe = "/v1/models" if probe == "models" else "/v1/chat/completions"
    assert proxy.paths()[-1] == expected_probe

    # Half-open, and the endpoint has recovered: the probe succeeds, the circuit closes.
    clock.now += 31
    text, _ = await collect(engine)
    assert text
    assert engine.health().state == "closed" and engine.health().consecutive_failures == 0
    assert proxy.paths()[-1] == "/v1/chat/completions"
    if probe == "models":
        assert proxy.paths()[-2] == "/v1/models"
    await engine.aclose()


async def test_an_explicit_probe_opens_the_breaker_on_a_dead_endpoint() -> None:
    from engines.demo import free_port

    engine = make_engine(
        f"http://127.0.0.1:{free_port()}/v1", breaker=BreakerConfig(failure_threshold=1)
    )
    assert not (await engine.probe()).reachable
    assert engine.health().state == "open"
    await engine.aclose()


# -- secrets ---------------------------------------------------------------------------------


async def test_the_api_key_never_appears_in_errors_repr_or_logs(
    proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-RECOGNISABLE-4f9c2a7e1b"
    monkeypatch.setenv(KEY_ENV, secret)
    echo = b'{"error": {"message": "Incorrect API key provided: ' + secret.encode() + b'"}}'
    proxy.queue(
        Fault("status", 401, (), echo),
        Fault("status", 500, retry_after("0"), echo),
        Fault("status", 500, retry_after("0"), echo),
        Fault("sse", events=('{"error": {"message": "key ' + secret + ' revoked"}}',)),
    )
    engine = make_engine(proxy.base_url, demo=False, max_retries=1)
    seen_errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            with pytest.raises(EngineError) as caught:
                await collect(engine)
            seen_errors += [str(caught.value), caught.value.fix, repr(caught.value)]
        probe = await engine.probe()
    await engine.aclose()
    # The key was really sent, so the checks below are not vacuous.
    assert all(f"Bearer {secret}" in request.headers for request in proxy.seen)
    shown = [*seen_errors, repr(engine), engine.label, str(engine.health()), str(probe)]
    assert any("Incorrect API key provided" in text for text in shown)
    for text in [*shown, caplog.text]:
        assert secret not in text


# -- retry arithmetic ------------------------------------------------------------------------


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-3", now) == 0.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(42.0)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("soon", now) is None


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (10, 8.0)]:
        delays = [backoff_delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 1, "jitter spreads retries of many clients"
