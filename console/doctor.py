"""The checks behind `switchboard doctor`: every part of the setup, and how to fix what fails.

`run_checks` looks at the model file, whether llama.cpp can load it (in a child process, so a
bad file cannot take the doctor down), the cloud endpoint (GET /models with a short timeout, or
the demo endpoint with --demo-cloud), the API key (present or not, never shown), the proxy in
effect, the ledger database and the rows waiting in its spool (console.spool). Each result is a
frozen `Check`; the CLI renders them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from engines.cloud import CloudEngine, ProbeResult
from engines.proxy import resolve_proxy
from policies.config import Config, SetupError

SQLITE_HEADER = b"SQLite format 3\x00"

#: Loading the bundled model takes about a second; a 8B model on a slow disk far longer.
LOAD_TIMEOUT_S = 120.0

_LOAD_SCRIPT = (
    "import sys\n"
    "from llama_cpp import Llama\n"
    "Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, verbose=False)\n"
)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what was checked, whether it is fine, how to fix it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict[str, object]:
        """The check as a JSON-ready dict."""
        return asdict(self)


def check_model(config: Config) -> tuple[Check, Path | None]:
    """Whether `[local] model` resolves to a valid GGUF file (the bundled one is assembled)."""
    from engines.model import resolve_model

    try:
        model = resolve_model(config.local.model)
    except SetupError as exc:
        fix = 'set [local] model to a GGUF file, or to "bundled"'
        return Check("model file", False, str(exc), fix), None
    size_mb = model.info.file_size / 1e6
    arch = model.info.architecture or "unknown architecture"
    detail = f"{model.path} ({size_mb:.0f} MB, {arch})"
    return Check("model file", True, detail), model.path


async def check_local_engine(model_path: Path | None, timeout_s: float = LOAD_TIMEOUT_S) -> Check:
    """Whether llama.cpp loads the model, tried in a child process."""
    name = "local engine"
    if model_path is None:
        return Check(name, False, "not tried: no usable model file", "fix the model file first")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _LOAD_SCRIPT,
        str(model_path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        return Check(name, False, f"loading {model_path.name} took over {timeout_s:g} s")
    if process.returncode == 0:
        return Check(name, True, f"llama.cpp loads {model_path.name}")
    lines = [line for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    why = lines[-1].strip() if lines else f"exit code {process.returncode}"
    if process.returncode is not None and process.returncode < 0:
        why = f"the loader crashed (signal {-process.returncode}): {why}"
    return Check(
        name,
        False,
        f"llama.cpp cannot load {model_path.name}: {why}",
        "use a GGUF this llama-cpp-python version supports (pip install -U llama-cpp-python)",
    )


def check_proxy(
    config: Config, base_url: str, environ: Mapping[str, str] | None = None, *, demo: bool = False
) -> Check:
    """The proxy requests to the cloud endpoint take (credentials never shown)."""
    if demo:
        return Check("proxy", True, f"{base_url}: direct (the demo endpoint is on this machine)")
    try:
        choice = resolve_proxy(base_url, config.cloud.proxy, environ)
    except SetupError as exc:
        return Check("proxy", False, str(exc), 'set [cloud] proxy to "env", "none" or a URL')
    return Check("proxy", True, f"{base_url}: {choice.describe()}")


def check_key(engine: CloudEngine, probe: ProbeResult | None) -> Check:
    """Whether the API key is set (its value is never shown) and was not rejected."""
    name = engine.config.api_key_env
    fix = f"export {name}=<your key> (or name another variable in [cloud] api_key_env)"
    if probe is not None and probe.status in (401, 403):
        verb = "was rejected" if engine.key_present else "is required"
        return Check("API key", False, f"${name} {verb} ({probe.status})", fix)
    problem = engine.key_problem
    if problem is not None:
        return Check("API key", False, problem, fix)
    if engine.key_present:
        return Check("API key", True, f"${name} is set (value not shown)")
    if not engine.key_required:
        where = "the demo endpoint" if engine.demo else engine.host
        return Check("API key", True, f"not needed for {where} (${name} is not set)")
    return Check("API key", False, f"${name} is not set", fix)


def check_cloud(engine: CloudEngine, probe: ProbeResult) -> Check:
    """Whether the endpoint answers GET /models."""
    name = "cloud endpoint"
    if engine.demo:
        probe = dataclasses.replace(probe, detail=f"{engine.label}: {probe.detail}")
    if probe.ok:
        return Check(name, True, probe.detail)
    if engine.key_problem is not None:
        fix = f"export {engine.config.api_key_env}=<your key> (on one line)"
    elif not probe.reachable:
        fix = "check [cloud] base_url, the network and the proxy"
    elif probe.status in (401, 403):
        fix = f"put a valid key in ${engine.config.api_key_env}"
    else:
        fix = "check [cloud] base_url: it should be the API root, e.g. https://api.openai.com/v1"
    return Check(name, False, probe.detail, fix)


def check_database(path: Path) -> Check:
    """Whether the ledger file can be written: an SQLite file (or nothing yet) in a writable dir."""
    name = "database"
    fix = "point --db or [ledger] path at a writable location"
    if path.is_dir():
        return Check(name, False, f"{path} is a directory, not a database file", fix)
    if path.exists():
        try:
            with path.open("rb") as handle:
                header = handle.read(len(SQLITE_HEADER))
        except OSError as exc:
            return Check(name, False, f"{path} cannot be read: {exc.strerror or exc}", fix)
        if header and header != SQLITE_HEADER:
            fix = "this file is not a Switchboard ledger: point --db or [ledger] path elsewhere"
            return Check(name, False, f"{path} is not an SQLite database", fix)
        if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
            return Check(name, False, f"{path} is not writable", fix)
        return Check(name, True, f"{path} (SQLite, writable)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return Check(name, False, f"{path} cannot be created: {parent} is not writable", fix)
    return Check(name, True, f"{path} (will be created)")


def check_spool(db_path: Path, root: Path | None = None) -> Check:
    """Rows waiting in the spool for this ledger (they are safe; the next recorder writes them)."""
    from console.spool import Spool

    spool = Spool(db_path, None, root)
    pending = spool.pending()
    if not pending:
        return Check("ledger spool", True, f"empty ({spool.directory})")
    detail = (
        f"{pending} row(s) waiting in {spool.directory}: kept safe, they are written to the "
        "ledger by the next command that records (ask, replay, the console)"
    )
    if db_path.exists() and not (
        os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK)
    ):
        return Check(
            "ledger spool",
            False,
            detail,
            "make the ledger writable, then run any recording command",
        )
    return Check("ledger spool", True, detail)


async def _cloud_checks(
    config: Config, demo: bool, environ: Mapping[str, str] | None
) -> list[Check]:
    server = None
    base_url = config.cloud.base_url
    try:
        if demo:
            from engines.demo import DemoServer
            from engines.model import resolve_model

            server = DemoServer(resolve_model("bundled"))
            base_url = await server.start()
        proxy = check_proxy(config, base_url, environ, demo=demo)
        if not proxy.ok:
            return [Check("cloud endpoint", False, "not tried: invalid proxy setting"), proxy]
        engine = CloudEngine(
            config.cloud, config.breaker, demo=demo, base_url=base_url, environ=environ
        )
        try:
            probe = await engine.probe()
        finally:
            await engine.aclose()
        return [check_cloud(engine, probe), check_key(engine, probe), proxy]
    except Exception as exc:  # a doctor reports every failure as a row, never a traceback
        return [Check("cloud endpoint", False, str(exc), getattr(exc, "fix", ""))]
    finally:
        if server is not None:
            await server.stop()


async def run_checks(
    config: Config,
    db_path: Path,
    *,
    demo: bool = False,
    environ: Mapping[str, str] | None = None,
    load_timeout_s: float = LOAD_TIMEOUT_S,
) -> list[Check]:
    """Every check, the slow ones (model load, endpoint) concurrently."""
    model, model_path = await asyncio.to_thread(check_model, config)
    local, cloud = await asyncio.gather(
        check_local_engine(model_path, load_timeout_s), _cloud_checks(config, demo, environ)
    )
    return [model, local, *cloud, check_database(db_path), check_spool(db_path)]


def checks_table(checks: list[Check]) -> Table:
    """The report as a rich table; each failure carries its fix under the detail."""
    table = Table(title="switchboard doctor")
    table.add_column("", no_wrap=True)
    table.add_column("check", style="bold", no_wrap=True)
    table.add_column("detail / fix", overflow="fold")
    for check in checks:
        mark = Text("ok", style="green") if check.ok else Text("FAIL", style="bold red")
        # Text, not markup: details and fixes contain brackets like "[cloud] base_url".
        detail = Text(check.detail)
        if not check.ok and check.fix:
            detail.append(f"\nfix: {check.fix}", style="yellow")
        table.add_row(mark, Text(check.name), detail)
    return table
