"""The compact re-decision inputs of a Decision: what `decide` and `decide_target` read, no more.

A stored trace (`Decision.to_dict`) is ~2 KB, most of it rule explanations and the complexity
breakdown, none of which re-deciding needs. The ledger also stores this encoding (~100 bytes)
so what-if scans read a twentieth of the text.

Format, version 3: a JSON array
`[3, chars, est_tokens, pii_count, [pii_types...], complexity, expected_output_tokens, override,
local_queue_depth, local_cpu_pct, local_tps, local_ready, cloud_state, cloud_available,
cloud_unavailable_reason, spend_today_usd, spend_month_usd, context_tokens, task,
task_probability, pool, [[type, probability], ...]]` (the task head's best few types), where
`pool` is null when no pool server was configured, else `[server, trusted_server, full,
trusted_full, unavailable_reason, [[name, trusted, availability], ...]]` (`PoolSignals` without
its explanations). The pool sits before the task types so that `[]` followed by a comma still
appears only for an empty PII list (console.report_html relies on that).
Version 2 (still read) has no pool: rows from before the pool was recorded, re-decided as if no
pool was configured then. Version 1 also has no task fields: rows from before the task signal,
which the task rule then passes over; version-1 rows recorded before conversations also lack
context_tokens (0: the prompt fitted).
The leading version number lets a later layout be told apart; a stored trace is a JSON object,
so the first byte (`[` or `{`) tells the two apart as well.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import orjson

from policies.features import Features
from policies.router import Decision, PoolSignals, Signals

INPUTS_VERSION = 3
_OVERRIDES = (None, "local", "pool", "cloud")
_CLOUD_STATES = ("closed", "open", "half_open")
_AVAILABILITY = ("ok", "full", "down", "out")
_LENGTHS = {1: (17, 18), 2: (21,), 3: (22,)}
#: What a version-3 row with no pool configured decodes to (one shared, immutable object).
NO_POOL = PoolSignals()


class RouterInputs(NamedTuple):
    """One row's router inputs. `pool_recorded` is False for rows from before the pool signals
    were recorded (version 1 and 2): their `signals.pool` says "no pool", which is an
    assumption, not a record."""

    features: Features
    signals: Signals
    pool_recorded: bool


#: RouterInputs built in C (a NamedTuple's own `__new__` is Python): what-if decodes 100,000.
_router_inputs = functools.partial(tuple.__new__, RouterInputs)


def encode_inputs(decision: Decision) -> str:
    """The compact, versioned encoding of `decision`'s router inputs (features and signals)."""
    f, s = decision.features, decision.signals
    pool = s.pool
    return orjson.dumps(
        [
            INPUTS_VERSION,
            f.chars,
            f.est_tokens,
            f.pii_count,
            list(f.pii_types),
            f.complexity,
            f.expected_output_tokens,
            f.override,
            s.local_queue_depth,
            s.local_cpu_pct,
            s.local_tps,
            s.local_ready,
            s.cloud_state,
            s.cloud_available,
            s.cloud_unavailable_reason,
            s.spend_today_usd,
            s.spend_month_usd,
            f.context_tokens,
            f.task,
            f.task_probability,
            [
                pool.server,
                pool.trusted_server,
                pool.full,
                pool.trusted_full,
                pool.unavailable_reason,
                [list(server) for server in pool.servers],
            ]
            if pool.configured
            else None,
            [[name, prob] for name, prob in f.task_top],
        ]
    ).decode("utf-8")


#: Decoded pool states by their encoding: rows recorded while the pool stood still share one.
_POOLS: dict[tuple[Any, ...], PoolSignals] = {}


def _pool(value: Any) -> PoolSignals:
    """The PoolSignals of a version-3 `pool` element (checked; shared between equal rows)."""
    if value is None:
        return NO_POOL
    if type(value) is not list or len(value) != 6 or type(value[5]) is not list:
        raise ValueError("router inputs: malformed pool")
    server, trusted_server, full, trusted_full, reason, servers = value
    key = (server, trusted_server, full, trusted_full, reason, *map(tuple, servers))
    pool = _POOLS.get(key)
    if pool is None:
        states = tuple((str(name), bool(trusted), str(state)) for name, trusted, state in servers)
        if any(state not in _AVAILABILITY for _, _, state in states):
            raise ValueError("router inputs: unknown pool server availability")
        pool = PoolSignals(
            configured=True,
            server=str(server),
            trusted_server=str(trusted_server),
            unavailable_reason=str(reason),
            full=bool(full),
            trusted_full=bool(trusted_full),
            servers=states,
        )
        if len(_POOLS) > 4096:  # a long history of changing pool states: keep memory flat
            _POOLS.clear()
        _POOLS[key] = pool
    return pool


def decode_row(data: bytes | str) -> RouterInputs:
    """The router inputs `encode_inputs` wrote (any version), and whether the pool is on record.

    Features carry no complexity breakdown, and the pool no explanations (`why`). Raises
    ValueError for anything that is not a version-1, -2 or -3 encoding (a JSON object, a wrong
    length or type, an unknown override, cloud state or pool availability).
    """
    value: Any = orjson.loads(data)
    if (
        type(value) is not list
        or not value
        or value[0] not in _LENGTHS
        or len(value) not in _LENGTHS[value[0]]
    ):
        raise ValueError("not a version-1, -2 or -3 router inputs array")
    version = value[0]
    context_tokens = value[17] if len(value) > 17 else 0
    task, task_probability, top = ("", 0.0, ()) if version == 1 else value[18:20] + value[-1:]
    (
        _,
        chars,
        est_tokens,
        pii_count,
        pii_types,
        complexity,
        expected,
        override,
        queue,
        cpu,
        tps,
        ready,
        state,
        available,
        reason,
        today,
        month,
    ) = value[:17]
    if override not in _OVERRIDES or state not in _CLOUD_STATES:
        raise ValueError(f"router inputs: bad override {override!r} or cloud state {state!r}")
    try:
        pool = _pool(value[20]) if version == 3 else NO_POOL
        return _router_inputs(
            (
                Features(
                    chars,
                    est_tokens,
                    pii_count,
                    tuple(pii_types),
                    complexity,
                    (),
                    expected,
                    override,
                    context_tokens=int(context_tokens),
                    task=str(task),
                    task_probability=float(task_probability),
                    task_top=tuple([(str(name), float(prob)) for name, prob in top]),
                ),
                Signals(queue, cpu, tps, ready, state, available, reason, today, month, pool),
                version == 3,
            )
        )
    except TypeError as exc:
        raise ValueError(f"router inputs: {exc}") from None


def decode_inputs(data: bytes | str) -> tuple[Features, Signals]:
    """The (Features, Signals) `encode_inputs` wrote: `decode_row` without the pool flag."""
    features, signals, _ = decode_row(data)
    return features, signals
