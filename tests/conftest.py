"""Shared fixtures. Each engineer's fixtures are named after what they give."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    """The bundled Gemma 3 270M GGUF, assembled into the user cache on first use (no network)."""
    from engines.model import bundled_model_path as assemble_bundled

    return assemble_bundled()
