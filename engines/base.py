"""What every engine promises: the Engine protocol, the data it streams, and its typed errors.

An engine streams `Chunk`s of text and ends with one `Finished` carrying usage and timings.
Cancelling the consuming task (or closing the async iterator) cancels the generation.
Failures are `EngineError` subclasses; the dispatcher decides which ones fall back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

Tier = Literal["local", "pool", "cloud"]
Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    """One turn of a conversation."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate: the conversation so far and the sampling parameters."""

    messages: tuple[Message, ...]
    max_tokens: int
    temperature: float
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A piece of the answer as it streams."""

    text: str


@dataclass(frozen=True)
class Usage:
    """Tokens consumed; `estimated` when the server gave none and we counted without a tokenizer."""

    prompt_tokens: int
    completion_tokens: int
    estimated: bool = False


@dataclass(frozen=True)
class Finished:
    """The end of a stream: usage, timings and what it cost the machine."""

    usage: Usage
    finish_reason: str
    model: str
    ttft_s: float | None
    total_s: float
    prompt_tps: float | None = None
    gen_tps: float | None = None
    cpu_seconds: float | None = None


StreamEvent = Chunk | Finished


@runtime_checkable
class Engine(Protocol):
    """A tier that can answer: the local llama.cpp engine or a cloud endpoint."""

    tier: Tier

    @property
    def label(self) -> str:
        """What the console shows for this engine (a model name, or "demo endpoint")."""
        ...

    def stream(self, request: GenerationRequest) -> AsyncGenerator[StreamEvent, None]:
        """Stream the answer to `request`: Chunks, then exactly one Finished."""
        ...

    async def aclose(self) -> None:
        """Release the engine's process or connections."""
        ...


class SwitchboardError(Exception):
    """The root of every error Switchboard reports to its user: a message and how to fix it.

    It lives here, in the lowest layer, so that engines' errors and the configuration's errors
    (policies.config.SetupError) share it without engines importing policies. The CLI prints
    `message (fix)` on one line; the console shows the fix under the message.
    """

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def one_line(self) -> str:
        """The message and its fix, as the CLI prints them."""
        return f"{self}{f' ({self.fix})' if self.fix else ''}"


class EngineError(SwitchboardError):
    """An engine could not answer. `fix` tells the user what to do, when there is something."""

    retryable_elsewhere: bool = True

    def __init__(self, message: str, *, fix: str = "", partial: str = "") -> None:
        super().__init__(message, fix=fix)
        #: Text already streamed to the user before the failure.
        self.partial = partial


class EngineCrashed(EngineError):
    """The local engine process died (killed, out of memory) during or before the request."""


class EngineStalled(EngineCrashed):
    """The local engine made no progress within `[local] stall_timeout_s` (a stopped process, a
    system call that never returns): its worker was killed and restarts by itself."""


class EngineBusy(EngineError):
    """The engine's request queue is full."""


class EngineUnavailable(EngineError):
    """The engine cannot start or be reached (bad model, dead endpoint, breaker open)."""


class EngineTimeout(EngineError):
    """No answer, or no next chunk, within the configured time."""


class RateLimited(EngineError):
    """The endpoint said 429 and retries were used up."""


class StreamInterrupted(EngineError):
    """The stream broke after some tokens were shown; `partial` holds them. Never retried."""


class ConfigurationProblem(EngineError):
    """A mistake the user must fix (missing key, 401/403, unknown model): falling back hides it."""


class Cancelled(EngineError):
    """The user cancelled the generation."""

    retryable_elsewhere = False
