"""A llama_cpp.server started with `n_threads=1` computes on one thread, prompts included.

llama_cpp.server evaluates prompts with `n_threads_batch` threads, by default every core: two
"one-thread" servers on a 2-core machine spun two threads each and slowed each other. And a
server started with `new_session=True` is the leader of a session of its own, so a kernel that
shares CPU time by session (autogroup) gives it its own share, as a separate machine has.
"""

from __future__ import annotations

import os

import httpx
import psutil
import pytest

from engines.demo import DemoServer
from engines.model import resolve_model

pytestmark = pytest.mark.slow


def test_a_one_thread_server_evaluates_a_long_prompt_on_one_thread_in_its_own_session() -> None:
    with DemoServer(resolve_model("bundled"), n_threads=1, new_session=True) as server:
        assert server.pid is not None
        assert os.getsid(server.pid) == server.pid != os.getsid(0)
        process = psutil.Process(server.pid)
        before = {t.id: t.user_time + t.system_time for t in process.threads()}
        prompt = " ".join(f"item{number}" for number in range(150))
        response = httpx.post(
            f"{server.base_url}/chat/completions",
            json={
                "model": "bundled",
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": 2,
            },
            timeout=300,
            trust_env=False,
        )
        assert response.status_code == 200, response.text[:300]
        used = sorted(
            (t.user_time + t.system_time - before.get(t.id, 0.0) for t in process.threads()),
            reverse=True,
        )
    # CPU seconds, not wall time: the machine's load cannot make a second thread look busy.
    # With the server's default n_threads_batch the second thread used ~70% of the first's.
    assert used[0] > 0.2, used
    assert used[1] < 0.1 * used[0], used
