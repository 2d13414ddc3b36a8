"""One palette: the colours of the tiers and of the console's text, in a dark and a light theme.

Every screen, badge, bar and the help legend take tier colours from here, and the two Textual
themes are built from the same definitions, so a tier has one colour per theme everywhere.
Text colours are solid (no transparency) so their contrast against each background is a fixed
number: tests/tui/test_palette.py computes every pair the console draws and asks WCAG's 4.5:1.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

#: The routes an answer can take, in the order the help legend lists them.
TIERS: tuple[str, ...] = (
    "local",
    "pool",
    "cloud",
    "redacted",
    "fallback",
    "cancelled",
    "failed",
)

ThemeName = Literal["dark", "light"]


@dataclass(frozen=True)
class Swatch:
    """A foreground on a background: a badge, a key in the footer."""

    fg: str
    bg: str


@dataclass(frozen=True)
class Palette:
    """Every colour one theme draws with (hex)."""

    name: ThemeName
    background: str
    surface: str
    panel: str
    text: str
    muted: str
    accent: str
    success: str
    warning: str
    error: str
    #: A tier named as text on any of the backgrounds (charts, tables, the help legend).
    tier_text: MappingProxyType[str, str]
    #: A tier's badge under an answer.
    badges: MappingProxyType[str, Swatch]
    footer_key: Swatch
    #: The text of a selected row or tab, and of a focused answer's background.
    selection: Swatch

    @property
    def backgrounds(self) -> tuple[str, ...]:
        """Every background text is drawn on."""
        return (self.background, self.surface, self.panel)

    @property
    def texts(self) -> tuple[str, ...]:
        """Every text colour drawn on the backgrounds."""
        return (
            self.text,
            self.muted,
            self.accent,
            self.success,
            self.warning,
            self.error,
            *self.tier_text.values(),
        )

    def tier_style(self, tier: str) -> str:
        """A Rich style for a tier named as text ("local", "cloud", "none" = failed)."""
        key = "failed" if tier == "none" else tier
        return f"bold {self.tier_text[key]}" if key in self.tier_text else "bold"

    def badge_style(self, tier: str) -> str:
        """A Rich style for a tier's badge."""
        swatch = self.badges.get(tier, self.badges["cancelled"])
        return f"bold {swatch.fg} on {swatch.bg}"


DARK = Palette(
    name="dark",
    background="#101317",
    surface="#171b21",
    panel="#20262e",
    text="#e8eaed",
    muted="#aab2bd",
    accent="#8cb4ff",
    success="#6fd08c",
    warning="#f2c14e",
    error="#ff8a80",
    tier_text=MappingProxyType(
        {
            "local": "#6fd08c",
            "pool": "#5fd3d3",
            "cloud": "#8cb4ff",
            "redacted": "#e3a3f5",
            "fallback": "#f2c14e",
            "cancelled": "#b8bec6",
            "failed": "#ff8a80",
        }
    ),
    badges=MappingProxyType(
        {
            "local": Swatch("#0b1f12", "#6fd08c"),
            "pool": Swatch("#0b1f1f", "#5fd3d3"),
            "cloud": Swatch("#0b1526", "#8cb4ff"),
            "redacted": Swatch("#1f0b26", "#e3a3f5"),
            "fallback": Swatch("#261b00", "#f2c14e"),
            "cancelled": Swatch("#16191d", "#b8bec6"),
            "failed": Swatch("#2b0a08", "#ff8a80"),
        }
    ),
    footer_key=Swatch("#8cb4ff", "#20262e"),
    selection=Swatch("#ffffff", "#2f4a7a"),
)

LIGHT = Palette(
    name="light",
    background="#fbfbfc",
    surface="#f1f3f5",
    panel="#e6e9ee",
    text="#16191d",
    muted="#4f5761",
    accent="#0a4fb3",
    success="#13692e",
    warning="#7a4d00",
    error="#b3261e",
    tier_text=MappingProxyType(
        {
            "local": "#13692e",
            "pool": "#075e66",
            "cloud": "#0a4fb3",
            "redacted": "#7a2e9e",
            "fallback": "#7a4d00",
            "cancelled": "#4f5761",
            "failed": "#b3261e",
        }
    ),
    badges=MappingProxyType(
        {
            "local": Swatch("#ffffff", "#13692e"),
            "pool": Swatch("#ffffff", "#075e66"),
            "cloud": Swatch("#ffffff", "#0a4fb3"),
            "redacted": Swatch("#ffffff", "#7a2e9e"),
            "fallback": Swatch("#ffffff", "#7a4d00"),
            "cancelled": Swatch("#ffffff", "#4f5761"),
            "failed": Swatch("#ffffff", "#b3261e"),
        }
    ),
    footer_key=Swatch("#0a4fb3", "#e6e9ee"),
    selection=Swatch("#ffffff", "#0a4fb3"),
)

PALETTES: MappingProxyType[ThemeName, Palette] = MappingProxyType({"dark": DARK, "light": LIGHT})

#: Textual theme names of the two palettes.
THEME_NAMES: MappingProxyType[ThemeName, str] = MappingProxyType(
    {"dark": "switchboard-dark", "light": "switchboard-light"}
)


def palette_for(theme: str) -> Palette:
    """The palette of a Textual theme name (ours, or any other: light ones get LIGHT)."""
    return LIGHT if "light" in theme else DARK


#: Badge kinds (console.outcome.BadgeKind) drawn with another kind's colours.
KIND_TIER: dict[str, str] = {"blocked": "failed", "interrupted": "cancelled"}


def badge_tier(badge: str) -> str:
    """Which palette entry a badge is drawn with (one mapping for every screen): a badge kind
    (console.outcome.BadgeKind, lower case), or a label (stored rows, the help legend)."""
    if badge in TIERS:
        return badge
    if badge in KIND_TIER:
        return KIND_TIER[badge]
    if badge.startswith(("FAILED", "BLOCKED")):
        return "failed"
    if badge.startswith(("CANCELLED", "INTERRUPTED")):
        return "cancelled"
    if badge.startswith("FALLBACK"):
        return "fallback"
    if "redacted" in badge:
        return "redacted"
    if badge.startswith("CLOUD"):
        return "cloud"
    if badge.startswith("POOL"):
        return "pool"
    return "local"


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of a #rrggbb colour."""
    raw = colour.lstrip("#")
    r, g, b = (int(raw[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    lighter, darker = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


__all__ = [
    "DARK",
    "LIGHT",
    "PALETTES",
    "THEME_NAMES",
    "TIERS",
    "Palette",
    "Swatch",
    "badge_tier",
    "contrast",
    "luminance",
    "palette_for",
]
