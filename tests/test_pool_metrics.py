"""Load reports of llama.cpp, vLLM and Ollama servers, parsed from their real formats."""

from __future__ import annotations

import json

import pytest

from engines.pool_metrics import (
    MetricsError,
    ServerLoad,
    merge,
    parse_llamacpp_metrics,
    parse_llamacpp_slots,
    parse_ollama_ps,
    parse_vllm_metrics,
)

# As llama.cpp's server writes it (tools/server, --metrics).
LLAMACPP = """\
# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total 1024
# HELP llamacpp:prompt_tokens_seconds Average prompt throughput in tokens/s.
# TYPE llamacpp:prompt_tokens_seconds gauge
llamacpp:prompt_tokens_seconds 310.5
# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.
# TYPE llamacpp:predicted_tokens_seconds gauge
llamacpp:predicted_tokens_seconds 61.25
# HELP llamacpp:kv_cache_usage_ratio KV-cache usage. 1 means 100 percent usage.
# TYPE llamacpp:kv_cache_usage_ratio gauge
llamacpp:kv_cache_usage_ratio 0.125
# HELP llamacpp:requests_processing Number of requests processing.
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing 2
# HELP llamacpp:requests_deferred Number of requests deferred.
# TYPE llamacpp:requests_deferred gauge
llamacpp:requests_deferred 3
"""

VLLM = """\
# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="qwen"} 5.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="qwen"} 7.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="qwen"} 0.42
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{engine="0",model_name="qwen"} 5000.0
"""

VLLM_V0 = """\
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 1.0
vllm:num_requests_running{model_name="b"} 2.0
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="a"} 0.5
"""


def test_llamacpp_metrics() -> None:
    load = parse_llamacpp_metrics(LLAMACPP)
    assert (load.processing, load.queued) == (2, 3)
    assert load.tok_s == pytest.approx(61.25)
    assert load.kv_cache_use == pytest.approx(0.125)


def test_llamacpp_reports_no_throughput_as_none() -> None:
    text = "# TYPE llamacpp:predicted_tokens_seconds gauge\nllamacpp:predicted_tokens_seconds 0\n"
    assert parse_llamacpp_metrics(text).tok_s is None


def test_llamacpp_slots_new_and_old_formats() -> None:
    new = json.dumps([{"id": 0, "is_processing": True}, {"id": 1, "is_processing": False}])
    old = json.dumps([{"id": 0, "state": 0}, {"id": 1, "state": 1}, {"id": 2, "state": 1}])
    assert parse_llamacpp_slots(new) == ServerLoad(processing=1, idle_slots=1, total_slots=2)
    assert parse_llamacpp_slots(old) == ServerLoad(processing=2, idle_slots=1, total_slots=3)


def test_vllm_metrics_and_throughput_between_polls() -> None:
    first = parse_vllm_metrics(VLLM)
    assert (first.processing, first.queued) == (5, 7)
    assert first.kv_cache_use == pytest.approx(0.42)
    assert first.tok_s is None
    later = parse_vllm_metrics(VLLM.replace("5000.0", "5300.0"), first, 2.0)
    assert later.tok_s == pytest.approx(150.0)
    # A restarted server's counter goes back: no negative throughput.
    restarted = parse_vllm_metrics(VLLM.replace("5000.0", "10.0"), first, 2.0)
    assert restarted.tok_s is None


def test_vllm_v0_names_and_labels_are_summed() -> None:
    load = parse_vllm_metrics(VLLM_V0)
    assert load.processing == 3
    assert load.kv_cache_use == pytest.approx(0.5)


def test_ollama_ps() -> None:
    text = json.dumps({"models": [{"name": "llama3:8b", "model": "llama3:8b", "size": 1}]})
    assert parse_ollama_ps(text).models_loaded == ("llama3:8b",)
    assert parse_ollama_ps('{"models": []}').models_loaded == ()


def test_merge_prefers_the_first_report() -> None:
    slots = ServerLoad(processing=1, idle_slots=3, total_slots=4)
    metrics = ServerLoad(processing=2, queued=5, tok_s=10.0)
    merged = merge(slots, metrics)
    assert merged == ServerLoad(processing=1, queued=5, idle_slots=3, total_slots=4, tok_s=10.0)


@pytest.mark.parametrize(
    ("parser", "text", "message"),
    [
        (parse_llamacpp_metrics, "<html>not metrics</html>", "not Prometheus text"),
        (parse_llamacpp_slots, "<html>", "/slots: not JSON"),
        (parse_llamacpp_slots, '{"slots": 1}', "/slots: not a list"),
        (parse_llamacpp_slots, '[{"id": 0}]', "neither is_processing nor state"),
        (parse_ollama_ps, "[]", "/api/ps: no models list"),
    ],
)
def test_garbage_is_a_clear_error(parser: object, text: str, message: str) -> None:
    assert callable(parser)
    with pytest.raises(MetricsError, match=message):
        parser(text)
