"""The cost–quality curve: `router.complexity_threshold` swept over the ledger's history.

Each setting is re-decided by the what-if (`policies.whatif.sweep`, no model is called) and
judged on the ledger's quality evidence (`console.evidence.tier_evidence`: ratings and judge
verdicts). The HTML report and the policy editor's plot both draw this one computation.

    history, evidence = read_curve_inputs(ledger)           # slow part: read once, reuse
    curve = threshold_curve(history, evidence, config)      # the setting in force marked
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from policies.config import Config, with_changes
from policies.whatif import ParsedHistory, QualityEstimate, TierEvidence

if TYPE_CHECKING:
    from console.ledger import Ledger

#: The policy editor's sweep: 0 to 1 in steps of 0.05 (21 settings, like `calibrate`).
THRESHOLDS: tuple[float, ...] = tuple(round(step * 0.05, 2) for step in range(21))
#: The key the curve sweeps.
SWEPT_KEY = "router.complexity_threshold"


@dataclass(frozen=True)
class CurvePoint:
    """One threshold: what the history would have cost and its judged quality there."""

    threshold: float
    cost_usd: float
    local_share: float | None
    quality: QualityEstimate | None

    @property
    def quality_share(self) -> float | None:
        """Share of judged requests whose routed tier was good enough (None: none judged)."""
        return None if self.quality is None else self.quality.quality


@dataclass(frozen=True)
class QualityCurve:
    """The sweep, the setting it marks as current, and how much evidence it rests on."""

    points: tuple[CurvePoint, ...]
    current: float
    #: Requests of the history that carry evidence (a rating or a judge verdict).
    evidence: int
    #: Requests re-decided (rows with a readable decision).
    requests: int
    all_cloud: QualityEstimate | None

    @property
    def judged_points(self) -> tuple[CurvePoint, ...]:
        """The points whose quality is known (at least one judged request)."""
        return tuple(point for point in self.points if point.quality_share is not None)

    def point_at(self, threshold: float) -> CurvePoint | None:
        """The swept point at `threshold`, if the sweep has one."""
        return next((p for p in self.points if _has((p.threshold,), threshold)), None)


def read_curve_inputs(
    ledger: Ledger, since_ts: float | None = None
) -> tuple[ParsedHistory, dict[str, TierEvidence]]:
    """The history (parsed once) and the evidence a curve is computed from (reads the file).

    With no evidence in the file the history is not read (a curve without evidence has no
    quality to show, and a million-row scan takes seconds).
    """
    from console.evidence import tier_evidence
    from policies.whatif import read_history

    evidence = tier_evidence(ledger.path)
    if not evidence:
        return ParsedHistory((), 0.0, 0.0), evidence
    return read_history(ledger.iter_history(since_ts=since_ts)), evidence


def threshold_curve(
    history: ParsedHistory,
    evidence: Mapping[str, TierEvidence],
    config: Config,
    thresholds: Sequence[float] = THRESHOLDS,
) -> QualityCurve:
    """Sweep `router.complexity_threshold` over `thresholds` with every other key of `config`.

    The curve marks `config`'s own threshold as current; it is swept too when `thresholds`
    lacks it, so the mark always sits on the curve.
    """
    from policies.whatif import sweep

    current = config.router.complexity_threshold
    values = sorted({*thresholds, *(() if _has(thresholds, current) else (current,))})
    settings = [(value, with_changes(config, {SWEPT_KEY: value})) for value in values]
    results = sweep(history, config, settings, evidence=evidence)
    points = tuple(
        CurvePoint(
            threshold=point.value,
            cost_usd=point.result.cost_after_usd,
            local_share=(
                point.result.local_after / point.result.decided if point.result.decided else None
            ),
            quality=point.result.quality_after,
        )
        for point in results
    )
    first = results[0].result if results else None
    return QualityCurve(
        points=points,
        current=current,
        evidence=first.quality_after.evidence if first and first.quality_after else 0,
        requests=first.decided if first else 0,
        all_cloud=first.quality_all_cloud if first else None,
    )


def _has(values: Sequence[float], value: float) -> bool:
    return any(abs(item - value) < 1e-9 for item in values)
