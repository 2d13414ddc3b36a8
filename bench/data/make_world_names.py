"""Build policies/pii_world_names.txt: a compact first/last name index from names-dataset.

names-dataset (`pip install names-dataset`, the `data` extra) holds names from 105 countries but
takes ~14 s and ~1.9 GB of memory to load (measured here with /usr/bin/time), far over the
scanner's 5 s budget, so its most frequent names are precomputed once into a small committed file:
per country the top first names (each gender) and top last names, folded to lower-case ASCII
(the scanner folds text the same way). Lines are `F name` or `L name`.

Usage: python bench/data/make_world_names.py [--top N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "policies" / "pii_world_names.txt"


def fold(name: str) -> str:
    """Lower-case ASCII form of a name ("Tóth" -> "toth", "Michał" -> "michal"), the scanner's."""
    from policies.names import fold as scanner_fold

    return scanner_fold(name)


def main() -> None:
    """Write the index."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=600)
    args = parser.parse_args()
    from names_dataset import NameDataset

    dataset = NameDataset()
    firsts: set[str] = set()
    lasts: set[str] = set()
    for country in dataset.get_country_codes(alpha_2=True):
        top = dataset.get_top_names(n=args.top, country_alpha2=country)
        for names in top.get(country, {}).values():
            firsts.update(fold(n) for n in names)
        top = dataset.get_top_names(n=args.top, country_alpha2=country, use_first_names=False)
        lasts.update(fold(n) for n in top.get(country, []))
    keep = lambda n: n.isalpha() and n.isascii() and len(n) > 1  # noqa: E731
    lines = [f"F {n}" for n in sorted(filter(keep, firsts))]
    lines += [f"L {n}" for n in sorted(filter(keep, lasts))]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT.name}: {len(firsts)} first names, {len(lasts)} last names")


if __name__ == "__main__":
    main()
