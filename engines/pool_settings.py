"""The `[pool]` section of config.toml: the lab's self-hosted inference servers.

Defined here, beside the pool engine, because engines do not depend on the policy layer;
`policies.config.Config` refers to `PoolSettings` with one field, so the section is validated
(unknown keys rejected, errors naming key and line) like every other.

```toml
[pool]
strategy = "least_loaded"      # or "round_robin"

[[pool.servers]]
name = "gpu-1"
base_url = "http://10.0.0.5:8080/v1"
model = "qwen2.5-7b-instruct"
kind = "llama.cpp"             # llama.cpp | vllm | ollama | openai
trusted = true                 # on our premises: may see personal data unredacted
```
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from engines.settings import Section as _Section

ServerKind = Literal["llama.cpp", "vllm", "ollama", "openai"]
Strategy = Literal["least_loaded", "round_robin"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PoolServer(_Section):
    """One `[[pool.servers]]` entry: an OpenAI-compatible server on a lab machine."""

    name: str
    base_url: str
    model: str
    kind: ServerKind = "openai"
    #: The environment variable holding the server's API key; empty: the server needs none.
    api_key_env: str = ""
    weight: float = Field(default=1.0, gt=0.0, le=1000.0)
    max_inflight: int = Field(default=4, ge=1, le=10_000)
    #: USD per hour of the machine (its share of capex and opex), apportioned to requests.
    cost_per_hour: float = Field(default=0.0, ge=0.0)
    #: True: on our premises, personal data may be sent unredacted. False: treated like the cloud.
    trusted: bool = False

    @field_validator("name")
    @classmethod
    def _simple_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1-64 letters, digits, '.', '_' or '-' (it names the server)")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL, e.g. http://10.0.0.5:8080/v1")
        return value.rstrip("/")

    @field_validator("model")
    @classmethod
    def _model_named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name the model the server serves")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not _ENV_NAME.match(value):
            raise ValueError("must be the name of an environment variable, e.g. LAB_API_KEY")
        return value


class PoolSettings(_Section):
    """The `[pool]` section: the servers and how requests are spread over them."""

    servers: tuple[PoolServer, ...] = ()
    #: least_loaded: fewest outstanding requests (weighted), scaled by each server's recent
    #: time to first token and what it reports of its own queue; round_robin: in turn.
    strategy: Strategy = "least_loaded"
    #: before_cloud: what the router would send to the cloud goes to the pool first (a /cloud
    #: prefix excepted); burst_only: the pool only takes what the busy local engine cannot.
    route: Literal["before_cloud", "burst_only"] = "before_cloud"
    #: How often health and load (/health, /slots, /metrics, /api/ps) are polled.
    poll_interval_s: float = Field(default=2.0, gt=0.0, le=3600.0)
    #: A health or metrics request that takes longer than this counts as failed.
    health_timeout_s: float = Field(default=2.0, gt=0.0, le=60.0)
    #: How long a request waits for a free slot when every server is at max_inflight.
    queue_timeout_s: float = Field(default=30.0, ge=0.0)
    connect_timeout: float = Field(default=3.0, gt=0)
    first_byte_timeout: float = Field(default=60.0, gt=0)
    idle_timeout: float = Field(default=30.0, gt=0)
    total_timeout: float = Field(default=300.0, gt=0)
    max_tokens: int = Field(default=512, ge=1, le=131_072)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    #: Tokens of conversation a request may carry (the smallest context among the servers).
    context_tokens: int = Field(default=8192, ge=256, le=10_000_000)

    @field_validator("servers")
    @classmethod
    def _unique_names(cls, value: tuple[PoolServer, ...]) -> tuple[PoolServer, ...]:
        seen: dict[str, int] = {}
        for index, server in enumerate(value, start=1):
            if server.name in seen:
                raise ValueError(
                    f"server name {server.name!r} is used by entries {seen[server.name]} and "
                    f"{index}: names must be unique"
                )
            seen[server.name] = index
        return value

    def server(self, name: str) -> PoolServer | None:
        """The server called `name`, if there is one."""
        return next((server for server in self.servers if server.name == name), None)
