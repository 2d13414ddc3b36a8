"""SECRET detection: credentials in prompts (keys, tokens, passwords, private keys).

Built on detect-secrets' plugins (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, npm, PyPI, JWT,
SendGrid, Twilio, Discord, Telegram, Mailchimp, Artifactory, Azure storage, basic auth in URLs,
and its keyword detector over several file types), used as pattern libraries on each line: no
verification call, no network. Around them, the shapes detect-secrets leaves to context:
- passwords in connection strings (`postgres://user:SECRET@host`, `https://TOKEN@host`) and
  `.pgpass` lines;
- CLI flags: `--password=X`, `--token X`, `-pSECRET` after mysql tools, `redis-cli -a X`,
  `curl -u user:X`, `--set adminPassword=X`;
- key = value, key: value and "key": "value" for secret-sounding keys (.env, YAML, ini, JSON,
  shell exports, URL query parameters), and high-entropy values in those places;
- `Authorization: Bearer|Basic|token X` headers and bearer tokens anywhere;
- base64 credentials: Kubernetes Secret `data:` values, docker `"auth"` entries;
- whole private key blocks, BEGIN to END;
- long random-looking tokens standing alone (mixed case and digits, high Shannon entropy).
The finders return character spans of the secret value only (the key name, user and host stay
readable), except private keys whose whole block goes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

#: A detection: start, end (character offsets) and score.
Hit = tuple[int, int, float]

SECRET_SCORE = 0.9

_KEYWORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key"
    r"|auth[_-]?token|credentials?|client[_-]?secret|private[_-]?key|_?authtoken|auth|sig"
    r"|signature|session[_-]?key|encryption[_-]?key|master[_-]?key|dsn"
)
# A secret-sounding key (its last word part is a keyword), a separator, then the value.
_KEY_VALUE = re.compile(
    r"(?i)(?<![\w])([\w.\-]*?(?:" + _KEYWORDS + r"))[\"']?[ \t]*(?:=>|:=|[:=])[ \t]*"
    r"(?:\"([^\"\n]+)\"|'([^'\n]+)'|([^\s\"',;&)}\]]+))"
)
# Values that name a secret instead of being one.
_NOT_VALUES = re.compile(
    r"(?i)^(?:true|false|null|none|nil|yes|no|on|off|required|optional|env|string|str|int"
    r"|bool|secret|password|token|\*+|x+|\.+|<[^>]*>|\$\{?[\w.]+\}?|%\(?\w+\)?s?|\{\{.*\}\}"
    r"|os\.environ.*|process\.env.*|getenv.*|input\(.*|[\w.]+\(.*)$"
)
_CONNECTION = re.compile(
    r"(?i)\b[a-z][a-z0-9+.\-]*://(?:([^:/\s@\"']*):([^@\s/\"']+)|([A-Za-z0-9_\-]{16,}))@"
)
_PGPASS = re.compile(r"(?m)^[\w.\-*]+:(?:\d+|\*):[\w\-*]+:[\w\-*.]+:(\S+)$")
_FLAGS = re.compile(
    r"(?i)(?:^|[ \t])--?(?:password|passwd|pass|pwd|token|api-?key|secret|access-?key"
    r"|secret-?key|auth-?token|client-?secret)(?:=|[ \t]+)(?:\"([^\"\n]+)\"|'([^'\n]+)'"
    r"|([^\s\"']+))"
)
_MYSQL_P = re.compile(
    r"(?i)\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|mysqlimport|mysqlshow)\b"
    r"[^\n|;&]*?[ \t]-p(?:\"([^\"\n]+)\"|'([^'\n]+)'|([^\s\"']+))"
)
_REDIS_A = re.compile(r"(?i)\bredis-cli\b[^\n|;&]*?[ \t]-a[ \t]+(\S+)")
_CURL_U = re.compile(r"(?i)\bcurl\b[^\n|;&]*?[ \t](?:-u|--user)[ \t]+[\"']?[^:\s\"']+:([^\s\"']+)")
_AUTH_HEADER = re.compile(
    r"(?i)\b(?:authorization|proxy-authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:bearer|basic|token|bot|digest|apikey)[ \t]+([A-Za-z0-9._~+/=\-]{8,})"
)
_BEARER = re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/=\-]{16,})")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY"
    r"(?: BLOCK)?-----|\Z)",
    re.S,
)
_SLACK_HOOK = re.compile(r"hooks\.slack\.com/(?:services|workflows)/([A-Za-z0-9/_\-]+)")
_K8S_DATA = re.compile(r"(?m)^([ \t]*)(?:data|stringData):[ \t]*$")
_YAML_ENTRY = re.compile(r"([ \t]+)[\w.\-]+:[ \t]+[\"']?([^\s\"']+)[\"']?[ \t]*$")
_TOKEN = re.compile(r"(?<![\w+/=\-])[A-Za-z0-9+/_\-]{24,}={0,2}(?![\w+/=\-])")
#: Known token prefixes that make a value a secret whatever its entropy.
_PREFIXED = re.compile(
    r"\b(?:sk-(?:proj-|ant-|live-)?[A-Za-z0-9_\-]{20,}|sk_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|rk_(?:live|test)_[A-Za-z0-9]{16,}|AIza[A-Za-z0-9_\-]{35}|hf_[A-Za-z0-9]{30,}"
    r"|glpat-[A-Za-z0-9_\-]{20}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}"
    r"|xox[abposr]-[A-Za-z0-9\-]{10,}|npm_[A-Za-z0-9]{30,}|pypi-[A-Za-z0-9_\-]{50,}"
    r"|(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})"
)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution."""
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    length = len(value)
    return -sum(n / length * math.log2(n / length) for n in counts.values())


def random_looking(value: str) -> bool:
    """A token that looks generated: long, mixed letters and digits, high entropy.

    Versions, SHAs and UUIDs stay out: hex-only or dashed values need 32+ characters of hex
    *and* the key=value context (see `find_secrets`); here mixed case is required.
    """
    if len(value) < 24:
        return False
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    digits = sum(c.isdigit() for c in value)
    return has_upper and has_lower and digits >= 2 and shannon_entropy(value) >= 4.2


@cache
def _plugins() -> tuple[Any, ...]:
    """detect-secrets' regex plugins, instantiated once (imports detect-secrets)."""
    from detect_secrets.plugins.artifactory import ArtifactoryDetector
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector
    from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
    from detect_secrets.plugins.twilio import TwilioKeyDetector

    return tuple(
        plugin()
        for plugin in (
            ArtifactoryDetector,
            AWSKeyDetector,
            AzureStorageKeyDetector,
            BasicAuthDetector,
            DiscordBotTokenDetector,
            GitHubTokenDetector,
            GitLabTokenDetector,
            JwtTokenDetector,
            MailchimpDetector,
            NpmDetector,
            OpenAIDetector,
            PypiTokenDetector,
            SendGridDetector,
            SlackDetector,
            SquareOAuthDetector,
            StripeDetector,
            TelegramBotTokenDetector,
            TwilioKeyDetector,
        )
    )


@cache
def _keyword_tables() -> tuple[Any, tuple[dict[Any, int], ...]]:
    from detect_secrets.plugins import keyword

    tables = (
        keyword.CONFIG_DENYLIST_REGEX_TO_GROUP,
        keyword.QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
        keyword.GOLANG_DENYLIST_REGEX_TO_GROUP,
    )
    return keyword.KeywordDetector(), tables


def load() -> None:
    """Import detect-secrets and build its plugins (call at scanner load, not in a scan)."""
    _plugins()
    _keyword_tables()


def _occurrences(line: str, value: str, offset: int) -> Iterator[Hit]:
    start = line.find(value)
    while start != -1 and value:
        yield offset + start, offset + start + len(value), SECRET_SCORE
        start = line.find(value, start + len(value))


def _plausible_value(value: str) -> bool:
    value = value.strip()
    return len(value) >= 4 and not value.isdigit() and _NOT_VALUES.match(value) is None


def _library_hits(text: str) -> Iterator[Hit]:
    """detect-secrets' plugins line by line; each value found is located in its line."""
    keyword_detector, tables = _keyword_tables()
    offset = 0
    for line in text.split("\n"):
        if len(line) >= 8:
            for plugin in _plugins():
                for value in plugin.analyze_string(line):
                    if isinstance(value, str) and len(value) >= 8:
                        yield from _occurrences(line, value, offset)
            for table in tables:
                values = list(keyword_detector.analyze_string(line, denylist_regex_to_group=table))
                for value in values:
                    if isinstance(value, str) and _plausible_value(value):
                        yield from _occurrences(line, value, offset)
                if values:
                    break
        offset += len(line) + 1


def _group_span(match: re.Match[str]) -> tuple[int, int] | None:
    for group in range(match.lastindex or 0, 0, -1):
        if match.group(group) is not None:
            return match.span(group)
    return None


def _k8s_data_values(text: str) -> Iterator[Hit]:
    """Values under a Kubernetes Secret's `data:`/`stringData:` (base64 credentials)."""
    if "kind: Secret" not in text and 'kind: "Secret"' not in text:
        return
    for block in _K8S_DATA.finditer(text):
        indent = len(block.group(1))
        position = block.end() + 1
        for line in text[position:].split("\n"):
            entry = _YAML_ENTRY.match(line)
            if entry is None or len(entry.group(1).expandtabs()) <= indent:
                break
            yield position + entry.start(2), position + entry.end(2), SECRET_SCORE
            position += len(line) + 1


def find_secrets(text: str) -> list[Hit]:
    """SECRET spans in `text` (see the module docstring for what counts)."""
    hits: list[Hit] = list(_library_hits(text))
    for pattern in (_PRIVATE_KEY, _PREFIXED):
        hits.extend((*m.span(), SECRET_SCORE) for m in pattern.finditer(text))
    for pattern in (_FLAGS, _MYSQL_P, _REDIS_A, _CURL_U, _AUTH_HEADER, _BEARER, _SLACK_HOOK):
        for match in pattern.finditer(text):
            span = _group_span(match)
            if span is not None and _plausible_value(text[span[0] : span[1]]):
                hits.append((*span, SECRET_SCORE))
    for match in _CONNECTION.finditer(text):
        span = match.span(2) if match.group(2) is not None else match.span(3)
        if _plausible_value(text[span[0] : span[1]]):
            hits.append((*span, SECRET_SCORE))
    for match in _PGPASS.finditer(text):
        hits.append((*match.span(1), SECRET_SCORE))
    for match in _KEY_VALUE.finditer(text):
        span = _group_span(match)
        if span is None:
            continue
        value = text[span[0] : span[1]]
        if _plausible_value(value) and not _looks_like_prose(value, match.group(1)):
            hits.append((*span, SECRET_SCORE))
    hits.extend(_k8s_data_values(text))
    for match in _TOKEN.finditer(text):
        if random_looking(match.group().rstrip("=")):
            hits.append((*match.span(), 0.7))
    return hits


_PROSE_KEYS = frozenset({"auth", "token", "secret", "pass", "sig", "dsn"})


def _looks_like_prose(value: str, key: str) -> bool:
    """'token: expired' or 'auth: failed' in a sentence: a bare keyword with a plain word after.

    A bare keyword ("token", "auth") as the key needs a value that looks generated (digits or
    mixed case or symbols); a compound key ("db_password", "api_key") takes any value.
    """
    if key.casefold().lstrip("_-.") not in _PROSE_KEYS:
        return False
    return value.isalpha() and (value.islower() or value.istitle())
