"""The pool tier: a lab's self-hosted OpenAI-compatible servers (llama.cpp, vLLM, Ollama) as one.

Each `[[pool.servers]]` entry gets its own `CloudEngine` (the same streaming client as the cloud
tier, so the same SSE parsing, timeouts and typed errors) and so its own circuit breaker. The
pool adds what a tier of several servers needs:

- **Balancing.** `least_loaded` picks the server where a new request should finish first: the
  lowest `(outstanding + 1) x service time / weight`. Outstanding is the larger of our own
  in-flight count and the requests the server reports processing, plus its reported queue. The
  service time is a moving average of each answer's latency divided by the requests it found
  on the server (a server that works through requests one at a time takes about that long per
  request; the division keeps queueing from being counted twice, which made servers that had
  one slow spell look slow for long and herded requests onto the others). An estimate relaxes
  towards the best peer's while its server gets no traffic, so a server that was slow is tried
  again now and then. `round_robin` takes turns (the baseline).
- **Limits.** A server never has more than `max_inflight` of our requests; when every server
  is full, a request waits (up to `queue_timeout_s`) for a slot instead of overloading one.
- **Failover.** A server that fails before the first token is left for the next best one; when
  every server failed the error names each. After the first token nothing is retried: the
  user would see a second, different answer (`StreamInterrupted`, as in the cloud tier).
- **Health.** `refresh()` (run every `poll_interval_s` once `start()`ed) asks each server's
  health endpoint and its load (`/slots`, `/metrics`, `/api/ps`: see engines.pool_metrics); a
  server that does not answer is "down" and only tried when no other is left, and a breaker
  that is half-open gets its trial probe here rather than on a user's request.
- **Privacy.** Servers marked `trusted` may receive the prompt as typed; every other server gets
  the redacted request, or nothing at all when the caller says `trusted_only`.
- **Cost.** Each request is charged its share of the server's busy time: while n of our
  requests run on a server, each accrues 1/n of the wall time (see policies.prices.pool_cost).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from engines.base import (
    Chunk,
    ConfigurationProblem,
    EngineBusy,
    EngineError,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    StreamEvent,
    StreamInterrupted,
    Tier,
)
from engines.breaker import Admission, BreakerState
from engines.cloud import CloudEngine
from engines.pool_metrics import (
    MetricsError,
    ServerLoad,
    merge,
    parse_llamacpp_metrics,
    parse_llamacpp_slots,
    parse_ollama_ps,
    parse_vllm_metrics,
)
from engines.pool_settings import PoolServer, PoolSettings
from engines.settings import BreakerConfig, CloudConfig

ServerState = Literal["up", "degraded", "down", "unknown"]
#: Whether a server could take a request now, as `_choose` sees it: "ok", "full" (at its
#: max_inflight), "down" (failed its last health check: tried only when no other is left) or
#: "out" (breaker open or no API key: never tried).
Availability = Literal["ok", "full", "down", "out"]

#: Time constant (seconds) over which an unused server's service-time estimate relaxes towards
#: its best peer's: a server found slow is tried again about every one to two of these (10 s
#: sent ~6% of a long run to a server 3x slower, enough to land in the p95).
SERVICE_DECAY_S = 30.0

#: Weight of the newest answer in the service-time moving average.
SERVICE_SMOOTHING = 0.3

#: The service time of a server nothing is known about yet, when no peer knows better.
DEFAULT_SERVICE_S = 0.5

#: A load report older than this many poll intervals is ignored.
STALE_POLLS = 3.0

#: Weight of the newest sample in the tokens/s moving average of our own measurements.
TPS_SMOOTHING = 0.3


@dataclass(frozen=True)
class PoolFinished(Finished):
    """The end of a pool stream: which server answered, why it was picked, its share of cost."""

    server: str = ""
    trusted: bool = False
    #: Busy seconds of the server apportioned to this request (wall time / concurrent requests).
    share_s: float = 0.0
    cost_per_hour: float = 0.0
    why: str = ""
    #: Servers that failed before this one answered, with their errors.
    failed_over: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PoolPick:
    """The server the pool would pick now, and why (for the router's trace).

    `full`: every usable server is at its max_inflight; `server` is then "" and a request
    would wait for a slot.
    """

    server: str
    trusted: bool
    why: str
    full: bool = False


@dataclass(frozen=True)
class ServerStatus:
    """One server as the console and `switchboard pool` show it."""

    name: str
    base_url: str
    kind: str
    model: str
    trusted: bool
    weight: float
    max_inflight: int
    cost_per_hour: float
    state: ServerState
    breaker: BreakerState
    inflight: int
    #: Requests the server reports waiting for a slot (0 when it does not say).
    queued: int
    tok_s: float | None
    ttft_p50_ms: float | None
    service_estimate_ms: float | None
    health_ms: float | None
    idle_slots: int | None
    total_slots: int | None
    kv_cache_use: float | None
    served: int
    failed: int
    last_error: str | None
    checked_age_s: float | None


@dataclass(frozen=True)
class PoolStatus:
    """The whole pool: its servers and the requests waiting for a free slot."""

    strategy: str
    servers: tuple[ServerStatus, ...]
    waiting: int


class _Choice:
    """What `_choose` found: a member, or why there is none (`full`: wait for a slot)."""

    def __init__(self, member: _Member | None, why: str, full: bool = False) -> None:
        self.member = member
        self.why = why
        self.full = full


def api_root(base_url: str) -> str:
    """The server's root URL: `base_url` without the OpenAI `/v1` suffix."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url


class _Member:
    """One server's engine and live bookkeeping (guarded by the pool's lock)."""

    def __init__(self, server: PoolServer, engine: CloudEngine, clock: Callable[[], float]):
        self.server = server
        self.engine = engine
        self._clock = clock
        self.inflight = 0
        self.service_est: float | None = None
        self.service_stamp = 0.0
        self.own_tps: float | None = None
        self.load: ServerLoad | None = None
        self.load_at: float | None = None
        self.load_error: str | None = None
        self.reachable: bool | None = None
        self.health_error: str | None = None
        self.health_s: float | None = None
        self.checked_at: float | None = None
        self.served = 0
        self.failed = 0
        self._shares: dict[int, float] = {}
        self._ahead: dict[int, int] = {}
        self._last_change = clock()
        self._tokens = itertools.count()

    # -- cost apportioning ----------------------------------------------------------------
    def _advance(self, now: float) -> None:
        if self._shares:
            each = (now - self._last_change) / len(self._shares)
            for key in self._shares:
                self._shares[key] += each
        self._last_change = now

    def begin(self) -> int:
        """Count a request in; returns its token for `end`."""
        self._advance(self._clock())
        token = next(self._tokens)
        self._shares[token] = 0.0
        self._ahead[token] = self.inflight
        self.inflight += 1
        return token

    def end(self, token: int) -> float:
        """Count a request out; returns its share of the server's busy seconds."""
        self._advance(self._clock())
        self.inflight -= 1
        self._ahead.pop(token, None)
        return self._shares.pop(token, 0.0)

    def ahead_of(self, token: int) -> int:
        """How many of our requests were on the server when this one started."""
        return self._ahead.get(token, 0)

    # -- what was learned from answers -----------------------------------------------------
    def observe_service(self, latency_s: float, ahead: int) -> None:
        """Fold in an answer that took `latency_s` with `ahead` requests on the server before it."""
        sample = latency_s / (ahead + 1)
        if self.service_est is None:
            self.service_est = sample
        else:
            self.service_est += SERVICE_SMOOTHING * (sample - self.service_est)
        self.service_stamp = self._clock()

    def observe_tps(self, tps: float) -> None:
        self.own_tps = (
            tps if self.own_tps is None else self.own_tps + TPS_SMOOTHING * (tps - self.own_tps)
        )

    def expected_service(self, floor: float | None, now: float) -> float:
        """The service-time estimate, relaxed towards `floor` (the best peer's) while unused."""
        if self.service_est is None:
            return floor if floor is not None else DEFAULT_SERVICE_S
        if floor is None or self.service_est <= floor:
            return self.service_est
        keep = math.exp(-(now - self.service_stamp) / SERVICE_DECAY_S)
        return floor + (self.service_est - floor) * keep

    def fresh_load(self, now: float, max_age: float) -> ServerLoad | None:
        if self.load is None or self.load_at is None or now - self.load_at > max_age:
            return None
        return self.load

    def outstanding(self, now: float, max_age: float) -> int:
        """Requests ahead of a new one: ours in flight or what the server reports, if more."""
        load = self.fresh_load(now, max_age)
        if load is None:
            return self.inflight
        busy = max(self.inflight, load.processing or 0)
        return busy + (load.queued or 0)


class PoolEngine:
    """The lab's servers as one tier: balanced, health-checked, failing over within the tier."""

    tier: Tier = "pool"

    def __init__(
        self,
        settings: PoolSettings,
        breaker: BreakerConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self._breaker_config = breaker
        self._clock = clock
        self._environ = environ
        self._lock = threading.Lock()
        self._members: list[_Member] = [self._member(server) for server in settings.servers]
        self._turn = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._poller: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._refreshed_at: float | None = None

    def _member(self, server: PoolServer) -> _Member:
        settings = self.settings
        config = CloudConfig(
            base_url=server.base_url,
            model=server.model,
            api_key_env=server.api_key_env,
            # Lab servers are reached directly: a corporate proxy rarely routes to them.
            proxy="none",
            connect_timeout=settings.connect_timeout,
            first_byte_timeout=settings.first_byte_timeout,
            idle_timeout=settings.idle_timeout,
            total_timeout=settings.total_timeout,
            # Another server is tried instead of the same one again.
            max_retries=0,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
        )
        engine = CloudEngine(
            config,
            self._breaker_config,
            clock=self._clock,
            environ=self._environ,
            section=f"[[pool.servers]] {server.name!r}:",
        )
        return _Member(server, engine, self._clock)

    def __repr__(self) -> str:
        names = ", ".join(member.server.name for member in self._members)
        return f"PoolEngine(strategy={self.settings.strategy!r}, servers=[{names}])"

    @property
    def label(self) -> str:
        """ "pool (N servers)"; each answer names the server that gave it."""
        count = len(self._members)
        return f"pool ({count} server{'s' if count != 1 else ''})"

    @property
    def configured(self) -> bool:
        """Whether any server is configured at all."""
        return bool(self._members)

    def reconfigure(self, settings: PoolSettings, breaker: BreakerConfig | None = None) -> None:
        """Apply a live edit: unchanged servers keep their state, changed ones start afresh.

        Requests in flight on a removed or changed server finish there.
        """
        with self._lock:
            if breaker is not None and breaker != self._breaker_config:
                self._breaker_config = breaker
                old: dict[PoolServer, _Member] = {}
            else:
                old = {member.server: member for member in self._members}
            self.settings = settings
            self._members = [old.get(server) or self._member(server) for server in settings.servers]

    # -- choosing a server -----------------------------------------------------------------
    def _why_not(self, member: _Member, exclude: Iterable[str], trusted_only: bool) -> str | None:
        """Why `member` cannot take this request (None when it can, if it has room)."""
        server = member.server
        if server.name in exclude:
            return "already failed for this request"
        if trusted_only and not server.trusted:
            return "not trusted with personal data"
        if member.engine.key_missing:
            return f"no API key (${server.api_key_env} unset)"
        if member.engine.breaker.state == "open":
            return "breaker open"
        return None

    def _choose(self, exclude: frozenset[str], trusted_only: bool) -> _Choice:
        """The server for the next request (lock held)."""
        now = self._clock()
        max_age = self.settings.poll_interval_s * STALE_POLLS
        usable: list[_Member] = []
        reasons: list[str] = []
        for member in self._members:
            why_not = self._why_not(member, exclude, trusted_only)
            if why_not is None:
                usable.append(member)
            else:
                reasons.append(f"{member.server.name}: {why_not}")
        healthy = [member for member in usable if member.reachable is not False]
        if not healthy and usable:
            # Every usable server failed its last health check: it may be stale, so try anyway.
            healthy = usable
        room = [member for member in healthy if member.inflight < member.server.max_inflight]
        if not room:
            if healthy:
                names = ", ".join(member.server.name for member in healthy)
                return _Choice(None, f"all at max_inflight ({names})", full=True)
            if not self._members:
                return _Choice(None, "no [[pool.servers]] configured")
            return _Choice(None, "; ".join(reasons))
        if self.settings.strategy == "round_robin":
            ordered = [
                self._members[(self._turn + step) % len(self._members)]
                for step in range(len(self._members))
            ]
            member = next(candidate for candidate in ordered if candidate in room)
            self._turn = (self._members.index(member) + 1) % len(self._members)
            return _Choice(member, f"{member.server.name}: next in turn (round_robin)")
        known = [m.service_est for m in self._members if m.service_est is not None]
        floor = min(known) if known else None
        scored = sorted(
            (
                (m.outstanding(now, max_age) + 1)
                * m.expected_service(floor, now)
                / m.server.weight,
                index,
                m,
            )
            for index, m in enumerate(room)
        )
        score, _, member = scored[0]
        expected = member.expected_service(floor, now)
        why = (
            f"{member.server.name}: least loaded, {member.outstanding(now, max_age)} outstanding "
            f"of {member.server.max_inflight}, service ~{expected * 1000:.0f} ms, "
            f"weight {member.server.weight:g} (score {score:.3f}"
        )
        others = [f"{m.server.name} {s:.3f}" for s, _, m in scored[1:]]
        why += f"; {', '.join(others)})" if others else ")"
        if reasons:
            why += f"; skipped {'; '.join(reasons)}"
        return _Choice(member, why)

    def preview(self, *, trusted_only: bool = False) -> PoolPick | None:
        """The server a request would go to now (nothing reserved), or None if none can."""
        with self._lock:
            turn = self._turn
            choice = self._choose(frozenset(), trusted_only)
            self._turn = turn
        if choice.full:
            return PoolPick("", trusted_only, choice.why, full=True)
        if choice.member is None:
            return None
        return PoolPick(choice.member.server.name, choice.member.server.trusted, choice.why)

    def availability(self) -> tuple[tuple[str, bool, Availability], ...]:
        """Each server's name, trusted flag and availability now, in configured order.

        The router records these with each decision so that a what-if can re-pick a server
        when the pool's configuration changes (a server added, removed or trusted).
        """
        with self._lock:
            return tuple(
                (member.server.name, member.server.trusted, self._availability(member))
                for member in self._members
            )

    def _availability(self, member: _Member) -> Availability:
        if self._why_not(member, (), trusted_only=False) is not None:
            return "out"
        if member.reachable is False:
            return "down"
        return "full" if member.inflight >= member.server.max_inflight else "ok"

    def unavailable_reason(self, *, trusted_only: bool = False) -> str:
        """Why no server can take a request now ("" when one can); full servers count too."""
        with self._lock:
            turn = self._turn
            choice = self._choose(frozenset(), trusted_only)
            self._turn = turn
        return "" if choice.member is not None else choice.why

    def has_trusted(self) -> bool:
        """Whether any server may receive personal data."""
        return any(member.server.trusted for member in self._members)

    async def _acquire(
        self, exclude: frozenset[str], trusted_only: bool
    ) -> tuple[_Member, int, str]:
        """Reserve a slot on the best server, waiting for one when all are full."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.queue_timeout_s
        while True:
            with self._lock:
                choice = self._choose(exclude, trusted_only)
                if choice.member is not None:
                    return choice.member, choice.member.begin(), choice.why
                if not choice.full:
                    raise EngineUnavailable(
                        f"pool: no server can take the request ({choice.why})",
                        fix="check [[pool.servers]] and `switchboard pool`",
                    )
                waiter: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, waiter))
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                waited = self.settings.queue_timeout_s
                raise EngineBusy(
                    f"pool: every server stayed at max_inflight for {waited:g} s ({choice.why})",
                    fix="raise max_inflight or queue_timeout_s in [pool], or add a server",
                ) from None
            finally:
                with self._lock, contextlib.suppress(ValueError):
                    self._waiters.remove((loop, waiter))

    def _release(self, member: _Member, token: int) -> float:
        with self._lock:
            share = member.end(token)
            waiters, self._waiters = self._waiters, []
        for loop, waiter in waiters:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_wake, waiter)
        return share

    # -- streaming -------------------------------------------------------------------------
    async def stream(
        self,
        request: GenerationRequest,
        *,
        redacted: GenerationRequest | None = None,
        trusted_only: bool = False,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer from the best server, failing over before the first token.

        Trusted servers get `request`. Untrusted servers get `redacted` when given, else
        `request` (the caller's statement that it holds nothing private); with `trusted_only`
        they get nothing.
        """
        started = time.perf_counter()
        failed: list[tuple[str, str]] = []
        config_errors = 0
        while True:
            member, token, why = await self._acquire(
                frozenset(name for name, _ in failed), trusted_only
            )
            server = member.server
            sent = request if server.trusted or redacted is None else redacted
            shown = False
            ended = False
            try:
                # Closed with this generator, so a cancelled answer closes its connection now.
                async with contextlib.aclosing(member.engine.stream(sent)) as events:
                    async for event in events:
                        if isinstance(event, Chunk):
                            shown = True
                            yield event
                            continue
                        ended = True
                        self._learn(member, token, event)
                        share = self._release(member, token)
                        yield self._finished(event, member, share, why, failed, started)
                        return
            except StreamInterrupted as exc:
                self._count_failure(member)
                raise StreamInterrupted(
                    f"pool server {server.name}: {exc}", fix=exc.fix, partial=exc.partial
                ) from None
            except EngineError as exc:
                self._count_failure(member)
                if shown or not exc.retryable_elsewhere:
                    raise
                failed.append((server.name, str(exc)))
                config_errors += isinstance(exc, ConfigurationProblem)
                if not self._others_left(failed, trusted_only):
                    raise self._all_failed(failed, config_errors) from None
            finally:
                if not ended:
                    self._release(member, token)

    def _others_left(self, failed: list[tuple[str, str]], trusted_only: bool) -> bool:
        exclude = frozenset(name for name, _ in failed)
        with self._lock:
            return any(
                self._why_not(member, exclude, trusted_only) is None for member in self._members
            )

    def _all_failed(self, failed: list[tuple[str, str]], config_errors: int) -> EngineError:
        details = "; ".join(f"{name}: {error}" for name, error in failed)
        message = f"pool: every server failed ({details})"
        if config_errors == len(failed):
            return ConfigurationProblem(message, fix="check [[pool.servers]] (switchboard pool)")
        return EngineUnavailable(message, fix="see `switchboard pool`; other tiers are used")

    def _count_failure(self, member: _Member) -> None:
        with self._lock:
            member.failed += 1

    def _learn(self, member: _Member, token: int, event: Finished) -> None:
        with self._lock:
            member.served += 1
            member.observe_service(event.total_s, member.ahead_of(token))
            if event.gen_tps is not None:
                member.observe_tps(event.gen_tps)

    def _finished(
        self,
        event: Finished,
        member: _Member,
        share: float,
        why: str,
        failed: list[tuple[str, str]],
        started: float,
    ) -> PoolFinished:
        total = time.perf_counter() - started
        # Measured from the pool's start, so time spent waiting for a slot or failing over
        # counts in what the user waited.
        ttft = None if event.ttft_s is None else event.ttft_s + (total - event.total_s)
        return PoolFinished(
            usage=event.usage,
            finish_reason=event.finish_reason,
            model=event.model,
            ttft_s=ttft,
            total_s=total,
            prompt_tps=event.prompt_tps,
            gen_tps=event.gen_tps,
            server=member.server.name,
            trusted=member.server.trusted,
            share_s=share,
            cost_per_hour=member.server.cost_per_hour,
            why=why,
            failed_over=tuple(failed),
        )

    # -- health and load -------------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            timeout = self.settings.health_timeout_s
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout),
                trust_env=False,
                headers={"User-Agent": "switchboard"},
            )
            self._client_loop = loop
        return self._client

    def _headers(self, member: _Member) -> dict[str, str]:
        name = member.server.api_key_env
        if not name:
            return {}
        environ = self._environ if self._environ is not None else os.environ
        key = environ.get(name, "").strip()
        return {"Authorization": f"Bearer {key}"} if key else {}

    async def refresh(self) -> None:
        """Ask every server for its health and load, at once; a half-open breaker gets its probe."""
        with self._lock:
            members = list(self._members)
        await asyncio.gather(*(self._check(member) for member in members))
        self._refreshed_at = self._clock()

    async def _get(self, member: _Member, url: str) -> httpx.Response:
        async with asyncio.timeout(self.settings.health_timeout_s):
            return await self._http().get(url, headers=self._headers(member))

    async def _check(self, member: _Member) -> None:
        server = member.server
        root = api_root(server.base_url)
        health_url = {
            "llama.cpp": f"{root}/health",
            "vllm": f"{root}/health",
            "ollama": f"{root}/api/ps",
            "openai": f"{server.base_url}/models",
        }[server.kind]
        started = time.perf_counter()
        error: str | None = None
        response: httpx.Response | None = None
        try:
            response = await self._get(member, health_url)
        except TimeoutError:
            error = f"no answer from {health_url} within {self.settings.health_timeout_s:g} s"
        except httpx.HTTPError as exc:
            reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
            error = f"cannot reach {health_url}: {reason}"
        if response is not None and response.status_code >= 500:
            error = f"{health_url} answered {response.status_code}"
        elapsed = time.perf_counter() - started
        load: ServerLoad | None = None
        load_error: str | None = None
        if error is None and response is not None:
            try:
                load = await self._load(member, root, response)
            except MetricsError as exc:
                load_error = str(exc)
        with self._lock:
            member.checked_at = self._clock()
            member.reachable = error is None
            member.health_error = error
            member.health_s = elapsed if error is None else None
            member.load_error = load_error
            if load is not None:
                member.load, member.load_at = load, member.checked_at
        if error is None and member.engine.breaker.admit() is Admission.PROBE:
            # The half-open trial: a real request is not spent on finding out.
            await member.engine.probe()

    async def _load(self, member: _Member, root: str, health: httpx.Response) -> ServerLoad | None:
        """The server's own account of its load, from the endpoints its kind has."""
        kind = member.server.kind
        if kind == "ollama":
            return parse_ollama_ps(health.text)
        if kind == "openai":
            return None
        metrics = await self._optional(member, f"{root}/metrics")
        load = ServerLoad()
        if kind == "vllm":
            if metrics is not None:
                previous, elapsed = member.load, None
                if member.load_at is not None:
                    elapsed = self._clock() - member.load_at
                load = parse_vllm_metrics(metrics, previous, elapsed)
            return load
        if metrics is not None:
            load = parse_llamacpp_metrics(metrics)
        slots = await self._optional(member, f"{root}/slots")
        if slots is not None:
            load = merge(parse_llamacpp_slots(slots), load)
        return load

    async def _optional(self, member: _Member, url: str) -> str | None:
        """The body of `url`, or None when the server does not offer it (not enabled: 404/501)."""
        try:
            response = await self._get(member, url)
        except (TimeoutError, httpx.HTTPError):
            return None
        return response.text if response.status_code == 200 else None

    def start(self) -> None:
        """Poll health and load every `poll_interval_s` in the background (call in a loop)."""
        if self._members and (self._poller is None or self._poller.done()):
            self._poller = asyncio.get_running_loop().create_task(self._poll())

    async def _poll(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.settings.poll_interval_s)

    # -- what the console shows ------------------------------------------------------------
    def status(self) -> PoolStatus:
        """Every server's state, load and latency, as of now."""
        now = self._clock()
        max_age = self.settings.poll_interval_s * STALE_POLLS
        with self._lock:
            servers = tuple(self._server_status(member, now, max_age) for member in self._members)
            waiting = len(self._waiters)
        return PoolStatus(self.settings.strategy, servers, waiting)

    def _server_status(self, member: _Member, now: float, max_age: float) -> ServerStatus:
        server = member.server
        breaker = member.engine.breaker.snapshot()
        load = member.fresh_load(now, max_age)
        state: ServerState
        if breaker.state == "open" or member.reachable is False:
            state = "down"
        elif member.reachable is None and member.served == 0:
            state = "unknown"
        elif (
            breaker.state == "half_open"
            or breaker.consecutive_failures > 0
            or (load is not None and (load.queued or 0) > 0)
        ):
            state = "degraded"
        else:
            state = "up"
        tok_s = load.tok_s if load is not None and load.tok_s is not None else member.own_tps
        expected = member.expected_service(None, now) if member.service_est is not None else None
        return ServerStatus(
            name=server.name,
            base_url=server.base_url,
            kind=server.kind,
            model=server.model,
            trusted=server.trusted,
            weight=server.weight,
            max_inflight=server.max_inflight,
            cost_per_hour=server.cost_per_hour,
            state=state,
            breaker=breaker.state,
            inflight=member.inflight,
            queued=(load.queued or 0) if load is not None else 0,
            tok_s=tok_s,
            ttft_p50_ms=None if breaker.ttft_p50_s is None else breaker.ttft_p50_s * 1000,
            service_estimate_ms=None if expected is None else expected * 1000,
            health_ms=None if member.health_s is None else member.health_s * 1000,
            idle_slots=load.idle_slots if load is not None else None,
            total_slots=load.total_slots if load is not None else None,
            kv_cache_use=load.kv_cache_use if load is not None else None,
            served=member.served,
            failed=member.failed,
            last_error=member.health_error or breaker.last_error or member.load_error,
            checked_age_s=None if member.checked_at is None else now - member.checked_at,
        )

    async def aclose(self) -> None:
        """Stop polling and close every connection pool."""
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        client, self._client = self._client, None
        if client is not None and self._client_loop is asyncio.get_running_loop():
            await client.aclose()
        self._client_loop = None
        for member in list(self._members):
            await member.engine.aclose()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
