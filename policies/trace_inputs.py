"""The compact re-decision inputs of a Decision: what `decide` and `decide_target` read, no more.

A stored trace (`Decision.to_dict`) is ~2 KB, most of it rule explanations and the complexity
breakdown, none of which re-deciding needs. The ledger also stores this encoding (~100 bytes)
so what-if scans read a twentieth of the text.

Format, version 2: a JSON array
`[2, chars, est_tokens, pii_count, [pii_types...], complexity, expected_output_tokens, override,
local_queue_depth, local_cpu_pct, local_tps, local_ready, cloud_state, cloud_available,
cloud_unavailable_reason, spend_today_usd, spend_month_usd, context_tokens, task,
task_probability, [[type, probability], ...]]` (the task head's best few types).
Version 1 (still read) has no task fields: rows from before the task signal, which the task rule
then passes over; version-1 rows recorded before conversations also lack context_tokens (0: the
prompt fitted).
The leading version number lets a later layout be told apart; a stored trace is a JSON object,
so the first byte (`[` or `{`) tells the two apart as well.
"""

from __future__ import annotations

from typing import Any

import orjson

from policies.features import Features
from policies.router import Decision, Signals

INPUTS_VERSION = 2
_OVERRIDES = (None, "local", "pool", "cloud")
_CLOUD_STATES = ("closed", "open", "half_open")
_LENGTHS = {1: (17, 18), 2: (21,)}


def encode_inputs(decision: Decision) -> str:
    """The compact, versioned encoding of `decision`'s router inputs (features and signals)."""
    f, s = decision.features, decision.signals
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
            [[name, prob] for name, prob in f.task_top],
        ]
    ).decode("utf-8")


def decode_inputs(data: bytes | str) -> tuple[Features, Signals]:
    """The (Features, Signals) `encode_inputs` wrote; Features carries no complexity breakdown.

    Raises ValueError for anything that is not a version-1 or -2 encoding (a JSON object, a wrong
    length or type, an unknown override or cloud state).
    """
    value: Any = orjson.loads(data)
    if type(value) is not list or not value or value[0] not in (1, 2):
        raise ValueError("not a version-1 or -2 router inputs array")
    if len(value) not in _LENGTHS[value[0]]:
        raise ValueError("not a version-1 or -2 router inputs array")
    context_tokens = value[17] if len(value) > 17 else 0
    task, task_probability, top = value[18:21] if value[0] == 2 else ("", 0.0, [])
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
        return (
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
                task_top=tuple((str(name), float(prob)) for name, prob in top),
            ),
            Signals(queue, cpu, tps, ready, state, available, reason, today, month),
        )
    except TypeError as exc:
        raise ValueError(f"router inputs: {exc}") from None
