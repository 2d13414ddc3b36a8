"""Small text helpers shared by the panels: bars, durations, sizes (money: console.tui.words)."""

from __future__ import annotations

from textual.content import Content


def level_style(fraction: float) -> str:
    """Theme colour of a load or budget level: calm, warm, hot."""
    if fraction >= 0.85:
        return "$error"
    if fraction >= 0.5:
        return "$warning"
    return "$success"


def bar(fraction: float, width: int, style: str | None = None) -> Content:
    """A horizontal bar `width` cells wide, filled to `fraction` (clamped to 0-1)."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return Content.assemble(
        ("█" * filled, style or level_style(fraction)),
        ("░" * (width - filled), "$foreground-muted"),
    )


def seconds(value: float | None) -> str:
    """A duration: milliseconds below one second, "—" when unknown."""
    if value is None:
        return "—"
    if value < 1.0:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"


def tps(value: float | None) -> str:
    """Tokens per second, "—" when unknown."""
    return "—" if value is None else f"{value:.1f} tok/s"


def size(n_bytes: int) -> str:
    """A memory size in MiB or GiB."""
    mib = n_bytes / (1024 * 1024)
    return f"{mib / 1024:.2f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"
