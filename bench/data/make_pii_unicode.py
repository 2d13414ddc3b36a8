"""Generate bench/data/pii_v2/unicode_wide_{dev,test}.jsonl: Unicode disguises of labeled PII.

A second Unicode source, made by a different method from `unicode` in make_pii_v2.py (which only
inserts zero-width characters or writes a span in full width). Each labeled span of a base record
is rewritten with one or two *families* of disguise, chosen at random per span:
- `homoglyph`: Latin letters swapped for Cyrillic or Greek look-alikes (a table typed in here from
  the glyphs, not taken from any confusables library), for some or all of the letters;
- `dotless_i`: "i" written as the dotless "ı";
- `digits`: digits written in another decimal system (full width, Arabic-Indic, Persian,
  Devanagari, Bengali, Thai, mathematical bold);
- `marks`: combining marks (acute, diaeresis, strike-through, underline...) after some characters;
- `spaces`: spaces as no-break, thin, narrow, figure, ideographic, en or hair spaces;
- `dashes`: hyphens as en/em dash, minus sign, non-breaking hyphen, figure dash, small hyphen;
- `soft_hyphen`: soft hyphens inside words.
Base records are the PII records of pii_v2/{dev,test}.jsonl and pii_eval.jsonl; a record keeps
its base record's split (the test file is written, and committed, before any tuning on it).
Records: `{"id", "source": "unicode_wide", "split", "kind": "pii", "families": [...], "text",
"spans": [{"type","start","end"}]}`.

Usage: python bench/data/make_pii_unicode.py   (seeded; needs nothing beyond the standard library)
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).parent
OUT = DATA / "pii_v2"
SEED = 424242
rng = random.Random(SEED)

#: Latin letters and their Cyrillic or Greek look-alikes, typed from the glyphs.
LOOK_ALIKES = {
    "a": "\u0430\u03b1",
    "c": "\u0441\u03f2",
    "e": "\u0435",
    "o": "\u043e\u03bf",
    "p": "\u0440\u03c1",
    "x": "\u0445",
    "y": "\u0443",
    "i": "\u0456\u03b9",
    "j": "\u0458",
    "s": "\u0455",
    "h": "\u04bb",
    "d": "\u0501",
    "q": "\u051b",
    "w": "\u051d",
    "v": "\u03bd",
    "A": "\u0410\u0391",
    "B": "\u0412\u0392",
    "C": "\u0421",
    "E": "\u0415\u0395",
    "H": "\u041d\u0397",
    "I": "\u0406\u0399",
    "J": "\u0408",
    "K": "\u041a\u039a",
    "M": "\u041c\u039c",
    "N": "\u039d",
    "O": "\u041e\u039f",
    "P": "\u0420\u03a1",
    "S": "\u0405",
    "T": "\u0422\u03a4",
    "X": "\u0425\u03a7",
    "Y": "\u04ae\u03a5",
    "Z": "\u0396",
}
#: Code point of zero in other decimal systems.
DIGIT_ZEROS = (0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1D7CE)
MARKS = "\u0301\u0300\u0308\u0336\u0332\u0335\u0307\u0323"
SPACES = "\u00a0\u2009\u202f\u2007\u3000\u2002\u200a"
DASHES = "\u2013\u2014\u2212\u2011\u2012\u2010\ufe63"
SOFT_HYPHEN = "\u00ad"


def homoglyph(value: str) -> str:
    """Some (or all) letters that have a look-alike swapped for it."""
    share = rng.choice((0.3, 0.6, 1.0))
    return "".join(
        rng.choice(LOOK_ALIKES[c]) if c in LOOK_ALIKES and rng.random() < share else c
        for c in value
    )


def dotless_i(value: str) -> str:
    """Every "i" dotless."""
    return value.replace("i", "\u0131")


def digits(value: str) -> str:
    """Every digit in one other decimal system."""
    zero = rng.choice(DIGIT_ZEROS)
    return "".join(chr(zero + int(c)) if c.isascii() and c.isdigit() else c for c in value)


def marks(value: str) -> str:
    """Combining marks after about a third of the letters and digits."""
    return "".join(
        c + rng.choice(MARKS) if c.isalnum() and rng.random() < 0.35 else c for c in value
    )


def spaces(value: str) -> str:
    """Spaces written as other space characters."""
    space = rng.choice(SPACES)
    return value.replace(" ", space)


def dashes(value: str) -> str:
    """Hyphens written as other dash characters."""
    dash = rng.choice(DASHES)
    return value.replace("-", dash)


def soft_hyphen(value: str) -> str:
    """A soft hyphen inside each word of three letters or more."""
    words = value.split(" ")
    return " ".join(
        w[: len(w) // 2] + SOFT_HYPHEN + w[len(w) // 2 :] if len(w) >= 3 else w for w in words
    )


FAMILIES: dict[str, Callable[[str], str]] = {
    "homoglyph": homoglyph,
    "dotless_i": dotless_i,
    "digits": digits,
    "marks": marks,
    "spaces": spaces,
    "dashes": dashes,
    "soft_hyphen": soft_hyphen,
}


def applicable(value: str) -> list[str]:
    """The families that change `value`."""
    return [name for name, change in FAMILIES.items() if _changes(name, value)]


def _changes(name: str, value: str) -> bool:
    if name == "homoglyph":
        return any(c in LOOK_ALIKES for c in value)
    if name == "dotless_i":
        return "i" in value
    if name == "digits":
        return any(c.isdigit() for c in value)
    if name == "spaces":
        return " " in value
    if name == "dashes":
        return "-" in value
    if name == "soft_hyphen":
        return any(len(w) >= 3 for w in value.split(" "))
    return any(c.isalnum() for c in value)


def disguise(base: dict[str, object], index: int) -> dict[str, object]:
    """`base` with each labeled span rewritten by one or two families."""
    text = str(base["text"])
    spans = sorted(base["spans"], key=lambda s: s["start"])  # type: ignore[arg-type,index]
    pieces: list[str] = []
    new_spans = []
    used: list[str] = []
    pos = 0
    for span in spans:
        if span["start"] < pos:  # overlapping labels: keep the record's first one
            continue
        value = text[span["start"] : span["end"]]
        options = applicable(value)
        chosen = rng.sample(options, min(len(options), rng.choice((1, 1, 2))))
        for name in chosen:
            value = FAMILIES[name](value)
        used += chosen
        pieces.append(text[pos : span["start"]])
        start = sum(len(p) for p in pieces)
        pieces.append(value)
        new_spans.append({"type": span["type"], "start": start, "end": start + len(value)})
        pos = span["end"]
    pieces.append(text[pos:])
    return {
        "id": f"unicode_wide-{base['split']}-{index}",
        "source": "unicode_wide",
        "split": base["split"],
        "kind": "pii",
        "families": sorted(set(used)),
        "text": "".join(pieces),
        "spans": new_spans,
    }


def bases() -> list[dict[str, object]]:
    """The PII records every other source labels, with their splits."""
    records = []
    for name in ("dev", "test"):
        for line in (OUT / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["kind"] == "pii" and record["source"] in ("faker", "grammar", "ops_hand"):
                records.append(record)
    for line in (DATA / "pii_eval.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["kind"] == "pii":
            record["split"] = "dev" if record["split"] == "tune" else "test"
            records.append(record)
    return records


def main() -> None:
    """Write unicode_wide_dev.jsonl and unicode_wide_test.jsonl (80 records each)."""
    pool = bases()
    for split in ("dev", "test"):
        chosen = rng.sample([r for r in pool if r["split"] == split], 80)
        path = OUT / f"unicode_wide_{split}.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for index, base in enumerate(chosen):
                record = disguise(base, index)
                for span in record["spans"]:  # type: ignore[attr-defined]
                    assert str(record["text"])[span["start"] : span["end"]].strip(), record
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        print(path.name, len(chosen))


if __name__ == "__main__":
    main()
