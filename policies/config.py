"""The schema of config.toml, loading with line-numbered errors, and live edits written back.

Every section is a frozen pydantic model that rejects unknown keys. `load_config` turns any
mistake into a `ConfigError` whose message names the key and its line. `ConfigStore` is the one
API for changing thresholds while running: it validates, writes the file back with tomlkit
(comments and order kept) and notices hand edits of the file on disk.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG_PATH = Path("config.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalConfig(_Section):
    model: str = "bundled"
    n_threads: int = Field(default=0, ge=0, le=512)
    n_ctx: int = Field(default=2048, ge=256, le=1_048_576)
    n_batch: int = Field(default=256, ge=8, le=65_536)
    max_tokens: int = Field(default=256, ge=1, le=131_072)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    repeat_penalty: float = Field(default=1.1, ge=1.0, le=2.0)
    queue_size: int = Field(default=8, ge=1, le=1024)


class CloudConfig(_Section):
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


class BreakerConfig(_Section):
    failure_threshold: int = Field(default=3, ge=1, le=1000)
    error_rate: float = Field(default=0.5, gt=0.0, le=1.0)
    window: int = Field(default=20, ge=1, le=10_000)
    cooldown_s: float = Field(default=30.0, ge=0.0)
    probe: Literal["models", "request"] = "models"


class RecognizerConfig(_Section):
    name: str
    entity: str
    pattern: str
    score: float = Field(default=0.8, gt=0.0, le=1.0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


DEFAULT_PII_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "US_DRIVER_LICENSE",
    "LOCATION",
    "STREET_ADDRESS",
)


class PiiConfig(_Section):
    entities: tuple[str, ...] = DEFAULT_PII_ENTITIES
    score_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    allow_list: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    on_pii: Literal["local", "redact", "block"] = "local"
    recognizers: tuple[RecognizerConfig, ...] = ()


class RouterConfig(_Section):
    default_tier: Literal["local", "cloud"] = "local"
    complexity_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    max_queue_depth: int = Field(default=2, ge=0, le=10_000)
    max_local_cpu: float = Field(default=95.0, ge=0.0, le=100.0)
    long_output_tokens: int = Field(default=400, ge=1)
    latency_target_s: float = Field(default=20.0, gt=0.0)
    assumed_local_tps: float = Field(default=20.0, gt=0.0)


class BudgetConfig(_Section):
    daily_usd: float = Field(default=2.0, ge=0.0)
    monthly_usd: float = Field(default=40.0, ge=0.0)
    warn_fraction: float = Field(default=0.8, ge=0.0, le=1.0)


class LedgerConfig(_Section):
    path: str = ""
    store_prompts: Literal["full", "redacted", "none"] = "redacted"


class LocalCostConfig(_Section):
    core_hour_usd: float = Field(default=0.01, ge=0.0)
    watts: float = Field(default=0.0, ge=0.0)
    kwh_usd: float = Field(default=0.15, ge=0.0)


class EconomicsConfig(_Section):
    capex: float = Field(default=0.0, ge=0.0)
    opex_per_month: float = Field(default=0.0, ge=0.0)


class PriceConfig(_Section):
    input_per_mtok: float = Field(ge=0.0)
    output_per_mtok: float = Field(ge=0.0)


class UiConfig(_Section):
    theme: Literal["dark", "light"] = "dark"
    telemetry_hz: float = Field(default=1.0, gt=0.0, le=2.0)


class Config(_Section):
    """The whole of config.toml."""

    local: LocalConfig = LocalConfig()
    cloud: CloudConfig = CloudConfig()
    breaker: BreakerConfig = BreakerConfig()
    pii: PiiConfig = PiiConfig()
    router: RouterConfig = RouterConfig()
    budget: BudgetConfig = BudgetConfig()
    ledger: LedgerConfig = LedgerConfig()
    local_cost: LocalCostConfig = LocalCostConfig()
    economics: EconomicsConfig = EconomicsConfig()
    prices: dict[str, PriceConfig] = Field(default_factory=dict)
    ui: UiConfig = UiConfig()


#: The sections whose keys the live editor (and `whatif --set`) may change.
EDITABLE_SECTIONS = ("router", "pii", "budget", "breaker", "local", "local_cost")


class SetupError(Exception):
    """A mistake in the user's setup (config, model file, database file).

    The CLI prints its message as one line and exits with code 2; the TUI shows it with its fix.
    """


class ConfigError(SetupError):
    """A user mistake in config.toml or in an edit; the message names the key and line."""


def _find_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Line (1-based) where the key at `loc` is written, or its table header, if it is there."""
    keys = [str(part) for part in loc if isinstance(part, str)]
    if not keys:
        return None
    lines = text.splitlines()
    section_line: int | None = None
    current: list[str] = []
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
    assignment = re.compile(r'^\s*("?)([A-Za-z0-9_\-]+)\1\s*=')
    for number, line in enumerate(lines, start=1):
        match = header.match(line)
        if match:
            current = [part.strip().strip('"') for part in match.group(1).split(".")]
            if current == keys[: len(current)] and section_line is None:
                section_line = number
            continue
        match = assignment.match(line)
        if match and [*current, match.group(2)] == keys[: len(current) + 1]:
            return number
    return section_line


def _describe(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_config(text: str, source: str = "config.toml") -> Config:
    """Validate the TOML `text`; raise ConfigError naming the key and line of the first mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        line = _find_line(text, loc)
        where = f"{source}:{line}" if line else source
        if error["type"] == "extra_forbidden":
            return_msg = f"{where}: unknown key '{_describe(loc)}'"
        else:
            return_msg = f"{where}: '{_describe(loc)}': {error['msg']}"
        raise ConfigError(return_msg) from None


def load_config(path: Path | None) -> Config:
    """Load config.toml from `path` (defaults apply when no file exists at the default path)."""
    if path is None:
        path = DEFAULT_CONFIG_PATH
        if not path.exists():
            return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    return parse_config(text, str(path))


def _coerce(raw: str | int | float | bool, current: Any) -> Any:
    """Turn a command-line string into the type of the current value."""
    if not isinstance(raw, str):
        return raw
    if isinstance(current, bool):
        if raw.lower() in ("true", "1", "yes", "on"):
            return True
        if raw.lower() in ("false", "0", "no", "off"):
            return False
        return raw
    if isinstance(current, int | float):
        try:
            if isinstance(current, int) and raw.lstrip("-").isdigit():
                return int(raw)
            return float(raw)
        except ValueError:
            return raw
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def with_changes(config: Config, changes: dict[str, str | int | float | bool]) -> Config:
    """A copy of `config` with dotted keys (`router.complexity_threshold`) changed and validated."""
    data = config.model_dump()
    for key, raw in changes.items():
        section, _, name = key.partition(".")
        if section not in EDITABLE_SECTIONS or not name:
            sections = ", ".join(EDITABLE_SECTIONS)
            raise ConfigError(f"'{key}': not an editable key (sections: {sections})")
        if name not in data[section]:
            raise ConfigError(f"'{key}': unknown key")
        data[section][name] = _coerce(raw, getattr(getattr(config, section), name))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"'{_describe(tuple(error['loc']))}': {error['msg']}") from None


@dataclass
class ConfigStore:
    """The running configuration: live edits saved to disk, and hand edits of the file picked up.

    Not thread-safe for writers: the console edits from one place (its event loop or the CLI).
    """

    path: Path
    config: Config
    _mtime_ns: int = 0

    @classmethod
    def open(cls, path: Path | None) -> ConfigStore:
        """Load the file at `path` (or the default); raise ConfigError on a mistake."""
        resolved = path if path is not None else DEFAULT_CONFIG_PATH
        store = cls(resolved, load_config(path))
        store._mtime_ns = store._stat()
        return store

    def _stat(self) -> int:
        try:
            return os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0

    def reload_if_changed(self) -> bool:
        """Pick up a hand edit of the file; True when the config changed.

        A broken edit raises ConfigError and the last good config stays in force.
        """
        mtime = self._stat()
        if mtime == self._mtime_ns:
            return False
        self._mtime_ns = mtime
        new = load_config(self.path) if mtime else Config()
        changed = new != self.config
        self.config = new
        return changed

    def set(self, changes: dict[str, str | int | float | bool]) -> Config:
        """Validate `changes`, apply them to the next prompt and write them to the file."""
        new = with_changes(self.config, changes)
        try:
            document = tomlkit.parse(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            document = tomlkit.document()
        for key in changes:
            section, _, name = key.partition(".")
            value = getattr(getattr(new, section), name)
            table = document.get(section)
            if table is None:
                table = tomlkit.table()
                document[section] = table
            table[name] = list(value) if isinstance(value, tuple) else value
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(tomlkit.dumps(document), encoding="utf-8")
        os.replace(tmp, self.path)
        self.config = new
        self._mtime_ns = self._stat()
        return new
