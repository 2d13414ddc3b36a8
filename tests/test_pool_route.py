"""The router's third tier: the pool before the cloud, bursts, privacy, /pool, and the trace."""

from __future__ import annotations

import itertools
import json

import pytest

from engines.pool_settings import PoolServer, PoolSettings
from policies.config import Config, ConfigError, with_changes
from policies.features import extract_features
from policies.router import Decision, PoolSignals, Signals, decide, decide_target, signals_from_dict

SIMPLE = "Write a two-line poem about autumn leaves."
COMPLEX = (
    "Analyze and compare the trade-offs of Raft and Paxos, step by step, in a detailed report."
)
SERVERS = (
    PoolServer(name="lab-1", base_url="http://10.0.0.5:8080/v1", model="m", trusted=True),
    PoolServer(name="lab-2", base_url="http://10.0.0.6:8080/v1", model="m"),
)
BASE = Config(pool=PoolSettings(servers=SERVERS))
BOTH = PoolSignals(
    configured=True,
    server="lab-2",
    why="lab-2: least loaded, 0 outstanding",
    trusted_server="lab-1",
    trusted_why="lab-1: least loaded, 1 outstanding",
)
UNTRUSTED_ONLY = PoolSignals(configured=True, server="lab-2", why="lab-2: least loaded")
DOWN = PoolSignals(configured=True, unavailable_reason="lab-1: breaker open; lab-2: breaker open")


def signals(pool: PoolSignals = BOTH, **values: object) -> Signals:
    return Signals(pool=pool, **values)  # type: ignore[arg-type]


def route(prompt: str, sig: Signals, cfg: Config = BASE, pii: tuple[str, ...] = ()) -> Decision:
    decision = decide(extract_features(prompt, pii), sig, cfg)
    # What-if's fast path agrees with the full decision.
    assert decide_target(decision.features, sig, cfg) == decision.target
    return decision


def pool_rule(decision: Decision) -> tuple[object, str, str]:
    found = next(r for r in decision.rules if r.name == "pool")
    return found.value, found.verdict, found.why


def test_without_a_pool_nothing_changes() -> None:
    decision = route(COMPLEX, Signals(), Config())
    assert (decision.target, decision.chain) == ("cloud", ("cloud", "local"))
    assert all(rule.name != "pool" for rule in decision.rules)


def test_a_simple_prompt_stays_local_with_the_pool_in_the_chain() -> None:
    decision = route(SIMPLE, signals())
    assert (decision.target, decision.chain) == ("local", ("local", "pool", "cloud"))
    assert pool_rule(decision)[:2] == ("lab-2", "pass")


def test_what_would_go_to_the_cloud_goes_to_the_pool_first() -> None:
    decision = route(COMPLEX, signals())
    assert (decision.target, decision.fired) == ("pool", "complexity")
    assert decision.chain == ("pool", "cloud", "local")
    value, verdict, why = pool_rule(decision)
    assert (value, verdict) == ("lab-2", "pool")
    assert "before the cloud" in why and "least loaded" in why
    # burst_only: complexity still goes to the cloud, the pool is its fallback.
    burst_only = with_changes(BASE, {}).model_copy(
        update={"pool": BASE.pool.model_copy(update={"route": "burst_only"})}
    )
    cloud = route(COMPLEX, signals(), burst_only)
    assert (cloud.target, cloud.chain) == ("cloud", ("cloud", "pool", "local"))


@pytest.mark.parametrize(
    "load",
    [
        {"local_ready": False},
        {"local_queue_depth": 9},
        {"local_cpu_pct": 100.0},
    ],
)
def test_a_busy_local_engine_bursts_to_the_pool_before_the_cloud(load: dict[str, object]) -> None:
    decision = route(SIMPLE, signals(**load))
    assert decision.target == "pool"
    assert decision.chain == ("pool", "cloud", "local")
    assert "burst" in pool_rule(decision)[2]
    # burst_only still bursts to the pool.
    cfg = BASE.model_copy(update={"pool": BASE.pool.model_copy(update={"route": "burst_only"})})
    assert route(SIMPLE, signals(**load), cfg).target == "pool"
    # With the cloud out of reach too, the pool is still there.
    offline = route(SIMPLE, signals(cloud_available=False, **load))
    assert (offline.target, offline.chain) == ("pool", ("pool", "local"))


def test_personal_data_reaches_trusted_servers_only() -> None:
    pii = ("PERSON", "EMAIL_ADDRESS")
    quiet = route(SIMPLE, signals(), pii=pii)
    assert (quiet.target, quiet.fired) == ("local", "privacy")
    assert quiet.chain == ("local", "pool")
    assert pool_rule(quiet)[0] == "lab-1"
    busy = route(SIMPLE, signals(local_queue_depth=9), pii=pii)
    assert (busy.target, busy.chain) == ("pool", ("pool", "local"))
    assert pool_rule(busy)[0] == "lab-1"
    # A complex private prompt: the trusted lab server, never the cloud.
    hard = route(COMPLEX, signals(), pii=pii)
    assert (hard.target, hard.chain) == ("pool", ("pool", "local"))
    assert "may not reach the cloud" in pool_rule(hard)[2]
    # No trusted server: local only, and the trace says why.
    alone = route(COMPLEX, signals(UNTRUSTED_ONLY, local_queue_depth=9), pii=pii)
    assert (alone.target, alone.chain) == ("local", ("local",))
    value, verdict, why = pool_rule(alone)
    assert (value, verdict) == (None, "skip")
    assert "no trusted pool server" in why


def test_redaction_lets_untrusted_servers_take_personal_data_redacted() -> None:
    cfg = with_changes(BASE, {"pii.on_pii": "redact"})
    decision = route(COMPLEX, signals(), cfg, pii=("PERSON",))
    assert decision.target == "pool" and decision.redact
    assert pool_rule(decision)[0] == "lab-2"


def test_the_pool_prefix() -> None:
    decision = route("/pool " + SIMPLE, signals())
    assert (decision.target, decision.fired, decision.chain) == ("pool", "override", ("pool",))
    down = route("/pool " + SIMPLE, signals(DOWN))
    assert down.target == "local"
    assert "breaker open" in next(r.why for r in down.rules if r.name == "override")
    forced_local = route("/local " + COMPLEX, signals())
    assert forced_local.chain == ("local",)
    assert pool_rule(forced_local)[1] == "skip"


def test_a_pool_that_is_down_changes_nothing_and_says_why() -> None:
    decision = route(COMPLEX, signals(DOWN))
    assert (decision.target, decision.chain) == ("cloud", ("cloud", "local"))
    assert pool_rule(decision) == (None, "skip", DOWN.unavailable_reason)


def test_the_trace_round_trips_with_the_pool() -> None:
    decision = route(COMPLEX, signals(local_cpu_pct=50.0))
    again = Decision.from_dict(json.loads(json.dumps(decision.to_dict())))
    assert again.to_dict() == decision.to_dict()
    assert (again.target, again.chain, again.signals) == (
        decision.target,
        decision.chain,
        decision.signals,
    )
    assert signals_from_dict(decision.signals.to_dict()).pool == BOTH


def test_decide_target_agrees_over_a_grid() -> None:
    prompts = (SIMPLE, COMPLEX, "/pool " + SIMPLE, "/cloud " + COMPLEX, "/local " + COMPLEX)
    pools = (BOTH, UNTRUSTED_ONLY, DOWN, PoolSignals())
    loads = ({}, {"local_ready": False}, {"local_queue_depth": 9})
    clouds = ({}, {"cloud_available": False}, {"spend_today_usd": 100.0})
    configs = (BASE, with_changes(BASE, {"pii.on_pii": "redact"}))
    piis: tuple[tuple[str, ...], ...] = ((), ("PERSON",))
    for prompt, pool, load, cloud, cfg, pii in itertools.product(
        prompts, pools, loads, clouds, configs, piis
    ):
        route(prompt, signals(pool, **load, **cloud), cfg, pii)


def test_a_full_pool_is_passed_over_except_by_the_pool_prefix() -> None:
    full = PoolSignals(
        configured=True, unavailable_reason="all at max_inflight (lab-1, lab-2)", full=True
    )
    decision = route(COMPLEX, signals(full))
    assert (decision.target, decision.chain) == ("cloud", ("cloud", "local"))
    forced = route("/pool " + SIMPLE, signals(full))
    assert (forced.target, forced.chain) == ("pool", ("pool",))
    value, verdict, why = pool_rule(forced)
    assert (value, verdict) == (None, "pool") and "waits for a slot" in why


CODE = "Write a Python function that parses an ISO 8601 date string and returns a datetime."


def _burst_only(**tasks: str) -> Config:
    config = with_changes(BASE, {f"router.tasks.{task}": route for task, route in tasks.items()})
    return config.model_copy(update={"pool": BASE.pool.model_copy(update={"route": "burst_only"})})


def test_a_task_profile_entry_can_name_the_pool() -> None:
    # burst_only keeps the pool for bursts; `code = "pool"` sends code there all the same.
    decision = route(CODE, signals(), _burst_only(code="pool"))
    assert decision.features.task == "code"
    assert (decision.target, decision.fired) == ("pool", "task")
    value, verdict, why = pool_rule(decision)
    assert (value, verdict) == ("lab-2", "pool")
    assert why.startswith("router.tasks.code = pool: ")
    # The same prompt under `code = "cloud"` goes to the cloud, the pool as its fallback.
    cloud = route(CODE, signals(), _burst_only(code="cloud"))
    assert (cloud.target, cloud.chain) == ("cloud", ("cloud", "pool", "local"))
    # With no server free, a "pool" type goes where "cloud" would.
    assert route(CODE, signals(DOWN), _burst_only(code="pool")).target == "cloud"


def test_a_bad_task_profile_entry_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"'router.tasks.code': .*\"local\", \"pool\", \"cloud\""):
        with_changes(BASE, {"router.tasks.code": "gpu"})
