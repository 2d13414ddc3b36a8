"""What the main screen's widgets show, as frozen values.

The panels render these and nothing else, so snapshot tests can feed fixed figures and the
conversion from the core's snapshots (console/tui/adapters.py) is the only place that knows
their shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.outcome import Badge


@dataclass(frozen=True)
class ThreadLoad:
    """CPU use of one engine thread."""

    name: str
    cpu_pct: float


@dataclass(frozen=True)
class LocalView:
    """The local engine panel: machine and engine load, speed, memory, queue."""

    state: str
    label: str
    per_core_pct: tuple[float, ...]
    process_cpu_pct: float
    threads: tuple[ThreadLoad, ...]
    rss_bytes: int
    queue_depth: int
    n_threads: int
    physical_cores: int
    last_tps: float | None
    last_ttft_s: float | None
    tps_history: tuple[float, ...] = ()
    last_error: str | None = None


@dataclass(frozen=True)
class CloudView:
    """The cloud panel: endpoint, breaker, latency, last error, key."""

    label: str
    endpoint: str
    state: str
    cooldown_remaining_s: float
    consecutive_failures: int
    latency_p50_s: float | None
    latency_p95_s: float | None
    ttft_p50_s: float | None
    key_present: bool
    key_env: str
    key_required: bool = True
    last_error: str | None = None


@dataclass(frozen=True)
class PoolServerView:
    """One lab server in the pool panel: its state, load, speed and last error."""

    name: str
    kind: str
    #: "up", "degraded", "breaker open", "down" or "unknown" (not checked yet).
    state: str
    inflight: int
    max_inflight: int
    queued: int
    tok_s: float | None
    ttft_p50_s: float | None
    trusted: bool
    last_error: str | None = None


@dataclass(frozen=True)
class PoolView:
    """The pool panel: every configured server and the requests waiting for a free slot."""

    strategy: str
    servers: tuple[PoolServerView, ...]
    waiting: int = 0

    @property
    def usable(self) -> int:
        """Servers that take requests now (up or degraded)."""
        return sum(server.state in ("up", "degraded") for server in self.servers)


@dataclass(frozen=True)
class EntityCount:
    """How many entities of one type a prompt contained."""

    type: str
    count: int


@dataclass(frozen=True)
class PrivacyView:
    """The privacy panel: what the last prompt contained and what left the machine."""

    prompt_chars: int
    entities: tuple[EntityCount, ...]
    on_pii: str
    tier: str
    redacted: bool
    sent_text: str | None
    blocked: bool = False


@dataclass(frozen=True)
class LedgerView:
    """The ledger panel: today's spend against the cloud-only counterfactual and the budget."""

    requests: int
    spend_usd: float
    counterfactual_usd: float
    savings_usd: float
    share_local: float
    budget_daily_usd: float
    budget_used_fraction: float
    budget_warn: bool
    budget_exhausted: bool
    pending: int = 0
    error: str | None = None


@dataclass(frozen=True)
class AnswerMeta:
    """What the badge under an answer says."""

    badge: Badge
    status: str
    cost_usd: float | None
    cost_known: bool
    gen_tps: float | None
    ttft_s: float | None
    latency_s: float | None
    tokens_out: int | None
    model: str
    fired: str
    error: str | None = None
    fix: str | None = None


@dataclass(frozen=True)
class StatusView:
    """The status line: each part's loading state, so a waiting prompt is explained."""

    local_state: str
    pii_ready: bool
    cloud_label: str
    cloud_state: str
    errors: tuple[str, ...] = ()
    log_path: str = ""


@dataclass(frozen=True)
class Span:
    """A character span of a text (personal data in a prompt, a placeholder in sent text)."""

    start: int
    end: int


@dataclass(frozen=True)
class PresenterView:
    """The presenter band: routes so far, their cost against all-cloud, the last reason and
    the last redaction (what was typed, with personal data spans, and what was sent)."""

    split: dict[str, int]
    cost_usd: float
    counterfactual_usd: float
    volume_per_day: int
    reason: str = ""
    typed: str | None = None
    pii_spans: tuple[Span, ...] = ()
    sent: str | None = None
    replaced: int = 0
    note: str = ""
