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
import tomlkit.exceptions
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engines.base import SwitchboardError

DEFAULT_CONFIG_PATH = Path("config.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocalConfig(_Section):
    model: str = "bundled"
    n_threads: int = Field(default=0, ge=0, le=512)
    n_ctx: int = Field(default=2048, ge=256, le=1_048_576)
    n_batch: int = Field(default=256, ge=8, le=65_536)
    max_tokens: int = Field(default=256, ge=1, le=131_072)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
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
    "STREET_ADDRESS",
    "SECRET",
)


class PiiConfig(_Section):
    entities: tuple[str, ...] = DEFAULT_PII_ENTITIES
    score_threshold: float = Field(default=0.4, ge=0.0, le=1.0)
    allow_list: tuple[str, ...] = ()
    deny_list: tuple[str, ...] = ()
    on_pii: Literal["local", "redact", "block"] = "local"
    on_secret: Literal["redact", "block"] = "redact"
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


class ChatConfig(_Section):
    system_prompt: str = ""
    cloud_context_tokens: int = Field(default=128_000, ge=256, le=10_000_000)


class UiConfig(_Section):
    theme: Literal["dark", "light"] = "dark"
    telemetry_hz: float = Field(default=1.0, gt=0.0, le=2.0)


class MetricsConfig(_Section):
    """`[metrics]`: the Prometheus endpoint; "" = off, else "HOST:PORT" to serve /metrics on."""

    listen: str = ""

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError('must be "" (off) or "HOST:PORT", e.g. "127.0.0.1:9464"')
        return value


class TracingConfig(_Section):
    """`[tracing]`: OpenTelemetry spans over OTLP/HTTP (protobuf); "" = off."""

    otlp_endpoint: str = ""
    service_name: str = "switchboard"
    timeout_s: float = Field(default=2.0, gt=0.0, le=60.0)

    @field_validator("otlp_endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError('must be "" (off) or an http(s) URL, e.g. "http://127.0.0.1:4318"')
        return value.rstrip("/")


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
    chat: ChatConfig = ChatConfig()
    ui: UiConfig = UiConfig()
    metrics: MetricsConfig = MetricsConfig()
    tracing: TracingConfig = TracingConfig()


#: The sections whose keys the live editor (and `whatif --set`) may change.
EDITABLE_SECTIONS = ("router", "pii", "budget", "breaker", "local", "local_cost")


class SetupError(SwitchboardError):
    """A mistake in the user's setup (config, model file, database file).

    The CLI prints its message as one line and exits with code 2; the TUI shows it with its fix.
    """


class ConfigError(SetupError):
    """A user mistake in config.toml or in an edit; the message names the key and line."""


_HEADER = re.compile(r"^\s*(\[\[?)\s*(.+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"""^\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_\-]+))\s*=""")
_KEY_PART = re.compile(r""""([^"]*)"|'([^']*)'|([^.\s]+)""")


def _dotted(key: str) -> list[str]:
    """The parts of a dotted TOML key, quotes removed: `prices."gpt-4.1"` -> prices, gpt-4.1."""
    return [
        next(group for group in match.groups() if group is not None)
        for match in _KEY_PART.finditer(key)
    ]


def _find_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """Line (1-based) where the key at `loc` is written, or its table header, if it is there.

    `loc` is pydantic's error location; an int in it is the index of an array of tables
    (`[[pii.recognizers]]`) or of an array's item.
    """
    keys = list(loc)
    if not any(isinstance(part, str) for part in keys):
        return None
    section_line: int | None = None
    current: list[str | int] = []
    arrays: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            parts = _dotted(match.group(2))
            current = list(parts)
            if match.group(1) == "[[":
                index = arrays.get(tuple(parts), -1) + 1
                arrays[tuple(parts)] = index
                current.append(index)
            if section_line is None and current == keys[: len(current)]:
                section_line = number
            continue
        match = _ASSIGNMENT.match(line)
        if match:
            name = next(group for group in match.groups() if group is not None)
            if [*current, name] == keys[: len(current) + 1]:
                return number
    return section_line


def _describe(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_config(text: str, source: str = "config.toml") -> Config:
    """Validate the TOML `text`; raise ConfigError naming the key and line of the first mistake."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib only puts the position in its message: "... (at line 3, column 8)".
        message = str(exc)
        position = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if position:
            message = f"{message[: position.start()]} (column {position.group(2)})"
            source = f"{source}:{position.group(1)}"
        raise ConfigError(f"{source}: not valid TOML: {message}") from None
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
    #: Why the file on disk is not in force (a broken hand edit), or None.
    error: ConfigError | None = None
    _signature: tuple[int, int] = (0, 0)

    @classmethod
    def open(cls, path: Path | None) -> ConfigStore:
        """Load the file at `path` (or the default); raise ConfigError on a mistake."""
        resolved = path if path is not None else DEFAULT_CONFIG_PATH
        store = cls(resolved, load_config(path))
        store._signature = store._stat()
        return store

    def _stat(self) -> tuple[int, int]:
        # Size as well as mtime: two saves within the file system's timestamp granularity differ
        # in size more often than not.
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def reload_if_changed(self) -> bool:
        """Pick up a hand edit of the file; True when the config in force changed.

        A broken edit raises ConfigError (on every call until the file is fixed) and the last
        good config stays in force.
        """
        signature = self._stat()
        if signature == self._signature:
            if self.error is not None:
                raise self.error
            return False
        self._signature = signature
        try:
            new = load_config(self.path) if signature != (0, 0) else Config()
        except ConfigError as exc:
            self.error = exc
            raise
        self.error = None
        changed = new != self.config
        self.config = new
        return changed

    def set(self, changes: dict[str, str | int | float | bool]) -> Config:
        """Validate `changes`, apply them to the next prompt and write them to the file.

        The file is re-read first, so a hand edit made meanwhile is kept (and must be valid);
        only the changed values are rewritten, comments and order stay as they were.
        """
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self.path}: cannot be read: {exc}") from None
        current = parse_config(text, str(self.path))
        new = with_changes(current, changes)
        try:
            document = tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise ConfigError(f"{self.path}: not valid TOML: {exc}") from None
        for key in changes:
            section, _, name = key.partition(".")
            value = getattr(getattr(new, section), name)
            table = document.get(section)
            if table is None:
                table = tomlkit.table()
                document[section] = table
            table[name] = list(value) if isinstance(value, tuple) else value
        written = tomlkit.dumps(document)
        saved = parse_config(written, str(self.path))
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(written, encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigError(f"{self.path}: cannot be written: {exc.strerror or exc}") from None
        self.config = saved
        self.error = None
        self._signature = self._stat()
        return saved
