"""Where copies and screenshots go: the per-user state directory, so a copy the terminal
refused (OSC 52 is often off, and silently) is never lost, and a screenshot never needs a
~/Downloads that servers do not have."""

from __future__ import annotations

import time
from pathlib import Path


def state_dir() -> Path:
    """The per-user state directory of Switchboard ($XDG_STATE_HOME/switchboard on Linux)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("switchboard"))


def save_copy(text: str, stem: str) -> Path:
    """Write `text` to a new file under the state directory's `copies/`; its path."""
    folder = state_dir() / "copies"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["save_copy", "state_dir"]
