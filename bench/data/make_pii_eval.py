"""Generate bench/data/pii_eval.jsonl: the labeled PII evaluation set (seeded, reproducible).

Run once with the `data` extra installed (`pip install -e ".[data]"`); the output is
committed, so the benchmark and the tests never need Faker. Each line is one prompt:
`{"id": ..., "split": "tune"|"test", "kind": "pii"|"clean", "text": ..., "spans": [{"type", "start",
"end"}]}`. Spans label the direct identifiers (what must not reach the cloud); `kind == "clean"`
prompts have none and must come back unaltered.

Honest split: each *template* belongs to one split (alternating), so the held-out "test" split has
phrasings and contexts that tuning did not use, and its values come from a second seed; the
hand-written hard cases (`pii_hard_cases.jsonl`) and PII-free prompts (`pii_clean_prompts.txt`)
are split the same way (by line, alternating: even lines tune, odd lines test; new lines are
appended, so earlier records keep their split).
Synthetic values come from Faker in several locales; the names gazetteer used by the scanner comes
from a different source (the US census lists shipped by the `names` package).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from pathlib import Path

from faker import Faker

HERE = Path(__file__).parent
SEED = 20261123
#: Values of the held-out split come from a second seed: the tuning never saw them, not even as
#: aggregate figures before the recognizers were frozen (see the report in bench/pii_quality.py).
TEST_SEED = 777
PER_TEMPLATE = 9

rng = random.Random(SEED)
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "en_IN", "es_ES", "it_IT", "nl_NL", "en_AU"]
fakers = {loc: Faker(loc) for loc in LOCALES}
us = fakers["en_US"]


def reseed(seed: int) -> None:
    """Restart every random source from `seed`."""
    rng.seed(seed)
    for i, fk in enumerate(fakers.values()):
        fk.seed_instance(seed + i)


def _name() -> str:
    loc = rng.choices(
        ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "en_IN"],
        weights=[6, 2, 1, 1, 1, 1, 1],
    )[0]
    fk = fakers[loc]
    roll = rng.random()
    if roll < 0.12:
        return f"{fk.first_name()} {fk.last_name()}".lower()
    if roll < 0.22:
        return fk.first_name()
    return f"{fk.first_name()} {fk.last_name()}"


def _email() -> str:
    return rng.choice([us.email, us.company_email, us.free_email, fakers["de_DE"].email])()


def _phone() -> str:
    loc = rng.choice(
        ["en_US", "en_US", "en_GB", "de_DE", "fr_FR", "en_IN", "es_ES", "it_IT", "nl_NL", "en_AU"]
    )
    number: str = fakers[loc].phone_number()
    return re.sub(r"\s*x\d+$", "", number)


def _address() -> str:
    loc = rng.choice(["en_US", "en_US", "en_US", "en_GB", "en_AU"])
    fk = fakers[loc]
    sep = rng.choice([", ", ", ", "\n"])
    if loc == "en_US":
        street = fk.street_address()
        return f"{street}{sep}{fk.city()}, {fk.state_abbr()} {fk.zipcode()}"
    if loc == "en_GB":
        return f"{fk.building_number()} {fk.street_name()}{sep}{fk.city()} {fk.postcode()}"
    locality = f"{fk.city()} {fk.state_abbr()} {fk.postcode()}"
    return f"{fk.building_number()} {fk.street_name()}{sep}{locality}"


def _card() -> str:
    raw = us.credit_card_number(card_type=rng.choice(["visa16", "mastercard", "amex", "discover"]))
    style = rng.random()
    if style < 0.4:
        return raw
    sep = " " if style < 0.8 else "-"
    if len(raw) == 15:
        return sep.join([raw[:4], raw[4:10], raw[10:]])
    return sep.join(raw[i : i + 4] for i in range(0, len(raw), 4))


def _iban() -> str:
    raw: str = fakers[rng.choice(["de_DE", "en_GB", "fr_FR", "nl_NL", "es_ES", "it_IT"])].iban()
    if rng.random() < 0.5:
        return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    return raw


def _ssn() -> str:
    ssn: str = us.ssn()
    return ssn.replace("-", "") if rng.random() < 0.4 else ssn


def _ip() -> str:
    roll = rng.random()
    if roll < 0.6:
        return str(us.ipv4_public())
    full = str(us.ipv6())
    if roll < 0.8:
        return full
    groups = full.split(":")
    return ":".join(groups[:3]) + "::" + groups[-1]


def _digits(n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _licence() -> str:
    d = _digits
    letter = rng.choice("ABCDEFGHJKLMNPRSTWY")
    return rng.choice(
        [
            f"{letter}{d(7)}",  # CA
            f"{letter}{d(3)}-{d(3)}-{d(2)}-{d(3)}-{d(1)}",  # FL
            f"{letter}{d(3)}-{d(4)}-{d(4)}",  # IL
            f"{d(9)}",  # NY
            f"{letter}{d(12)}",  # MI-like
            f"{d(8)}",  # TX
        ]
    )


SLOTS: dict[str, tuple[str, Callable[[], str]]] = {
    "name": ("PERSON", _name),
    "name2": ("PERSON", _name),
    "email": ("EMAIL_ADDRESS", _email),
    "phone": ("PHONE_NUMBER", _phone),
    "address": ("STREET_ADDRESS", _address),
    "card": ("CREDIT_CARD", _card),
    "iban": ("IBAN_CODE", _iban),
    "ssn": ("US_SSN", _ssn),
    "ip": ("IP_ADDRESS", _ip),
    "licence": ("US_DRIVER_LICENSE", _licence),
}

TEMPLATES = [
    "Draft a polite reply to {name} ({email}) saying the outage on ticket 4821 is resolved.",
    "Summarize this support call: customer {name} called from {phone} about a double charge.",
    "Customer record: {name}, {address}. Write a shipping confirmation email.",
    "Why was the card {card} declined? The customer is {name}, reach them at {email}.",
    "Please update the payout IBAN for vendor {name} to {iban} and confirm by email.",
    "Verify the identity of {name}: SSN {ssn}, phone {phone}.",
    "Our firewall logged repeated logins from {ip}. Write an incident note for the SOC.",
    "Extract the driver's license number from: 'Driver's license {licence}, holder {name}'.",
    "ok so {name} says the invoice should go to {address} - can you fix the template?",
    "Translate to French: 'Dear {name}, your new phone number {phone} is active.'",
    "Send the contract to {email} and cc {name2}; their office is at {address}.",
    "Refund request: cardholder {name}, card number {card}, amount $42.50.",
    "Write a SQL insert for a user with email {email}, phone {phone} and ssn {ssn}.",
    "Is {ip} in our allowlist? {name} from networking asked.",
    "Bank details for the wire: beneficiary {name}, IBAN {iban}.",
    "Classify the sentiment of this message from {name}: "
    "'the app keeps crashing, call me on {phone}'.",
    'Fix the JSON: {{"user": "{name}", "mail": "{email}", "ip": "{ip}"}}',
    "The background check needs DL {licence} and social security number {ssn} for {name}.",
    "Meeting notes: {name} and {name2} agreed to move the kickoff. Summarize in 3 bullets.",
    "My name is {name} and I live at {address}. Can you write a complaint letter to my landlord?",
    "Parse this log line: 2024-05-01T10:22:03Z login ok user={email} src={ip}",
    "Hi, it's {name}. My card {card} was charged twice, please call me at {phone}.",
    "Employee onboarding: {name}, SSN {ssn}, home address {address}, mobile {phone}.",
    "Write a regex test case using this sample IBAN {iban} and this email {email}.",
    "Reply to {name2}: thanks for the license scan ({licence}), we will verify it today.",
    "Escalate: user {email} reported fraud on card ending in {card} from IP {ip}.",
    "can you tell {name} that the server at {ip} is back up",
    "Create a vCard for {name}, tel {phone}, email {email}, adr {address}.",
]

HARD_FILE = HERE / "pii_hard_cases.jsonl"
CLEAN_FILE = HERE / "pii_clean_prompts.txt"
OUT = HERE / "pii_eval.jsonl"


def _fill(template: str) -> tuple[str, list[dict[str, object]]]:
    text = ""
    spans: list[dict[str, object]] = []
    for literal, field, _spec, _conv in __import__("string").Formatter().parse(template):
        text += literal
        if field is None:
            continue
        entity, make = SLOTS[field]
        value = make()
        spans.append({"type": entity, "start": len(text), "end": len(text) + len(value)})
        text += value
    return text, spans


def main() -> None:
    """Write the evaluation set."""
    records: list[dict[str, object]] = []
    for split, seed in (("tune", SEED), ("test", TEST_SEED)):
        reseed(seed)
        for index, template in enumerate(TEMPLATES):
            # Every template is filled in both passes so that each split's values are those of
            # a full run with its seed; a template belongs to one split only.
            own = (index % 2 == 0) == (split == "tune")
            for n in range(PER_TEMPLATE):
                text, spans = _fill(template)
                if own:
                    records.append(
                        {
                            "id": f"t{index}-{n}",
                            "split": split,
                            "kind": "pii",
                            "text": text,
                            "spans": spans,
                        }
                    )
    for index, line in enumerate(HARD_FILE.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        case = json.loads(line)
        spans = []
        cursor = 0
        for entity, value in case["pii"]:
            start = case["text"].index(value, cursor)
            spans.append({"type": entity, "start": start, "end": start + len(value)})
            cursor = start + len(value)
        records.append(
            {
                "id": f"h{index}",
                "split": "tune" if index % 2 == 0 else "test",
                "kind": "pii",
                "text": case["text"],
                "spans": spans,
            }
        )
    clean = [ln for ln in CLEAN_FILE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for index, line in enumerate(clean):
        records.append(
            {
                "id": f"c{index}",
                "split": "tune" if index % 2 == 0 else "test",
                "kind": "clean",
                "text": line.replace("\\n", "\n"),
                "spans": [],
            }
        )
    with OUT.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} records to {OUT}")


if __name__ == "__main__":
    main()
