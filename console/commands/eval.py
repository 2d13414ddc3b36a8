"""`switchboard eval FILE.jsonl`: ask both tiers, judge the two answers, store the verdicts.

Each line is `{"prompt": ...}`, optionally with `"reference": ...`. Every prompt goes through the
dispatcher twice, forced local and forced cloud (two ledger rows, tagged "eval"). With a
reference, an answer is good when it contains the reference (exact match on normalised words);
without, a judge model (any OpenAI-compatible endpoint, the cloud tier by default) compares the
two answers twice with their order swapped, as MT-Bench does, to cancel position bias. Verdicts
("local as good", "cloud better", "no verdict" when the judge's answer cannot be parsed) go to
the ledger's evidence tables (console/evidence.py), one judgment row per judge call.

A prompt or answer holding personal data or a secret is never sent to the judge (it reads them
unredacted): such a line is stored as "no verdict" (method "withheld"), and a reference answer
scores it locally.

Progress goes to stderr, one line per prompt. Ctrl-C stops after what is stored; a rerun (even
after kill -9) skips the prompts already judged.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import click

from console.judge import JUDGE_MAX_TOKENS, Judge, judge_pair, personal_data_types
from engines.base import EngineError
from policies.config import SetupError

if TYPE_CHECKING:
    from console.cli_context import CliContext
    from console.dispatch import RequestResult
    from console.runtime import Runtime


@dataclass(frozen=True)
class EvalPrompt:
    """One line of the eval file."""

    line: int
    prompt: str
    reference: str | None


def read_prompts(path: Path) -> list[EvalPrompt]:
    """The prompts of FILE; a bad line raises SetupError naming the file, line and fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SetupError(f"{path}: cannot be read: {exc}") from None
    prompts: list[EvalPrompt] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SetupError(f"{path}:{number}: not JSON ({exc.msg})") from None
        prompt = data.get("prompt") if isinstance(data, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            raise SetupError(f'{path}:{number}: expected {{"prompt": "...", "reference"?: "..."}}')
        reference = data.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise SetupError(f"{path}:{number}: 'reference' must be a string")
        prompts.append(EvalPrompt(number, prompt, reference))
    if not prompts:
        raise SetupError(f"{path}: no prompts (one JSON object per line)")
    return prompts


async def _answer(
    runtime: Runtime, prompt: str, tier: Literal["local", "cloud"], max_tokens: int | None
) -> RequestResult:
    from console.dispatch import Done

    events = runtime.dispatcher.ask(prompt, force=tier, max_tokens=max_tokens, tag="eval")
    async for event in events:
        if isinstance(event, Done):
            return event.result
    raise EngineError("the dispatcher ended without a result")


@click.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--judge",
    "judge_url",
    default=None,
    metavar="URL",
    help="OpenAI-compatible API root of the judge (default: the cloud tier).",
)
@click.option("--judge-model", default=None, help="The judge's model (default: [cloud] model).")
@click.option(
    "--judge-max-tokens",
    type=click.IntRange(1, 4096),
    default=JUDGE_MAX_TOKENS,
    show_default=True,
    help="Cap on each judge answer.",
)
@click.option("--max-tokens", type=click.IntRange(1, 131_072), default=None, help="Answer cap.")
@click.option("--json", "as_json", is_flag=True, help="The verdicts of this run as JSON.")
@click.pass_obj
def eval_command(
    cli_ctx: CliContext,
    file: Path,
    judge_url: str | None,
    judge_model: str | None,
    judge_max_tokens: int,
    max_tokens: int | None,
    as_json: bool,
) -> int:
    """Send each prompt of FILE to both tiers and store which answer was good enough."""
    from console.cli import echo_json, run_with_runtime
    from engines.model import resolve_model

    prompts = read_prompts(file)
    if judge_url is not None and not judge_url.startswith(("http://", "https://")):
        raise click.BadParameter(
            f"{judge_url!r}: expected an http:// or https:// URL", param_hint="--judge"
        )
    config = cli_ctx.config
    resolve_model(config.local.model)
    rows: list[dict[str, object]] = []
    skipped = failed = withheld = 0

    async def body(runtime: Runtime) -> None:
        nonlocal skipped, failed, withheld
        from console.evidence import (
            ItemVerdict,
            done_items,
            item_key,
            record_item,
            reference_verdict,
            start_item,
        )

        if runtime.cloud.key_missing:
            name = config.cloud.api_key_env
            raise SetupError(
                f"no API key for {runtime.cloud.endpoint}: ${name} is not set "
                f"(export {name}=..., or try --demo-cloud)"
            )
        await runtime.wait_cloud_ready()
        default_judge = judge_url is None
        base_url = (judge_url or runtime.cloud.endpoint).rstrip("/")
        judge = Judge(
            base_url=base_url,
            model=judge_model or config.cloud.model,
            # The cloud's key goes only to the cloud's own endpoint, never to another judge.
            api_key=os.environ.get(config.cloud.api_key_env) if default_judge else None,
            max_tokens=judge_max_tokens,
            timeout_s=config.cloud.total_timeout,
            is_cloud_tier=default_judge,
        )
        db = runtime.ledger_path
        if db is None:  # run_with_runtime refuses a runtime whose ledger did not open
            raise SetupError("no ledger to store the verdicts in; see --db")
        done = done_items(db)
        async with judge.client() as client:
            for index, item in enumerate(prompts, start=1):
                key = item_key(item.prompt, item.reference, judge.label)
                progress = f"eval {index}/{len(prompts)} (line {item.line})"
                if key in done:
                    skipped += 1
                    click.echo(f"{progress}: already judged, skipped", err=True)
                    continue
                start_item(db, key)
                local = await _answer(runtime, item.prompt, "local", max_tokens)
                cloud = await _answer(runtime, item.prompt, "cloud", max_tokens)
                if local.status in ("failed", "blocked") or cloud.status in ("failed", "blocked"):
                    failed += 1
                    reason = local.error or cloud.error or "blocked"
                    click.echo(f"{progress}: not judged: {reason}", err=True)
                    continue
                if item.reference is not None:
                    method = "reference"
                    outcome = reference_verdict(item.reference, local.answer, cloud.answer)
                else:
                    found = await asyncio.to_thread(
                        personal_data_types,
                        runtime.scanner,
                        (item.prompt, local.answer, cloud.answer),
                    )
                    if found:
                        # Stored as "no verdict", so the prompt is done (a rerun skips it) and
                        # carries no evidence either way.
                        withheld += 1
                        method = "withheld"
                        outcome = ItemVerdict("no verdict", None, None)
                        click.echo(
                            f"{progress}: not judged: personal data ({', '.join(found)}) is never"
                            ' sent to the judge; give this line a "reference" to score it here',
                            err=True,
                        )
                    else:
                        method = "judge"
                        outcome = await judge_pair(
                            client, judge, item.prompt, local.answer, cloud.answer, db=db, key=key
                        )
                record_item(
                    db,
                    key,
                    prompt=item.prompt,
                    method=method,
                    judge="reference" if method == "reference" else judge.label,
                    local_request_id=local.request_id,
                    cloud_request_id=cloud.request_id,
                    outcome=outcome,
                )
                if method != "withheld":
                    click.echo(f"{progress}: {outcome.verdict}", err=True)
                rows.append(
                    {
                        "line": item.line,
                        "method": method,
                        "verdict": outcome.verdict,
                        "local_good": outcome.local_good,
                        "cloud_good": outcome.cloud_good,
                        "local_request_id": local.request_id,
                        "cloud_request_id": cloud.request_id,
                    }
                )

    run_with_runtime(cli_ctx, body)
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["verdict"])] = counts.get(str(row["verdict"]), 0) + 1
    if as_json:
        echo_json(
            {
                "judged": rows,
                "counts": counts,
                "skipped": skipped,
                "failed": failed,
                "withheld": withheld,
            }
        )
    else:
        parts = ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items()))
        click.echo(
            f"{len(rows)} judged ({parts or 'none'}); {skipped} already judged; {failed} failed;"
            f" {withheld} withheld from the judge (personal data)"
        )
    return 1 if failed else 0
