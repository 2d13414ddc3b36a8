"""Text from outside (prompts, answers, error bodies, stored text) is data, never control codes.

One rendering path for every screen and for the CLI's stdout on a terminal: `clean()` removes
escape sequences (CSI, OSC, DCS, SOS/PM/APC, two-byte ESC sequences), C0 controls except newline
and tab, DEL, 8-bit C1 controls and lone surrogates; `as_text()` wraps the result in a Rich `Text`,
which is never parsed as markup. A model answer can therefore neither write the user's clipboard
(OSC 52), change the window title, clear the screen nor become a live link in the console.
"""

from __future__ import annotations

import re
from typing import TextIO

from rich.text import Text

# ESC-introduced sequences, in 7-bit and 8-bit (C1) form:
# - CSI: ESC [ or 0x9B, parameters, intermediates, a final byte;
# - OSC, DCS, SOS, PM, APC: ESC ] / P / X / ^ / _ (or 0x9D 0x90 0x98 0x9E 0x9F), up to BEL or ST
#   (ESC \ or 0x9C) or the end of the text, so an unterminated one is dropped whole;
# - any other ESC + one byte (charset switches, RIS "ESC c", ...).
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[\x20-\x7e]?",
    re.DOTALL,
)
# Whatever control is left: C0 but newline and tab, DEL, C1, and lone surrogates (which cannot be
# encoded for a terminal at all).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` without escape sequences or control characters; newlines and tabs are kept.

    A carriage return before a newline is dropped; any other carriage return (which would let a
    text overwrite what was printed before it on the same line) becomes a newline.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def as_text(text: str, style: str = "") -> Text:
    """Outside text as a Rich `Text`: cleaned, and never interpreted as markup."""
    return Text(clean(text), style=style)


def for_stream(text: str, stream: TextIO) -> str:
    """`text` as it may be written to `stream`: cleaned when the stream is a terminal.

    Redirected output (a file, a pipe) keeps the exact bytes, so scripts see what the model wrote.
    """
    isatty = getattr(stream, "isatty", None)
    return clean(text) if isatty is not None and isatty() else text


__all__ = ["as_text", "clean", "for_stream"]
