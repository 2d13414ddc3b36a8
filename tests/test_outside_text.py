"""Outside text is cleaned of every escape sequence and control, and never read as markup."""

from __future__ import annotations

import io

import pytest

from console.outside_text import as_text, clean, for_stream

HOSTILE = [
    ("osc52 clipboard", "a\x1b]52;c;aGVsbG8=\x07b", "ab"),
    ("osc52 st", "a\x1b]52;c;aGVsbG8=\x1b\\b", "ab"),
    ("osc2 title", "\x1b]2;pwned\x07ok", "ok"),
    ("osc8 link", "\x1b]8;;http://x\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("clear screen", "x\x1b[2Jy", "xy"),
    ("csi private", "x\x1b[?1049hy", "xy"),
    ("dcs", "x\x1bPq#0;2;0;0;0\x1b\\y", "xy"),
    ("apc", "x\x1b_Gpayload\x1b\\y", "xy"),
    ("8-bit csi", "x\x9b2Jy", "xy"),
    ("8-bit osc", "x\x9d52;c;AA==\x07y", "xy"),
    ("unterminated osc", "x\x1b]52;c;AAAA", "x"),
    ("reset", "x\x1bcy", "xy"),
    ("bell backspace", "a\x07\x08b", "ab"),
    ("carriage return", "secret\rpublic", "secret\npublic"),
    ("lone surrogate", "a\ud800b", "ab"),
]


@pytest.mark.parametrize(("name", "raw", "expected"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_clean_removes_sequences(name: str, raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_keeps_text_newlines_tabs_and_unicode() -> None:
    text = "line 1\n\tindented — café 日本 [b]not markup[/b]"
    assert clean(text) == text
    assert clean("a\r\nb") == "a\nb"


def test_as_text_is_never_markup() -> None:
    text = as_text("[@click=app.quit]click me[/] and [/]")
    assert text.plain == "[@click=app.quit]click me[/] and [/]"
    assert not text.spans


def test_for_stream_cleans_only_terminals() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    raw = "a\x1b]52;c;AA==\x07b"
    assert for_stream(raw, Tty()) == "ab"
    assert for_stream(raw, io.StringIO()) == raw
