"""Placeholders come back in every form a model writes them; literal ones never collide."""

from __future__ import annotations

import pytest

from policies.config import PiiConfig
from policies.pii import PiiEntity, PiiScan, PiiScanner, Pseudonymizer, redact_text

SECRET = "ghp_Xq3Lm8Zt2Rv7Kp4Ws9Hn1Bc6Jd5Fg0Ty2Ue"


def _pseudonymizer_with(names: list[str]) -> Pseudonymizer:
    pseudonymizer = Pseudonymizer()
    for name in names:
        pseudonymizer.placeholder("PERSON", name)
    return pseudonymizer


@pytest.mark.parametrize(
    "form", ["<PERSON_1>", "PERSON_1", "<person_1>", "[PERSON_1]", "{PERSON_1}", "(PERSON 1)"]
)
def test_every_form_is_restored(form: str) -> None:
    pseudonymizer = _pseudonymizer_with(["Ann Lee"])
    assert pseudonymizer.restore(f"Dear {form}, thanks.") == "Dear Ann Lee, thanks."


def test_numbers_ten_and_above_are_their_own() -> None:
    names = [f"Person Number{i}" for i in range(1, 13)]
    pseudonymizer = _pseudonymizer_with(names)
    assert pseudonymizer.restore("<PERSON_1> <PERSON_10> PERSON_12 [person_11]") == (
        "Person Number1 Person Number10 Person Number12 Person Number11"
    )
    assert pseudonymizer.restore("PERSON_13 and PERSONAL_1") == "PERSON_13 and PERSONAL_1"


def test_unpaired_brackets_stay_with_the_text() -> None:
    pseudonymizer = _pseudonymizer_with(["Ann Lee"])
    assert pseudonymizer.restore("(see PERSON_1.") == "(see Ann Lee."


def test_a_literal_placeholder_typed_by_the_user_is_not_a_real_one() -> None:
    pseudonymizer = Pseudonymizer()
    text = "Fill <PERSON_1> in the template, then send it to Ann Lee."
    start = text.index("Ann Lee")
    scan = PiiScan(text, (PiiEntity("PERSON", start, start + 7, 0.9),))
    redacted = pseudonymizer.redact(scan)
    assert redacted == "Fill <PERSON_1> in the template, then send it to <PERSON_2>."
    # The model echoes both: the literal stays literal, the real one is restored.
    assert pseudonymizer.restore("<PERSON_1> goes to <PERSON_2>") == "<PERSON_1> goes to Ann Lee"


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    """The default-config scanner."""
    scanner = PiiScanner(PiiConfig())
    scanner.load()
    return scanner


def test_secret_placeholders_are_restored_while_streaming(scanner: PiiScanner) -> None:
    pseudonymizer = Pseudonymizer()
    _, redacted = redact_text(scanner, f"export GITHUB_TOKEN={SECRET} fails", pseudonymizer)
    assert SECRET not in redacted and "<SECRET_1>" in redacted
    answer = "Rotate <SECRET_1> now; SECRET_1 was pushed, [secret_1] too."
    expected = f"Rotate {SECRET} now; {SECRET} was pushed, {SECRET} too."
    for size in range(1, 9):
        restorer = pseudonymizer.restorer()
        chunks = [answer[i : i + size] for i in range(0, len(answer), size)]
        shown = "".join(restorer.feed(chunk) for chunk in chunks) + restorer.flush()
        assert shown == expected, size


def test_stream_never_shows_half_a_placeholder_or_a_wrong_number() -> None:
    names = [f"Person Number{i}" for i in range(1, 13)]
    pseudonymizer = _pseudonymizer_with(names)
    restorer = pseudonymizer.restorer()
    shown = [restorer.feed(c) for c in "Hi PERSON_1"]
    shown.append(restorer.feed("2!"))
    shown.append(restorer.flush())
    assert "".join(shown) == "Hi Person Number12!"
    assert all("PERSON" not in piece for piece in shown)
