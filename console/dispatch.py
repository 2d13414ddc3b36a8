"""One prompt's way through: PII scan -> routing decision -> engines (with fallback) -> ledger.

The dispatcher is the headless core that both faces drive: the CLI drains `ask()` and prints, the
TUI consumes the same events in a worker and renders them. It owns three promises:

- PII never leaves unredacted: whatever the router says, text sent to the cloud is the redacted
  text whenever the scan found anything, and a prompt that privacy keeps local never reaches the
  cloud, even when the local engine is dead (it waits for the restart, or fails clearly).
- Every request is written to the ledger exactly once, whether it succeeded, fell back, failed,
  was blocked, cancelled or interrupted by a signal. A row the ledger refuses goes to the spool
  (console.spool), and an intent line journaled before the first engine call lets the next
  process record a request whose process was killed (status `interrupted`).
- A failing tier falls back along the decision's chain without the user doing anything.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

from console.conversations import ConversationError, ConversationStore, title_for
from console.ledger import Ledger, LedgerRecord, StorePrompts, TurnRecord, stored_prompt
from console.observers import Observers
from console.outcome import Outcome, Status, badge
from console.spool import Kept, Spool, SpoolError
from engines.base import (
    Cancelled,
    Chunk,
    Engine,
    EngineCrashed,
    EngineError,
    EngineUnavailable,
    Finished,
    GenerationRequest,
    Message,
    SwitchboardError,
    Tier,
    Usage,
)
from engines.cloud import CloudEngine, estimate_tokens
from engines.local import LocalEngine
from engines.pool import PoolEngine, PoolFinished
from policies.config import Config
from policies.context import Fitted, Turn, fit, pii_turns, prompt_tokens
from policies.features import extract_features, split_override
from policies.pii import PiiScan, PiiScanner, Pseudonymizer
from policies.prices import (
    CostBreakdown,
    cloud_cost,
    counterfactual_cost,
    local_cost,
    pool_cost,
)
from policies.router import Decision, Signals, decide
from policies.trace_inputs import encode_inputs


class Parts(Protocol):
    """What the dispatcher uses of the running parts (console.runtime.Runtime provides it).

    A protocol, so that the dispatcher does not import the runtime that builds it.
    """

    local: LocalEngine
    cloud: CloudEngine
    pool: PoolEngine
    scanner: PiiScanner
    spool: Spool
    ledger: Ledger | None
    ledger_path: Path
    observers: Observers

    def config(self) -> Config:
        """The configuration in force."""
        ...

    def signals(self) -> Signals:
        """The live signals the router reads."""
        ...

    def cloud_ready(self) -> bool:
        """Whether the cloud tier has finished starting."""
        ...

    async def wait_cloud_ready(self) -> None:
        """Wait for the cloud tier to finish starting."""
        ...

    async def wait_local_ready(self, timeout: float) -> float:
        """Wait for the local engine to take requests again; the seconds waited."""
        ...


#: How long a prompt that privacy keeps local waits for a crashed engine to come back.
LOCAL_RESTART_WAIT_S = 30.0


class RefusedPrompt(SwitchboardError):
    """A prompt refused before anything is sent or recorded: empty, blank, only `/local` or
    `/cloud`, or not text at all."""


class PreparationFailed(SwitchboardError):
    """Scanning or routing the prompt failed; nothing was sent. The request is still recorded."""


class Interrupted(EngineError):
    """The process was told to stop (SIGTERM, SIGHUP) while the request ran."""

    retryable_elsewhere = False


def check_prompt(prompt: str) -> str:
    """The text to answer of `prompt` (without its override).

    RefusedPrompt when there is none, or when the prompt is not text (lone surrogates, which is
    what undecodable bytes of a command line or a JSON "\\ud800" escape become).
    """
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RefusedPrompt(
            f"the prompt is not valid text (a lone surrogate at character {exc.start})",
            fix="give the prompt as UTF-8",
        ) from None
    text = split_override(prompt)[1]
    if not text.strip():
        raise RefusedPrompt(
            "the prompt is empty: nothing to answer (not sent, not billed)",
            fix="type a question after /local or /cloud" if prompt.strip() else "type a question",
        )
    return text


@dataclass(frozen=True)
class Waiting:
    """The prompt waits for a part that is still loading; it is not lost."""

    what: str


@dataclass(frozen=True)
class Scanned:
    """PII found in the prompt, and exactly the text that would be sent to the cloud."""

    scan: PiiScan
    redacted: str


@dataclass(frozen=True)
class Routed:
    """The router's decision, with its full trace."""

    decision: Decision


@dataclass(frozen=True)
class Attempt:
    """A tier is being asked, with `turns` earlier turns of the conversation in its context;
    `dropped` older ones were left out to fit its `context_limit` tokens."""

    tier: Tier
    label: str
    redacted: bool
    turns: int = 0
    dropped: int = 0
    context_limit: int = 0


@dataclass(frozen=True)
class Token:
    """Streamed answer text, already re-identified locally."""

    text: str


@dataclass(frozen=True)
class FellBack:
    """A tier failed; the next tier of the chain is asked. The answer restarts."""

    from_tier: Tier
    to_tier: Tier
    error: str


@dataclass(frozen=True)
class Timings:
    """Where the time of one request went, in milliseconds."""

    pii_ms: float
    route_ms: float
    queue_ms: float
    ttft_ms: float | None
    gen_ms: float | None


@dataclass(frozen=True)
class RequestResult:
    """Everything about one finished request: what the console shows and the ledger keeps."""

    request_id: str
    prompt: str
    answer: str
    decision: Decision
    tier: Tier | Literal["none"]
    fallback_path: tuple[Tier, ...]
    status: Status
    error: str | None
    error_class: str | None
    fix: str | None
    usage: Usage | None
    ttft_s: float | None
    latency_s: float
    gen_tps: float | None
    cost: CostBreakdown | None
    counterfactual_usd: float | None
    timings: Timings
    sent_text: str | None
    model: str
    pii_types: tuple[str, ...]
    #: Whether placeholders replaced PII in what was sent to the cloud.
    redacted: bool
    #: The conversation this request belongs to, and its 1-based turn number in it.
    conversation_id: str = ""
    turn: int = 1
    #: The exact messages sent to the tier that answered last (redacted ones for the cloud).
    messages: tuple[Message, ...] = ()
    #: Earlier turns left out of that request to fit the tier's context.
    context_dropped: int = 0
    #: The pool server that answered (None for the other tiers).
    server: str | None = None

    @property
    def outcome(self) -> Outcome:
        """Status, tier, path and redaction: what the badge is rendered from."""
        return Outcome(self.status, self.tier, self.fallback_path, self.redacted, self.server or "")

    @property
    def savings_usd(self) -> float | None:
        """Cloud-only cost minus actual cost, when both are known."""
        if self.cost is None or self.counterfactual_usd is None or not self.cost.known:
            return None
        return self.counterfactual_usd - self.cost.total_usd

    @property
    def badge(self) -> str:
        """The route label shown on the answer (`console.outcome.badge`)."""
        return badge(self.outcome).label


#: Where the request's row went: the ledger, the spool (written later), or nowhere (both refused).
RecordedIn = Kept | Literal["lost"]


@dataclass(frozen=True)
class Done:
    """The request ended (in any status) and was recorded; `recorded` says where."""

    result: RequestResult
    recorded: RecordedIn = "ledger"
    record_error: str | None = None


DispatchEvent = Waiting | Scanned | Routed | Attempt | Token | FellBack | Done


@dataclass
class Conversation:
    """A chat: its id, its answered turns, and placeholders that stay stable across them.

    Every request of a conversation carries its earlier turns. `saved` conversations write each
    answered turn to the ledger file's conversation tables (console.conversations).
    """

    session: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    pseudonymizer: Pseudonymizer = field(default_factory=Pseudonymizer)
    turns: list[Turn] = field(default_factory=list)
    #: Overrides `[chat] system_prompt` for this conversation when not None.
    system_prompt: str | None = None
    saved: bool = False

    def system(self, config: Config) -> str:
        """The system prompt in force for this conversation."""
        return config.chat.system_prompt if self.system_prompt is None else self.system_prompt


@dataclass(frozen=True)
class Prepared:
    """A prompt scanned, redacted and routed, before any engine is asked.

    `text` is the prompt without its override; `history` the conversation's turns at that
    moment, their scans filled in.
    """

    text: str
    scan: PiiScan
    redacted: str
    decision: Decision
    pii_ms: float
    route_ms: float
    history: tuple[Turn, ...] = ()


class _Attempting:
    """Mutable bookkeeping of one request while it runs (never leaves this module)."""

    def __init__(self) -> None:
        self.path: list[Tier] = []
        self.answer: list[str] = []
        self.finished: Finished | None = None
        self.sent_text: str | None = None
        self.queue_s = 0.0
        self.error: SwitchboardError | None = None
        self.messages: tuple[Message, ...] = ()
        self.dropped = 0
        self.redacted = False
        #: What the last attempt sent and what it streamed (engine text, before restoring
        #: placeholders): tokens a server bills even when the stream never finishes.
        self.attempt_sent = ""
        self.attempt_streamed: list[str] = []
        self.trusted_only = False


class Dispatcher:
    """Runs prompts through PII -> route -> engines -> ledger for one Runtime."""

    def __init__(self, runtime: Parts) -> None:
        self._runtime = runtime
        self._store: ConversationStore | None = None
        self._interrupted_by: str | None = None

    def interrupt(self, reason: str) -> None:
        """Mark the requests cancelled from now on as interrupted by `reason` (e.g. "SIGTERM").

        The caller then cancels the task consuming `ask()`; its row gets status `interrupted`.
        """
        self._interrupted_by = reason

    async def prepare(
        self,
        prompt: str,
        *,
        force: Tier | None = None,
        conversation: Conversation | None = None,
        max_tokens: int | None = None,
        signals: Signals | None = None,
    ) -> Prepared:
        """Scan for PII, redact and route `prompt`: everything before an engine is asked.

        `ask`, the CLI's `route` and the console all decide through this one path. `signals`
        replaces the live ones (a headless `route` has no engine running). RefusedPrompt for a
        prompt with nothing to answer.
        """
        text = check_prompt(prompt)
        conversation = conversation or Conversation()
        config = self._runtime.config()
        tracer = self._runtime.observers.tracer
        started = time.perf_counter()
        with tracer.span("pii.scan"):
            scanner = self._runtime.scanner
            scan = await asyncio.to_thread(scanner.scan, text)
            # Earlier turns are scanned once, then their scans are cached on the conversation.
            history = tuple(conversation.turns)
            if any(turn.prompt_scan is None or turn.answer_scan is None for turn in history):
                history = await asyncio.to_thread(_scanned, scanner, history)
                conversation.turns[:] = history
            redacted = conversation.pseudonymizer.redact(scan)
        scanned = time.perf_counter()
        with tracer.span("route"):
            system = conversation.system(config)
            # Privacy looks at every earlier turn that could be sent: those fitting the widest
            # context.
            widest = fit(
                history, system, text, config.chat.cloud_context_tokens, config.cloud.max_tokens
            )
            context_pii = [kind for turn in widest.turns for kind in turn.pii_types]
            features = extract_features(
                prompt, [entity.type for entity in scan.entities] + context_pii
            )
            local_reserve = max_tokens or config.local.max_tokens
            features = replace(
                features,
                context_tokens=prompt_tokens(system, text) + local_reserve,
                pii_turns=pii_turns(widest.turns, widest.dropped),
                earlier_turns=len(history),
                local_dropped_turns=fit(
                    history, system, text, config.local.n_ctx, local_reserve
                ).dropped,
            )
            if force is not None:
                features = replace(features, override=force)
            if signals is None:
                # Signals read the ledger and psutil: off the event loop, like the scan.
                signals = await asyncio.to_thread(self._runtime.signals)
            decision = decide(features, signals, config)
        return Prepared(
            text=text,
            scan=scan,
            redacted=redacted,
            decision=decision,
            pii_ms=(scanned - started) * 1000,
            route_ms=(time.perf_counter() - scanned) * 1000,
            history=history,
        )

    async def ask(
        self,
        prompt: str,
        *,
        force: Tier | None = None,
        max_tokens: int | None = None,
        conversation: Conversation | None = None,
        tag: str = "",
    ) -> AsyncIterator[DispatchEvent]:
        """Run one prompt, yielding events as it goes; the last event is always `Done`.

        Raises RefusedPrompt (before anything is sent or recorded) for a prompt with nothing to
        answer. Cancelling the consuming task cancels the generation; the request is still
        recorded (`cancelled`, or `interrupted` after `interrupt()`).
        """
        check_prompt(prompt)
        conversation = conversation or Conversation()
        request_id = uuid.uuid4().hex
        tracer = self._runtime.observers.tracer
        tracer.begin(request_id)
        started = time.perf_counter()
        # Scanning and routing run as their own task so that a cancel arriving meanwhile can
        # let them finish: the ledger row of a cancelled request still carries its decision.
        preparing = asyncio.ensure_future(
            self.prepare(prompt, force=force, conversation=conversation, max_tokens=max_tokens)
        )
        state = _Attempting()
        prepared: Prepared | None = None
        status: Status = "failed"
        try:
            if not self._runtime.scanner.ready:
                yield Waiting("PII analyzer loading")
            try:
                prepared = await asyncio.shield(preparing)
            except Exception as exc:  # recorded as failed below, never lost
                prepared = _unprepared(prompt, exc, state)
            else:
                yield Scanned(prepared.scan, prepared.redacted)
                yield Routed(prepared.decision)
            if state.error is not None:
                status = "failed"
            elif prepared.decision.target == "blocked":
                status = "blocked"
            else:
                intent = self._result(
                    request_id, prompt, prepared, state, "interrupted", started, conversation
                )
                await asyncio.to_thread(
                    self._runtime.spool.intend, self._row(intent, conversation, prepared, tag)
                )
                async with aclosing(
                    self._walk_chain(prepared, conversation, max_tokens, state)
                ) as events:
                    async for event in events:
                        yield event
                if state.finished is not None:
                    status = "fallback" if len(state.path) > 1 else "ok"
        except (asyncio.CancelledError, GeneratorExit):
            reason = self._interrupted_by
            stopped: Status = "interrupted" if reason else "cancelled"
            state.error = (
                Interrupted(f"interrupted by {reason}")
                if reason
                else Cancelled("cancelled by the user")
            )
            if prepared is None:
                try:
                    prepared = await preparing
                except Exception as exc:
                    prepared = _unprepared(prompt, exc, state)
            cancelled = self._result(
                request_id, prompt, prepared, state, stopped, started, conversation
            )
            with tracer.span("ledger.write"):
                self._record_now(cancelled, conversation, prepared, tag)
            self._runtime.observers.on_result(cancelled)
            raise
        result = self._result(request_id, prompt, prepared, state, status, started, conversation)
        saved: TurnRecord | None = None
        try:
            if result.answer and result.status in ("ok", "fallback"):
                # The answer is history for the next turn, whichever tier gives it.
                answer_scan = await asyncio.to_thread(self._runtime.scanner.scan, result.answer)
                turn = Turn(prepared.text, result.answer, result.tier, prepared.scan, answer_scan)
                conversation.turns.append(turn)
                if conversation.saved:
                    saved = self._turn_record(result, conversation, prepared, turn)
        finally:
            # The row is written whatever happened to the answer's scan; a saved turn goes with
            # it, in one transaction or one spool line.
            with tracer.span("ledger.write"):
                recorded, error = await asyncio.to_thread(
                    self._record_now, result, conversation, prepared, tag, saved
                )
            self._runtime.observers.on_result(result)
        yield Done(result, recorded, error)

    async def _walk_chain(
        self,
        prepared: Prepared,
        conversation: Conversation,
        max_tokens: int | None,
        state: _Attempting,
    ) -> AsyncGenerator[Waiting | Attempt | Token | FellBack, None]:
        decision = prepared.decision
        chain = list(decision.chain)
        for index, tier in enumerate(chain):
            # pii_count covers the prompt and every earlier turn that could be sent with it.
            if tier == "cloud" and decision.features.pii_count and not decision.redact:
                # The router never chains the cloud after PII unless redaction is allowed;
                # refuse anyway, so that no routing mistake can send PII out.
                state.error = EngineUnavailable(
                    f"privacy keeps this prompt local (rule {decision.fired}: "
                    f"{', '.join(decision.features.pii_types)} found)",
                    fix='set [pii] on_pii = "redact" to allow it redacted',
                )
                continue
            state.path.append(tier)
            # Personal data reaches trusted pool servers only, unless it may go out redacted.
            state.trusted_only = decision.features.pii_count > 0 and not decision.redact
            try:
                async with aclosing(
                    self._attempt(tier, prepared, conversation, max_tokens, state)
                ) as events:
                    async for event in events:
                        yield event
                return
            except EngineError as exc:
                state.error = exc
                local_only = chain == ["local"]
                if (
                    local_only
                    and isinstance(exc, EngineCrashed | EngineUnavailable)
                    and not exc.partial
                ):
                    yield Waiting("local engine restarting")
                    waited = await self._runtime.wait_local_ready(LOCAL_RESTART_WAIT_S)
                    state.queue_s += waited
                    try:
                        async with aclosing(
                            self._attempt(tier, prepared, conversation, max_tokens, state)
                        ) as events:
                            async for event in events:
                                yield event
                        return
                    except EngineError as again:
                        state.error = again
                if not exc.retryable_elsewhere or index + 1 >= len(chain):
                    return
                state.answer.clear()
                yield FellBack(tier, chain[index + 1], str(exc))

    async def _attempt(
        self,
        tier: Tier,
        prepared: Prepared,
        conversation: Conversation,
        max_tokens: int | None,
        state: _Attempting,
    ) -> AsyncGenerator[Waiting | Attempt | Token, None]:
        runtime = self._runtime
        config = runtime.config()
        engine: Engine
        if tier == "local":
            engine = runtime.local
            cap = max_tokens or config.local.max_tokens
            temperature = config.local.temperature
            limit = config.local.n_ctx
        elif tier == "pool":
            engine = runtime.pool
            cap = max_tokens or config.pool.max_tokens
            temperature = config.pool.temperature
            limit = config.pool.context_tokens
        else:
            wait_started = time.perf_counter()
            if not runtime.cloud_ready():
                yield Waiting(f"{runtime.cloud.label} starting")
                await runtime.wait_cloud_ready()
            state.queue_s += time.perf_counter() - wait_started
            engine = runtime.cloud
            cap = max_tokens or config.cloud.max_tokens
            temperature = config.cloud.temperature
            limit = config.chat.cloud_context_tokens
        system = conversation.system(config)
        text = prepared.text
        fitted = fit(prepared.history, system, text, limit, cap)
        private = prepared.scan.count > 0 or any(turn.pii_types for turn in fitted.turns)
        send_redacted = tier == "cloud" and private
        # The pool decides per server: trusted servers get the text as typed, untrusted ones the
        # redacted text (or nothing at all with trusted_only).
        pool_redacted = tier == "pool" and private and not state.trusted_only
        sent = prepared.redacted if send_redacted else text
        messages = _messages(
            system, fitted, sent, conversation.pseudonymizer if send_redacted else None
        )
        state.sent_text = sent if tier == "cloud" else None
        state.messages, state.dropped = messages, fitted.dropped
        state.redacted = send_redacted
        state.attempt_sent = "".join(message.content for message in messages)
        state.attempt_streamed = []
        yield Attempt(
            tier,
            engine.label,
            send_redacted or pool_redacted,
            len(fitted.turns),
            fitted.dropped,
            limit,
        )
        request = GenerationRequest(messages=messages, max_tokens=cap, temperature=temperature)
        redacted_request: GenerationRequest | None = None
        if pool_redacted:
            redacted_request = replace(
                request,
                messages=_messages(system, fitted, prepared.redacted, conversation.pseudonymizer),
            )
        # Made after the history was redacted: it knows every placeholder the request holds.
        restorer = conversation.pseudonymizer.restorer() if send_redacted or pool_redacted else None
        stream_of = (
            runtime.pool.stream(request, redacted=redacted_request, trusted_only=state.trusted_only)
            if tier == "pool"
            else engine.stream(request)
        )
        with runtime.observers.tracer.span("engine.attempt", tier=tier, redacted=send_redacted):
            async with aclosing(stream_of) as stream:
                async for event in stream:
                    if isinstance(event, Chunk):
                        state.attempt_streamed.append(event.text)
                        piece = restorer.feed(event.text) if restorer else event.text
                        if piece:
                            state.answer.append(piece)
                            yield Token(piece)
                    elif isinstance(event, Finished):
                        if restorer is not None:
                            tail = restorer.flush()
                            if tail:
                                state.answer.append(tail)
                                yield Token(tail)
                        state.finished = event
                        if isinstance(event, PoolFinished) and not event.trusted:
                            # What an untrusted server saw, for the inspector's "sent" view.
                            sent_there = redacted_request or request
                            state.sent_text = sent_there.messages[-1].content
                            state.messages = sent_there.messages
                            state.redacted = redacted_request is not None

    def _result(
        self,
        request_id: str,
        prompt: str,
        prepared: Prepared,
        state: _Attempting,
        status: Status,
        started: float,
        conversation: Conversation,
    ) -> RequestResult:
        decision, scan = prepared.decision, prepared.scan
        config = self._runtime.config()
        finished = state.finished
        latency = time.perf_counter() - started
        tier: Tier | Literal["none"] = "none"
        usage: Usage | None = None
        if finished is not None:
            tier, usage = state.path[-1], finished.usage
        elif state.path and state.attempt_streamed:
            # The stream stopped (cancel, signal, crash) after tokens came: the server bills
            # them, so the row carries them, estimated, on the tier that produced them.
            tier = state.path[-1]
            usage = Usage(
                prompt_tokens=estimate_tokens(state.attempt_sent),
                completion_tokens=estimate_tokens("".join(state.attempt_streamed)),
                estimated=True,
            )
        cost: CostBreakdown | None = None
        counterfactual: float | None = None
        if usage is not None and tier != "none":
            tokens = (usage.prompt_tokens, usage.completion_tokens)
            if tier == "cloud":
                cost = cloud_cost(config.cloud.model, *tokens, config.prices)
            elif isinstance(finished, PoolFinished):
                cost = pool_cost(
                    finished.server,
                    finished.share_s,
                    finished.cost_per_hour,
                    finished.total_s,
                    *tokens,
                )
            elif finished is not None:
                cost = local_cost(
                    finished.cpu_seconds or 0.0, finished.total_s, config.local_cost, *tokens
                )
            else:
                cost = local_cost(0.0, latency, config.local_cost, *tokens)
            what_if_cloud = counterfactual_cost(*tokens, config)
            counterfactual = what_if_cloud.total_usd if what_if_cloud.known else None
        error = state.error
        failed = status != "ok" and error is not None
        ttft = finished.ttft_s if finished else None
        return RequestResult(
            request_id=request_id,
            prompt=prompt,
            answer="".join(state.answer),
            decision=decision,
            tier=tier,
            fallback_path=tuple(state.path),
            status=status,
            error=str(error) if failed else None,
            error_class=type(error).__name__ if failed else None,
            fix=(error.fix or None) if failed and error is not None else None,
            usage=usage,
            ttft_s=ttft,
            latency_s=latency,
            gen_tps=finished.gen_tps if finished else None,
            cost=cost,
            counterfactual_usd=counterfactual,
            timings=Timings(
                pii_ms=prepared.pii_ms,
                route_ms=prepared.route_ms,
                queue_ms=state.queue_s * 1000,
                ttft_ms=ttft * 1000 if ttft is not None else None,
                gen_ms=(finished.total_s - (ttft or 0.0)) * 1000 if finished else None,
            ),
            sent_text=state.sent_text,
            model=self._model_label(tier, finished),
            pii_types=scan.types,
            redacted=state.redacted and tier in ("cloud", "pool"),
            conversation_id=conversation.session,
            turn=len(prepared.history) + 1,
            messages=state.messages,
            context_dropped=state.dropped,
            server=finished.server if isinstance(finished, PoolFinished) else None,
        )

    def _model_label(self, tier: Tier | Literal["none"], finished: Finished | None) -> str:
        """The model that answered; the demo endpoint says what it is and what it is priced as."""
        if tier == "none":
            return ""
        if tier == "cloud" and self._runtime.cloud.demo:
            return f"demo endpoint (priced as {self._runtime.config().cloud.model})"
        if finished is not None:
            return finished.model
        return self._runtime.config().cloud.model if tier == "cloud" else self._runtime.local.label

    def _row(
        self, result: RequestResult, conversation: Conversation, prepared: Prepared, tag: str
    ) -> LedgerRecord:
        """The ledger row of `result`."""
        config = self._runtime.config()
        usage = result.usage
        cpu = result.cost.cpu_seconds if result.cost is not None else None
        decision = result.decision
        return LedgerRecord(
            ts=time.time(),
            session=conversation.session + (f":{tag}" if tag else ""),
            request_id=result.request_id,
            prompt_hash=hashlib.sha256(result.prompt.encode("utf-8", "surrogatepass")).hexdigest(),
            prompt_text=stored_prompt(
                _text_mode(config.ledger.store_prompts, prepared.scan),
                result.prompt,
                prepared.redacted,
            ),
            decision_json=json.dumps(decision.to_dict()),
            routed_tier=decision.target if decision.target != "blocked" else "none",
            tier=result.tier,
            fallback_path=">".join(result.fallback_path) if len(result.fallback_path) > 1 else "",
            fired_rule=decision.fired,
            model=result.model,
            tokens_in=usage.prompt_tokens if usage else 0,
            tokens_out=usage.completion_tokens if usage else 0,
            usage_estimated=usage.estimated if usage else False,
            ttft_s=result.ttft_s,
            latency_s=result.latency_s,
            tokens_per_s=result.gen_tps,
            cpu_seconds=cpu or 0.0,
            cost_usd=result.cost.total_usd if result.cost is not None else 0.0,
            counterfactual_usd=result.counterfactual_usd,
            cost_known=result.cost.known if result.cost is not None else True,
            status=result.status,
            error_class=result.error_class or ("Blocked" if result.status == "blocked" else None),
            redacted=result.redacted,
            pii_count=len(result.pii_types),
            inputs_json=encode_inputs(decision) if decision.rules else None,
            server=result.server or "",
        )

    def _record_now(
        self,
        result: RequestResult,
        conversation: Conversation,
        prepared: Prepared,
        tag: str,
        turn: TurnRecord | None = None,
    ) -> tuple[RecordedIn, str | None]:
        """Write the row (and its saved turn): to the ledger, else to the spool; where it went
        and why not the ledger."""
        spool = self._runtime.spool
        try:
            kept = spool.record(self._row(result, conversation, prepared, tag), turn)
        except SpoolError as exc:
            return "lost", str(exc)
        return kept, spool.last_error if kept == "spool" else None

    def _turn_record(
        self, result: RequestResult, conversation: Conversation, prepared: Prepared, turn: Turn
    ) -> TurnRecord:
        """The saved turn of an answered request, its text as `store_prompts` says."""
        mode = _text_mode(
            self._runtime.config().ledger.store_prompts, turn.prompt_scan, turn.answer_scan
        )
        prompt: str | None = None
        answer: str | None = None
        if mode == "full":
            prompt, answer = turn.prompt, turn.answer
        elif mode == "redacted" and turn.answer_scan is not None:
            prompt = prepared.redacted
            pseudonymizer = conversation.pseudonymizer
            answer = pseudonymizer.hide_known(pseudonymizer.redact(turn.answer_scan))
        now = time.time()
        return TurnRecord(
            conversation_id=conversation.session,
            turn=result.turn,
            request_id=result.request_id,
            ts=now,
            tier=result.tier,
            cost_usd=result.cost.total_usd if result.cost is not None else 0.0,
            prompt=prompt,
            answer=answer,
            system_prompt=conversation.system_prompt or "",
            title=title_for(prompt, now),
        )

    def conversation_store(self) -> ConversationStore | None:
        """The ledger file's conversation tables, opened on first use; None without a ledger."""
        path = self._runtime.ledger_path
        if self._store is None and path is not None and self._runtime.ledger is not None:
            self._store = ConversationStore(path)
        return self._store

    def resume(self, conversation_id: str) -> Conversation:
        """A saved conversation, ready to continue: its turns' text as stored, its system prompt.

        Raises ConversationError when there is no such conversation (or no ledger to hold one).
        """
        store = self.conversation_store()
        if store is None:
            raise ConversationError("no ledger is open, so no conversation can be continued")
        stored = store.load(conversation_id)
        return Conversation(
            session=stored.summary.id,
            turns=[
                Turn(t.prompt, t.answer, t.tier)
                for t in stored.turns
                if t.prompt is not None and t.answer is not None
            ],
            system_prompt=stored.system_prompt or None,
            saved=True,
        )

    async def run(
        self,
        prompt: str,
        *,
        force: Tier | None = None,
        max_tokens: int | None = None,
        conversation: Conversation | None = None,
        tag: str = "",
    ) -> RequestResult:
        """Run one prompt to the end and return its result."""
        return (
            await self.run_done(
                prompt, force=force, max_tokens=max_tokens, conversation=conversation, tag=tag
            )
        ).result

    async def run_done(
        self,
        prompt: str,
        *,
        force: Tier | None = None,
        max_tokens: int | None = None,
        conversation: Conversation | None = None,
        tag: str = "",
    ) -> Done:
        """Run one prompt to the end; its `Done` (the result and where its row went)."""
        done: Done | None = None
        async for event in self.ask(
            prompt, force=force, max_tokens=max_tokens, conversation=conversation, tag=tag
        ):
            if isinstance(event, Done):
                done = event
        if done is None:
            raise SwitchboardError("the dispatcher ended without a result")
        return done

    async def replay(
        self,
        items: Sequence[str | tuple[str, ...]],
        max_tokens: int | None = None,
        concurrency: int = 1,
    ) -> AsyncIterator[tuple[int, RequestResult]]:
        """Run past or prepared prompts through today's policy, yielding (index, result).

        A string is a prompt of its own conversation; a tuple holds the turns of one conversation,
        played in order. `index` counts every prompt played. With `concurrency` above 1 that many
        conversations run at once and results come as they finish; each tier stays within its
        own limit (the local queue depth the router bursts at, each pool server's
        max_inflight), so the extra requests spread over the tiers.
        """
        if concurrency <= 1:
            index = 0
            for item in items:
                async for result in self._play(item, max_tokens):
                    yield index, result
                    index += 1
            return
        finished: asyncio.Queue[RequestResult | BaseException | None] = asyncio.Queue()
        limit = asyncio.Semaphore(concurrency)

        async def play(item: str | tuple[str, ...]) -> None:
            async with limit:
                try:
                    async for result in self._play(item, max_tokens):
                        finished.put_nowait(result)
                except Exception as exc:
                    finished.put_nowait(exc)
                    raise
                finally:
                    finished.put_nowait(None)  # this conversation is done

        tasks = [asyncio.create_task(play(item)) for item in items]
        try:
            index, running = 0, len(tasks)
            while running:
                got = await finished.get()
                if got is None:
                    running -= 1
                    continue
                if isinstance(got, BaseException):
                    raise got
                yield index, got
                index += 1
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _play(
        self, item: str | tuple[str, ...], max_tokens: int | None
    ) -> AsyncIterator[RequestResult]:
        """The prompts of one replayed conversation, in order; refused ones are skipped."""
        conversation = Conversation()
        for prompt in (item,) if isinstance(item, str) else item:
            try:
                yield await self.run(
                    prompt, max_tokens=max_tokens, conversation=conversation, tag="replay"
                )
            except RefusedPrompt:
                continue  # nothing to answer: not sent, not billed, not counted


def _text_mode(mode: StorePrompts, *scans: PiiScan | None) -> StorePrompts:
    """What `[ledger] store_prompts` allows for texts with these scans: a secret is never kept,
    so "full" becomes "redacted" when one holds a SECRET."""
    if mode == "full" and any(scan is not None and scan.has_secret for scan in scans):
        return "redacted"
    return mode


def _scanned(scanner: PiiScanner, turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    """`turns` with every missing scan done (a resumed conversation's turns have none yet)."""
    return tuple(
        replace(
            turn,
            prompt_scan=turn.prompt_scan or scanner.scan(turn.prompt),
            answer_scan=turn.answer_scan or scanner.scan(turn.answer),
        )
        if turn.prompt_scan is None or turn.answer_scan is None
        else turn
        for turn in turns
    )


def _messages(
    system: str, fitted: Fitted, prompt: str, pseudonymizer: Pseudonymizer | None
) -> tuple[Message, ...]:
    """The chat messages of one request: system prompt, the earlier turns that fit, the prompt.

    With a pseudonymizer every earlier turn is redacted with the conversation's placeholders
    (`prompt` is then already the redacted text); a turn without its scans is never sent as it
    is then: ValueError (`prepare` scans every earlier turn, so this is a bug's last line).
    """
    messages = [Message("system", system)] if system else []
    for turn in fitted.turns:
        if pseudonymizer is None:
            user, assistant = turn.prompt, turn.answer
        elif turn.prompt_scan is None or turn.answer_scan is None:
            raise ValueError("an earlier turn was never scanned, so it cannot be redacted")
        else:
            user = pseudonymizer.redact(turn.prompt_scan)
            assistant = pseudonymizer.redact(turn.answer_scan)
        messages += [Message("user", user), Message("assistant", assistant)]
    messages.append(Message("user", prompt))
    return tuple(messages)


def _unprepared(prompt: str, exc: Exception, state: _Attempting) -> Prepared:
    """What is known of a prompt whose scan or routing failed: no entities, no decision."""
    first_line = next(iter(str(exc).splitlines()), "")
    if len(first_line) > 160:
        first_line = first_line[:159] + "…"
    state.error = PreparationFailed(
        f"could not prepare the prompt: {type(exc).__name__}: {first_line}",
        fix="shorten the prompt, or see console.log"
        if len(prompt) > 100_000
        else "see console.log",
    )
    features = extract_features(prompt[:10_000], [])
    decision = Decision(
        target="blocked",
        chain=(),
        fired="unprepared",
        rules=(),
        features=features,
        signals=Signals(),
        redact=False,
    )
    return Prepared(
        text=prompt,
        scan=PiiScan(text=prompt, entities=()),
        redacted="",
        decision=decision,
        pii_ms=0.0,
        route_ms=0.0,
    )


__all__ = [
    "Attempt",
    "Conversation",
    "DispatchEvent",
    "Dispatcher",
    "Done",
    "FellBack",
    "Interrupted",
    "PreparationFailed",
    "Prepared",
    "RecordedIn",
    "RefusedPrompt",
    "RequestResult",
    "Routed",
    "Scanned",
    "Timings",
    "Token",
    "Waiting",
    "check_prompt",
]
