"""One test per class of identifier that leaked past the wave-1 scanner (issue 10), written fresh.

Real Presidio and spaCy. The check is the one that matters: the identifier's characters do not
reach the cloud (the redacted text), wherever the detection's boundaries fall.
"""

from __future__ import annotations

import pytest

from policies.config import PiiConfig
from policies.pii import PiiScanner, redact_text


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    """The default-config scanner."""
    scanner = PiiScanner(PiiConfig())
    scanner.load()
    return scanner


def _gone(scanner: PiiScanner, text: str, values: list[str]) -> str:
    _, redacted = redact_text(scanner, text)
    for value in values:
        for part in value.split():
            if len(part) > 2:
                assert part not in redacted, (value, redacted)
    return redacted


CLASSES = [
    (
        "speaker labels",
        "[09:14] Radoslav Hruška: the runner is stuck again\n[09:15] Efua Owusu: restarting it",
        ["Radoslav Hruška", "Efua Owusu"],
    ),
    (
        "sign-off",
        "The nightly export failed twice this week.\nBest regards,\nTorbjørn Lie",
        ["Torbjørn Lie"],
    ),
    ("by / from", "Patch written by Ilona Szűcs; reviewed and merged.", ["Ilona Szűcs"]),
    ("honorific", "Please ring Mrs Nkechi Obi about the rack delivery.", ["Nkechi Obi"]),
    ("lone name with cue", "ping dagrun about the flaky test", ["dagrun"]),
    ("home directory", "ls -ld /home/pvesely shows the wrong owner", ["pvesely"]),
    ("ldap dn", "dn: uid=kmakinen,ou=people,dc=corp,dc=example is locked", ["kmakinen"]),
    ("who output", "who\nsdlamini  pts/0  2026-11-20 08:01 (10.1.1.4)", ["sdlamini"]),
    (
        "vietnamese",
        "Khách hàng Trịnh Thị Mai Anh báo lỗi đăng nhập; reply politely.",
        ["Trịnh", "Mai Anh"],
    ),
    ("chinese", "Contact: 黄晓明, he reports the export button does nothing.", ["黄晓明"]),
    ("irish", "Escalated to Pádraig Ó Ceallaigh for the VPN outage.", ["Pádraig", "Ceallaigh"]),
    ("west african", "Approved by Yaa Asantewaa Boakye and deployed.", ["Asantewaa", "Boakye"]),
]


@pytest.mark.parametrize(("label", "text", "names"), CLASSES, ids=[c[0] for c in CLASSES])
def test_names_from_everywhere_in_every_context(
    scanner: PiiScanner, label: str, text: str, names: list[str]
) -> None:
    _gone(scanner, text, names)


ADDRESSES = [
    "Ship it to Flat 7, 19 Ranelagh Road, Dublin 6, D06 X2Y3 by Friday.",
    "Deliver to:\nOskar Lind\nHamngatan 12, lgh 1204\n411 06 Göteborg",
    "Invoice address: ul. Piotrkowska 104/6, 90-004 Łódź — check the postcode.",
    "Return the disk to Dohány utca 12.\n1074 Budapest please.",
    "Mail for SPC Dana Ruiz, PSC 3021, Box 118, APO AE 09104 needs a customs form.",
    "Our office: 42 Wharf Street, Suite 300\nBrisbane QLD 4000",
]


@pytest.mark.parametrize("text", ADDRESSES)
def test_addresses_are_redacted_whole(scanner: PiiScanner, text: str) -> None:
    scan, redacted = redact_text(scanner, text)
    addresses = [e for e in scan.entities if e.type == "STREET_ADDRESS"]
    assert addresses, redacted
    for token in (
        "19 Ranelagh",
        "D06",
        "Hamngatan 12",
        "411 06",
        "Piotrkowska 104",
        "90-004",
        "Dohány",
        "1074",
        "PSC 3021",
        "09104",
        "42 Wharf",
        "Suite 300",
        "4000",
    ):
        assert token not in redacted


NUMBERS = [
    (
        "12-digit maestro",
        "Card on file 501812345673 (Maestro) was declined, code 05.",
        "501812345673",
    ),
    ("15-digit jcb", "payment card 2131 000000 00008 exp 09/28 failed", "2131 000000 00008"),
    (
        "card with dots",
        "charged twice on card 4111.1111.1111.1111 — refund one",
        "4111.1111.1111.1111",
    ),
    (
        "local phone",
        "answering machine: call the office back on (022) 345 67 89 today",
        "345 67 89",
    ),
    ("phone in groups", "my mobile is 06 12 34 56 78 if the deploy breaks", "12 34 56 78"),
    ("ssn with spaces", "caller gave SSN 219 09 9999 to verify", "219 09 9999"),
    ("ssn no separators", "payroll row: 2231;HOLLOWAY;219099999;active", "219099999"),
    (
        "iban",
        "Refund to IBAN DE89 3704 0044 0532 0130 00 failed with invalid BIC",
        "3704 0044 0532",
    ),
]


@pytest.mark.parametrize(("label", "text", "value"), NUMBERS, ids=[c[0] for c in NUMBERS])
def test_numbers_in_every_format(scanner: PiiScanner, label: str, text: str, value: str) -> None:
    _, redacted = redact_text(scanner, text)
    assert value not in redacted, (label, redacted)


def test_greetings_with_everyday_words_are_no_one(scanner: PiiScanner) -> None:
    for text in ("hi corrupt", "hi uv", "hello kubectl", "hey team, deploy is done"):
        assert scanner.scan(text).count == 0, text


def test_every_detection_plain_presidio_makes_is_kept(scanner: PiiScanner) -> None:
    # spaCy's NER person and Presidio's own recognizers' finds survive (recall by union).
    text = "Write to Bartholomew Quintanilla at bq@contoso.com or +1 415 555 2671."
    scan, redacted = redact_text(scanner, text)
    assert {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"} <= set(scan.types)
    assert "Quintanilla" not in redacted and "555 2671" not in redacted
