"""The pool in the console, over real parts: two OpenAI-compatible server processes on loopback
(tests/fake_pool_server.py, started and killed by pid), real Presidio and a real SQLite ledger.

The local engine is not started (no model load): the router sees it "not ready", and a `/pool`
prompt goes to the pool. The cloud has no key, so it is out of the chain. Every wait polls a
condition with a deadline; nothing sleeps to assert.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from console.runtime import Runtime
from console.tui.adapters import pool_view, stored_turn_meta
from console.tui.app import SwitchboardApp, create_app
from console.tui.screens.inspector import InspectorScreen
from console.tui.screens.ledger import LedgerScreen
from console.tui.widgets.chat import AnswerView, ChatLog
from console.tui.widgets.panel_deck import PanelDeck
from console.tui.widgets.panel_summary import PanelSummary
from console.tui.widgets.pool_panel import PoolPanel
from console.tui.widgets.privacy_panel import render_privacy
from console.tui.widgets.prompt_input import PromptInput
from console.tui.widgets.views import EntityCount, PrivacyView
from engines.pool import PoolStatus, ServerStatus
from policies.config import ConfigStore
from tests.pool_servers import FakeServer, FakeServers
from tests.tui.test_snapshots_main import app_over, feed, settle

CONFIG = """\
[cloud]
base_url = "https://api.invalid.example/v1"
api_key_env = "SWITCHBOARD_TEST_UNSET_KEY"

[ui]
telemetry_hz = 2.0

[pool]
strategy = "round_robin"
max_tokens = 4
poll_interval_s = 0.2
health_timeout_s = 1.0

[[pool.servers]]
name = "vault"
base_url = "{vault}"
model = "m"
kind = "llama.cpp"
trusted = true
cost_per_hour = 36.0
max_inflight = 3

[[pool.servers]]
name = "lab"
base_url = "{lab}"
model = "m"
kind = "llama.cpp"
trusted = false
cost_per_hour = 18.0
"""

#: Deadline of one condition: a health poll is 0.2 s, a telemetry sample 0.5 s.
DEADLINE_S = 20.0


@pytest.fixture
def fakes(tmp_path: Path) -> Iterator[FakeServers]:
    servers = FakeServers(tmp_path)
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
async def runtimes() -> AsyncIterator[list[Runtime]]:
    made: list[Runtime] = []
    yield made
    for runtime in made:
        await runtime.aclose()


async def start_runtime(
    tmp_path: Path, vault: FakeServer, lab: FakeServer, *, pii: bool = False
) -> Runtime:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(vault=vault.base_url, lab=lab.base_url))
    runtime = Runtime(ConfigStore.open(path), db_path=tmp_path / "ledger.sqlite")
    await runtime.start(local=False, cloud=False, pii=False)
    if pii:
        await asyncio.to_thread(runtime.scanner.load)
    return runtime


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def text_of(widget: Static) -> str:
    return str(widget.render())


def states(app: SwitchboardApp) -> dict[str, str]:
    view = app.main.query_one(PoolPanel).view
    return {} if view is None else {server.name: server.state for server in view.servers}


async def test_the_panel_shows_both_servers_and_one_killed_goes_down(
    fakes: FakeServers, runtimes: list[Runtime], tmp_path: Path
) -> None:
    vault, lab = fakes.start("vault"), fakes.start("lab")
    runtime = await start_runtime(tmp_path, vault, lab)
    runtimes.append(runtime)
    app = create_app(runtime, manage_runtime=False)
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.main.query_one(PoolPanel)
        await until(pilot, lambda: states(app) == {"vault": "up", "lab": "up"}, "both servers up")
        assert app.main.query_one(PanelDeck).names == (
            "Local",
            "Pool",
            "Cloud",
            "Privacy",
            "Ledger",
        )
        assert panel.display and "-absent" not in panel.classes
        shown = text_of(panel)
        assert "vault  llama.cpp  trusted  up" in shown
        assert "lab  llama.cpp  untrusted (redacted)  up" in shown
        assert "0/3 in flight" in shown and "pool 2/2 up" in shown

        lab.kill()
        await until(
            pilot,
            lambda: states(app).get("lab") in ("down", "breaker open"),
            "the killed server shown down",
        )
        assert states(app)["vault"] == "up"
        shown = text_of(panel)
        assert "pool 1/2 up" in shown
        # Its last error says what failed, naming the endpoint the poll could not reach.
        assert f"127.0.0.1:{lab.port}" in shown.split("● lab")[1]
        summary = app.main.query_one(PanelSummary)
        assert summary.pool is not None and summary.pool.usable == 1

        lab.start()  # the same port, a new process
        await until(pilot, lambda: states(app).get("lab") == "up", "the restarted server up")


async def send(pilot: Pilot[None], app: SwitchboardApp, prompt: str) -> AnswerView:
    """Type `prompt`, press enter, and return its (still running) answer."""
    before = len(app.main.query_one(ChatLog).answers)
    prompt_input = app.main.query_one(PromptInput)
    prompt_input.focus()
    prompt_input.value = prompt
    await pilot.press("enter")
    await until(pilot, lambda: len(app.main.query_one(ChatLog).answers) > before, "the answer")
    return app.main.query_one(ChatLog).answers[-1]


async def ask(pilot: Pilot[None], app: SwitchboardApp, prompt: str) -> AnswerView:
    """`send`, then wait for the answer's badge."""
    view = await send(pilot, app, prompt)
    await until(pilot, lambda: view.meta is not None, f"the badge of {prompt!r}")
    return view


def inflight(app: SwitchboardApp) -> dict[str, int]:
    view = app.main.query_one(PoolPanel).view
    return {} if view is None else {server.name: server.inflight for server in view.servers}


async def test_the_panel_counts_a_request_in_flight_while_it_streams(
    fakes: FakeServers, runtimes: list[Runtime], tmp_path: Path
) -> None:
    # Each server waits 3 s before its first token: the telemetry samples twice a second.
    vault = fakes.start("vault", first_delay=3.0)
    lab = fakes.start("lab", first_delay=3.0)
    runtime = await start_runtime(tmp_path, vault, lab, pii=True)
    runtimes.append(runtime)
    app = create_app(runtime, manage_runtime=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: states(app) == {"vault": "up", "lab": "up"}, "servers up")
        view = await send(pilot, app, "/pool Say hello to the team.")
        await until(pilot, lambda: sum(inflight(app).values()) == 1, "one request in flight")
        busy = next(name for name, count in inflight(app).items() if count == 1)
        assert view.meta is None, "the answer was still streaming"
        assert "1/" in text_of(app.main.query_one(PoolPanel)).split(f"● {busy}")[1]
        await until(pilot, lambda: view.meta is not None, "the badge")
        assert view.result is not None and view.result.server == busy
        await until(pilot, lambda: sum(inflight(app).values()) == 0, "nothing in flight")


async def test_inspector_names_the_server_and_the_ledger_screen_has_a_row_per_server(
    fakes: FakeServers, runtimes: list[Runtime], tmp_path: Path
) -> None:
    vault, lab = fakes.start("vault"), fakes.start("lab")
    runtime = await start_runtime(tmp_path, vault, lab, pii=True)
    runtimes.append(runtime)
    app = create_app(runtime, manage_runtime=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: states(app) == {"vault": "up", "lab": "up"}, "servers up")
        servers = []
        for prompt in ("/pool Say hello to the team.", "/pool Name a colour."):
            view = await ask(pilot, app, prompt)
            result = view.result
            assert result is not None and result.tier == "pool", result
            assert result.server in ("vault", "lab")
            servers.append(result.server)
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(app.screen, InspectorScreen), "the inspector")
            inspector = app.screen
            assert isinstance(inspector, InspectorScreen)
            route = text_of(inspector.query_one("#inspector-route", Static))
            assert f"server {result.server}" in route
            # The why is the pool rule's own reason, as the trace has it.
            pool_rule = next(r for r in result.decision.to_dict()["rules"] if r["name"] == "pool")
            assert str(pool_rule["why"]) in route or "routing picked" in route
            outcome = text_of(inspector.query_one("#inspector-outcome", Static))
            if result.server == "vault":
                assert "sent as typed to vault, a trusted lab server" in outcome
            cost = inspector.trace.cost
            assert any(f"busy-s of {result.server}" in item for item, _ in cost), cost
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, InspectorScreen), "closed")
        # Round robin over two servers: one request each.
        assert sorted(servers) == ["lab", "vault"]
        assert runtime.ledger is not None
        assert runtime.ledger.flush()
        rows = runtime.ledger.execute("SELECT server, cost_usd FROM requests ORDER BY server")
        assert [row[0] for row in rows] == ["lab", "vault"]

        await pilot.press("f6")
        await until(pilot, lambda: isinstance(app.screen, LedgerScreen), "the ledger screen")
        screen = app.screen
        assert isinstance(screen, LedgerScreen)
        await until(pilot, lambda: screen.report is not None, "the report")
        table = screen.query_one("#ledger-servers", DataTable)
        assert table.display
        assert table.row_count == 2
        cells = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert [row[0] for row in cells] == ["lab", "vault"]
        assert [row[1] for row in cells] == ["1", "1"]
        tiers = screen.query_one("#ledger-tiers", DataTable)
        tier_rows = [[str(c) for c in tiers.get_row_at(i)] for i in range(tiers.row_count)]
        assert [row[0] for row in tier_rows] == ["pool"]
        assert tier_rows[0][1] == "2"

        # A stored pool request opened from the top prompts names its server too.
        top = screen.query_one("#ledger-top", DataTable)
        top.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InspectorScreen), "stored inspector")
        stored = app.screen
        assert isinstance(stored, InspectorScreen)
        assert stored.trace.server in ("vault", "lab")
        route = text_of(stored.query_one("#inspector-route", Static))
        assert f"server {stored.trace.server}" in route


# -- without servers, and the fixed-figure snapshots --------------------------------------------
def lab_status() -> PoolStatus:
    """A pool of two servers as engines.pool reports it: one busy, one whose breaker opened."""

    def server(name: str, kind: str, **figures: Any) -> ServerStatus:
        base: dict[str, Any] = {
            "name": name,
            "base_url": f"http://10.0.0.{len(name)}:8080/v1",
            "kind": kind,
            "model": "qwen2.5-7b-instruct",
            "trusted": True,
            "weight": 1.0,
            "max_inflight": 4,
            "cost_per_hour": 1.2,
            "state": "up",
            "breaker": "closed",
            "inflight": 0,
            "queued": 0,
            "tok_s": None,
            "ttft_p50_ms": None,
            "service_estimate_ms": None,
            "health_ms": 3.1,
            "idle_slots": None,
            "total_slots": None,
            "kv_cache_use": None,
            "served": 0,
            "failed": 0,
            "last_error": None,
            "checked_age_s": 0.4,
        }
        return ServerStatus(**{**base, **figures})

    return PoolStatus(
        "least_loaded",
        (
            server(
                "gpu-a",
                "vllm",
                inflight=3,
                max_inflight=8,
                queued=1,
                state="degraded",
                tok_s=412.5,
                ttft_p50_ms=84.0,
                served=120,
            ),
            server(
                "lab-2",
                "llama.cpp",
                trusted=False,
                state="down",
                breaker="open",
                ttft_p50_ms=310.0,
                served=14,
                failed=5,
                last_error="cannot reach http://10.0.0.5:8080/health: "
                "[Errno 111] Connection refused",
            ),
        ),
        waiting=0,
    )


def test_the_adapter_names_an_open_breaker_and_no_servers_is_no_panel() -> None:
    view = pool_view(lab_status())
    assert view is not None
    assert [server.state for server in view.servers] == ["degraded", "breaker open"]
    assert view.servers[0].ttft_p50_s == pytest.approx(0.084)
    assert view.usable == 1
    assert pool_view(PoolStatus("least_loaded", (), 0)) is None


def test_pool_answers_read_as_the_pool_in_badges_and_privacy_words() -> None:
    reopened = stored_turn_meta("pool").badge
    assert (reopened.label, reopened.kind) == ("POOL", "pool")
    assert stored_turn_meta("local").badge.label == "LOCAL"
    trusted = PrivacyView(80, (EntityCount("PERSON", 1),), "local", "pool", False, None)
    shown = render_privacy(trusted, reveal=False).plain
    assert "1 personal data item: sent as typed to a trusted lab server" in shown
    assert "nothing left the machine" not in shown
    untrusted = PrivacyView(
        80, (EntityCount("PERSON", 1),), "redact", "pool", True, "Hi <PERSON_1>"
    )
    shown = render_privacy(untrusted, reveal=True).plain
    assert "replaced before sending to an untrusted lab server" in shown
    assert "sent to an untrusted lab server, exactly:\nHi <PERSON_1>" in shown


async def test_the_pool_tab_joins_the_cycle_only_while_servers_are_configured(
    tmp_path: Path,
) -> None:
    runtime = Runtime(ConfigStore.open(None), db_path=tmp_path / "ledger.sqlite")
    app = create_app(runtime, manage_runtime=False, sample=False)
    async with app.run_test(size=(100, 40)) as pilot:
        main = app.main
        deck = main.query_one(PanelDeck)
        tabs = deck.query_one("#panel-tabs", Static)
        main.show_pool(None)
        await pilot.pause()
        assert deck.names == ("Local", "Cloud", "Privacy", "Ledger")
        assert "Pool" not in text_of(tabs)
        assert not main.query_one(PoolPanel).display
        assert "pool" not in text_of(main.query_one(PanelSummary))
        await pilot.press("f8")  # Cloud
        assert deck.current == 1

        main.show_pool(pool_view(lab_status()))  # a live edit added [[pool.servers]]
        await pilot.pause()
        assert deck.names == ("Local", "Pool", "Cloud", "Privacy", "Ledger")
        assert "Pool" in text_of(tabs)
        assert deck.current == 2, "the current tab stays on Cloud"
        await pilot.press("f8", "f8", "f8", "f8")  # Privacy, Ledger, Local, Pool
        pool_panel = main.query_one(PoolPanel)
        assert "-current" in pool_panel.classes and pool_panel.display
        assert "pool 1/2 up" in text_of(main.query_one(PanelSummary))

        main.show_pool(None)  # and a later edit removed them
        await pilot.pause()
        assert deck.names == ("Local", "Cloud", "Privacy", "Ledger")
        assert deck.current == 0 and not pool_panel.display


@pytest.mark.parametrize("size", [(160, 48), (80, 24)], ids=["160x48", "80x24"])
def test_main_screen_with_a_pool(tmp_path: Path, size: tuple[int, int], snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await feed(pilot)
        app = pilot.app
        assert isinstance(app, SwitchboardApp)
        app.main.show_pool(pool_view(lab_status()))
        await settle(pilot)

    assert snap_compare(app_over(tmp_path, "dark"), terminal_size=size, run_before=run_before)
