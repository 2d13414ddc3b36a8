"""The judge: an OpenAI-compatible model comparing a local and a cloud answer to one prompt.

The MT-Bench pairwise method: two calls with the answers in both orders, each stored as a
judgment row when a ledger file is given, combined into one verdict (console.evidence.combine).
Used by `switchboard eval` and, for one pair at a time, by the console's compare screen:

    judge = Judge.for_cloud(runtime)            # or Judge(base_url=..., model=..., ...)
    async with judge.client() as client:
        verdict = await judge_pair(client, judge, prompt, local_answer, cloud_answer)
"""

from __future__ import annotations

import asyncio
import os
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from engines.base import EngineError

if TYPE_CHECKING:
    import httpx

    from console.evidence import ItemVerdict, Preference
    from console.runtime import Runtime

#: A judge's answer is a short reason and a verdict mark: this is plenty.
JUDGE_MAX_TOKENS = 256


@dataclass(frozen=True)
class Judge:
    """Where verdicts come from: an OpenAI-compatible chat endpoint and its model."""

    base_url: str
    model: str
    api_key: str | None
    max_tokens: int
    timeout_s: float
    #: The judge is the cloud tier itself (whose endpoint may change: the demo server's port).
    is_cloud_tier: bool = False

    @property
    def label(self) -> str:
        """The judge as stored with each verdict (and resumed on): never the key."""
        where = "cloud tier" if self.is_cloud_tier else self.base_url
        return f"{where} {self.model}"

    @classmethod
    def for_cloud(cls, runtime: Runtime, max_tokens: int = JUDGE_MAX_TOKENS) -> Judge:
        """The cloud tier of `runtime` as the judge (its endpoint, model and key)."""
        config = runtime.config().cloud
        return cls(
            base_url=runtime.cloud.endpoint.rstrip("/"),
            model=config.model,
            api_key=os.environ.get(config.api_key_env),
            max_tokens=max_tokens,
            timeout_s=config.total_timeout,
            is_cloud_tier=True,
        )

    def client(self) -> AbstractAsyncContextManager[httpx.AsyncClient]:
        """An HTTP client for this judge (no proxy for a loopback endpoint)."""
        import httpx  # deferred: the CLI imports this module for every command

        return httpx.AsyncClient(timeout=self.timeout_s, trust_env=not _is_loopback(self.base_url))


def _is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


async def ask_judge(client: httpx.AsyncClient, judge: Judge, messages: list[dict[str, str]]) -> str:
    """One judge call; the text of its answer. Raises EngineError naming the endpoint."""
    import httpx

    headers = {"Authorization": f"Bearer {judge.api_key}"} if judge.api_key else {}
    body = {
        "model": judge.model,
        "messages": messages,
        "temperature": 0.0,
        "max_tokens": judge.max_tokens,
    }
    url = f"{judge.base_url}/chat/completions"
    try:
        response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise EngineError(f"judge {judge.base_url}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise EngineError(f"judge {judge.base_url}: HTTP {response.status_code}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""  # an answer in no known shape is no verdict, like an unparseable one
    return content if isinstance(content, str) else ""


async def judge_pair(
    client: httpx.AsyncClient,
    judge: Judge,
    prompt: str,
    local_answer: str,
    cloud_answer: str,
    *,
    db: Path | None = None,
    key: str = "",
) -> ItemVerdict:
    """Two judge calls, local first then cloud first; their combined verdict.

    With `db`, each call is stored as a judgment row of eval item `key`.
    """
    from console.evidence import combine, judge_messages, parse_preference, record_judgment

    preferences: list[Preference | None] = []
    order: tuple[Literal["local", "cloud"], ...] = ("local", "cloud")
    for call, first in enumerate(order, start=1):
        a, b = (local_answer, cloud_answer) if first == "local" else (cloud_answer, local_answer)
        raw = await ask_judge(client, judge, judge_messages(prompt, a, b))
        preference = parse_preference(raw, first)
        if db is not None:  # off the event loop: the console judges from its screen
            await asyncio.to_thread(record_judgment, db, key, call, first, preference, raw)
        preferences.append(preference)
    return combine(preferences[0], preferences[1])
