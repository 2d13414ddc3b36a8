"""Unicode cannot hide an identifier: NFKC, invisible characters removed, the original redacted."""

from __future__ import annotations

import pytest

from policies.config import PiiConfig
from policies.pii import PiiScanner, redact_text
from policies.unicode_text import normalize


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    """The default-config scanner."""
    scanner = PiiScanner(PiiConfig())
    scanner.load()
    return scanner


def test_normalize_maps_every_character_back() -> None:
    text = "mail ｊａｎｅ\u200b@example.com now"
    normalized = normalize(text)
    assert normalized.text == "mail jane@example.com now"
    start = normalized.text.index("jane")
    end = start + len("jane@example.com")
    begin, stop = normalized.to_original(start, end)
    assert text[begin:stop] == "ｊａｎｅ\u200b@example.com"


def test_ascii_text_is_not_copied() -> None:
    text = "plain ascii prompt"
    assert normalize(text).identity and normalize(text).to_original(2, 5) == (2, 5)


def test_combining_marks_compose_and_map_back() -> None:
    text = "Nguye\u0302\u0303n Va\u0306n An"  # Vietnamese written with combining marks
    normalized = normalize(text)
    assert normalized.text == "Nguyễn Văn An"
    assert normalized.to_original(0, 6) == (0, 8)


CASES = [
    ("zero-width space in an email", "send it to ana.ruiz\u200b@contoso.com please", "contoso"),
    ("word joiner in a name", "Reply to Margaret Hol\u2060loway today.", "loway"),
    (
        "full-width email",
        "mail ｏｐｓ．ｌｅａｄ＠ｃｏｎｔｏｓｏ．ｃｏｍ the logs",
        "ｃｏｎｔｏｓｏ",
    ),
    ("full-width card", "card ４１１１ １１１１ １１１１ １１１１ declined", "１１１１ １１１１"),
    ("right-to-left override in a phone", "call +44 20 \u202e7946 0958 now", "7946"),
    ("full-width secret", "AWS key ＡＫＩＡＱ７ＺＬ２Ｎ５ＲＴ８ＶＸ３ＫＭＢ leaked", "ＲＴ８ＶＸ"),
    ("vietnamese name", "Customer Nguyễn Thị Hoa cannot log in, reply to her.", "Hoa"),
    ("chinese name", "Contact: 陈静, she reports a failed export.", "陈静"),
    ("card grouped with dots", "card 5555.5555.5555.4444 was charged twice", "5555.4444"),
]


@pytest.mark.parametrize(("label", "text", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_hidden_identifiers_are_redacted_in_the_original(
    scanner: PiiScanner, label: str, text: str, fragment: str
) -> None:
    scan, redacted = redact_text(scanner, text)
    assert scan.count, label
    assert fragment not in redacted, redacted
    # No invisible character of the identifier is left behind either.
    assert "\u200b" not in redacted and "\u2060" not in redacted and "\u202e" not in redacted
    for entity in scan.entities:
        assert 0 <= entity.start < entity.end <= len(text)
