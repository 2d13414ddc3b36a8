"""Each config key's explanation, read from the comments above it in config.toml.

The documented config.toml is the one place keys are explained; the policy editor shows those
comments beside each field instead of keeping a second copy that would drift. The file being
edited is read first (it is usually the documented one); keys it does not explain fall back to
the config.toml shipped next to the package.
"""

from __future__ import annotations

import re
from pathlib import Path

#: The documented config.toml of the repository (present in a source checkout).
DOCUMENTED = Path(__file__).resolve().parents[2] / "config.toml"

_SECTION = re.compile(r"^\[([A-Za-z0-9_.]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z0-9_]+)\s*=")


def comments_by_key(text: str) -> dict[str, str]:
    """`section.key` → the comment block above it, as one paragraph. A block explains every
    key that follows it up to a blank line or the next comment (`window` after `error_rate`)."""
    found: dict[str, str] = {}
    section = ""
    pending: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            pending.append(line.lstrip("#").strip())
            continue
        if pending:
            current, pending = " ".join(part for part in pending if part), []
        header = _SECTION.match(line)
        key = _KEY.match(line)
        if header:
            section, current = header.group(1), ""
        elif key and current and section:
            found[f"{section}.{key.group(1)}"] = current
        elif not line:
            current = ""
    return found


def field_help(*paths: Path | None) -> dict[str, str]:
    """Explanations from each readable file in `paths`, then the documented config.toml; the
    first file that explains a key wins."""
    merged: dict[str, str] = {}
    for path in (*paths, DOCUMENTED):
        if path is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for key, comment in comments_by_key(text).items():
            merged.setdefault(key, comment)
    return merged


__all__ = ["comments_by_key", "field_help"]
