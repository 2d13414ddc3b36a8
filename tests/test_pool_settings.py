"""The [pool] section: validated like every other, mistakes named by key and line."""

from __future__ import annotations

import pytest

from policies.config import ConfigError, parse_config

GOOD = """\
[pool]
strategy = "least_loaded"

[[pool.servers]]
name = "gpu-1"
base_url = "http://10.0.0.5:8080/v1/"
model = "qwen"
kind = "vllm"
weight = 2.0
max_inflight = 8
cost_per_hour = 1.2
trusted = true

[[pool.servers]]
name = "cpu-1"
base_url = "http://10.0.0.6:8080/v1"
model = "gemma"
api_key_env = "LAB_KEY"
"""


def test_a_valid_pool_loads() -> None:
    config = parse_config(GOOD)
    first, second = config.pool.servers
    assert first.name == "gpu-1" and first.kind == "vllm" and first.trusted
    assert first.base_url == "http://10.0.0.5:8080/v1"
    assert (first.weight, first.max_inflight, first.cost_per_hour) == (2.0, 8, 1.2)
    # Defaults: an untrusted OpenAI-compatible server with no key, weight 1, 4 in flight.
    assert (second.kind, second.trusted, second.weight, second.max_inflight) == (
        "openai",
        False,
        1.0,
        4,
    )
    assert second.api_key_env == "LAB_KEY"
    assert config.pool.server("cpu-1") == second


def test_no_servers_by_default() -> None:
    assert parse_config("").pool.servers == ()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weight = 2.0", "weight = -1", "config.toml:9: 'pool.servers.0.weight'"),
        ('kind = "vllm"', 'kind = "triton"', "config.toml:8: 'pool.servers.0.kind'"),
        (
            'api_key_env = "LAB_KEY"',
            'api_key_env = "sk-123 secret"',
            "config.toml:18: 'pool.servers.1.api_key_env'",
        ),
        (
            'base_url = "http://10.0.0.6:8080/v1"',
            'base_url = "10.0.0.6:8080"',
            "config.toml:16: 'pool.servers.1.base_url'",
        ),
        ("weight = 2.0", "wieght = 2.0", "config.toml:9: unknown key 'pool.servers.0.wieght'"),
        ("max_inflight = 8", "max_inflight = 0", "config.toml:10: 'pool.servers.0.max_inflight'"),
        ('name = "cpu-1"', 'name = "cpu 1"', "config.toml:15: 'pool.servers.1.name'"),
    ],
)
def test_a_bad_entry_names_its_key_and_line(old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD.replace(old, new))
    assert str(caught.value).startswith(message), str(caught.value)
    # A key pasted where its variable's name belongs is not repeated in the error.
    assert "sk-123" not in str(caught.value)


def test_a_missing_required_key_names_the_entry() -> None:
    text = GOOD.replace('model = "gemma"\n', "")
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    # The entry's [[pool.servers]] header line, since the key itself is not written.
    assert str(caught.value).startswith("config.toml:14: 'pool.servers.1.model'"), caught.value


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ConfigError, match="'gpu-1' is used by entries 1 and 2"):
        parse_config(GOOD.replace('name = "cpu-1"', 'name = "gpu-1"'))
