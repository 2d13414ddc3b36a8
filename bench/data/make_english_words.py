"""Write policies/pii_english_words.txt: everyday English words that are not mainly names.

Run once with the `data` extra installed (`pip install -e ".[data]"`); the output is
committed, so the scanner never needs wordfreq. The list is wordfreq's 3,000 most frequent
English words (alphabetic only),
less the ones that are mostly someone's name or a place in real text ("john", "smith", "london"):
the scanner uses it to refuse all lower-case "first last" pairs made of everyday words that happen
to be census names ("long story", "young king", "grant read"), while "john smith" still counts.
"""

from __future__ import annotations

import re
from pathlib import Path

from wordfreq import top_n_list

OUT = Path(__file__).resolve().parent.parent.parent / "policies" / "pii_english_words.txt"
SIZE = 3000
#: Frequent words that are mainly given names or surnames (hand-checked against the census lists).
NAMES = frozenset(
    re.findall(
        r"\S+",
        """
    adam alex andrew ben bob charles chris clinton dan daniel david dick edward ford george harry
    henry jackson james jan jesus jim joe john johnson jones jordan joseph kevin kim lee louis
    martin mary matt michael mike nick paul peter richard robert ryan sam scott smith steve
    taylor thomas tim tom tony trump william williams wilson
""",
    )
)
#: Frequent words that are mainly place names (policies/pii_places.py deals with those).
PLACES = frozenset(
    re.findall(
        r"\S+",
        """
    africa america angeles asia boston brazil britain canada carolina china england florida
    france francisco germany hong india ireland israel london manchester paris san spain sydney
    virginia wales washington york
""",
    )
)


def main() -> None:
    """Write the word list, one lower-case word per line, most frequent first."""
    words = [
        word
        for word in top_n_list("en", SIZE)
        if word.isascii() and word.isalpha() and word not in NAMES and word not in PLACES
    ]
    OUT.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"wrote {len(words)} words to {OUT}")


if __name__ == "__main__":
    main()
