"""Quality evidence, kept in the ledger's SQLite file: ratings of answers and judge verdicts.

Three tables of their own beside the ledger's, part of its schema (console.ledger, version 5,
which upgrades older files); nothing here writes `requests`:
- `evidence_ratings`  one good/bad rating per request (from the console's rating key, or `rate`)
- `eval_items`        one row per judged prompt of `switchboard eval`: the two request ids (the
                      prompt forced local and forced cloud), the verdict, and per tier whether
                      its answer was good enough
- `eval_judgments`    one row per judge call (two per prompt: the answers in both orders)

Every write commits at once (WAL), so an eval killed with -9 keeps every finished prompt and
resumes after it; an item left half-done is judged again from the start.

`tier_evidence` turns all of it into what what-if and calibrate read: per request id, whether
each tier was good enough, where known.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from console.ledger import LedgerError, connect_current
from policies.config import SetupError
from policies.whatif import TierEvidence

Verdict = Literal["local as good", "cloud better", "no verdict"]
Preference = Literal["local", "cloud", "tie"]
VERDICTS: tuple[Verdict, ...] = ("local as good", "cloud better", "no verdict")

#: Judge output kept per call: enough to see why it could not be parsed.
_RAW_LIMIT = 2000


class EvidenceError(SetupError):
    """A rating or verdict that cannot be stored (unknown request, unusable file)."""


@dataclass(frozen=True)
class ItemVerdict:
    """The outcome of one judged prompt: the verdict and, per tier, whether it was good enough."""

    verdict: Verdict
    local_good: bool | None
    cloud_good: bool | None


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        conn = connect_current(path)
    except LedgerError as exc:
        raise EvidenceError(str(exc)) from None
    try:
        conn.execute("PRAGMA synchronous=NORMAL")
        yield conn
    except sqlite3.DatabaseError as exc:
        raise EvidenceError(f"{path}: cannot use the ledger for evidence: {exc}") from None
    finally:
        conn.close()


def rate(db: Path, request_id: str, good: bool) -> str:
    """Store a good/bad rating of the answer of `request_id`; return the tier that answered.

    A second rating of the same request replaces the first. Raises EvidenceError when the
    request is not in the ledger or did not run on a tier.
    """
    with _connect(db) as conn:
        row = conn.execute(
            "SELECT tier FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None:
            raise EvidenceError(f"{db}: no request {request_id!r} in the ledger to rate")
        tier = str(row[0])
        if tier not in ("local", "pool", "cloud"):
            raise EvidenceError(f"request {request_id!r} has no answer to rate (tier {tier})")
        conn.execute(
            "INSERT OR REPLACE INTO evidence_ratings (request_id, tier, good, ts) "
            "VALUES (?, ?, ?, ?)",
            (request_id, tier, int(good), time.time()),
        )
    return tier


def rating(db: Path, request_id: str) -> bool | None:
    """The stored rating of `request_id` (True good, False bad), or None."""
    with _connect(db) as conn:
        row = conn.execute(
            "SELECT good FROM evidence_ratings WHERE request_id = ?", (request_id,)
        ).fetchone()
    return None if row is None else bool(row[0])


def item_key(prompt: str, reference: str | None, judge: str) -> str:
    """The identity of one eval prompt under one judge: what resuming skips on."""
    text = f"{prompt}\x00{reference or ''}\x00{judge}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def done_items(db: Path) -> set[str]:
    """Keys of the eval prompts already judged (resuming skips them)."""
    with _connect(db) as conn:
        return {str(row[0]) for row in conn.execute("SELECT item_key FROM eval_items")}


def start_item(db: Path, key: str) -> None:
    """Forget the judge calls of a half-done item before judging it again."""
    with _connect(db) as conn:
        conn.execute("DELETE FROM eval_judgments WHERE item_key = ?", (key,))


def record_judgment(
    db: Path,
    key: str,
    call: int,
    first: Literal["local", "cloud"],
    preference: Preference | None,
    raw: str,
) -> None:
    """Store one judge call: which answer was shown first, what it preferred (None: unparsed)."""
    with _connect(db) as conn:
        conn.execute(
            "INSERT INTO eval_judgments (item_key, call, first, preference, raw, ts) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, call, first, preference, raw[:_RAW_LIMIT], time.time()),
        )


@dataclass(frozen=True)
class Judgment:
    """One stored judge call: which answer was shown first, what it preferred, what it said."""

    call: int
    first: Literal["local", "cloud"]
    preference: Preference | None
    raw: str


def judgments(db: Path, key: str) -> tuple[Judgment, ...]:
    """The stored judge calls of eval item `key`, in call order (the reason behind a verdict)."""
    with _connect(db) as conn:
        rows = conn.execute(
            "SELECT call, first, preference, raw FROM eval_judgments WHERE item_key = ? "
            "ORDER BY call, id",
            (key,),
        ).fetchall()
    return tuple(
        Judgment(
            int(call),
            "cloud" if first == "cloud" else "local",
            preference if preference in ("local", "cloud", "tie") else None,
            str(raw),
        )
        for call, first, preference, raw in rows
    )


def record_item(
    db: Path,
    key: str,
    *,
    prompt: str,
    method: str,
    judge: str,
    local_request_id: str,
    cloud_request_id: str,
    outcome: ItemVerdict,
) -> None:
    """Store the verdict of one eval prompt (the last write of an item: it marks it done)."""
    with _connect(db) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO eval_items (item_key, prompt_hash, method, judge, "
            "local_request_id, cloud_request_id, verdict, local_good, cloud_good, ts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                hashlib.sha256(prompt.encode("utf-8")).hexdigest(),
                method,
                judge,
                local_request_id,
                cloud_request_id,
                outcome.verdict,
                None if outcome.local_good is None else int(outcome.local_good),
                None if outcome.cloud_good is None else int(outcome.cloud_good),
                time.time(),
            ),
        )


def verdict_counts(db: Path) -> dict[str, int]:
    """How many eval prompts carry each verdict."""
    counts: dict[str, int] = dict.fromkeys(VERDICTS, 0)
    with _connect(db) as conn:
        for verdict, count in conn.execute(
            "SELECT verdict, COUNT(*) FROM eval_items GROUP BY verdict"
        ):
            counts[str(verdict)] = int(count)
    return counts


def tier_evidence(db: Path) -> dict[str, TierEvidence]:
    """Per request id, what the evidence says of each tier (what-if and calibrate read this).

    An eval prompt's evidence sits on its forced-local request, marked `eval_pair`: what-if
    re-decides it without the forcing, as the router would have routed it. A rating says
    whether the tier that answered was good; the other tier stays unknown.
    """
    evidence: dict[str, TierEvidence] = {}
    if not db.exists():
        return evidence
    with _connect(db) as conn:
        for request_id, tier, good in conn.execute(
            "SELECT request_id, tier, good FROM evidence_ratings"
        ):
            ok = bool(good)
            evidence[str(request_id)] = TierEvidence(
                local_good=ok if tier == "local" else None,
                cloud_good=ok if tier == "cloud" else None,
                eval_pair=False,
            )
        for request_id, local_good, cloud_good in conn.execute(
            "SELECT local_request_id, local_good, cloud_good FROM eval_items "
            "WHERE verdict != 'no verdict'"
        ):
            evidence[str(request_id)] = TierEvidence(
                local_good=None if local_good is None else bool(local_good),
                cloud_good=None if cloud_good is None else bool(cloud_good),
                eval_pair=True,
            )
    return evidence


# --- judging -----------------------------------------------------------------------------------

JUDGE_SYSTEM = (
    "You are a strict, impartial judge of answers to a user's question. Compare the two "
    "answers below for correctness, helpfulness and completeness. Do not let the order of the "
    "answers, their length or their style sway you. Give a short reason, then your verdict "
    "on the last line, exactly: [[A]] if answer A is better, [[B]] if answer B is better, or "
    "[[C]] if they are about equally good."
)
_VERDICT_MARK = re.compile(r"\[\[\s*([ABC])\s*\]\]")


def judge_messages(prompt: str, first: str, second: str) -> list[dict[str, str]]:
    """The chat messages of one pairwise judge call: answer A is `first`, B is `second`."""
    user = (
        f"[Question]\n{prompt}\n\n[Answer A]\n{first}\n[End of answer A]\n\n"
        f"[Answer B]\n{second}\n[End of answer B]"
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


def parse_preference(text: str, first: Literal["local", "cloud"]) -> Preference | None:
    """Which tier the judge preferred, given which was shown first; None when unparseable.

    The judge must name exactly one verdict mark; none, or marks that disagree, is no verdict.
    """
    marks = set(_VERDICT_MARK.findall(text))
    if len(marks) != 1:
        return None
    mark = marks.pop()
    if mark == "C":
        return "tie"
    second: Literal["local", "cloud"] = "cloud" if first == "local" else "local"
    return first if mark == "A" else second


def combine(first_call: Preference | None, second_call: Preference | None) -> ItemVerdict:
    """The verdict of the two calls (answers in both orders), as MT-Bench combines them.

    Cloud is better only when both calls say so; calls that disagree count as a tie, since a
    preference that flips with the order is position bias, not quality.
    """
    if first_call is None or second_call is None:
        return ItemVerdict("no verdict", None, None)
    if first_call == second_call == "cloud":
        return ItemVerdict("cloud better", False, True)
    return ItemVerdict("local as good", True, True)


_NORMALISE = re.compile(r"[^a-z0-9]+")


def _normal(text: str) -> str:
    return f" {_NORMALISE.sub(' ', text.lower()).strip()} "


def reference_verdict(reference: str, local_answer: str, cloud_answer: str) -> ItemVerdict:
    """Exact-match scoring: an answer is good when it contains the reference as whole words."""
    wanted = _normal(reference)
    if not wanted.strip():
        return ItemVerdict("no verdict", None, None)
    local_good = wanted in _normal(local_answer)
    cloud_good = wanted in _normal(cloud_answer)
    if not local_good and cloud_good:
        return ItemVerdict("cloud better", False, True)
    return ItemVerdict("local as good", local_good, cloud_good)
