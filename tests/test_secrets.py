"""SECRET detection on real-looking configs and commands, through the real Presidio scanner.

Every secret value below was written for this file (random-looking, of each issuer's shape);
none is a real credential. What is checked is what reaches the cloud: the redacted text.
"""

from __future__ import annotations

import base64
import json

import pytest

from policies.config import PiiConfig
from policies.pii import PiiScanner, redact_text

AWS_ID = "AKIAQ7ZL2N5RT8VX3KMB"
AWS_SECRET = "b7Qk2Zr9Lm4Xp8Wn3Vt6Ys1Hd5Gf0Jc2Ae7Ru4Oi"
GITHUB = "ghp_Xq3Lm8Zt2Rv7Kp4Ws9Hn1Bc6Jd5Fg0Ty2Ue"
SLACK = "xoxb-48213907741-90357216540-QmX7rT2kLp9ZsW4nVb8Yc3Hd"
OPENAI = "sk-proj-Jx8Kq2Lw9Zr4Tm7Pn1Vs6Yb3Hc5Gd0Fe-Rk"
STRIPE = "sk_live_5Tq9Xw2Lm8Zr4Kp7Vn1Bs6Y"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI0MjEzIiwiZXhwIjoxODAwMDAwMDAwfQ."
    "Qm4xT7rZk2Lp9Ws3Vn8Yb1Hc6Jd5Fg0Ae2Ru7Oi4Kx"
)
PASSWORD = "Copper7731!Falcon"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACBqV3xK8mZ2rT7pL9wS4nV1bY6cH3dJ5gF0eA2rU7oI4kXAAAAJjQ9m2x\n"
    "-----END OPENSSH PRIVATE KEY-----"
)


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    """The default-config scanner (SECRET is always detected)."""
    scanner = PiiScanner(PiiConfig())
    scanner.load()
    return scanner


CASES = [
    (
        "aws env",
        f"export AWS_ACCESS_KEY_ID={AWS_ID}\nexport AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
        "aws s3 ls fails, why?",
        [AWS_ID, AWS_SECRET],
    ),
    (
        "github remote",
        f"git remote set-url origin https://{GITHUB}@github.com/acme/infra.git",
        [GITHUB],
    ),
    ("slack dotenv", f"SLACK_BOT_TOKEN={SLACK}\nPORT=3000\nbolt says not_authed", [SLACK]),
    (
        "bearer in curl",
        f'curl -H "Authorization: Bearer {OPENAI}" https://api.example.com/v1/models',
        [OPENAI],
    ),
    ("stripe in code", f'stripe.api_key = "{STRIPE}"\nstripe.Charge.create(amount=2000)', [STRIPE]),
    ("jwt alone", f"decode this token and tell me when it expires: {JWT}", [JWT]),
    ("mysql -p", f"mysql -h db-3.internal -u report -p{PASSWORD} -e 'select 1' hangs", [PASSWORD]),
    ("postgres url", f"DATABASE_URL=postgres://app_rw:{PASSWORD}@pg-main:5432/billing", [PASSWORD]),
    ("--password=", f"mysqldump -u backup --password={PASSWORD} shop > shop.sql", [PASSWORD]),
    ("yaml", f"spring:\n  datasource:\n    username: shop\n    password: {PASSWORD}\n", [PASSWORD]),
    ("ini", f"[database]\nhost = db.internal\npassword = {PASSWORD}\n", [PASSWORD]),
    ("helm --set", f"helm install g grafana/grafana --set adminPassword={PASSWORD}", [PASSWORD]),
    ("curl -u", f"curl -u deploy:{PASSWORD} https://nexus.internal/service/rest", [PASSWORD]),
    ("redis-cli -a", f"redis-cli -a {PASSWORD} -h cache-2 INFO memory", [PASSWORD]),
    ("pgpass", f"cat ~/.pgpass\ndb.internal:5432:*:report:{PASSWORD}", [PASSWORD]),
    ("private key", f"ssh-add fails on this key:\n{PRIVATE_KEY}\nwhy?", [PRIVATE_KEY]),
]


@pytest.mark.parametrize(("label", "text", "secrets"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_secret_is_redacted(
    scanner: PiiScanner, label: str, text: str, secrets: list[str]
) -> None:
    scan, redacted = redact_text(scanner, text)
    assert scan.has_secret, label
    for secret in secrets:
        assert secret not in redacted
        # Not even a recognisable half of it survives.
        assert secret[: len(secret) // 2] not in redacted
    assert "<SECRET_1>" in redacted


def test_base64_credentials_are_redacted(scanner: PiiScanner) -> None:
    k8s_password = base64.b64encode(PASSWORD.encode()).decode()
    docker_auth = base64.b64encode(f"ci-bot:{PASSWORD}".encode()).decode()
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: registry\ntype: Opaque\ndata:\n"
        f"  password: {k8s_password}\n"
    )
    docker = f'{{"auths": {{"registry.example.io": {{"auth": "{docker_auth}"}}}}}}'
    basic = f"Authorization: Basic {docker_auth}\nthe proxy strips this header"
    for text, value in ((manifest, k8s_password), (docker, docker_auth), (basic, docker_auth)):
        _, redacted = redact_text(scanner, text)
        assert value not in redacted, text


def test_key_names_users_and_hosts_stay_readable(scanner: PiiScanner) -> None:
    text = f"psql postgres://app_rw:{PASSWORD}@pg-main.internal:5432/billing times out"
    _, redacted = redact_text(scanner, text)
    assert redacted == "psql postgres://app_rw:<SECRET_1>@pg-main.internal:5432/billing times out"


CLEAN_OPS = [
    "Upgrade from nginx 1.24.0 to 1.26.2 broke our map blocks; what changed?",
    "git bisect points at commit 9f3c2a1e7b4d8c6a5f0e1d2c3b4a59687f6e5d4c; what did it touch?",
    "Request ids look like 3f2504e0-4f89-11d3-9a0c-0305e82c3301; are these UUIDv1?",
    "Image digest sha256:4b1f0c6d2e8a9b7c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4 "
    "differs between staging and prod.",
    "api-gw-02.eu-west-1.internal returns 502 every few minutes; trace it through the ALB.",
    "Set max_tokens=400 and temperature=0.2 for the summariser; token usage doubled, why?",
    "The password policy requires 12 characters; how do I enforce it in Keycloak 24?",
    "Our secret rotation job failed with exit code 137 on ci-runner-07.",
    "Should Jasper Reports 6.20 run on Java 21 next to Ruby 3.3 and Flask 3.0?",
    "We named the staging cluster jordan and prod austin; keep kubectl contexts apart.",
    "auth: failed for the healthcheck; token: expired; what does the gateway log mean?",
    "Pin debian:bookworm-20241111-slim and compare with python:3.12.7-slim-bookworm.",
]


@pytest.mark.parametrize("text", CLEAN_OPS)
def test_clean_ops_text_is_untouched(scanner: PiiScanner, text: str) -> None:
    scan, redacted = redact_text(scanner, text)
    assert redacted == text, scan.entities


def test_pii_jsonl_shows_secret_like_any_type(scanner: PiiScanner) -> None:
    from policies.pii import scan_lines

    text = f"GITHUB_TOKEN={GITHUB} gh pr list fails"
    (line,) = list(scan_lines(scanner, [json.dumps({"text": text}) + "\n"]))
    record = json.loads(line)
    assert set(record) == {"text", "redacted", "entities"}
    assert record["redacted"] == "GITHUB_TOKEN=<SECRET_1> gh pr list fails"
    (entity,) = record["entities"]
    assert entity["type"] == "SECRET"
    assert text[entity["start"] : entity["end"]] == GITHUB
