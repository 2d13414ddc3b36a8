"""What a pool server says about its own load, read from the endpoints each kind exposes.

- llama.cpp server: `GET /slots` (a JSON list of slots, busy or idle) and `GET /metrics`
  (Prometheus text: `llamacpp:requests_processing`, `llamacpp:requests_deferred`,
  `llamacpp:predicted_tokens_seconds`, `llamacpp:kv_cache_usage_ratio`);
- vLLM: `GET /metrics` (`vllm:num_requests_running`, `vllm:num_requests_waiting`,
  `vllm:kv_cache_usage_perc` or the older `vllm:gpu_cache_usage_perc`, and the counter
  `vllm:generation_tokens_total`, turned into tokens/s between two polls);
- Ollama: `GET /api/ps` (the models loaded in memory; Ollama reports no queue).

Prometheus text is parsed with `prometheus_client.parser`, never by hand. Every parser takes
text from outside and returns a frozen `ServerLoad` (fields it could not read stay None), or
raises `MetricsError` with one line saying what was wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


class MetricsError(ValueError):
    """A server's /metrics, /slots or /api/ps answer could not be understood."""


@dataclass(frozen=True)
class ServerLoad:
    """A server's own account of its load; None where it does not say."""

    #: Requests being generated right now.
    processing: int | None = None
    #: Requests accepted but waiting for a slot (llama.cpp "deferred", vLLM "waiting").
    queued: int | None = None
    idle_slots: int | None = None
    total_slots: int | None = None
    #: Generation throughput in tokens/s, as the server measures it (or between two polls).
    tok_s: float | None = None
    #: KV-cache use in [0, 1].
    kv_cache_use: float | None = None
    #: vLLM's monotonic generated-token counter, kept to compute tok_s at the next poll.
    generated_tokens_total: float | None = None
    #: Models loaded in memory (Ollama).
    models_loaded: tuple[str, ...] = ()


def _samples(text: str) -> dict[str, float]:
    """Sample name -> value, summed over label sets (vLLM labels every sample by model)."""
    values: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
    except (ValueError, TypeError, IndexError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MetricsError(f"not Prometheus text: {reason[:120]}") from None
    return values


def _count(values: dict[str, float], *names: str) -> int | None:
    for name in names:
        if name in values:
            return round(values[name])
    return None


def _number(values: dict[str, float], *names: str) -> float | None:
    for name in names:
        if name in values:
            return values[name]
    return None


def parse_llamacpp_metrics(text: str) -> ServerLoad:
    """The load in a llama.cpp server's /metrics (started with --metrics)."""
    values = _samples(text)
    tok_s = _number(values, "llamacpp:predicted_tokens_seconds")
    return ServerLoad(
        processing=_count(values, "llamacpp:requests_processing"),
        queued=_count(values, "llamacpp:requests_deferred"),
        # llama.cpp reports 0 tokens/s when nothing was generated since the last read.
        tok_s=tok_s if tok_s else None,
        kv_cache_use=_number(values, "llamacpp:kv_cache_usage_ratio"),
    )


def _slot_busy(slot: Any) -> bool:
    if not isinstance(slot, dict):
        raise MetricsError("/slots: an entry is not an object")
    if "is_processing" in slot:
        return bool(slot["is_processing"])
    if "state" in slot:
        # Older llama.cpp servers: 0 idle, 1 processing.
        return bool(slot["state"] != 0)
    raise MetricsError("/slots: an entry has neither is_processing nor state")


def parse_llamacpp_slots(text: str) -> ServerLoad:
    """Idle and total slots from a llama.cpp server's /slots JSON."""
    try:
        slots = json.loads(text)
    except ValueError:
        raise MetricsError("/slots: not JSON") from None
    if not isinstance(slots, list):
        raise MetricsError("/slots: not a list of slots")
    busy = sum(1 for slot in slots if _slot_busy(slot))
    return ServerLoad(processing=busy, idle_slots=len(slots) - busy, total_slots=len(slots))


def parse_vllm_metrics(
    text: str, previous: ServerLoad | None = None, elapsed_s: float | None = None
) -> ServerLoad:
    """The load in a vLLM server's /metrics; tok/s from the token counter since `previous`."""
    values = _samples(text)
    generated = _number(values, "vllm:generation_tokens_total")
    tok_s = _number(values, "vllm:avg_generation_throughput_toks_per_s")
    if (
        tok_s is None
        and generated is not None
        and previous is not None
        and previous.generated_tokens_total is not None
        and elapsed_s
        and elapsed_s > 0
        and generated >= previous.generated_tokens_total
    ):
        tok_s = (generated - previous.generated_tokens_total) / elapsed_s
    return ServerLoad(
        processing=_count(values, "vllm:num_requests_running"),
        queued=_count(values, "vllm:num_requests_waiting"),
        tok_s=tok_s if tok_s else None,
        kv_cache_use=_number(values, "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
        generated_tokens_total=generated,
    )


def parse_ollama_ps(text: str) -> ServerLoad:
    """The models an Ollama server holds in memory, from /api/ps."""
    try:
        data = json.loads(text)
    except ValueError:
        raise MetricsError("/api/ps: not JSON") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise MetricsError("/api/ps: no models list")
    names = tuple(
        str(model.get("name") or model.get("model"))
        for model in models
        if isinstance(model, dict) and (model.get("name") or model.get("model"))
    )
    return ServerLoad(models_loaded=names)


def merge(first: ServerLoad, second: ServerLoad) -> ServerLoad:
    """`first` with the fields it lacks taken from `second` (/slots beside /metrics)."""
    return ServerLoad(
        processing=first.processing if first.processing is not None else second.processing,
        queued=first.queued if first.queued is not None else second.queued,
        idle_slots=first.idle_slots if first.idle_slots is not None else second.idle_slots,
        total_slots=first.total_slots if first.total_slots is not None else second.total_slots,
        tok_s=first.tok_s if first.tok_s is not None else second.tok_s,
        kv_cache_use=first.kv_cache_use if first.kv_cache_use is not None else second.kv_cache_use,
        generated_tokens_total=(
            first.generated_tokens_total
            if first.generated_tokens_total is not None
            else second.generated_tokens_total
        ),
        models_loaded=first.models_loaded or second.models_loaded,
    )
