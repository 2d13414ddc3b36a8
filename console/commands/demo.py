"""`switchboard demo`: a paced, narrated replay in the console with the presenter view on.

The policy preset and the script come from examples/ unless given; the preset is copied to a
temporary directory (the budget step edits the copy, never your config.toml) with a fresh
ledger there unless `--db` is given, so the figures on screen are the demo's own.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from policies.config import SetupError

if TYPE_CHECKING:
    from collections.abc import Callable

    from console.cli_context import CliContext
    from console.runtime import Runtime

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@click.command()
@click.option(
    "--pace",
    type=click.FloatRange(0.0, 600.0),
    default=4.0,
    show_default=True,
    help="Seconds between prompts (ctrl+g pauses, ctrl+r steps).",
)
@click.option(
    "--script",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Demo steps, JSONL (default: examples/demo_script.jsonl).",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Policy preset, TOML (default: examples/demo_policy.toml).",
)
@click.option(
    "--demo-cloud",
    "demo_cloud",
    is_flag=True,
    help="Use the bundled model on 127.0.0.1 as the cloud tier (as the global --demo-cloud).",
)
@click.option("--theme", type=click.Choice(["dark", "light"]), default=None, help="Colours.")
@click.pass_obj
def demo(
    cli_ctx: CliContext,
    pace: float,
    script: Path | None,
    policy: Path | None,
    demo_cloud: bool,
    theme: str | None,
) -> None:
    """A narrated demo of every routing path, with the presenter view."""
    from console.cli_context import CliContext
    from console.tui.app import SwitchboardApp, run_tui
    from console.tui.demo import DemoApp, read_script

    script = script or EXAMPLES / "demo_script.jsonl"
    policy = policy or EXAMPLES / "demo_policy.toml"
    if not policy.is_file():
        raise SetupError(f"demo policy {policy}: not found (pass --policy FILE)")
    if not script.is_file():
        raise SetupError(f"demo script {script}: not found (pass --script FILE)")
    steps = read_script(script)
    workdir = Path(tempfile.mkdtemp(prefix="switchboard-demo-"))
    shutil.copy(policy, workdir / "config.toml")
    ctx = CliContext(
        config_path=workdir / "config.toml",
        db_path=cli_ctx.db_path or workdir / "ledger.sqlite",
        demo_cloud=cli_ctx.demo_cloud or demo_cloud,
    )
    _ = ctx.config  # a broken preset fails here, with its line, before the screen opens

    def make(runtime: Callable[[], Runtime], **kwargs: Any) -> SwitchboardApp:
        if theme is not None:
            kwargs["theme"] = theme
        return DemoApp(runtime, steps, pace_s=pace, **kwargs)

    try:
        run_tui(ctx, app_factory=make)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
