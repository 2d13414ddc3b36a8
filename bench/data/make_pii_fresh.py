"""Generate bench/data/pii_v2/fresh_{dev,test}.jsonl: Faker values in templates written later.

A source independent of make_pii_v2.py's templates (written for the Unicode/speed follow-up of
issue 10, before looking at any miss): 20 templates of contact cards, shipping labels, CRM notes,
signatures and chat lines, Faker values from 22 locales (more than the first set's 16), another
seed. A template's records all belong to one split, alternating, so the test split measures
templates the tuning never saw; the test file is committed before any tuning on the dev file.

Usage: python bench/data/make_pii_fresh.py   (needs the `data` extra: pip install faker)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

OUT = Path(__file__).parent / "pii_v2"
SEED = 90210
LOCALES = [
    "en_US", "en_GB", "en_AU", "en_CA", "en_IE", "de_DE", "de_AT", "de_CH", "fr_FR", "es_ES",
    "it_IT", "pt_PT", "pt_BR", "nl_NL", "pl_PL", "cs_CZ", "sk_SK", "ro_RO", "hr_HR", "sv_SE",
    "da_DK", "fi_FI",
]  # fmt: skip
TEMPLATES = [
    "Ship to:\n⟦PERSON:{name}⟧\n⟦STREET_ADDRESS:{address}⟧\n\nPlease print the label.",
    "CRM note: spoke with ⟦PERSON:{name}⟧ about the renewal, she asked us to call back on "
    "⟦PHONE_NUMBER:{phone}⟧.",
    "Kind regards,\n⟦PERSON:{name}⟧\n⟦STREET_ADDRESS:{address}⟧\nTel. ⟦PHONE_NUMBER:{phone}⟧",
    "The replacement disk should go to ⟦STREET_ADDRESS:{address_line}⟧, not the old office.",
    "[09:14] ⟦PERSON:{first}⟧: is the staging DB back?\n[09:15] ops-bot: yes, since 09:02",
    "Invoice recipient: ⟦PERSON:{name}⟧, ⟦STREET_ADDRESS:{address_line}⟧. Translate to German.",
    "Our courier could not find ⟦STREET_ADDRESS:{address}⟧ — rewrite the delivery note.",
    "Meeting notes (⟦PERSON:{name}⟧, ⟦PERSON:{name2}⟧): migrate the queue before Friday.",
    "customer=⟦PERSON:{name}⟧ phone=⟦PHONE_NUMBER:{phone}⟧ status=escalated; explain this row",
    "Return address\n⟦STREET_ADDRESS:{address}⟧\nIs the postcode format right for this country?",
    "Assigned to ⟦PERSON:{name}⟧ by ⟦PERSON:{name2}⟧ on 2026-11-02. Summarise the ticket.",
    "Please send the contract to ⟦PERSON:{name}⟧ at ⟦STREET_ADDRESS:{address_line}⟧ by Monday.",
    "Hi team, ⟦PERSON:{first}⟧ here. I can't reach the VPN from home.",
    "Emergency contact: ⟦PERSON:{name}⟧ (⟦PHONE_NUMBER:{phone}⟧). Add to the on-call sheet.",
    "Billing address on file: ⟦STREET_ADDRESS:{address}⟧. Customer wants it changed.",
    "The badge for ⟦PERSON:{name}⟧ was printed twice; write a short note to security.",
    "Pickup point: ⟦STREET_ADDRESS:{address_line}⟧ (loading dock). Make a checklist.",
    "Thanks ⟦PERSON:{first}⟧! The fix works on my side too.",
    "Lease holder ⟦PERSON:{name}⟧\n⟦STREET_ADDRESS:{address}⟧\nDraft the reminder letter.",
    "Forward the logs to ⟦PERSON:{name}⟧ and copy ⟦PERSON:{last}⟧ from the network team.",
]
_MARK = re.compile(r"⟦([A-Z_]+):(.*?)⟧", re.S)


def marked_record(source: str, split: str, index: int, marked: str) -> dict[str, object]:
    """A record from template text whose labeled values are written ⟦TYPE:value⟧."""
    text, spans, pos = [], [], 0
    for match in _MARK.finditer(marked):
        text.append(marked[pos : match.start()])
        start = sum(len(t) for t in text)
        text.append(match.group(2))
        spans.append({"type": match.group(1), "start": start, "end": start + len(match.group(2))})
        pos = match.end()
    text.append(marked[pos:])
    return {
        "id": f"{source}-{index}",
        "source": source,
        "split": split,
        "kind": "pii",
        "text": "".join(text),
        "spans": spans,
    }


def main() -> None:
    """Write fresh_dev.jsonl and fresh_test.jsonl (10 records per template)."""
    from faker import Faker

    fakers = [Faker(locale) for locale in LOCALES]
    for index, fake in enumerate(fakers):
        fake.seed_instance(SEED + index)
    records: dict[str, list[dict[str, object]]] = {"dev": [], "test": []}
    for t_index, template in enumerate(TEMPLATES):
        split = "dev" if t_index % 2 == 0 else "test"
        for i in range(10):
            fake = fakers[(i * 7 + t_index * 3) % len(fakers)]
            address = fake.address()
            values = {
                "name": fake.name(),
                "name2": fake.name(),
                "first": fake.first_name(),
                "last": fake.last_name(),
                "phone": re.sub(r"\s*(x|ext\.?)\s*\d+$", "", fake.phone_number()),
                "address": address,
                "address_line": ", ".join(line.strip() for line in address.splitlines()),
            }
            marked = template.format(**{k: v.replace("⟧", "") for k, v in values.items()})
            index = len(records["dev"]) + len(records["test"])
            records[split].append(marked_record("fresh", split, index, marked))
    for split, rows in records.items():
        with open(OUT / f"fresh_{split}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(split, len(rows))


if __name__ == "__main__":
    main()
