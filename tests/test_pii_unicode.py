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


def test_combining_marks_are_dropped_and_map_back() -> None:
    text = "Nguye\u0302\u0303n Va\u0306n An"  # Vietnamese written with combining marks
    normalized = normalize(text)
    assert normalized.text == "Nguyen Van An"
    assert normalized.to_original(0, 6) == (0, 8)
    # Precomposed letters, as most text is typed, are kept.
    assert normalize("Nguyễn Thị Hoa, José").text == "Nguyễn Thị Hoa, José"


def test_genuine_greek_and_cyrillic_words_are_not_unmasked() -> None:
    text = "Привет, мир. Καλημέρα κόσμε. Ελλάδα — résumé naïve café"
    assert normalize(text).text == text


def test_look_alikes_are_unmasked_only_in_mixed_or_all_look_alike_words() -> None:
    assert normalize("\u0399van \u041a\u043e\u0432\u0430\u043b\u0435\u0432").text == (
        "Ivan \u041a\u043e\u0432\u0430\u043b\u0435\u0432"
    )
    assert normalize("\u0441\u043e\u0440\u0435").text == "cope"


def test_digits_spaces_and_dashes_of_other_kinds_are_read_as_ascii() -> None:
    normalized = normalize(
        "\u0665\u0665\u0665\u2013\u0968\u0966\u0967\u00a0\u2009x\u2212y 1\u22122"
    )
    assert normalized.text == "555-201  x\u2212y 1-2"


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
#: Issue 10's follow-up: one case per disguise the scanning form undoes (fresh text, the real
#: scanner); each case's fragment is what must not reach the cloud.
DISGUISES = [
    (
        "cyrillic look-alikes in a name",
        "Escalate to \u041c\u0430rg\u0430r\u0435t \u041dolloway before noon.",
        "rg\u0430r",
    ),
    (
        "greek look-alikes in an email",
        "mail it to d\u03bfug.\u03c1rice@n\u03bfrthwind-lab\u0455.com today",
        "rthwind",
    ),
    ("full-width digits in a phone", "call me on ０２０ ７９４６ ０９５８ tonight", "７９４６"),
    (
        "arabic-indic digits in an SSN",
        "SSN \u0665\u0663\u0669-\u0664\u0661-\u0662\u0660\u0668\u0667 on the form",
        "\u0662\u0660\u0668\u0667",
    ),
    (
        "devanagari digits in a card",
        "card \u096a\u0967\u0967\u0967 \u0967\u0967\u0967\u0967 \u0967\u0967\u0967\u0967 "
        "\u0967\u0967\u0967\u0967 was declined",
        "\u0967\u0967\u0967\u0967 \u0967\u0967",
    ),
    (
        "combining marks in a name",
        "Ping Ro\u0336b\u0332erto Fe\u0301rra\u0308ri about the rollout.",
        "rra\u0308ri",
    ),
    (
        "no-break and thin spaces in a card",
        "card 4111\u00a01111\u20091111\u202f1111 failed",
        "1111",
    ),
    ("en dash and minus in a phone", "office line 415\u2013555\u22120132, ask for ops", "0132"),
    ("soft hyphens in a name", "Thanks, Kat\u00adhleen O\u2019Bri\u00aden", "hleen"),
    ("dotless i in an email", "write to l\u0131nda.mart\u0131nez@fabrikam.com", "fabrikam"),
]


@pytest.mark.parametrize(("label", "text", "fragment"), DISGUISES, ids=[c[0] for c in DISGUISES])
def test_disguised_identifiers_are_redacted_in_the_original(
    scanner: PiiScanner, label: str, text: str, fragment: str
) -> None:
    scan, redacted = redact_text(scanner, text)
    assert scan.count, label
    assert fragment not in redacted, redacted
    # The marks and soft hyphens of the identifier go with it.
    assert "\u00ad" not in redacted and "\u0336" not in redacted, redacted


def test_clean_unicode_prose_is_not_altered(scanner: PiiScanner) -> None:
    text = (
        "Переведи, пожалуйста: «сервер перезапущен». Τι σημαίνει «ελάχιστος χρόνος»? "
        "The café’s résumé — 2019–2024 — lists 3 naïve bugs\u00a0fixed in v1.2.3."
    )
    scan, redacted = redact_text(scanner, text)
    assert redacted == text, scan.entities


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
