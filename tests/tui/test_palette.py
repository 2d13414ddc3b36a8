"""One palette, two readable themes: every text/background pair the console draws is computed
from the theme definitions and must reach WCAG's 4.5:1; every screen takes tier colours from it."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from console.tui.palette import PALETTES, TIERS, Palette, badge_tier, contrast
from console.tui.themes import THEMES

WCAG_TEXT = 4.5
TUI = Path(__file__).resolve().parents[2] / "console" / "tui"


def test_contrast_matches_wcag_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)


def pairs(palette: Palette) -> list[tuple[str, str, str]]:
    """(what, fg, bg) for every pair the console draws with this palette."""
    found = [
        (f"text {fg} on {bg}", fg, bg)
        for fg, bg in itertools.product(palette.texts, palette.backgrounds)
    ]
    found += [(f"badge {tier}", s.fg, s.bg) for tier, s in palette.badges.items()]
    found.append(("footer key", palette.footer_key.fg, palette.footer_key.bg))
    found.append(("selection", palette.selection.fg, palette.selection.bg))
    return found


@pytest.mark.parametrize("name", list(PALETTES))
def test_every_pair_is_readable(name: str) -> None:
    palette = PALETTES[name]  # type: ignore[index]
    low = [
        (what, round(contrast(fg, bg), 2))
        for what, fg, bg in pairs(palette)
        if contrast(fg, bg) < WCAG_TEXT
    ]
    assert not low, low


@pytest.mark.parametrize("name", list(PALETTES))
def test_every_tier_has_a_colour_and_a_badge(name: str) -> None:
    palette = PALETTES[name]  # type: ignore[index]
    assert set(palette.tier_text) == set(TIERS) == set(palette.badges)
    # Tiers are told apart: no two tiers share a badge background.
    assert len({swatch.bg for swatch in palette.badges.values()}) == len(TIERS)


def test_the_textual_themes_pin_text_colours_to_the_palette() -> None:
    for theme, palette in zip(THEMES, PALETTES.values(), strict=True):
        variables = theme.variables
        assert variables["text-muted"] == palette.muted
        assert variables["footer-key-foreground"] == palette.footer_key.fg
        assert variables["input-placeholder-foreground"] == palette.muted
        for tier in TIERS:
            assert variables[f"tier-{tier}"] == palette.tier_text[tier]
            assert variables[f"badge-{tier}-background"] == palette.badges[tier].bg


@pytest.mark.parametrize(
    ("badge", "tier"),
    [
        ("LOCAL", "local"),
        ("CLOUD", "cloud"),
        ("CLOUD·redacted", "redacted"),
        ("FALLBACK local→cloud", "fallback"),
        ("FALLBACK cloud→local", "fallback"),
        ("FAILED", "failed"),
        ("BLOCKED", "failed"),
        ("CANCELLED", "cancelled"),
    ],
)
def test_badge_tiers(badge: str, tier: str) -> None:
    assert badge_tier(badge) == tier


def test_no_screen_names_a_colour_of_its_own() -> None:
    """Tier colours come from the palette: no screen or widget spells a Rich colour name."""
    named = re.compile(
        r"style\b.*[\"\s](green|blue|magenta|yellow|red|grey\d*|dark_red|cyan)([\"\s]|$)"
    )
    offenders = []
    for path in TUI.rglob("*.py"):
        if path.name in ("palette.py", "themes.py"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if named.search(line):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert not offenders, offenders
