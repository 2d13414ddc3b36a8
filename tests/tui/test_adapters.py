"""The mappings from a finished request to what the screen says: speed vs time to first token,
the redacted flag, the privacy verdict and the presenter's split (each with distinct values, so a
swap shows)."""

from __future__ import annotations

from console.tui.adapters import PresenterTally, answer_meta, privacy_view, route_of
from console.tui.widgets.badge import render_badge
from console.tui.widgets.presenter import render_presenter
from console.tui.widgets.privacy_panel import render_privacy
from policies.pii import PiiEntity, PiiScan
from tests.tui.results import cloud_answer, local_answer

PII_PROMPT = (
    "Explain step by step how to answer Maria Gonzalez (maria@example.com) about her refund."
)
SENT = "Explain step by step how to answer <PERSON_1> (<EMAIL_ADDRESS_1>) about her refund."
NAME, EMAIL = PII_PROMPT.index("Maria"), PII_PROMPT.index("maria@")


def redacted() -> tuple:  # type: ignore[type-arg]
    result = cloud_answer(
        PII_PROMPT,
        "Dear Maria, sorry.",
        sent_text=SENT,
        pii_types=("PERSON", "EMAIL_ADDRESS"),
        gen_tps=55.0,
        ttft_s=0.41,
    )
    scan = PiiScan(
        PII_PROMPT,
        (
            PiiEntity("PERSON", NAME, NAME + len("Maria Gonzalez"), 0.9),
            PiiEntity("EMAIL_ADDRESS", EMAIL, EMAIL + len("maria@example.com"), 1.0),
        ),
    )
    return result, scan


def test_badge_maps_speed_and_first_token_apart() -> None:
    result = local_answer("Write a two-line poem about rain.", "Rain on the roof.")
    meta = answer_meta(result)
    assert (meta.gen_tps, meta.ttft_s) == (38.4, 0.21)
    assert meta.tokens_out == 9 and meta.fired == result.decision.fired
    text = render_badge(meta).plain
    assert "38.4 tok/s" in text and "ttft 210 ms" in text
    assert text.index("tok/s") < text.index("ttft")
    assert "LOCAL" in text


def test_redacted_flag_follows_what_was_sent() -> None:
    result, scan = redacted()
    view = privacy_view(result, scan, "redact")
    assert view.redacted and view.tier == "cloud" and view.sent_text == SENT
    assert "CLOUD·redacted" in render_badge(answer_meta(result)).plain
    assert "2 personal data items: replaced before sending" in render_privacy(view, False).plain

    plain = cloud_answer("Explain step by step how to compare two sorting algorithms.", "…")
    assert not privacy_view(plain, None, "redact").redacted
    assert route_of(plain) == "cloud" and route_of(result) == "cloud·redacted"

    kept = local_answer(PII_PROMPT, "Dear Maria…", pii_types=("PERSON", "EMAIL_ADDRESS"))
    assert kept.decision.fired == "privacy"
    kept_view = privacy_view(kept, scan, "local")
    assert not kept_view.redacted and kept_view.sent_text is None
    shown = render_privacy(kept_view, False).plain
    assert "2 personal data items: kept local" in shown and "nothing left the machine" in shown


def test_presenter_counts_routes_and_shows_the_redaction_side_by_side() -> None:
    tally = PresenterTally(volume_per_day=1000)
    tally.add(local_answer("Write a two-line poem about rain.", "…"))
    tally.add(cloud_answer("Explain step by step how to compare two sorting algorithms.", "…"))
    result, scan = redacted()
    tally.add(result, scan)
    view = tally.view()
    assert view.split == {"local": 1, "cloud": 1, "cloud·redacted": 1}
    assert view.typed == PII_PROMPT and view.sent == SENT and view.replaced == 2
    text = render_presenter(view).plain
    assert "local 1 (33%)" in text and "cloud·redacted 1 (33%)" in text
    assert "per 1,000 requests" in text and "at 1,000 requests/day" in text
    assert "→ cloud·redacted: it looks like a " in text and "small local model" in text
    assert "Typed Explain step by step how to answer Maria Gonzalez" in text
    assert "Sent  Explain step by step how to answer <PERSON_1> (<EMAIL_ADDRESS_1>)" in text
    assert "2 items replaced before sending; restored in the answer" in text
