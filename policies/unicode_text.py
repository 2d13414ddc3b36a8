"""Unicode normalisation for scanning, with a map back to the original text.

Text is scanned in a *scanning form* where Unicode cannot disguise an identifier from
ASCII-minded recognizers:
- NFKC (full-width "ｊａｎｅ", mathematical bold, ligatures, most odd spaces);
- zero-width, bidirectional control characters and soft hyphens removed;
- combining marks written as separate characters dropped from Latin, Greek, Cyrillic, Han and
  digit bases ("W\u0336illiams", "Jo\u0308hn": marks a person adds to break a match; text typed
  with precomposed letters such as "José" keeps them);
- digits of any decimal system written as ASCII digits (Arabic-Indic, Devanagari, Bengali...);
- every space character as " ", line and paragraph separators as a new line;
- dashes and the minus sign between two digits, and hyphens between letters, as "-";
- look-alike letters (Unicode's confusables: Cyrillic "а", Greek "ο", dotless "ı"...) as the
  ASCII letter they imitate, in words that mix them with Latin letters or are made of them alone
  ("Κοfi", "һоtmаіl"); words of a genuine Greek or Cyrillic spelling stay as they are.
Every span found in the scanning form is mapped back to the original characters, and the
*original* is what gets redacted: nothing of the identifier (the hidden characters included)
reaches the cloud.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Invisible characters an identifier can be split with: zero-width space/joiners, word joiner,
#: BOM, soft hyphen, Mongolian vowel separator, bidi marks, embeddings, overrides and isolates.
INVISIBLE = frozenset(
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
)
#: Dashes that read as "-" between digits (figure, en, em dash, horizontal bar, minus signs).
DIGIT_DASHES = frozenset("\u2012\u2013\u2014\u2015\u2212\ufe58\u2796")
#: Hyphens that read as "-" between letters too (hyphen, non-breaking and small hyphens).
HYPHENS = frozenset("\u2010\u2011\u2043\ufe63")
#: Scripts whose letters carry no combining mark a name needs in the scanning form.
_STRIP_MARK_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC", "CJK")


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
        # Invisible characters and stray marks right inside or around the span go with it.
        while begin > 0 and _hidden(self.original[begin - 1]):
            begin -= 1
        while stop < len(self.original) and _hidden(self.original[stop]):
            stop += 1
        return begin, stop


def _hidden(char: str) -> bool:
    return char in INVISIBLE or unicodedata.category(char) in ("Mn", "Me")


@cache
def look_alikes() -> dict[str, str]:
    """Non-ASCII letters and the ASCII letter or digit they imitate (Unicode's confusables, from
    the confusable-homoglyphs package). A capital keeps its case: Cyrillic "І" reads as "I",
    not the "l" the confusables skeleton gives it."""
    package = resources.files("confusable_homoglyphs")
    data = package.joinpath("confusables.json").read_text(encoding="utf-8")
    table: dict[str, str] = {}
    for char, entries in json.loads(data).items():
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        options = [
            e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()
        ]
        if not options:
            continue
        letters = [o for o in options if o.isalpha()] or options
        same_case = [o for o in letters if o.isupper() == char.isupper()]
        choice = (same_case or letters)[0]
        if char.isupper() and choice == "l":
            choice = "I"
        table[char] = choice
    # Turkish dotted capital I and the dotless j are not in the confusables list.
    table.update({"\u0130": "I", "\u0131": "i", "\u0237": "j"})
    # Words are unmasked after NFKC, which turns some look-alikes into other letters (the lunate
    # sigma "ϲ" into the final sigma "ς"): those forms imitate the same letter.
    for char, choice in list(table.items()):
        form = unicodedata.normalize("NFKC", char)
        if len(form) == 1 and not form.isascii():
            table.setdefault(form, choice)
    return table


@cache
def _strips_marks(char: str) -> bool:
    """Whether combining marks on `char` are dropped in the scanning form."""
    if char.isascii() or char.isdecimal():
        return True
    return unicodedata.name(char, "").startswith(_STRIP_MARK_SCRIPTS)


@cache
def _is_latin_letter(char: str) -> bool:
    return char.isalpha() and (char.isascii() or unicodedata.name(char, "").startswith("LATIN"))


def _cluster_form(cluster: str) -> str:
    """The scanning form of one base character and the combining marks after it."""
    form = unicodedata.normalize("NFKC", cluster)
    if len(cluster) > 1 or unicodedata.category(cluster[0]) in ("Mn", "Me"):
        # Marks written as their own characters: keep the bases, drop the marks.
        decomposed = unicodedata.normalize("NFD", form)
        bases = [c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me")]
        if not bases:
            return ""
        if all(_strips_marks(c) for c in bases):
            form = unicodedata.normalize("NFC", "".join(bases))
    out = []
    for char in form:
        if char.isascii():
            out.append(char)
        elif char.isdecimal():
            out.append(str(unicodedata.decimal(char)))
        elif unicodedata.category(char) == "Zs":
            out.append(" ")
        elif char in "\u2028\u2029":
            out.append("\n")
        else:
            out.append(char)
    return "".join(out)


def _unmask_words(chars: list[str]) -> None:
    """Look-alike letters as ASCII, in words that mix them with Latin or are made of them."""
    table = look_alikes()
    index, length = 0, len(chars)
    while index < length:
        if not chars[index].isalnum():
            index += 1
            continue
        stop = index
        while stop < length and chars[stop].isalnum():
            stop += 1
        word = chars[index:stop]
        if any(c in table for c in word):
            letters = [c for c in word if c.isalpha()]
            mixed = any(_is_latin_letter(c) and c not in table for c in letters)
            if mixed or all(c in table or c.isascii() for c in letters):
                chars[index:stop] = [table.get(c, c) for c in word]
        index = stop


def _unify_dashes(chars: list[str]) -> None:
    """Dashes between digits and hyphens between letters or digits as "-"."""
    for index in range(1, len(chars) - 1):
        char = chars[index]
        if char in DIGIT_DASHES or char in HYPHENS:
            before, after = chars[index - 1], chars[index + 1]
            if (before.isdigit() and after.isdigit()) or (
                char in HYPHENS and before.isalnum() and after.isalnum()
            ):
                chars[index] = "-"


def normalize(text: str) -> Normalized:
    """`text` in scanning form (see the module's docstring), and where each character came from.

    ASCII text is returned as is, at no cost.
    """
    if text.isascii():
        return Normalized(text, text, (), ())
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    index, length = 0, len(text)
    while index < length:
        char = text[index]
        if char.isascii():
            chars.append(char)
            starts.append(index)
            ends.append(index + 1)
            index += 1
            continue
        if char in INVISIBLE:
            index += 1
            continue
        stop = index + 1
        while stop < length and (
            unicodedata.combining(text[stop]) or unicodedata.category(text[stop]) in ("Mn", "Me")
        ):
            stop += 1
        form = _cluster_form(text[index:stop])
        chars.extend(form)
        starts.extend([index] * len(form))
        ends.extend([stop] * len(form))
        index = stop
    _unmask_words(chars)
    _unify_dashes(chars)
    normalized = "".join(chars)
    if normalized == text:
        return Normalized(text, text, (), ())
    return Normalized(text, normalized, tuple(starts), tuple(ends))
