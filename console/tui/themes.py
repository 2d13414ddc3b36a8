"""The two Textual themes, built from console/tui/palette.py (the one definition of colours).

Textual derives many shades from a theme's base colours, some translucent; the ones the console
draws text with are pinned here to the palette's solid colours, so the contrast test on the
palette holds for what the terminal shows.
"""

from __future__ import annotations

from textual.theme import Theme

from console.tui.palette import PALETTES, THEME_NAMES, Palette


def build_theme(palette: Palette) -> Theme:
    """A Textual theme whose text colours and tier variables come from `palette`."""
    tiers = {f"tier-{tier}": colour for tier, colour in palette.tier_text.items()}
    badges = {}
    for tier, swatch in palette.badges.items():
        badges[f"badge-{tier}"] = swatch.fg
        badges[f"badge-{tier}-background"] = swatch.bg
    return Theme(
        name=THEME_NAMES[palette.name],
        primary=palette.accent,
        secondary=palette.tier_text["pool"],
        accent=palette.accent,
        warning=palette.warning,
        error=palette.error,
        success=palette.success,
        foreground=palette.text,
        background=palette.background,
        surface=palette.surface,
        panel=palette.panel,
        boost=palette.panel,
        dark=palette.name == "dark",
        variables={
            **tiers,
            **badges,
            "text": palette.text,
            "text-muted": palette.muted,
            "text-disabled": palette.muted,
            "foreground-muted": palette.muted,
            "text-primary": palette.accent,
            "text-accent": palette.accent,
            "text-success": palette.success,
            "text-warning": palette.warning,
            "text-error": palette.error,
            "accent-muted": palette.panel,
            "success-muted": palette.panel,
            "warning-muted": palette.panel,
            "error-muted": palette.panel,
            "footer-background": palette.panel,
            "footer-key-foreground": palette.footer_key.fg,
            "footer-key-background": palette.footer_key.bg,
            "footer-description-foreground": palette.text,
            "footer-description-background": palette.panel,
            "footer-item-background": palette.panel,
            "input-placeholder-foreground": palette.muted,
            "input-selection-background": palette.selection.bg,
            "block-cursor-foreground": palette.selection.fg,
            "block-cursor-background": palette.selection.bg,
            "block-cursor-blurred-foreground": palette.text,
            "block-cursor-blurred-background": palette.panel,
            "block-hover-background": palette.panel,
            "scrollbar": palette.muted,
            "scrollbar-background": palette.surface,
        },
    )


THEMES: tuple[Theme, ...] = tuple(build_theme(palette) for palette in PALETTES.values())

__all__ = ["THEMES", "build_theme"]
