"""The policy editor's cost–quality plot (textual-plotext): a complexity threshold sweep.

x is what the ledger's history would have cost at each threshold, y its judged quality on the
requests that carry evidence (console.quality_curve); the setting on the form is marked. With
no evidence, or none judged, the widget says so in words instead of drawing an empty plot.
The widget only draws: the curve is computed in a worker by the screen that shows it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static
from textual_plotext import PlotextPlot

from console.quality_curve import QualityCurve
from console.tui.palette import Palette
from console.tui.words import money, percent

#: Said when the ledger holds no rating or verdict.
NO_EVIDENCE = (
    "No quality evidence in the ledger yet, so no cost–quality curve: rate answers (f11 good, "
    "f12 bad), judge a comparison (f5, then ctrl+j), or run `switchboard eval FILE.jsonl`."
)


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def current_label(threshold: float) -> str:
    """The marked setting, as the plot's legend and the caption name it."""
    return f"current {threshold:g}"


def caption(curve: QualityCurve) -> str:
    """The curve in words: the current setting's cost and quality, and the evidence behind it."""
    if curve.evidence == 0:
        return NO_EVIDENCE
    lines = []
    point = curve.point_at(curve.current)
    if point is not None:
        quality = point.quality
        judged = (
            f"quality {percent(quality.quality)} ({quality.good} of {quality.judged} judged good)"
            if quality is not None and quality.quality is not None
            else "quality unknown (no evidence for the tiers it routes to)"
        )
        lines.append(f"{current_label(curve.current)}: cost {money(point.cost_usd)}, {judged}")
    cloud = curve.all_cloud
    all_cloud = (
        f"; all cloud: {percent(cloud.quality)}"
        if cloud is not None and cloud.quality is not None
        else ""
    )
    noun = "request carries" if curve.evidence == 1 else "requests carry"
    lines.append(f"{curve.evidence} {noun} evidence (of {curve.requests} re-decided){all_cloud}")
    if not curve.judged_points:
        lines.append("None of it is judged for the tiers these settings route to: no curve yet.")
    return "\n".join(lines)


class QualityPlot(Vertical):
    """Cost (x) against judged quality (y) over the threshold sweep, the current one marked."""

    DEFAULT_CSS = """
    QualityPlot {
        height: auto;
    }
    QualityPlot > PlotextPlot {
        height: 12;
    }
    QualityPlot > PlotextPlot.-empty {
        display: none;
    }
    QualityPlot > #quality-caption {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.curve: QualityCurve | None = None

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="quality-chart", classes="-empty")
        yield Static("Cost–quality: computing…", id="quality-caption")

    def say(self, message: str) -> None:
        """Words instead of a plot (computing, no ledger, a failure)."""
        self.curve = None
        self.query_one(PlotextPlot).add_class("-empty")
        self.query_one("#quality-caption", Static).update(Text(message))

    def show_curve(self, curve: QualityCurve, palette: Palette) -> None:
        """Draw `curve` (or say why there is nothing to draw) with the colours of `palette`."""
        self.curve = curve
        chart = self.query_one(PlotextPlot)
        self.query_one("#quality-caption", Static).update(Text(caption(curve)))
        judged = curve.judged_points
        chart.set_class(not judged, "-empty")
        if not judged:
            return
        plt = chart.plt
        plt.clear_data()
        plt.clear_figure()
        costs = [point.cost_usd for point in judged]
        shares = [100 * (point.quality_share or 0.0) for point in judged]
        plt.plot(costs, shares, marker="braille", color=_rgb(palette.accent), label="threshold 0→1")
        current = curve.point_at(curve.current)
        if current is not None and current.quality_share is not None:
            plt.scatter(
                [current.cost_usd],
                [100 * current.quality_share],
                marker="●",
                color=_rgb(palette.warning),
                label=current_label(curve.current),
            )
        low, high = min(costs), max(costs)
        pad = (high - low) * 0.05 or max(high * 0.05, 1e-6)
        plt.xlim(low - pad, high + pad)
        plt.xticks([low, high], [money(low), money(high)])
        plt.ylim(0, 105)
        plt.yticks([0, 50, 100], ["0%", "50%", "100%"])
        plt.xlabel("cost of the history")
        plt.ylabel("judged quality")
        chart.refresh()
