"""The headless core never imports Textual: the TUI only renders and dispatches.

Each module is imported in a fresh interpreter (as Harlequin does) so that an import made by any
other test cannot hide a violation; import-linter checks the same contracts statically.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEADLESS = sorted(
    {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in ("engines", "policies")
        for path in (ROOT / package).glob("*.py")
        if path.name != "__init__.py"
    }
    | {"console.dispatch", "console.ledger", "console.runtime", "console.cli"}
    | {"console.evidence", "console.judge"}
)


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; sys.exit(3 if 'textual' in sys.modules else 0)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, f"{module}: exit {done.returncode}\n{done.stderr[-2000:]}"


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
