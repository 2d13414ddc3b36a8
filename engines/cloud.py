"""The cloud tier: a streaming client for any OpenAI-compatible endpoint that fails well.

`CloudEngine.stream()` POSTs {base_url}/chat/completions with `stream: true`, parses the SSE
answer with httpx-sse and yields Chunks, then one Finished. Connect errors, 429 and 5xx are
retried with exponential backoff and jitter (honouring Retry-After) until the first token has
been shown; after that a failure ends the request with `StreamInterrupted(partial=...)`, since a
retry would show the user a second, different answer. A `CircuitBreaker` per endpoint stops
traffic to an endpoint that keeps failing, so the router falls back at once.

The API key is read from the environment variable named by `[cloud] api_key_env` at each
request and only ever put in the Authorization header: it is not stored on the engine, and any
server text quoted in an error is scrubbed of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import math
import os
import random
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import aconnect_sse

from engines.base import (
    Chunk,
    ConfigurationProblem,
    EngineError,
    EngineTimeout,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    RateLimited,
    StreamEvent,
    StreamInterrupted,
    Tier,
    Usage,
)
from engines.breaker import Admission, BreakerSnapshot, CircuitBreaker
from engines.proxy import ProxyChoice, resolve_proxy
from engines.settings import BreakerConfig, CloudConfig, ConfigError

log = logging.getLogger(__name__)

#: Hosts where an endpoint without an API key is normal (a llama.cpp or vLLM server of one's own).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

#: A Retry-After longer than this is not waited for: in an interactive console falling back to
#: the local tier at once beats a frozen prompt, and retrying earlier would only be refused.
MAX_RETRY_AFTER_S = 10.0

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0

#: GET /models is a liveness check: it must answer quickly even when generation is slow.
PROBE_TIMEOUT_S = 5.0

#: Error bodies are quoted in messages; more than this is never needed to find the reason.
ERROR_BODY_LIMIT = 8192

#: The demo endpoint serves a base model with a plain "User: / Assistant:" template: these keep
#: its answers to one turn, and a mild repeat penalty keeps them from looping.
DEMO_STOP = ("\nUser:", "\nAssistant:", "\n\n")
DEMO_REPEAT_PENALTY = 1.1

DEMO_LABEL = "demo endpoint"


class MalformedResponse(EngineError):
    """The endpoint answered something that is not an OpenAI-compatible chat completion."""


class RequestRejected(EngineError):
    """The endpoint refused this request (400, 413, 422...): a problem of the request, not of
    the endpoint's health, so it does not count against the circuit breaker."""


@dataclass(frozen=True)
class ProbeResult:
    """The answer to GET {base_url}/models: reachable at all, and usable (200 with a model list)."""

    reachable: bool
    ok: bool
    status: int | None
    detail: str
    latency_s: float
    models: tuple[str, ...] = ()


class _Retry(Exception):
    """An attempt failed in a way worth retrying; `error` is raised when retries run out."""

    def __init__(self, error: EngineError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass
class _Progress:
    """What one attempt has received so far."""

    parts: list[str] = field(default_factory=list)
    model: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None
    ttft_s: float | None = None
    done: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter for retry number `attempt` (1-based)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2.0 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0.0, ceiling / 2)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free token count: about four characters per token for English text."""
    return math.ceil(len(text) / 4)


def _scrub(text: str, secret: str | None) -> str:
    """`text` without `secret`, one line, short enough to quote in an error message."""
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _server_message(body: bytes) -> str:
    """The human part of an error body: OpenAI's error.message, FastAPI's detail, or the text."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        detail = data.get("detail")
        if detail is not None:
            return detail if isinstance(detail, str) else json.dumps(detail)
    return text


def api_key_problem(key: str, name: str) -> str | None:
    """Why `key` (read from $`name`) cannot go in an HTTP header, without ever quoting it.

    A key is printable ASCII without spaces; a newline or a non-ASCII letter is a copy-paste
    accident, and httpx would quote the whole header (the key included) in its error.
    """
    for char in key:
        if char in "\r\n":
            what = "a line break"
        elif not char.isascii():
            what = "a non-ASCII character"
        elif not char.isprintable() or char.isspace():
            what = "a space or control character"
        else:
            continue
        return f"the key in ${name} contains {what}; re-export it (export {name}=<your key>)"
    return None


def _transport_reason(exc: httpx.TransportError) -> str:
    reason = str(exc).strip() or type(exc).__name__
    return reason.splitlines()[0]


class CloudEngine:
    """An OpenAI-compatible endpoint as an Engine: streaming, retries, breaker, no secrets."""

    tier: Tier = "cloud"

    def __init__(
        self,
        cloud: CloudConfig,
        breaker: BreakerConfig,
        *,
        demo: bool = False,
        base_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
        section: str = "[cloud]",
    ) -> None:
        self.config = cloud
        self.demo = demo
        #: Where the user fixes this endpoint's settings, named in error fixes (the pool's
        #: servers reuse this client with their own `[[pool.servers]]` entry).
        self.section = section
        #: The base URL requests go to, e.g. "https://api.openai.com/v1".
        self.endpoint = (base_url or cloud.base_url).rstrip("/")
        self._environ = environ
        self.breaker = CircuitBreaker(breaker, clock)
        #: Why this engine cannot be used at all (an invalid `[cloud] proxy`), or None. It is a
        #: failed state of the cloud tier, not an exception: the rest of the console still runs.
        self.setup_error: ConfigError | None = None
        #: Which proxy requests take. The demo server listens on this machine's loopback, which
        #: no proxy could reach.
        self.proxy = ProxyChoice(self.endpoint, None, "the demo endpoint is on this machine")
        if not demo:
            try:
                self.proxy = resolve_proxy(self.endpoint, cloud.proxy, environ)
            except ConfigError as exc:
                self.setup_error = exc
                self.proxy = ProxyChoice(self.endpoint, None, "invalid proxy setting")
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        key = "present" if self.key_present else "absent"
        return f"CloudEngine(endpoint={self.endpoint!r}, model={self.config.model!r}, key={key})"

    @property
    def host(self) -> str:
        """host[:port] of the endpoint."""
        return urlsplit(self.endpoint).netloc.rpartition("@")[2]

    @property
    def label(self) -> str:
        """ "demo endpoint" for --demo-cloud, else "<model> @ <host>"."""
        return DEMO_LABEL if self.demo else f"{self.config.model} @ {self.host}"

    @property
    def key_required(self) -> bool:
        """False for the demo, for endpoints on this machine, which usually need no key, and
        when no key variable is configured (an empty `api_key_env`: a lab server without one)."""
        if self.demo or not self.config.api_key_env:
            return False
        return (urlsplit(self.endpoint).hostname or "") not in LOCAL_HOSTS

    @property
    def key_present(self) -> bool:
        """Whether the API key's environment variable is set (its value is never shown)."""
        return self._api_key() is not None

    @property
    def key_missing(self) -> bool:
        """True when a key is required and its variable is unset: the tier cannot be used."""
        return self.key_required and not self.key_present

    @property
    def key_problem(self) -> str | None:
        """Why the key that is set cannot be sent (a line break, a non-ASCII character), or None.

        The message names the variable and the fix; it never contains the key.
        """
        key = self._api_key()
        return api_key_problem(key, self.config.api_key_env) if key is not None else None

    @property
    def unusable_reason(self) -> str | None:
        """Why no request can be sent at all (bad proxy setting, key missing or malformed)."""
        if self.setup_error is not None:
            return str(self.setup_error)
        if self.key_missing:
            return f"no API key (${self.config.api_key_env} unset)"
        return self.key_problem

    def _api_key(self) -> str | None:
        environ = os.environ if self._environ is None else self._environ
        key = environ.get(self.config.api_key_env, "").strip()
        return key or None

    def health(self) -> BreakerSnapshot:
        """The breaker's state and the endpoint's recent latency."""
        return self.breaker.snapshot()

    def _client_for_loop(self) -> httpx.AsyncClient:
        """One connection pool per endpoint and event loop (httpx connections are loop-bound)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            cfg = self.config
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=cfg.connect_timeout,
                    read=None,
                    write=cfg.connect_timeout,
                    pool=cfg.connect_timeout,
                ),
                # The proxy was resolved by engines.proxy (which honours the environment), so the
                # client must not apply the environment a second time; SSL_CERT_FILE still counts.
                proxy=self.proxy.url,
                trust_env=False,
                verify=httpx.create_ssl_context(trust_env=True),
                headers={"User-Agent": "switchboard"},
            )
            self._client_loop = loop
        return self._client

    def _headers(self, key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _require_key(self) -> str | None:
        if self.setup_error is not None:
            raise ConfigurationProblem(
                str(self.setup_error), fix='set [cloud] proxy to "env", "none" or a proxy URL'
            )
        problem = self.key_problem
        if problem is not None:
            raise ConfigurationProblem(problem, fix=f"export {self.config.api_key_env}=<your key>")
        key = self._api_key()
        if key is None and self.key_required:
            name = self.config.api_key_env
            raise ConfigurationProblem(
                f"no API key for {self.endpoint}: ${name} is not set",
                fix=f"export {name}=... (or name another variable in {self.section} api_key_env)",
            )
        return key

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        stop = request.stop or (DEMO_STOP if self.demo else ())
        if stop:
            body["stop"] = list(stop)
        if self.demo:
            body["repeat_penalty"] = DEMO_REPEAT_PENALTY
        return body

    async def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer: Chunks, then one Finished; typed EngineErrors on failure."""
        key = self._require_key()
        admission = self.breaker.admit()
        if admission is Admission.REJECT:
            raise self._circuit_open()
        if admission is Admission.PROBE and self.breaker.config.probe == "models":
            result = await self.probe()
            if self.breaker.state != "closed":
                self.breaker.release()
                raise EngineUnavailable(
                    f"{self.endpoint} is still failing ({result.detail}); circuit open again",
                    fix="the console uses the local tier meanwhile",
                )
        try:
            async for event in self._run(request, key):
                if isinstance(event, Finished):
                    self.breaker.record_success(event.total_s, event.ttft_s)
                yield event
        except (ConfigurationProblem, RequestRejected):
            self.breaker.release()
            raise
        except EngineError as exc:
            self.breaker.record_failure(str(exc))
            raise
        except BaseException:
            self.breaker.release()
            raise

    def _circuit_open(self) -> EngineUnavailable:
        snap = self.breaker.snapshot()
        why = f" after: {snap.last_error}" if snap.last_error else ""
        return EngineUnavailable(
            f"{self.endpoint}: circuit open{why} (next try in {snap.cooldown_remaining_s:.0f} s)",
            fix="the endpoint kept failing; the console uses the local tier meanwhile",
        )

    async def _run(
        self, request: GenerationRequest, key: str | None
    ) -> AsyncGenerator[StreamEvent, None]:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        deadline = loop.time() + self.config.total_timeout
        body = self._body(request)
        attempt = 0
        while True:
            progress = _Progress()
            try:
                async for event in self._attempt(body, key, deadline, progress, started):
                    yield event
            except _Retry as retry:
                attempt += 1
                delay = self._retry_delay(retry, attempt, deadline - loop.time())
                if delay is None:
                    raise retry.error from None
                log.info(
                    "retrying %s in %.2f s after: %s (retry %d of %d)",
                    self.endpoint,
                    delay,
                    retry.error,
                    attempt,
                    self.config.max_retries,
                )
                await asyncio.sleep(delay)
                continue
            if progress.finish_reason is None and not progress.parts:
                raise MalformedResponse(f"{self.endpoint} closed the stream without an answer")
            yield self._finished(request, progress, started)
            return

    def _retry_delay(self, retry: _Retry, attempt: int, remaining_s: float) -> float | None:
        """Seconds to wait before retry number `attempt`, or None to give up."""
        if attempt > self.config.max_retries:
            return None
        if retry.retry_after is not None:
            if retry.retry_after > MAX_RETRY_AFTER_S:
                return None
            delay = retry.retry_after
        else:
            delay = backoff_delay(attempt)
        return delay if delay < remaining_s else None

    async def _attempt(
        self,
        body: dict[str, Any],
        key: str | None,
        deadline: float,
        progress: _Progress,
        started: float,
    ) -> AsyncGenerator[StreamEvent, None]:
        """One POST; raises _Retry when it failed before any token and may be tried again."""
        loop = asyncio.get_running_loop()
        client = self._client_for_loop()
        url = f"{self.endpoint}/chat/completions"
        waited = "first byte"
        try:
            async with contextlib.AsyncExitStack() as stack:
                async with asyncio.timeout_at(
                    min(deadline, loop.time() + self.config.first_byte_timeout)
                ) as first_byte:
                    source = await stack.enter_async_context(
                        aconnect_sse(client, "POST", url, json=body, headers=self._headers(key))
                    )
                    response = source.response
                    if response.status_code != 200:
                        raise await self._status_error(response, key)
                    content_type = response.headers.get("content-type", "")
                    streamed = "text/event-stream" in content_type
                    if not streamed:
                        await self._whole_answer(response, content_type, progress, started)
                # Never yield inside a timeout block: its timer would cancel the consumer's task.
                if not streamed:
                    if progress.parts:
                        yield Chunk(progress.text)
                    return
                events = source.aiter_sse()
                stack.push_async_callback(events.aclose)
                next_deadline = first_byte.when() or deadline
                while True:
                    try:
                        async with asyncio.timeout_at(min(next_deadline, deadline)):
                            sse = await anext(events)
                    except StopAsyncIteration:
                        break
                    waited = "next chunk"
                    next_deadline = loop.time() + self.config.idle_timeout
                    if sse.data.strip() == "[DONE]":
                        progress.done = True
                        break
                    text = self._parse_event(sse.data, progress, key)
                    if text:
                        if progress.ttft_s is None:
                            progress.ttft_s = time.perf_counter() - started
                        progress.parts.append(text)
                        yield Chunk(text)
        except TimeoutError:
            raise self._timeout_error(waited, deadline - loop.time() <= 0, progress) from None
        except httpx.TransportError as exc:
            raise self._transport_error(exc, progress) from None
        if progress.parts and not progress.done and progress.finish_reason is None:
            raise StreamInterrupted(
                f"{self.endpoint}: the stream ended before the answer was finished",
                partial=progress.text,
            )

    def _timeout_error(self, waited: str, total: bool, progress: _Progress) -> EngineError:
        cfg = self.config
        if total:
            what = f"the answer took longer than total_timeout ({cfg.total_timeout:g} s)"
        elif waited == "first byte":
            what = f"no answer within first_byte_timeout ({cfg.first_byte_timeout:g} s)"
        else:
            what = f"no data for idle_timeout ({cfg.idle_timeout:g} s)"
        fix = f"raise the timeouts in {self.section} if the endpoint is just slow"
        if progress.parts:
            return StreamInterrupted(
                f"{self.endpoint}: stream interrupted, {what}", fix=fix, partial=progress.text
            )
        return EngineTimeout(f"{self.endpoint}: {what}", fix=fix)

    def _transport_error(self, exc: httpx.TransportError, progress: _Progress) -> Exception:
        reason = _transport_reason(exc)
        if progress.parts:
            return StreamInterrupted(
                f"{self.endpoint}: stream interrupted ({reason})", partial=progress.text
            )
        if isinstance(exc, httpx.ProxyError):
            return _Retry(
                EngineUnavailable(
                    f"proxy {self.proxy.display} failed for {self.endpoint}: {reason}",
                    fix=f"check {self.section} proxy and HTTPS_PROXY / NO_PROXY",
                )
            )
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            via = f" via proxy {self.proxy.display}" if self.proxy.url else ""
            return _Retry(
                EngineUnavailable(
                    f"cannot reach {self.endpoint}{via}: {reason}",
                    fix=f"check {self.section} base_url, the network and the proxy "
                    "(switchboard doctor)",
                )
            )
        return _Retry(
            EngineUnavailable(f"{self.endpoint} dropped the connection before answering: {reason}")
        )

    async def _read_limited(self, response: httpx.Response) -> bytes:
        body = b""
        async for piece in response.aiter_bytes():
            body += piece
            if len(body) >= ERROR_BODY_LIMIT:
                break
        return body

    async def _status_error(self, response: httpx.Response, key: str | None) -> Exception:
        """The error for a non-200 answer: _Retry for 429 and 5xx, an EngineError otherwise."""
        status = response.status_code
        message = _scrub(_server_message(await self._read_limited(response)), key)
        name = self.config.api_key_env
        if status in (401, 403):
            if key:
                text = f"{self.endpoint} rejected the API key ({status}) — check ${name}"
            else:
                text = f"{self.endpoint} requires an API key ({status}) — set ${name}"
            return ConfigurationProblem(text, fix=f"put a valid key for this endpoint in ${name}")
        if status == 404:
            if "model" in message.lower():
                return ConfigurationProblem(
                    f"{self.endpoint} does not know the model {self.config.model!r} (404): "
                    f"{message}",
                    fix=f"set {self.section} model to a model this endpoint serves",
                )
            return ConfigurationProblem(
                f"{self.endpoint}/chat/completions was not found (404)",
                fix=f"check {self.section} base_url: it usually ends in /v1",
            )
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status == 429:
            after = f", retry after {retry_after:g} s" if retry_after is not None else ""
            return _Retry(
                RateLimited(
                    f"{self.endpoint} is rate limiting requests (429{after}): {message}",
                    fix="wait, or raise your rate limit with the provider",
                ),
                retry_after,
            )
        if status >= 500:
            return _Retry(
                EngineUnavailable(f"{self.endpoint} answered {status}: {message}"), retry_after
            )
        return RequestRejected(f"{self.endpoint} refused the request ({status}): {message}")

    async def _whole_answer(
        self, response: httpx.Response, content_type: str, progress: _Progress, started: float
    ) -> None:
        """Accept a non-streamed JSON completion from servers that ignore `stream: true`."""
        raw = await self._read_limited(response)
        kind = content_type.partition(";")[0] or "no content type"
        try:
            data = json.loads(raw)
            message = data["choices"][0]["message"]
            content = message.get("content") or ""
            if not isinstance(content, str):
                raise TypeError("content is not text")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise MalformedResponse(
                f"{self.endpoint} answered 200 with {kind}, not an OpenAI-compatible stream",
                fix=f"check {self.section} base_url: it should be the API root, e.g. .../v1",
            ) from None
        progress.model = data.get("model") if isinstance(data.get("model"), str) else None
        progress.finish_reason = str(data["choices"][0].get("finish_reason") or "stop")
        progress.usage = self._usage_from(data.get("usage"))
        if content:
            progress.ttft_s = time.perf_counter() - started
            progress.parts.append(content)

    def _usage_from(self, raw: object) -> Usage | None:
        if not isinstance(raw, dict):
            return None
        prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            return Usage(prompt_tokens=prompt, completion_tokens=completion)
        return None

    def _parse_event(self, data: str, progress: _Progress, key: str | None) -> str:
        """Fold one SSE data line into `progress`; return the text it carries."""
        try:
            payload = json.loads(data)
        except ValueError:
            payload = None
        choices = payload.get("choices", []) if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(choices, list):
            raise self._mid_stream(
                f"sent a malformed stream line: {_scrub(data, key)[:80]!r}", progress
            )
        if payload.get("error"):
            what = f"reported an error: {_scrub(_server_message(data.encode()), key)}"
            if not progress.parts:
                raise EngineUnavailable(f"{self.endpoint} {what}")
            raise self._mid_stream(what, progress)
        if isinstance(payload.get("model"), str):
            progress.model = payload["model"]
        usage = self._usage_from(payload.get("usage"))
        if usage is not None:
            progress.usage = usage
        text = ""
        if choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                text = delta["content"]
            if choice.get("finish_reason"):
                progress.finish_reason = str(choice["finish_reason"])
        return text

    def _mid_stream(self, what: str, progress: _Progress) -> EngineError:
        if progress.parts:
            return StreamInterrupted(
                f"{self.endpoint}: stream interrupted, it {what}", partial=progress.text
            )
        return MalformedResponse(f"{self.endpoint} {what}")

    def _finished(
        self, request: GenerationRequest, progress: _Progress, started: float
    ) -> Finished:
        total = time.perf_counter() - started
        usage = progress.usage
        if usage is None:
            prompt_chars = "".join(m.content for m in request.messages)
            usage = Usage(
                prompt_tokens=estimate_tokens(prompt_chars),
                completion_tokens=estimate_tokens(progress.text),
                estimated=True,
            )
        gen_tps = None
        if progress.ttft_s is not None and total > progress.ttft_s and usage.completion_tokens:
            gen_tps = usage.completion_tokens / (total - progress.ttft_s)
        return Finished(
            usage=usage,
            finish_reason=progress.finish_reason or "stop",
            model=progress.model or self.config.model,
            ttft_s=progress.ttft_s,
            total_s=total,
            gen_tps=gen_tps,
        )

    async def probe(self) -> ProbeResult:
        """GET {base_url}/models with a short timeout; the outcome updates the breaker.

        An endpoint that answers at all (even 401 or 404) is alive as far as the breaker is
        concerned; connection failures, timeouts and 5xx count as failures.
        """
        started = time.perf_counter()
        unusable = self.setup_error or self.key_problem
        if unusable is not None:
            # Nothing is sent: the request could not be built, and the endpoint is not at fault.
            return ProbeResult(False, False, None, str(unusable), 0.0)
        key = self._api_key()
        timeout = min(PROBE_TIMEOUT_S, self.config.first_byte_timeout)
        try:
            async with asyncio.timeout(timeout):
                response = await self._client_for_loop().get(
                    f"{self.endpoint}/models", headers=self._headers(key)
                )
        except TimeoutError:
            detail = f"no answer from {self.endpoint}/models within {timeout:g} s"
            return self._probe_failed(detail, started)
        except httpx.TransportError as exc:
            via = f" via proxy {self.proxy.display}" if self.proxy.url else ""
            detail = f"cannot reach {self.endpoint}{via}: {_transport_reason(exc)}"
            return self._probe_failed(detail, started)
        latency = time.perf_counter() - started
        status = response.status_code
        if status >= 500:
            return self._probe_failed(f"{self.endpoint}/models answered {status}", started)
        self.breaker.record_success()
        if status in (401, 403):
            verb = "rejected the API key" if key else "requires an API key"
            detail = f"{self.endpoint} {verb} ({status})"
            return ProbeResult(True, False, status, detail, latency)
        if status != 200:
            return ProbeResult(
                True, False, status, f"{self.endpoint}/models answered {status}", latency
            )
        try:
            data = response.json()
            models = tuple(str(item["id"]) for item in data["data"])
        except (ValueError, KeyError, TypeError):
            detail = f"{self.endpoint}/models did not answer with an OpenAI-compatible model list"
            return ProbeResult(True, False, status, detail, latency)
        detail = f"{self.endpoint} answered in {latency * 1000:.0f} ms ({len(models)} models)"
        return ProbeResult(True, True, status, detail, latency, models)

    def _probe_failed(self, detail: str, started: float) -> ProbeResult:
        self.breaker.record_failure(detail)
        return ProbeResult(False, False, None, detail, time.perf_counter() - started)

    async def aclose(self) -> None:
        """Close the connection pool (only possible from the loop that opened it)."""
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.aclose()
        self._client_loop = None
