"""A replay's running totals agree with a recount of its results after every one added."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from console.dispatch import RequestResult
from console.replay import ReplaySummary
from policies.prices import cloud_cost
from tests.tui.results import cloud_answer, local_answer


def results() -> list[RequestResult]:
    """Answered locally and by the cloud, kept local for PII, redacted, failed, unpriced."""
    plain = local_answer("Write a haiku about rain.", "Rain on the roof.")
    private = local_answer(
        "Email jane.doe@example.com a thank-you note.", "Dear Jane,", pii_types=("EMAIL_ADDRESS",)
    )
    analysis = "Compare three database indexing strategies for a write-heavy workload in depth."
    cloud = cloud_answer(analysis, "B-trees...")
    redacted = cloud_answer(
        f"{analysis} Ask John Smith.",
        "B-trees...",
        sent_text=f"{analysis} Ask <PERSON_1>.",
        pii_types=("PERSON",),
    )
    failed = replace(
        plain, request_id="failed-1", status="failed", tier="none", cost=None, usage=None
    )
    unpriced = replace(cloud, request_id="unpriced-1", cost=cloud_cost("no-such-model", 10, 10, {}))
    return [plain, private, cloud, redacted, failed, unpriced, plain, cloud]


def recount(items: list[RequestResult]) -> dict[str, object]:
    """The totals counted afresh from the results, the plain way."""
    return {
        "failed": sum(r.status in ("failed", "cancelled", "interrupted") for r in items),
        "by_tier": Counter(r.tier for r in items),
        "by_rule": Counter(r.decision.fired for r in items),
        "redacted": sum(r.redacted for r in items),
        "kept_local_for_privacy": sum(bool(r.pii_types) and r.tier == "local" for r in items),
        "cost_usd": pytest.approx(sum(r.cost.total_usd for r in items if r.cost is not None)),
        "cloud_only_usd": pytest.approx(sum(r.counterfactual_usd or 0.0 for r in items)),
        "unpriced": sum(r.cost is not None and not r.cost.known for r in items),
    }


def totals(summary: ReplaySummary) -> dict[str, object]:
    return {name: getattr(summary, name) for name in recount([])}


def test_every_total_matches_a_recount_after_each_result() -> None:
    items = results()
    summary = ReplaySummary()
    for count, result in enumerate(items, start=1):
        summary.add(result)
        assert totals(summary) == recount(items[:count])
    # The sample gives every total a non-zero value, so a total never kept would show.
    assert all(totals(summary).values()), totals(summary)
    assert summary.to_dict()["summary"]["prompts"] == len(items)


def test_results_given_at_construction_are_counted_and_totals_are_copies() -> None:
    items = results()
    summary = ReplaySummary(results=list(items))
    assert totals(summary) == recount(items)
    summary.by_tier["local"] += 100
    assert summary.by_tier == recount(items)["by_tier"]
