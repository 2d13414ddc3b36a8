"""Unicode normalisation for scanning, with a map back to the original text.

Text is scanned in NFKC form with zero-width and bidirectional control characters removed, so
"jane\u200b@example.com", full-width "ｊａｎｅ" or a right-to-left override cannot hide an
identifier from ASCII-minded recognizers. Every span found in the normalised text is mapped back
to the original characters, and the *original* is what gets redacted: nothing of the identifier
(the hidden characters included) reaches the cloud.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: Invisible characters an identifier can be split with: zero-width space/joiners, word joiner,
#: BOM, soft hyphen, Mongolian vowel separator, bidi marks, embeddings, overrides and isolates.
INVISIBLE = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)


@dataclass(frozen=True)
class Normalized:
    """`text` in scanning form; `starts[i]`/`ends[i]` bound the original characters of `text[i]`."""

    original: str
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def identity(self) -> bool:
        """True when the scanning form is the original text itself."""
        return self.text is self.original

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering normalised characters `start:end`."""
        if self.identity:
            return start, end
        if start >= end:
            at = self.starts[start] if start < len(self.starts) else len(self.original)
            return at, at
        begin, stop = self.starts[start], self.ends[end - 1]
        # Invisible characters right inside or around the span go with it.
        while begin > 0 and self.original[begin - 1] in INVISIBLE:
            begin -= 1
        while stop < len(self.original) and self.original[stop] in INVISIBLE:
            stop += 1
        return begin, stop


def normalize(text: str) -> Normalized:
    """NFKC `text` without invisible characters, and where each character came from.

    A base character and its combining marks are normalised together (Vietnamese "ễ" written
    with combining marks becomes one character); ASCII text is returned as is, at no cost.
    """
    if text.isascii():
        return Normalized(text, text, (), ())
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char in INVISIBLE:
            index += 1
            continue
        stop = index + 1
        while stop < length and unicodedata.combining(text[stop]):
            stop += 1
        cluster = text[index:stop]
        form = unicodedata.normalize("NFKC", cluster) if not cluster.isascii() else cluster
        pieces.append(form)
        starts.extend([index] * len(form))
        ends.extend([stop] * len(form))
        index = stop
    normalized = "".join(pieces)
    if normalized == text:
        return Normalized(text, text, (), ())
    return Normalized(text, normalized, tuple(starts), tuple(ends))
