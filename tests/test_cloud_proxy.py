"""Proxy resolution for the cloud endpoint, and proof that requests really take that route."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import AsyncIterator

import pytest

from engines.base import EngineUnavailable, GenerationRequest, Message
from engines.cloud import CloudEngine
from engines.proxy import redact_proxy_url, resolve_proxy
from policies.config import BreakerConfig, CloudConfig, ConfigError
from tests.faultproxy import Fault, FaultProxy

API = "https://api.openai.com/v1"
MODELS = json.dumps({"object": "list", "data": [{"id": "gpt-4o-mini"}]}).encode()


def test_env_https_proxy_is_used_for_https() -> None:
    choice = resolve_proxy(API, "env", {"HTTPS_PROXY": "proxy.corp:3128"})
    assert choice.url == "http://proxy.corp:3128" and choice.source == "HTTPS_PROXY"
    assert choice.describe() == "via http://proxy.corp:3128 (HTTPS_PROXY)"


def test_http_proxy_does_not_apply_to_https_but_all_proxy_does() -> None:
    assert resolve_proxy(API, "env", {"HTTP_PROXY": "http://p:1"}).url is None
    assert resolve_proxy("http://h/v1", "env", {"HTTP_PROXY": "http://p:1"}).url == "http://p:1"
    assert resolve_proxy(API, "env", {"ALL_PROXY": "http://p:2"}).url == "http://p:2"


def test_lowercase_variables_win() -> None:
    env = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}
    assert resolve_proxy(API, "env", env).url == "http://lower:1"


@pytest.mark.parametrize(
    ("no_proxy", "bypassed"),
    [
        ("*", True),
        ("openai.com", True),
        (".openai.com", True),
        ("api.openai.com", True),
        ("example.com, api.openai.com", True),
        ("penai.com", False),
        ("other.org", False),
        ("", False),
    ],
)
def test_no_proxy_matches_hosts_and_domains(no_proxy: str, bypassed: bool) -> None:
    choice = resolve_proxy(API, "env", {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": no_proxy})
    assert (choice.url is None) is bypassed
    if bypassed:
        assert choice.source == "api.openai.com is in NO_PROXY"


def test_no_proxy_matches_ip_addresses_and_blocks() -> None:
    env = {"HTTP_PROXY": "http://p:3128", "NO_PROXY": "10.0.0.0/8,::1"}
    assert resolve_proxy("http://10.1.2.3:8000/v1", "env", env).url is None
    assert resolve_proxy("http://[::1]:8000/v1", "env", env).url is None
    assert resolve_proxy("http://192.168.1.1/v1", "env", env).url == "http://p:3128"


def test_none_and_explicit_url_ignore_the_environment() -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}
    assert resolve_proxy(API, "none", env).url is None
    explicit = resolve_proxy(API, "http://user:s3cret@gw:8080", env)
    assert explicit.url == "http://user:s3cret@gw:8080"
    assert explicit.display == "http://***@gw:8080" and "s3cret" not in explicit.describe()


def test_a_bad_proxy_setting_is_a_config_error_without_credentials() -> None:
    with pytest.raises(ConfigError, match=r"\[cloud\] proxy: 'ftp://\*\*\*@x:1'"):
        resolve_proxy(API, "ftp://u:pw@x:1", {})
    with pytest.raises(ConfigError, match='not "env", "none" or a proxy URL'):
        resolve_proxy(API, "sometimes", {})


def test_redaction_keeps_urls_without_credentials() -> None:
    assert redact_proxy_url("http://p:3128") == "http://p:3128"
    assert redact_proxy_url("http://u@p") == "http://***@p"


@pytest.fixture
async def forward_proxy() -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy(default=Fault("status", 200, (), MODELS)).start()
    yield proxy
    await proxy.stop()


def engine_for(base_url: str, proxy: str, env: dict[str, str]) -> CloudEngine:
    cloud = CloudConfig(base_url=base_url, proxy=proxy, api_key_env="NO_SUCH_KEY", max_retries=0)
    return CloudEngine(cloud, BreakerConfig(), environ=env)


async def test_requests_go_through_the_proxy_from_the_environment(
    forward_proxy: FaultProxy,
) -> None:
    env = {"HTTP_PROXY": forward_proxy.url, "NO_SUCH_KEY": "k"}
    engine = engine_for("http://llm.internal.test/v1", "env", env)
    assert engine.proxy.url == forward_proxy.url
    result = await engine.probe()
    await engine.aclose()
    assert result.ok and result.models == ("gpt-4o-mini",)
    assert forward_proxy.paths() == ["http://llm.internal.test/v1/models"]


async def test_the_configured_proxy_url_is_used(forward_proxy: FaultProxy) -> None:
    engine = engine_for("http://llm.internal.test/v1", forward_proxy.url, {"NO_SUCH_KEY": "k"})
    request = GenerationRequest((Message("user", "hi"),), max_tokens=4, temperature=0.0)
    forward_proxy.queue(Fault("status", 503, (("Retry-After", "0"),), b"{}"))
    with pytest.raises(EngineUnavailable, match="answered 503"):
        async for _ in engine.stream(request):
            pass
    await engine.aclose()
    assert forward_proxy.paths() == ["http://llm.internal.test/v1/chat/completions"]


async def test_no_proxy_and_none_go_direct(forward_proxy: FaultProxy) -> None:
    # Direct means the (unresolvable) host is contacted without the proxy, and fails there.
    env = {"HTTP_PROXY": forward_proxy.url, "NO_PROXY": ".test", "NO_SUCH_KEY": "k"}
    for setting in ("env", "none"):
        engine = engine_for("http://llm.internal.test/v1", setting, env)
        assert engine.proxy.url is None
        result = await engine.probe()
        await engine.aclose()
        assert not result.reachable and "via proxy" not in result.detail
    assert forward_proxy.seen == []


async def test_a_dead_proxy_is_named_in_the_error() -> None:
    from engines.demo import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    engine = engine_for("http://llm.internal.test/v1", dead, {"NO_SUCH_KEY": "k"})
    request = GenerationRequest((Message("user", "hi"),), max_tokens=4, temperature=0.0)
    with pytest.raises(EngineUnavailable, match=f"via proxy {dead}"):
        async for _ in engine.stream(request):
            pass
    await engine.aclose()


def test_a_socks_proxy_needs_socksio_or_says_so() -> None:
    env = {"ALL_PROXY": "socks5://u:p@s:1080"}
    if importlib.util.find_spec("socksio") is not None:
        assert resolve_proxy(API, "env", env).display == "socks5://***@s:1080"
        return
    with pytest.raises(ConfigError, match=r"ALL_PROXY: the SOCKS proxy socks5://\*\*\*@s:1080"):
        resolve_proxy(API, "env", env)


def test_the_demo_endpoint_never_goes_through_a_proxy() -> None:
    cloud = CloudConfig(base_url="http://127.0.0.1:9/v1", proxy="http://gw:3128")
    engine = CloudEngine(cloud, BreakerConfig(), demo=True, environ={"HTTP_PROXY": "http://p:1"})
    assert engine.proxy.url is None and "demo" in engine.proxy.describe()
