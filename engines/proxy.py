"""Which proxy a request to the cloud endpoint takes, decided once and used by the client.

`[cloud] proxy` is "env" (HTTPS_PROXY / HTTP_PROXY / ALL_PROXY and NO_PROXY, the way curl and
httpx read them), "none" (always direct) or a proxy URL. The cloud client is built from the
`ProxyChoice` returned here, so what `switchboard doctor` and the console show is exactly what
the requests do.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from engines.settings import ConfigError


@dataclass(frozen=True)
class ProxyChoice:
    """The proxy a request to `target` would go through, if any, and why."""

    target: str
    url: str | None
    source: str

    @property
    def display(self) -> str:
        """The proxy URL without credentials, for screens and logs."""
        return redact_proxy_url(self.url) if self.url else "direct"

    def describe(self) -> str:
        """One line for doctor and the UI, e.g. "via http://proxy:3128 (HTTPS_PROXY)"."""
        if self.url is None:
            return f"direct ({self.source})"
        return f"via {self.display} ({self.source})"


def redact_proxy_url(url: str) -> str:
    """`url` with any user:password replaced, so proxy credentials never reach a screen."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _normalise(proxy: str) -> str:
    return proxy if "://" in proxy else f"http://{proxy}"


def _bypassed(host: str, no_proxy: str) -> bool:
    """True when NO_PROXY names `host` (exact, domain suffix, IP, CIDR block or "*")."""
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if "://" in entry:
            entry = urlsplit(entry).hostname or ""
        entry = entry.strip("[]")
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
            continue
        domain = entry.lstrip(".").removeprefix("*.")
        if host == domain or host.endswith("." + domain):
            return True
    return False


def resolve_proxy(
    base_url: str, setting: str, environ: Mapping[str, str] | None = None
) -> ProxyChoice:
    """The proxy a request to `base_url` takes under `[cloud] proxy = setting`.

    Raises ConfigError when `setting` is neither "env", "none" nor a usable proxy URL.
    """
    if setting == "none":
        return ProxyChoice(base_url, None, 'proxy = "none"')
    if setting != "env":
        parts = urlsplit(setting)
        if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
            raise ConfigError(
                f'[cloud] proxy: {redact_proxy_url(setting)!r} is not "env", "none" or a proxy '
                "URL like http://proxy.example:3128"
            )
        return _usable(ProxyChoice(base_url, setting, "[cloud] proxy"))
    found = _proxies_from(os.environ if environ is None else environ)
    target = urlsplit(base_url)
    host = (target.hostname or "").lower()
    no_proxy = found.get("no", "")
    scheme = target.scheme or "https"
    for key in (scheme, "all"):
        proxy = found.get(key)
        if proxy:
            if _bypassed(host, no_proxy):
                return ProxyChoice(base_url, None, f"{host} is in NO_PROXY")
            return _usable(ProxyChoice(base_url, _normalise(proxy), f"{key.upper()}_PROXY"))
    return ProxyChoice(base_url, None, "no proxy variables set")


def _usable(choice: ProxyChoice) -> ProxyChoice:
    """`choice`, unless it is a SOCKS proxy and httpx's optional SOCKS support is missing."""
    if (choice.url or "").startswith("socks") and importlib.util.find_spec("socksio") is None:
        raise ConfigError(
            f"{choice.source}: the SOCKS proxy {redact_proxy_url(choice.url or '')} needs the "
            "socksio package (pip install 'httpx[socks]')"
        )
    return choice


def _proxies_from(environ: Mapping[str, str]) -> dict[str, str]:
    """The *_proxy variables by scheme, like urllib's getproxies_environment (lowercase wins)."""
    found: dict[str, str] = {}
    for name, value in environ.items():
        lowered = name.lower()
        if value and lowered.endswith("_proxy") and (lowered not in found or name == lowered):
            found[lowered] = value
    return {name.removesuffix("_proxy"): value for name, value in found.items()}
