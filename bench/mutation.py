"""Mutation run over the modules that carry the promises, with cosmic-ray.

For each module: copy the tracked files of the repository to a scratch directory (cosmic-ray
edits the module on disk), check that the module's tests pass unmutated (baseline), let
`cosmic-ray init` enumerate every mutant, keep a seeded random sample of `--max-mutants` of them
(the others are marked skipped in cosmic-ray's own session database), run them with
`cosmic-ray exec`, and read the outcomes back from the session. Each mutant runs only the tests
that guard its module (MODULE_TESTS), with `-x`, so a killed mutant stops at its first failure.

Score = killed / (killed + survived). Mutants that time out count as killed (the suite did not
pass), as cosmic-ray counts them; incompetent ones (the mutant cannot even be imported) are
shown apart and left out of the score. Survivors are listed with their diff line.

Mutants inside type annotations (`int | None` -> `int * None`) are left out before sampling:
every module here has `from __future__ import annotations`, so annotations are never evaluated
and such a mutant is equivalent to the original; no test can kill it.

    python bench/mutation.py                          # every module, 6 mutants each, seed 9
    python bench/mutation.py --module console/dispatch.py --max-mutants 20 --seed 1

Last line: `mutation_score X`.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

ROOT = Path(__file__).resolve().parent.parent

#: The tests that guard each promise-carrying module.
MODULE_TESTS: dict[str, tuple[str, ...]] = {
    "console/dispatch.py": ("tests/test_dispatch_promises.py", "tests/test_dispatch.py"),
    "policies/router.py": (
        "tests/test_dispatch_promises.py",
        "tests/test_router.py",
        "tests/test_pool_route.py",
        "tests/test_whatif.py",
    ),
    "policies/pii.py": ("tests/test_dispatch_promises.py", "tests/test_pii.py"),
    "console/ledger.py": ("tests/test_ledger.py", "tests/test_spool.py"),
    "engines/breaker.py": ("tests/test_breaker.py",),
    "engines/cloud.py": ("tests/test_dispatch_promises.py", "tests/test_cloud.py"),
}


@dataclass
class ModuleRun:
    """The outcome of one module's sampled mutants."""

    module: str
    total: int = 0
    sampled: int = 0
    in_annotations: int = 0
    killed: int = 0
    survived: int = 0
    incompetent: int = 0
    seconds: float = 0.0
    baseline_ok: bool = True
    survivors: list[str] = field(default_factory=list)

    @property
    def score(self) -> float | None:
        """killed / (killed + survived), None without a scored mutant."""
        scored = self.killed + self.survived
        return self.killed / scored if scored else None


def _copy_tree(target: Path) -> None:
    """The tracked files of the repository (as they are on disk now) under `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        relative = Path(raw.decode())
        source = ROOT / relative
        if source.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)


def _annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions (line, column) of every annotation in `source`."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            annotations.append(node.annotation)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        for annotation in annotations:
            if annotation is not None and annotation.end_lineno is not None:
                start = (annotation.lineno, annotation.col_offset)
                spans.append((start, (annotation.end_lineno, annotation.end_col_offset or 0)))
    return spans


def _in_annotation(
    position: tuple[int, int], spans: list[tuple[tuple[int, int], tuple[int, int]]]
) -> bool:
    return any(start <= position < end for start, end in spans)


def _test_command(module: str) -> str:
    tests = " ".join(MODULE_TESTS[module])
    return f"{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"


def _config(module: str, timeout_s: float) -> str:
    return (
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {timeout_s}\n"
        "excluded-modules = []\n"
        f'test-command = "{_test_command(module)}"\n\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def _run(args: list[str], cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )


def _survivor_line(module: str, diff: str | None) -> str:
    """`module: - old / + new` from a mutant's diff."""
    removed = added = ""
    for line in (diff or "").splitlines():
        if line.startswith("-") and not line.startswith("---"):
            removed = removed or line[1:].strip()
        elif line.startswith("+") and not line.startswith("+++"):
            added = added or line[1:].strip()
    return f"{module}: - {removed[:70]}  + {added[:70]}"


def run_module(module: str, max_mutants: int, seed: int, timeout_s: float) -> ModuleRun:
    """Sample and run the mutants of one module in a scratch copy of the repository."""
    result = ModuleRun(module)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="switchboard-mutation-") as scratch:
        work = Path(scratch) / "repo"
        _copy_tree(work)
        baseline = _run(_test_command(module).split(), work, timeout_s * 4)
        if baseline.returncode != 0:
            result.baseline_ok = False
            print(f"{module}: its tests fail unmutated; skipped\n{baseline.stdout[-2000:]}")
            return result
        (work / "cosmic-ray.toml").write_text(_config(module, timeout_s))
        session = work / "session.sqlite"
        init = _run(
            [sys.executable, "-m", "cosmic_ray.cli", "init", "cosmic-ray.toml", str(session)],
            work,
            600,
        )
        if init.returncode != 0:
            raise SystemExit(f"cosmic-ray init failed for {module}: {init.stderr[-2000:]}")
        spans = _annotation_spans((work / module).read_text(encoding="utf-8"))
        with use_db(str(session), WorkDB.Mode.open) as db:
            items = list(db.work_items)
            result.total = len(items)
            live = [
                item
                for item in items
                if not any(_in_annotation(tuple(m.start_pos), spans) for m in item.mutations)
            ]
            result.in_annotations = len(items) - len(live)
            chosen = random.Random(f"{seed}:{module}").sample(live, min(max_mutants, len(live)))
            keep = {item.job_id for item in chosen}
            db.set_multiple_results(
                [item.job_id for item in items if item.job_id not in keep],
                WorkResult(worker_outcome=WorkerOutcome.SKIPPED),
            )
        result.sampled = len(keep)
        execute = _run(
            [sys.executable, "-m", "cosmic_ray.cli", "exec", "cosmic-ray.toml", str(session)],
            work,
            timeout_s * (len(keep) + 1) * 2,
        )
        if execute.returncode != 0:
            raise SystemExit(f"cosmic-ray exec failed for {module}: {execute.stderr[-2000:]}")
        with use_db(str(session), WorkDB.Mode.open) as db:
            for job_id, outcome in db.results:
                if job_id not in keep:
                    continue
                if outcome.worker_outcome in (WorkerOutcome.EXCEPTION, WorkerOutcome.ABNORMAL):
                    result.incompetent += 1
                elif outcome.test_outcome == TestOutcome.SURVIVED:
                    result.survived += 1
                    result.survivors.append(_survivor_line(module, outcome.diff))
                elif outcome.test_outcome == TestOutcome.INCOMPETENT:
                    result.incompetent += 1
                else:
                    result.killed += 1
    result.seconds = time.monotonic() - started
    return result


def main() -> None:
    """Run the sampled mutants of each module and print the table, survivors and the score."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(MODULE_TESTS),
        help="a module to mutate (repeatable; default: all of them)",
    )
    parser.add_argument("--max-mutants", type=int, default=6, help="mutants sampled per module")
    parser.add_argument("--seed", type=int, default=9, help="seed of the sample")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds one mutant's tests may take"
    )
    args = parser.parse_args()
    modules = args.module or list(MODULE_TESTS)
    runs = [run_module(m, args.max_mutants, args.seed, args.timeout) for m in modules]
    print(
        f"{'module':<22} {'mutants':>7} {'in annot.':>9} {'sampled':>7} {'killed':>6} "
        f"{'survived':>8} {'incompetent':>11} {'score':>6} {'seconds':>8}"
    )
    for run in runs:
        score = "-" if run.score is None else f"{run.score:.2f}"
        if not run.baseline_ok:
            score = "no baseline"
        print(
            f"{run.module:<22} {run.total:>7} {run.in_annotations:>9} {run.sampled:>7} "
            f"{run.killed:>6} "
            f"{run.survived:>8} {run.incompetent:>11} {score:>6} {run.seconds:>8.0f}"
        )
    survivors = [line for run in runs for line in run.survivors]
    print(f"survivors ({len(survivors)}):")
    for line in survivors:
        print(f"  {line}")
    killed = sum(run.killed for run in runs)
    scored = killed + sum(run.survived for run in runs)
    print(f"seed {args.seed}, {args.max_mutants} mutants per module, tests per module with -x")
    print(f"mutation_score {killed / scored if scored else 0.0:.2f}")


if __name__ == "__main__":
    main()
