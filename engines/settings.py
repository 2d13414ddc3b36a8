"""The settings the engines read: `[local]`, `[cloud]` and `[breaker]` of config.toml.

They live here, not in policies/, so that the engines depend on nothing of the routing code;
policies/config.py builds the whole config.toml schema from these sections and re-exports them.
Every section is a frozen pydantic model that rejects unknown keys and non-finite numbers
(`inf`, `nan`, and `1e400`, which TOML reads as infinity): a budget or a timeout of infinity is
never what the user meant, and it would make `ledger --json` emit invalid JSON.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engines.base import SwitchboardError


class SetupError(SwitchboardError):
    """A mistake in the user's setup (config, model file, database file).

    The CLI prints its message as one line and exits with code 2; the TUI shows it with its fix.
    """


class ConfigError(SetupError):
    """A user mistake in config.toml or in an edit; the message names the key and line."""


class Section(BaseModel):
    """A section of config.toml: immutable, unknown keys and non-finite numbers refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class LocalConfig(Section):
    """`[local]`: the llama.cpp engine."""

    model: str = "bundled"
    n_threads: int = Field(default=0, ge=0, le=512)
    n_ctx: int = Field(default=2048, ge=256, le=1_048_576)
    n_batch: int = Field(default=256, ge=8, le=65_536)
    max_tokens: int = Field(default=256, ge=1, le=131_072)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    queue_size: int = Field(default=8, ge=1, le=1024)
    stall_timeout_s: float = Field(default=15.0, ge=1.0, le=3600.0)


class CloudConfig(Section):
    """`[cloud]`: the OpenAI-compatible endpoint."""

    base_url: str = "https://api.openai.com/v1"
    model: str = "gpt-4o-mini"
    api_key_env: str = "OPENAI_API_KEY"
    proxy: str = "env"
    connect_timeout: float = Field(default=5.0, gt=0)
    first_byte_timeout: float = Field(default=30.0, gt=0)
    idle_timeout: float = Field(default=30.0, gt=0)
    total_timeout: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=2, ge=0, le=10)
    max_tokens: int = Field(default=512, ge=1, le=131_072)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class BreakerConfig(Section):
    """`[breaker]`: when the cloud endpoint's circuit opens and how it is probed."""

    failure_threshold: int = Field(default=3, ge=1, le=1000)
    error_rate: float = Field(default=0.5, gt=0.0, le=1.0)
    window: int = Field(default=20, ge=1, le=10_000)
    cooldown_s: float = Field(default=30.0, ge=0.0)
    probe: Literal["models", "request"] = "models"
