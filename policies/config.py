"""The schema of config.toml, loading with line-numbered errors, and live edits written back.

Every section is a frozen pydantic model that rejects unknown keys. `load_config` turns any
mistake into a `ConfigError` whose message names the key and its line. `ConfigStore` is the one
API for changing thresholds while running: it validates, writes the file back with tomlkit
(comments and order kept) and notices hand edits of the file on disk.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import tomlkit
import tomlkit.exceptions
from pydantic import BeforeValidator, Field, ValidationError, field_validator

from engines.pool_settings import PoolSettings

# The engines' own sections live in engines/settings.py (engines do not import policies); they
# are re-exported here so the rest of the code reads the whole schema from one module.
from engines.settings import BreakerConfig as BreakerConfig
from engines.settings import CloudConfig as CloudConfig
from engines.settings import ConfigError as ConfigError
from engines.settings import LocalConfig as LocalConfig
from engines.settings import Section as _Section
from engines.settings import SetupError as SetupError

DEFAULT_CONFIG_PATH = Path("config.toml")

#: config.toml is a page or two of text; a file bigger than this is not one (and a device such
#: as /dev/zero never ends), so it is refused before it is read into memory.
MAX_CONFIG_BYTES = 1024 * 1024


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


TASK_TIERS = ("local", "pool", "cloud")


def _task_route(value: object) -> object:
    """One clear error for a bad profile entry (a union's errors name its internals)."""
    if isinstance(value, str) and value in TASK_TIERS:
        return value
    if not isinstance(value, bool):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = -1.0
        if 0.0 <= number <= 1.0:
            return number
    raise ValueError('expected "local", "pool", "cloud" or a probability from 0 to 1')


#: A task type's place in the capability profile: a tier, or the minimum probability of the task
#: type at which the local model may take it (below it, the prompt goes to the cloud). "pool"
#: sends the type to the lab's servers whenever one can take it, even when `[pool] route` keeps
#: the pool for bursts, and to the cloud otherwise.
TaskRoute = Annotated[Literal["local", "pool", "cloud"] | float, BeforeValidator(_task_route)]


class TaskProfile(_Section):
    """`[router.tasks]`: what the local model can be trusted with, per task type.

    The defaults are for the bundled Gemma 3 270M base model, from its answers to three
    hand-written prompts per type (bench/data/tasks/local_sample_270m.jsonl): none right for
    code, math, reasoning, extraction, translation or science, one in three for factual
    questions (wrong facts stated confidently); plausible if shallow for chit-chat,
    summaries, rewriting, short creative writing, role-play and opinions, where a weak answer
    misleads no one. Point `[local] model` at a 7B instruct model and most become "local".
    """

    #: Below this probability of its top task type a prompt's task signal is not acted on.
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    code: TaskRoute = "cloud"
    math: TaskRoute = "cloud"
    reasoning: TaskRoute = "cloud"
    extraction: TaskRoute = "cloud"
    summarization: TaskRoute = "local"
    translation: TaskRoute = "cloud"
    rewriting: TaskRoute = "local"
    creative: TaskRoute = "local"
    roleplay: TaskRoute = "local"
    factual: TaskRoute = "cloud"
    science: TaskRoute = "cloud"
    opinion: TaskRoute = "local"
    chitchat: TaskRoute = "local"

    def route_for(self, task: str) -> TaskRoute | None:
        """The profile entry of `task`, or None for a type the profile does not name."""
        if task == "min_confidence" or task not in TaskProfile.model_fields:
            return None
        route: TaskRoute = getattr(self, task)
        return route


class RouterConfig(_Section):
    default_tier: Literal["local", "cloud"] = "local"
    complexity_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    max_queue_depth: int = Field(default=2, ge=0, le=10_000)
    max_local_cpu: float = Field(default=95.0, ge=0.0, le=100.0)
    long_output_tokens: int = Field(default=400, ge=1)
    latency_target_s: float = Field(default=20.0, gt=0.0)
    assumed_local_tps: float = Field(default=20.0, gt=0.0)
    tasks: TaskProfile = TaskProfile()


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
    pool: PoolSettings = PoolSettings()
    metrics: MetricsConfig = MetricsConfig()
    tracing: TracingConfig = TracingConfig()


#: The sections whose keys the live editor (and `whatif --set`) may change.
EDITABLE_SECTIONS = ("router", "pii", "budget", "breaker", "local", "local_cost")


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
    # The most specific table header on the way to the key (`[[pool.servers]]` beats `[pool]`).
    section_depth = 0
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
            if len(current) > section_depth and current == keys[: len(current)]:
                section_line, section_depth = number, len(current)
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


def read_config_text(path: Path) -> str:
    """The text of the config file at `path`; ConfigError for anything but a readable file.

    A FIFO, a device or a directory is refused without blocking on it, a file over
    MAX_CONFIG_BYTES without reading it whole, and a UTF-8 byte-order mark (as some Windows
    editors write) is dropped. Raises FileNotFoundError when there is no file at all.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigError(f"{path}: not a regular file; --config takes a TOML file")
        try:
            data = file.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, not a config file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text; save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def load_config(path: Path | None) -> Config:
    """Load config.toml from `path` (defaults apply when no file exists at the default path)."""
    if path is None:
        path = DEFAULT_CONFIG_PATH
        if not path.exists():
            return Config()
    try:
        text = read_config_text(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
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
        # A nested table such as router.tasks: walk down to the table that holds the key.
        *path, name = name.split(".")
        table, current = data[section], getattr(config, section)
        for part in path:
            if not isinstance(table.get(part), dict):
                raise ConfigError(f"'{key}': unknown key")
            table, current = table[part], getattr(current, part)
        if name not in table or isinstance(table[name], dict):
            raise ConfigError(f"'{key}': unknown key")
        table[name] = _coerce(raw, getattr(current, name))
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"'{_describe(tuple(error['loc']))}': {error['msg']}") from None


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class DiskRead:
    """One look at the config file: read in any thread, judged by `ConfigStore.take` on the
    thread that owns the store (the console's event loop)."""

    generation: int
    #: Identifies what was seen: a digest of the text, of the read error, or None for no file.
    digest: bytes | None
    text: str | None
    error: ConfigError | None


@dataclass
class ConfigStore:
    """The running configuration: live edits saved to disk, and hand edits of the file picked up.

    One owner: `take`, `reload_if_changed` and `set` run on one thread (the console's event loop,
    or the CLI's); only `read_disk` may run elsewhere, so the file is read off the loop.
    """

    path: Path
    config: Config
    #: Why the file on disk is not in force (a broken hand edit), or None.
    error: ConfigError | None = None
    _digest: bytes | None = None
    #: Bumped by every write of the store's own, so a look taken before it is not judged after.
    _generation: int = 0

    @classmethod
    def open(cls, path: Path | None) -> ConfigStore:
        """Load the file at `path` (or the default); raise ConfigError on a mistake."""
        resolved = path if path is not None else DEFAULT_CONFIG_PATH
        store = cls(resolved, Config())
        # One read gives both the config and the digest, so an edit made meanwhile is not missed.
        seen = store.read_disk()
        if seen.error is not None:
            raise seen.error
        if seen.text is not None:
            store.config = parse_config(seen.text, str(resolved))
        elif path is not None:
            raise ConfigError(f"{path}: no such config file")
        store._digest = seen.digest
        return store

    def read_disk(self) -> DiskRead:
        """Read the file as it is now (blocking I/O: any thread). Never raises."""
        generation = self._generation
        try:
            text = read_config_text(self.path)
        except FileNotFoundError:
            return DiskRead(generation, None, None, None)
        except ConfigError as exc:
            return DiskRead(generation, _digest(f"unreadable: {exc}"), None, exc)
        # The digest, not the mtime, says whether the file changed: two saves within the file
        # system's timestamp granularity, or of the same size, still differ in content.
        return DiskRead(generation, _digest(text), text, None)

    def take(self, seen: DiskRead) -> bool:
        """Judge a look at the file; True when the config in force changed.

        A broken file raises ConfigError (on every call until it is fixed) and the last good
        config stays in force. A look taken before the store's own last write is ignored.
        """
        if seen.generation != self._generation:
            return False
        if seen.digest == self._digest:
            if self.error is not None:
                raise self.error
            return False
        self._digest = seen.digest
        try:
            if seen.error is not None:
                raise seen.error
            new = parse_config(seen.text, str(self.path)) if seen.text is not None else Config()
        except ConfigError as exc:
            self.error = exc
            raise
        self.error = None
        changed = new != self.config
        self.config = new
        return changed

    def reload_if_changed(self) -> bool:
        """Read the file and pick up a hand edit (blocking): `take(read_disk())`."""
        return self.take(self.read_disk())

    def set(self, changes: dict[str, str | int | float | bool]) -> Config:
        """Validate `changes`, apply them to the next prompt and write them to the file.

        The file is re-read first, so a hand edit made meanwhile is kept (and must be valid);
        only the changed values are rewritten, comments and order stay as they were.
        """
        try:
            text = read_config_text(self.path)
        except FileNotFoundError:
            text = ""
        current = parse_config(text, str(self.path))
        new = with_changes(current, changes)
        try:
            document = tomlkit.parse(text)
        except tomlkit.exceptions.ParseError as exc:
            raise ConfigError(f"{self.path}: not valid TOML: {exc}") from None
        for key in changes:
            *tables, name = key.split(".")
            value: Any = new
            for part in (*tables, name):
                value = getattr(value, part)
            container: Any = document
            for part in tables:
                table = container.get(part)
                if table is None:
                    table = tomlkit.table()
                    container[part] = table
                container = table
            container[name] = list(value) if isinstance(value, tuple) else value
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
        self._digest = _digest(written)
        self._generation += 1
        return saved
