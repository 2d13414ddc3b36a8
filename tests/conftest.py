"""Shared fixtures. Each engineer's fixtures are named after what they give."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engines.demo import DemoServer


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own state directory (the ledger spool lives there), never the user's."""
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(scope="session")
def bundled_model_path() -> Path:
    """The bundled Gemma 3 270M GGUF, assembled into the user cache on first use (no network)."""
    from engines.model import bundled_model_path as assemble_bundled

    return assemble_bundled()


@pytest.fixture(scope="session")
def openai_server(bundled_model_path: Path) -> Iterator[DemoServer]:
    """One real OpenAI-compatible server (llama_cpp.server on 127.0.0.1, bundled model) per run.

    Stopped by its pid at the end of the session.
    """
    from engines.demo import DemoServer
    from engines.model import resolve_model

    server = DemoServer(resolve_model("bundled"))
    server.start_blocking()
    try:
        yield server
    finally:
        server.stop_blocking()
