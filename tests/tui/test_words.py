"""Money and words for people: one formatting function per kind of figure, tested at its edges."""

from __future__ import annotations

import pytest

from console.tui.words import (
    cloud_health,
    duration_words,
    money,
    percent,
    privacy_outcome,
    privacy_verdict,
    reason_sentence,
)


@pytest.mark.parametrize(
    ("usd", "shown"),
    [
        (0.0, "$0.00"),
        (0.0000008123, "$0.00000081"),  # two significant digits below a cent
        (0.0012345, "$0.0012"),
        (0.0012500001, "$0.0013"),  # rounded, not truncated
        (0.00999, "$0.01"),  # rounds up into cents
        (0.0125, "$0.0125"),  # at most four decimals below a dollar
        (0.123456, "$0.1235"),
        (0.5, "$0.50"),
        (0.99999, "$1.00"),
        (1234.5678, "$1,234.57"),
        (-0.00031, "-$0.00031"),
    ],
)
def test_money_rounds_for_people(usd: float, shown: str) -> None:
    assert money(usd) == shown


def test_money_without_a_figure_says_so() -> None:
    assert money(None) == "—"
    assert money(0.5, known=False) == "price unknown"


def test_money_never_shows_more_than_four_decimals_from_a_cent() -> None:
    for cents in range(100, 10_000, 7):
        text = money(cents / 10_000 + 0.000049)
        decimals = text.partition(".")[2]
        assert len(decimals) <= 4, text


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [(0.0, "0%"), (0.0004, "<0.1%"), (0.045, "4.5%"), (0.75, "75%"), (0.999, "99%"), (1.0, "100%")],
)
def test_percent(fraction: float, shown: str) -> None:
    assert percent(fraction) == shown


def test_breaker_states_in_words() -> None:
    assert cloud_health("closed") == "cloud healthy"
    assert cloud_health("half_open") == "cloud degraded"
    assert cloud_health("open", 12.4) == "cloud paused · retry in 12 s"


def test_privacy_verdicts_in_words() -> None:
    assert privacy_verdict(3, "local") == "3 personal data items: kept local"
    assert privacy_verdict(1, "redacted").startswith("1 personal data item: replaced")
    assert privacy_verdict(0, "cloud") == "no personal data found"
    assert privacy_verdict(2, "blocked") == "2 personal data items: blocked, nothing was sent"
    assert privacy_outcome("ok", "cloud", True) == "redacted"
    assert privacy_outcome("ok", "cloud", False) == "cloud"
    assert privacy_outcome("blocked", "none", False) == "blocked"
    assert privacy_outcome("ok", "local", False) == "local"
    assert privacy_outcome("ok", "pool", False) == "pool"
    assert privacy_outcome("ok", "pool", True) == "pool_redacted"
    assert (
        privacy_verdict(2, "pool") == "2 personal data items: sent as typed to a trusted lab server"
    )
    assert "untrusted lab server" in privacy_verdict(1, "pool_redacted")


def test_reason_sentences() -> None:
    assert reason_sentence("cloud", "complexity").startswith("→ cloud: it looks like a multi-step")
    assert reason_sentence("cloud", "task", task="math") == (
        "→ cloud: it looks like a math problem, which the small local model cannot do well"
    )
    assert reason_sentence("cloud", "privacy", redacted=True) == (
        "→ cloud·redacted: it contains personal data: replaced with placeholders before sending"
    )
    assert reason_sentence("local", "override") == "→ local: you asked for it with a /local prefix"
    assert reason_sentence("none", "privacy", status="blocked").startswith("→ blocked")


def test_history_span_in_words() -> None:
    assert duration_words(0.001) == "from 1 minutes of history"
    assert duration_words(0.25) == "from 6 hours of history"
    assert duration_words(3.04) == "from 3.0 days of history"
