"""Generate bench/data/pii_v2/{dev,test}.jsonl: the PII evaluation set of issue 10 (seeded).

Run once with the `data` extra installed (`pip install faker`); the output is committed, so the
benchmark and the tests never need Faker. Sources, each split into dev and test *before* any
tuning (the test file was committed first, see git log):
- `faker`: Faker values in 16 locales (names, addresses, phones, cards, IBANs) inside 16
  prompt templates written for this file; each template belongs to one split.
- `grammar`: a template grammar written fresh, with its own name, street and city lists (Nordic,
  Central/Eastern European, Hungarian, Vietnamese, Chinese, West African, Irish, US), speaker
  labels, sign-offs, login names, multi-line addresses, APO/DPO, local phone formats, grouped
  card numbers, SSNs without dashes, secrets in commands and configs; each rule alternates splits.
- `ops_hand`: hand-written ops text (pii_v2/ops_hand.txt: logs, configs, stack traces, tickets,
  curl, chat threads, SQL output); secret *values* are random, of the right shape.
- `clean_ops`, `clean_general`: hand-written PII-free prompts (must come back unaltered).
- `unicode`: records of the other sources rewritten with zero-width characters, full-width
  letters or dotted card groups (the adversarial shapes of issue 9).
Records: `{"id", "source", "split", "kind": "pii"|"clean", "text",
"spans": [{"type","start","end"}]}`.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent / "pii_v2"
SEED = 20261129
rng = random.Random(SEED)

Span = tuple[str, str]  # (type, value)


# ---------------------------------------------------------------- secrets of the right shape
def _chars(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


UPPER_DIGITS = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"


def _luhn_complete(prefix: str, length: int) -> str:
    body = prefix + _chars(string.digits, length - len(prefix) - 1)
    for check in string.digits:
        digits = body + check
        total = 0
        for index, char in enumerate(reversed(digits)):
            value = int(char)
            if index % 2:
                value = value * 2 - 9 if value > 4 else value * 2
            total += value
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


def _group(digits: str, sizes: list[int], sep: str) -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i : i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(p for p in parts if p)


def _password() -> str:
    words = ["Summer", "Falcon", "River", "Orbit", "Maple", "Copper", "Tiger", "Nova"]
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(words) + str(rng.randint(10, 9999)) + rng.choice("!#$%&*")
    if roll < 0.7:
        return _chars(ALNUM + "!#%^*-_", rng.randint(12, 20))
    return _chars(ALNUM, rng.randint(16, 28))


def _jwt() -> str:
    def part(obj: dict[str, object]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    header = part({"alg": "HS256", "typ": "JWT"})
    payload = part({"sub": str(rng.randint(1000, 99999)), "exp": rng.randint(1.7e9, 1.9e9)})
    return f"{header}.{payload}.{_chars(ALNUM + '-_', 43)}"


def _key_body(width: int, lines: int) -> str:
    return "\n".join(_chars(B64, width) for _ in range(lines)) + "\n" + _chars(B64, 20) + "=="


def _iban() -> str:
    country, length = rng.choice([("DE", 22), ("FR", 27), ("NL", 18), ("GB", 22), ("PL", 28)])
    bban = (
        _chars(string.ascii_uppercase, 4) + _chars(string.digits, length - 8)
        if country in ("NL", "GB")
        else _chars(string.digits, length - 4)
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    iban = f"{country}{check:02d}{bban}"
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)) if rng.random() < 0.5 else iban


def _ssn() -> str:
    return f"{rng.randint(100, 665):03d}{rng.randint(10, 99):02d}{rng.randint(1000, 9999):04d}"


GENERATED: dict[str, Callable[[], str]] = {
    "aws_id": lambda: "AKIA" + _chars(UPPER_DIGITS, 16),
    "aws_secret": lambda: _chars(B64, 40),
    "ghp": lambda: "ghp_" + _chars(ALNUM, 36),
    "github_pat": lambda: "github_pat_" + _chars(ALNUM, 22) + "_" + _chars(ALNUM, 59),
    "slack_bot": lambda: (
        f"xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**11, 10**12)}-" + _chars(ALNUM, 24)
    ),
    "slack_hook": lambda: (
        "T" + _chars(UPPER_DIGITS, 8) + "/B" + _chars(UPPER_DIGITS, 8) + "/" + _chars(ALNUM, 24)
    ),
    "openai": lambda: "sk-proj-" + _chars(ALNUM + "-_", 48),
    "stripe": lambda: "sk_live_" + _chars(ALNUM, 24),
    "gcp": lambda: "AIza" + _chars(ALNUM + "-_", 35),
    "npm": lambda: "npm_" + _chars(ALNUM, 36),
    "jwt": _jwt,
    "pw": _password,
    "hex32": lambda: _chars(HEX, 32),
    "hex40": lambda: _chars(HEX, 40),
    "b64pw": lambda: base64.b64encode(_password().encode()).decode(),
    "b64cred": lambda: base64.b64encode(f"deploy:{_password()}".encode()).decode(),
    "rsa_body": lambda: _key_body(64, 6),
    "ossh_body": lambda: _key_body(70, 5),
    "card_dots": lambda: _group(_luhn_complete("4", 16), [4, 4, 4, 4], "."),
    "maestro12": lambda: _luhn_complete(rng.choice(["5018", "6759", "6304"]), 12),
    "jcb15": lambda: _group(_luhn_complete(rng.choice(["2131", "1800"]), 15), [4, 6, 5], " "),
    "ssn_spaces": lambda: (lambda s: f"{s[:3]} {s[3:5]} {s[5:]}")(_ssn()),
    "ssn_plain": _ssn,
    "iban": _iban,
}

MARK = re.compile(r"⟦([A-Z_]+):(.*?)⟧", re.S)


def from_marked(text: str) -> tuple[str, list[dict[str, object]]]:
    """Text with ⟦TYPE:value⟧ marks -> plain text and labeled spans (@kind values generated)."""
    out, spans, pos = [], [], 0
    length = 0
    for match in MARK.finditer(text):
        out.append(text[pos : match.start()])
        length += match.start() - pos
        kind, value = match.group(1), match.group(2)
        if value.startswith("@"):
            value = GENERATED[value[1:]]()
        spans.append({"type": kind, "start": length, "end": length + len(value)})
        out.append(value)
        length += len(value)
        pos = match.end()
    out.append(text[pos:])
    return "".join(out), spans


def record(source: str, split: str, index: int, marked: str) -> dict[str, object]:
    """One evaluation record from marked text."""
    text, spans = from_marked(marked)
    return {
        "id": f"{source}-{index}",
        "source": source,
        "split": split,
        "kind": "pii" if spans else "clean",
        "text": text,
        "spans": spans,
    }


# ---------------------------------------------------------------- source 1: Faker in 16 locales
FAKER_LOCALES = [
    "en_US", "en_GB", "en_IE", "de_DE", "fr_FR", "pl_PL", "hu_HU", "cs_CZ", "sv_SE", "no_NO",
    "fi_FI", "da_DK", "vi_VN", "zh_CN", "it_IT", "nl_NL",
]  # fmt: skip
FAKER_TEMPLATES = [
    "Please write a short apology to ⟦PERSON:{name}⟧ for the delayed replacement router.",
    "{first_label}: the backup finished at 04:10, no errors.\n⟦PERSON:{name2}⟧: thanks, closing.",
    "New employee onboarding: ⟦PERSON:{name}⟧, desk phone ⟦PHONE_NUMBER:{phone}⟧. Create the "
    "checklist.",
    "Deliver the rack rails to ⟦STREET_ADDRESS:{address}⟧ — write the courier note.",
    "Charge failed for card ⟦CREDIT_CARD:{card}⟧; suggest what to tell the customer.",
    "Wire the refund to ⟦IBAN_CODE:{iban}⟧ (account holder ⟦PERSON:{name}⟧). Is the format ok?",
    "Reported by ⟦PERSON:{name}⟧ — the login page loops after SSO. Triage this.",
    "Can you reformat this contact card?\n⟦PERSON:{name}⟧\n⟦STREET_ADDRESS:{address}⟧\n"
    "⟦PHONE_NUMBER:{phone}⟧",
    "Thanks for the quick fix!\n— ⟦PERSON:{name}⟧",
    "The on-call phone is ⟦PHONE_NUMBER:{phone}⟧; add it to the escalation policy text.",
    "Customer ⟦PERSON:{last}⟧ says the invoice went to ⟦EMAIL_ADDRESS:{email}⟧ by mistake.",
    "Summarise: ⟦PERSON:{name}⟧ approved the firewall change, ⟦PERSON:{name2}⟧ will deploy it.",
    "Update the billing address to ⟦STREET_ADDRESS:{address}⟧ and confirm by mail.",
    "Card number ⟦CREDIT_CARD:{card}⟧ expires next month; draft the renewal reminder.",
    "interviewed by ⟦PERSON:{name}⟧ on Tuesday; write up the feedback.",
    "Ask ⟦PERSON:{first}⟧ whether the VPN certificate was renewed.",
]
CARD_TYPES = ["visa16", "visa13", "mastercard", "amex", "discover", "jcb15", "jcb16", "maestro",
              "diners"]  # fmt: skip


def faker_source() -> list[dict[str, object]]:
    """Faker values in templates; a template's records all belong to one split."""
    from faker import Faker

    fakers = {loc: Faker(loc) for loc in FAKER_LOCALES}
    for index, fk in enumerate(fakers.values()):
        fk.seed_instance(SEED + index)
    out = []
    for t_index, template in enumerate(FAKER_TEMPLATES):
        split = "dev" if t_index % 2 == 0 else "test"
        for i in range(12):
            fk = fakers[FAKER_LOCALES[(i * 5 + t_index) % len(FAKER_LOCALES)]]
            name, name2 = fk.name(), fk.name()
            values = {
                "name": name,
                "name2": name2,
                "first": fk.first_name(),
                "last": fk.last_name(),
                "first_label": f"⟦PERSON:{fk.first_name()}⟧",
                "phone": re.sub(r"\s*(x|ext\.?)\s*\d+$", "", fk.phone_number()),
                "address": fk.address(),
                "card": fakers["en_US"].credit_card_number(card_type=rng.choice(CARD_TYPES)),
                "iban": fk.iban(),
                "email": fk.email(),
            }
            marked = template.format(**{k: v.replace("{", "") for k, v in values.items()})
            out.append(record("faker", split, len(out), marked))
    return out


# ---------------------------------------------------------------- source 2: a template grammar
NAMES = {
    "nordic": [("Sigrid", "Aasen"), ("Jukka", "Virtanen"), ("Freja", "Holm"), ("Eirik", "Bakken"),
               ("Annika", "Sjöberg"), ("Ólafur", "Jónsson")],
    "central_east": [("Tomasz", "Zieliński"), ("Radka", "Horáková"), ("Miroslav", "Petrović"),
                     ("Oksana", "Melnyk"), ("Bogdan", "Ionescu"), ("Vesna", "Kovač")],
    "hungarian": [("Bence", "Tóth"), ("Réka", "Farkas"), ("Gergő", "Balogh"), ("Ildikó", "Molnár")],
    "vietnamese": [("Phạm", "Minh Tuấn"), ("Trần", "Thị Lan"), ("Đỗ", "Quang Huy"),
                   ("Hoàng", "Bảo Ngọc")],
    "chinese": [("Liu", "Yang"), ("Zhou", "Xinyi"), ("Huang", "Wei"), ("Guo", "Mingze")],
    "west_african": [("Kofi", "Mensah"), ("Adaeze", "Eze"), ("Babajide", "Ogunleye"),
                     ("Fatoumata", "Traoré"), ("Yaw", "Boateng")],
    "irish": [("Caoimhe", "Ní Bhriain"), ("Oisín", "Mac Cárthaigh"), ("Niamh", "Gallagher"),
              ("Ciarán", "Ó Conaill")],
    "us": [("Tamara", "Whitfield"), ("Dwayne", "Crowley"), ("Brooke", "Hargrove")],
}  # fmt: skip
CHINESE_HANZI = ["王芳", "李娜", "张伟", "刘洋", "陈杰"]
STREETS = [
    "{n} Larkspur Crescent, Unit {u}\nHalifax, NS B3H 1Y6",
    "{n} Rue des Tanneurs, 3e étage\n69002 Lyon",
    "Birkenweg {n}, Wohnung {u}\n80331 München",
    "{n} Kelvin Court, Flat {u}, Leeds LS6 2AB",
    "Via Garibaldi {n}, int. {u}, 10122 Torino",
    "Calle de Alcalá {n}, {u}º B, 28014 Madrid",
    "Storgata {n}, leil. H0{u}, 0184 Oslo",
    "Nguyễn Huệ {n}, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
    "{n} Ridgeview Drive, Apt {u}, Boise, ID 83702",
    "Plot {n}, Independence Avenue, Accra",
    "PSC {n}, Box {u}, APO AE 09012",
    "Unit {n} Box {u}, DPO AP 96520",
    "Mannerheimintie {n} B {u}, 00100 Helsinki",
    "Jagiellońska {n}/{u}, 31-010 Kraków",
]
GRAMMAR_RULES = [
    "{name}: can someone restart the ingest worker?\n{name2}: on it.",
    "cheers,\n{name}",
    "Best regards,\n{name}\nPlatform team",
    "patch submitted by {name} — please review the diff below.",
    "Forwarded from {name2}: the certificate on the edge proxy expires Friday.",
    "my name is {lname} and my manager is {name2}; write an out-of-office note.",
    "ls -ld /home/{login} shows drwx------ owned by uid 1004; why can't the backup read it?",
    "sudo -u {login} crontab -l lists nothing, but the job runs. How?",
    "dn: uid={login},ou=staff,dc=example,dc=org is locked after 5 failures. Unlock steps?",
    "Please ship it to {address}",
    "Return address:\n{name}\n{address}",
    "call me on {local_phone} after 6pm about the rack move",
    "office: {local_phone} (ask for {first})",
    "card {card_grouped} was declined at checkout, why?",
    "Customer SSN {ssn} appears in the CSV export; how do we mask it?",
    "ping {first_lower} about the flaky test",
    "export GH_TOKEN={ghp} && gh release create v2.1.0",
    "psql postgresql://admin:{pw}@10.1.2.3/app -c 'select 1' hangs",
    'In app.yaml: api_secret: "{hex}" — should this be in git?',
    "mysqldump -u backup --password={pw} shop > shop.sql fails with 1045",
    "redis-cli -a {pw} -h cache-2 INFO memory returns NOAUTH",
    "AWS keys leaked in the log: {aws_id} / {aws_secret}. What now?",
    "Contact: {hanzi}, phone {local_phone}",
    "Signed off by: {name} <{login}@example.org>",
]
LOCAL_PHONES = [
    lambda: f"0{rng.randint(20, 89)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
    lambda: f"({rng.randint(10, 99)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
    lambda: (
        f"{rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
    ),
    lambda: (
        f"0{rng.randint(6, 7)}{rng.randint(10, 99)}-{rng.randint(100, 999)}-{rng.randint(100, 999)}"
    ),
    lambda: f"{rng.randint(200, 989)}-{rng.randint(1000, 9999)}",
]


def _login(first: str, last: str) -> str:
    import unicodedata

    def ascii_(s: str) -> str:
        return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()

    roll = rng.random()
    last_ = ascii_(last.split()[-1])
    if roll < 0.4:
        return ascii_(first)[0] + last_
    if roll < 0.7:
        return f"{ascii_(first)}.{last_}"
    return ascii_(first) + last_


def grammar_source() -> list[dict[str, object]]:
    """The template grammar: each rule belongs to one split, values drawn per record."""
    out = []
    cultures = list(NAMES)
    for r_index, rule in enumerate(GRAMMAR_RULES):
        split = "dev" if r_index % 2 == 0 else "test"
        for i in range(7):
            culture = cultures[(i + r_index) % len(cultures)]
            first, last = rng.choice(NAMES[culture])
            first2, last2 = rng.choice(NAMES[cultures[(i + r_index + 3) % len(cultures)]])
            lname = f"{first} {last}".lower() if rng.random() < 0.5 else f"{first} {last}"
            card_digits = _luhn_complete(rng.choice(["4", "51", "37", "6011", "35"]), rng.choice(
                [13, 15, 16, 16, 19]))  # fmt: skip
            values = {
                "name": f"⟦PERSON:{first} {last}⟧",
                "name2": f"⟦PERSON:{first2} {last2}⟧",
                "lname": f"⟦PERSON:{lname}⟧",
                "first": f"⟦PERSON:{first}⟧",
                "first_lower": f"⟦PERSON:{first.lower()}⟧",
                "login": f"⟦PERSON:{_login(first, last)}⟧",
                "hanzi": f"⟦PERSON:{rng.choice(CHINESE_HANZI)}⟧",
                "address": "⟦STREET_ADDRESS:"
                + rng.choice(STREETS).format(n=rng.randint(2, 480), u=rng.randint(1, 40))
                + "⟧",
                "local_phone": f"⟦PHONE_NUMBER:{rng.choice(LOCAL_PHONES)()}⟧",
                "card_grouped": "⟦CREDIT_CARD:"
                + _group(card_digits, [4, 4, 4, 4, 3], rng.choice([" ", "-", ".", ""]))
                + "⟧",
                "ssn": f"⟦US_SSN:{rng.choice([GENERATED['ssn_spaces'], _ssn])()}⟧",
                "ghp": f"⟦SECRET:{GENERATED['ghp']()}⟧",
                "pw": f"⟦SECRET:{_password()}⟧",
                "hex": f"⟦SECRET:{GENERATED['hex40']()}⟧",
                "aws_id": f"⟦SECRET:{GENERATED['aws_id']()}⟧",
                "aws_secret": f"⟦SECRET:{GENERATED['aws_secret']()}⟧",
            }
            out.append(record("grammar", split, len(out), rule.format(**values)))
    return out


# ---------------------------------------------------------------- hand-written sources
def hand_source() -> list[dict[str, object]]:
    """ops_hand.txt records, alternating dev/test."""
    lines = (HERE / "ops_hand.txt").read_text(encoding="utf-8").splitlines()
    body = "\n".join(line for line in lines if not line.startswith("# "))
    chunks = [c.strip("\n") for c in re.split(r"\n---\n", body) if c.strip()]
    return [
        record("ops_hand", "dev" if i % 2 == 0 else "test", i, chunk)
        for i, chunk in enumerate(chunks)
    ]


def clean_source(name: str) -> list[dict[str, object]]:
    """A file of PII-free prompts, one per line, alternating dev/test."""
    lines = [x for x in (HERE / f"{name}.txt").read_text(encoding="utf-8").splitlines() if x]
    return [record(name, "dev" if i % 2 == 0 else "test", i, line) for i, line in enumerate(lines)]


# ---------------------------------------------------------------- unicode variants
ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\u202e", "\ufeff"]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def unicode_source(base: list[dict[str, object]]) -> list[dict[str, object]]:
    """Some PII records rewritten inside their spans: zero-width characters or full width."""
    out = []
    candidates = [r for r in base if r["kind"] == "pii"]
    for index, original in enumerate(rng.sample(candidates, 60)):
        text = str(original["text"])
        spans = sorted(original["spans"], key=lambda s: s["start"])  # type: ignore[arg-type,index]
        new_text, new_spans, pos = [], [], 0
        for span in spans:
            value = text[span["start"] : span["end"]]
            if index % 2 == 0:
                cut = rng.randint(1, max(1, len(value) - 1))
                value = value[:cut] + rng.choice(ZW) + value[cut:]
            else:
                value = _fullwidth(value)
            new_text.append(text[pos : span["start"]])
            start = sum(len(x) for x in new_text)
            new_text.append(value)
            new_spans.append({"type": span["type"], "start": start, "end": start + len(value)})
            pos = span["end"]
        new_text.append(text[pos:])
        out.append(
            {
                "id": f"unicode-{index}",
                "source": "unicode",
                "split": original["split"],
                "kind": "pii",
                "text": "".join(new_text),
                "spans": new_spans,
            }
        )
    return out


def main() -> None:
    """Write dev.jsonl and test.jsonl."""
    records = faker_source() + grammar_source() + hand_source()
    records += unicode_source(records)
    records += clean_source("clean_ops") + clean_source("clean_general")
    for record_ in records:
        text = str(record_["text"])
        for span in record_["spans"]:  # type: ignore[attr-defined]
            assert text[span["start"] : span["end"]].strip(), record_
    for split in ("dev", "test"):
        with open(HERE / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for record_ in records:
                if record_["split"] == split:
                    handle.write(json.dumps(record_, ensure_ascii=False) + "\n")
    print({s: sum(r["split"] == s for r in records) for s in ("dev", "test")})


if __name__ == "__main__":
    main()
