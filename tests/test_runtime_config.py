"""The config has one owner: a watcher task on the event loop applies hand edits of a real file.

A real Runtime runs on the test's event loop, a real config.toml is edited by hand on disk, and
real OpenAI-compatible endpoints (FaultProxy answering scripted SSE on 127.0.0.1) show where
requests go after a `[cloud]` edit.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from console.runtime import Runtime
from engines.base import (
    ConfigurationProblem,
    Finished,
    GenerationRequest,
    Message,
)
from policies.config import Config, ConfigStore
from tests.faultproxy import Fault, FaultProxy

KEY_ENV = "SWITCHBOARD_TEST_NO_SUCH_KEY"
ANSWER = Fault(
    kind="sse",
    events=(
        '{"choices":[{"delta":{"content":"hello"},"finish_reason":null}]}',
        '{"choices":[{"delta":{},"finish_reason":"stop"}]}',
        "[DONE]",
    ),
)
REQUEST = GenerationRequest(messages=(Message("user", "hi"),), max_tokens=8, temperature=0.0)


def config_text(base_url: str, model: str, *, queue: int = 2, threshold: int = 3) -> str:
    return (
        f'[cloud]\nbase_url = "{base_url}"\nmodel = "{model}"\napi_key_env = "{KEY_ENV}"\n'
        f'proxy = "none"\nmax_retries = 0\n\n'
        f"[breaker]\nfailure_threshold = {threshold}\n\n"
        f"[router]\nmax_queue_depth = {queue}\n"
    )


async def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within the deadline")
        await asyncio.sleep(0.05)


@pytest.fixture
async def endpoints() -> AsyncIterator[tuple[FaultProxy, FaultProxy]]:
    first = await FaultProxy(default=ANSWER).start()
    second = await FaultProxy(default=ANSWER).start()
    yield first, second
    await first.stop()
    await second.stop()


@pytest.fixture
async def running(
    tmp_path: Path, endpoints: tuple[FaultProxy, FaultProxy]
) -> AsyncIterator[Runtime]:
    path = tmp_path / "config.toml"
    path.write_text(config_text(endpoints[0].base_url, "model-a"), encoding="utf-8")
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.db")
    await runtime.start(local=False, pii=False, cloud=True)
    yield runtime
    await runtime.aclose()


async def answer(runtime: Runtime) -> Finished:
    async for event in runtime.cloud.stream(REQUEST):
        if isinstance(event, Finished):
            return event
    raise AssertionError("no Finished event")


def chat_bodies(endpoint: FaultProxy) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in endpoint.seen if r.target.endswith("/chat/completions")]


async def test_a_cloud_edit_sends_requests_to_the_new_endpoint_and_model(
    running: Runtime, endpoints: tuple[FaultProxy, FaultProxy]
) -> None:
    first, second = endpoints
    assert (await answer(running)).model == "model-a"
    breaker_before = running.cloud.breaker
    # A thread reads the config all along, as the telemetry and ledger workers do.
    snapshots: list[Config] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                snapshots.append(running.config())
            except BaseException as exc:  # the old design raised here, in the worker thread
                errors.append(exc)
            time.sleep(0.005)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        path = running.store.path
        path.write_text(
            config_text(second.base_url, "model-b", queue=5, threshold=7), encoding="utf-8"
        )
        await wait_until(lambda: running.config().router.max_queue_depth == 5)
    finally:
        stop.set()
        reader.join(5)
    assert errors == []
    assert {s.cloud.model for s in snapshots} <= {"model-a", "model-b"}
    assert running.config().cloud.model == "model-b"  # what the dispatcher prices it as
    finished = await answer(running)
    assert finished.model == "model-b"
    assert [b["model"] for b in chat_bodies(first)] == ["model-a"]
    assert [b["model"] for b in chat_bodies(second)] == ["model-b"]
    assert running.cloud.breaker is not breaker_before
    assert running.cloud.breaker.config.failure_threshold == 7


async def test_a_breaker_edit_retunes_the_same_breaker(running: Runtime) -> None:
    breaker = running.cloud.breaker
    engine = running.cloud
    text = running.store.path.read_text(encoding="utf-8")
    running.store.path.write_text(
        text.replace("failure_threshold = 3", "failure_threshold = 9"), encoding="utf-8"
    )
    await wait_until(lambda: breaker.config.failure_threshold == 9)
    assert running.cloud is engine and running.cloud.breaker is breaker


async def test_broken_edits_are_reported_every_time_and_the_last_good_stays(
    running: Runtime,
) -> None:
    path = running.store.path
    good = path.read_text(encoding="utf-8")
    path.write_text(good.replace("max_queue_depth = 2", "max_queue_depth = -1"), encoding="utf-8")
    await wait_until(lambda: running.status().config_error is not None)
    first_error = running.status().config_error
    assert first_error is not None and "router.max_queue_depth" in first_error
    assert ":12:" in first_error and "last good configuration stays" in first_error
    assert running.config().router.max_queue_depth == 2
    # A second, different broken edit is reported too (the old watcher died after the first).
    path.write_text(good.replace("failure_threshold = 3", "failure_threshold = inf"), "utf-8")
    await wait_until(lambda: "breaker.failure_threshold" in (running.status().config_error or ""))
    path.write_text(good.replace("max_queue_depth = 2", "max_queue_depth = 4"), "utf-8")
    await wait_until(lambda: running.config().router.max_queue_depth == 4)
    assert running.status().config_error is None


async def test_the_watcher_survives_an_unexpected_error(
    running: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0
    real_take = running.store.take

    def failing_once(seen: object) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("disk on fire")
        return real_take(seen)  # type: ignore[arg-type]

    monkeypatch.setattr(running.store, "take", failing_once)
    await wait_until(lambda: running.status().config_error is not None)
    assert "unexpected error" in (running.status().config_error or "")
    path = running.store.path
    path.write_text(
        path.read_text("utf-8").replace("max_queue_depth = 2", "max_queue_depth = 6"), "utf-8"
    )
    await wait_until(lambda: running.config().router.max_queue_depth == 6)


async def test_keys_that_need_a_restart_are_named(running: Runtime, tmp_path: Path) -> None:
    path = running.store.path
    other = tmp_path / "other.db"
    path.write_text(path.read_text("utf-8") + f'\n[ledger]\npath = "{other}"\n', "utf-8")
    await wait_until(lambda: "restart" in (running.status().config_error or ""))
    assert "[ledger] path" in (running.status().config_error or "")
    assert running.ledger_path != other
    # Put back as it was: nothing waits for a restart any more.
    path.write_text(path.read_text("utf-8").replace(f'path = "{other}"', 'path = ""'), "utf-8")
    await wait_until(lambda: running.status().config_error is None)


async def test_an_invalid_proxy_is_a_failed_cloud_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[cloud]\nbase_url = "https://api.example.invalid/v1"\nproxy = "ftp://nope"\n', "utf-8"
    )
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.db")
    await runtime.start(local=False, pii=False, cloud=True)
    try:
        # Ready at once, in a failed state that says which key to fix.
        await runtime.wait_cloud_ready(timeout=5.0)
        assert runtime.cloud_ready()
        status = runtime.status()
        assert status.cloud_state == "failed" and status.cloud_ready
        assert status.cloud_error is not None and "[cloud] proxy" in status.cloud_error
        signals = runtime.signals()
        assert not signals.cloud_available
        assert "[cloud] proxy" in signals.cloud_unavailable_reason
        started = time.monotonic()
        with pytest.raises(ConfigurationProblem, match=r"\[cloud\] proxy") as caught:
            await answer(runtime)
        assert time.monotonic() - started < 1.0
        assert "proxy" in caught.value.fix
        # Fixing the file by hand brings the cloud tier back.
        path.write_text(
            '[cloud]\nbase_url = "https://api.example.invalid/v1"\nproxy = "none"\n', "utf-8"
        )
        await wait_until(lambda: runtime.cloud.setup_error is None)
        assert runtime.status().cloud_state != "failed"
    finally:
        await runtime.aclose()


async def test_local_and_pii_edits_reload_the_engine_and_the_analyzer(
    tmp_path: Path, bundled_model_path: Path
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        "[local]\nn_threads = 1\nn_ctx = 512\n\n[pii]\nscore_threshold = 0.4\n", encoding="utf-8"
    )
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.db")
    await runtime.start(local=True, pii=True, cloud=False)
    try:
        await wait_until(lambda: runtime.local.state == "ready" and runtime.scanner.ready, 120)
        old_pid, old_scanner = runtime.local.pid, runtime.scanner
        path.write_text(
            "[local]\nn_threads = 2\nn_ctx = 512\n\n[pii]\nscore_threshold = 0.5\n",
            encoding="utf-8",
        )
        await wait_until(
            lambda: (
                runtime.local.n_threads == 2
                and runtime.local.state == "ready"
                and runtime.scanner is not old_scanner
                and runtime.scanner.ready
            ),
            120,
        )
        assert runtime.local.pid not in (None, old_pid)
        assert not runtime.status().local_error and runtime.status().pii_error is None
    finally:
        await runtime.aclose()
