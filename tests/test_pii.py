"""PII detection, reversible redaction and `switchboard pii`, on the real Presidio + spaCy stack."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import policies.pii as pii_module
from policies.config import PiiConfig, RecognizerConfig
from policies.pii import (
    PiiConfigError,
    PiiEntity,
    PiiInputError,
    PiiScan,
    PiiScanner,
    Pseudonymizer,
    redact_text,
    scan_lines,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def scanner() -> PiiScanner:
    """The default-config scanner, loaded once for the session (it takes seconds)."""
    scanner = PiiScanner(PiiConfig())
    scanner.load()
    return scanner


@pytest.fixture(scope="session")
def custom_scanner() -> PiiScanner:
    """A scanner with an allow list, a deny list and a regex recognizer from config."""
    config = PiiConfig(
        allow_list=("Alice Walker",),
        deny_list=("Project Bluebird",),
        recognizers=(
            RecognizerConfig(
                name="employee_id", entity="EMPLOYEE_ID", pattern=r"EMP-[0-9]{6}", score=0.9
            ),
        ),
    )
    return PiiScanner(config)


DETECTIONS = [
    ("PERSON", "Please send the report to Margaret Holloway today.", "Margaret Holloway"),
    ("PERSON", "forward this to priya raman, she owns billing", "priya raman"),
    ("EMAIL_ADDRESS", "Mail the logs to ops.lead@contoso.com please.", "ops.lead@contoso.com"),
    ("PHONE_NUMBER", "call me on +44 20 7946 0958 after the deploy", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "her mobile is (415) 555-2671", "(415) 555-2671"),
    ("CREDIT_CARD", "Refund the Amex 3782 822463 10005 now.", "3782 822463 10005"),
    ("CREDIT_CARD", "card 5555-5555-5555-4444 failed", "5555-5555-5555-4444"),
    (
        "IBAN_CODE",
        "Pay to IBAN DE89 3704 0044 0532 0130 00 by Friday.",
        "DE89 3704 0044 0532 0130 00",
    ),
    ("US_SSN", "SSN 219-09-9999 from the W-2", "219-09-9999"),
    ("US_SSN", "my ssn is 536228726 please mask it", "536228726"),
    ("IP_ADDRESS", "logins from 203.0.113.45 look odd", "203.0.113.45"),
    (
        "IP_ADDRESS",
        "traffic from 2001:db8:85a3::8a2e:370:7334 spiked",
        "2001:db8:85a3::8a2e:370:7334",
    ),
    ("US_DRIVER_LICENSE", "His driver's license number is D1234567.", "D1234567"),
    (
        "STREET_ADDRESS",
        "Ship it to:\n1842 West Cedar Lane, Apt 3B\nPortland, OR 97205 by Monday",
        "1842 West Cedar Lane, Apt 3B\nPortland, OR 97205",
    ),
    (
        "STREET_ADDRESS",
        "The tenant at 12 Baker Street, London NW1 6XE left.",
        "12 Baker Street, London NW1 6XE",
    ),
]


@pytest.mark.parametrize(("entity_type", "text", "value"), DETECTIONS)
def test_detects_each_type(scanner: PiiScanner, entity_type: str, text: str, value: str) -> None:
    start = text.index(value)
    scan = scanner.scan(text)
    covering = [e for e in scan.entities if e.start <= start and e.end >= start + len(value)]
    assert [e.type for e in covering] == [entity_type], scan.entities
    assert 0.0 < covering[0].score <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "How do I bind a dev server to 127.0.0.1:8080 with Python 3.11.7?",
        "Our p99 latency is 840 ms since the 2024-11-02 deploy of Kubernetes 1.30; S3 costs $387.",
        "Refactor this: for i in range(len(items)): print(items[i])",
        "Why does Docker say 'port is already allocated' for 0.0.0.0:5432?",
    ],
)
def test_leaves_pii_free_prompts_alone(scanner: PiiScanner, text: str) -> None:
    scan, redacted = redact_text(scanner, text)
    assert scan.entities == ()
    assert redacted == text


# Over-redaction found in integration: places, product pairs and sentence-initial commands read
# as first names (census lists, spaCy's small model, the "X and Y" rule).
@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "Compare Redis and Memcached for session caching.",
        "Explain how Paris and Virginia differ in climate.",
        "How does Jordan compare to Chad in GDP?",
        "Write a haiku about autumn in Georgia.",
        "Summarize how Austin and Dallas differ as tech hubs.",
        "Plan a trip to Virginia Beach and Savannah in June.",
        "Draft the notes for Monday: Kafka and RabbitMQ both lag.",
        "when does hurricane season start in florida?",
    ],
)
def test_places_products_and_commands_are_not_people(scanner: PiiScanner, text: str) -> None:
    scan, redacted = redact_text(scanner, text)
    assert scan.entities == (), [text[e.start : e.end] for e in scan.entities]
    assert redacted == text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Write a short bio of Grace Hopper for the intranet.", ["Grace Hopper"]),
        ("Compare Grace Hopper and Alan Turing as pioneers.", ["Grace Hopper", "Alan Turing"]),
        ("Tell Jordan the deploy is done.", ["Jordan"]),
        ("Dear Georgia, the invoice is attached.", ["Georgia"]),
        ("Ask Dr. Austin about the results.", ["Austin"]),
        ("Amy says the build is green again.", ["Amy"]),
        (
            "Meeting notes: Eva and Joshua Clark agreed to move the kickoff.",
            ["Eva", "Joshua Clark"],
        ),
        ("Joshua Clark and Maria Lopez own the runbook.", ["Joshua Clark", "Maria Lopez"]),
        ("Georgia Smith reported the outage.", ["Georgia Smith"]),
        ("Customer record: Stephen, stephen.w@example.org, wants a refund.", ["Stephen"]),
        ("please loop in ahmed khan on the ticket", ["ahmed khan"]),
    ],
)
def test_names_are_still_caught(scanner: PiiScanner, text: str, names: list[str]) -> None:
    scan = scanner.scan(text)
    for name in names:
        start = text.index(name)
        covering = [e for e in scan.entities if e.start <= start and e.end >= start + len(name)]
        assert [e.type for e in covering] == ["PERSON"], (name, scan.entities)
    # A leading command word is never part of a name.
    assert all(
        not text[e.start : e.end].startswith(("Compare", "Write", "Tell", "Ask"))
        for e in scan.entities
    )


# Over-detection found in integration: everyday words that are also census names ("long",
# "story", "young", "grant", "read") made all lower-case "first last" pairs in ordinary prompts.
@pytest.mark.parametrize(
    "text",
    [
        "Tell me a long story about a happy dog.",
        "Write a long story about a lighthouse keeper and the sea.",
        "Tell me a story about the young knight and the old wizard.",
        "Write a poem about a white rose in the summer rain.",
        "Will the new pricing apply to existing customers or only new ones?",
        "May I ask how the release notes should be formatted?",
        "Mark the bill as paid and send a receipt to the customer.",
        "How do I grant read access to a new service account?",
        "Write a short poem about joy and hope after a long winter.",
        "Tell me a story about a green frog and a brown bear who become friends.",
        "tell stories about a rich king and a young queen",
    ],
)
def test_everyday_words_that_are_census_names_are_not_people(
    scanner: PiiScanner, text: str
) -> None:
    scan, redacted = redact_text(scanner, text)
    assert scan.entities == (), [text[e.start : e.end] for e in scan.entities]
    assert redacted == text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("ahmed khan asked about the refund.", ["ahmed khan"]),
        ("the invoice for maria gonzalez is overdue", ["maria gonzalez"]),
        ("why did john smith get two invoices this month?", ["john smith"]),
        ("write a story about maria gonzalez and her long journey", ["maria gonzalez"]),
    ],
)
def test_lower_case_names_without_cues_are_still_caught(
    scanner: PiiScanner, text: str, names: list[str]
) -> None:
    scan, redacted = redact_text(scanner, text)
    for name in names:
        start = text.index(name)
        covering = [e for e in scan.entities if e.start <= start and e.end >= start + len(name)]
        assert [e.type for e in covering] == ["PERSON"], (name, scan.entities)
        assert name not in redacted


HEAVY_MODULES = ("spacy", "presidio_analyzer", "presidio_anonymizer", "tldextract")


def test_importing_pii_modules_does_not_import_spacy_or_presidio() -> None:
    """The console imports policies.pii before its first frame; the heavy libraries load later."""
    script = (
        "import sys, policies.pii, policies.pii_recognizers\n"
        f"print(','.join(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))\n"
        "from policies.config import PiiConfig\n"
        "policies.pii.PiiScanner(PiiConfig(entities=('PERSON',))).load()\n"
        f"print(','.join(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.splitlines()
    assert before == ""
    # load() does bring in the analyzer's libraries (so the check above can fail).
    assert {"spacy", "presidio_analyzer", "tldextract"} <= set(after.split(","))


def test_scan_types_and_count() -> None:
    scan = PiiScan(
        text="x" * 30,
        entities=(
            PiiEntity("PERSON", 0, 3, 0.8),
            PiiEntity("EMAIL_ADDRESS", 5, 9, 1.0),
            PiiEntity("PERSON", 10, 13, 0.8),
        ),
    )
    assert scan.types == ("EMAIL_ADDRESS", "PERSON")
    assert scan.count == 3


def test_placeholders_are_stable_and_numbered_per_type(scanner: PiiScanner) -> None:
    pseudonymizer = Pseudonymizer()
    first = "Ask Margaret Holloway to email ops.lead@contoso.com and then Daniel Kim."
    _, redacted = redact_text(scanner, first, pseudonymizer)
    assert redacted == "Ask <PERSON_1> to email <EMAIL_ADDRESS_1> and then <PERSON_2>."
    second = "Did Daniel Kim reply to Margaret Holloway? Also cc Olivia Brown."
    _, redacted = redact_text(scanner, second, pseudonymizer)
    assert redacted == "Did <PERSON_2> reply to <PERSON_1>? Also cc <PERSON_3>."
    # A new conversation numbers from 1 again.
    _, fresh = redact_text(scanner, second)
    assert fresh == "Did <PERSON_1> reply to <PERSON_2>? Also cc <PERSON_3>."


def test_restore_gives_back_the_original(scanner: PiiScanner) -> None:
    text = "Bill 4111 1111 1111 1111 for Carlos Mendoza, 77 Massachusetts Ave, Cambridge, MA 02139."
    pseudonymizer = Pseudonymizer()
    _, redacted = redact_text(scanner, text, pseudonymizer)
    assert "Carlos" not in redacted and "4111" not in redacted and "Massachusetts" not in redacted
    assert pseudonymizer.restore(redacted) == text
    assert pseudonymizer.restore("Unknown <PERSON_9> stays; <b>tags</b> too") == (
        "Unknown <PERSON_9> stays; <b>tags</b> too"
    )


def test_mapping_never_shows_or_pickles() -> None:
    pseudonymizer = Pseudonymizer()
    pseudonymizer.placeholder("PERSON", "Margaret Holloway")
    assert "Margaret" not in repr(pseudonymizer)
    assert "Margaret" not in str(pseudonymizer)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(pseudonymizer)


def _answer_and_expected() -> tuple[Pseudonymizer, str, str]:
    pseudonymizer = Pseudonymizer()
    alice = pseudonymizer.placeholder("PERSON", "Alice Walker")
    mail = pseudonymizer.placeholder("EMAIL_ADDRESS", "alice@example.com")
    answer = (
        f"Dear {alice}, a<b holds; write to {mail}<{alice}> <PERSON or <EMAIL_ADDRESS_12> end <"
    )
    expected = (
        "Dear Alice Walker, a<b holds; write to alice@example.com<Alice Walker> <PERSON or "
        "<EMAIL_ADDRESS_12> end <"
    )
    return pseudonymizer, answer, expected


def _stream(pseudonymizer: Pseudonymizer, chunks: list[str], expected: str) -> str:
    restorer = pseudonymizer.restorer()
    shown = ""
    for chunk in chunks:
        shown += restorer.feed(chunk)
        assert expected.startswith(shown), (chunks, shown)
    return shown + restorer.flush()


def test_stream_restore_with_a_split_at_every_position() -> None:
    pseudonymizer, answer, expected = _answer_and_expected()
    assert pseudonymizer.restore(answer) == expected
    for cut in range(len(answer) + 1):
        assert _stream(pseudonymizer, [answer[:cut], answer[cut:]], expected) == expected
    for cut in range(1, len(answer)):
        for second in range(cut, len(answer), 7):
            chunks = [answer[:cut], answer[cut:second], answer[second:]]
            assert _stream(pseudonymizer, chunks, expected) == expected


def test_stream_restore_char_by_char_and_holds_only_placeholder_prefixes() -> None:
    pseudonymizer, answer, expected = _answer_and_expected()
    assert _stream(pseudonymizer, list(answer), expected) == expected
    restorer = pseudonymizer.restorer()
    assert restorer.feed("Hi <PER") == "Hi "
    assert restorer.feed("SON_1>!") == "Alice Walker!"
    assert restorer.feed("x <div") == "x <div"


def test_allow_list_deny_list_and_custom_recognizer(custom_scanner: PiiScanner) -> None:
    text = (
        "Alice Walker asked Margaret Holloway about project bluebird and badge EMP-004211, "
        "not EMP-12."
    )
    scan = custom_scanner.scan(text)
    found = {(e.type, text[e.start : e.end]) for e in scan.entities}
    assert ("PERSON", "Margaret Holloway") in found
    assert ("DENY_LIST", "project bluebird") in found
    assert ("EMPLOYEE_ID", "EMP-004211") in found
    assert not any("Alice" in value for _, value in found)
    assert not any(value == "EMP-12" for _, value in found)


def test_load_is_idempotent_and_thread_safe(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[int] = []
    real_build = pii_module._build_analyzer

    def counting_build(config: PiiConfig) -> object:
        builds.append(1)
        return real_build(config)

    monkeypatch.setattr(pii_module, "_build_analyzer", counting_build)
    scanner = PiiScanner(PiiConfig(entities=("EMAIL_ADDRESS",)))
    assert not scanner.ready
    threads = [threading.Thread(target=scanner.load) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    scanner.load()
    assert scanner.ready
    assert builds == [1]
    assert scanner.scan("write to ops@contoso.com").types == ("EMAIL_ADDRESS",)


def test_unknown_entity_in_config_is_a_clear_error() -> None:
    with pytest.raises(PiiConfigError, match=r"\[pii\] entities: unknown entity type 'PERSN'"):
        PiiScanner(PiiConfig(entities=("PERSN",))).load()


def test_scan_lines_stops_at_a_bad_line_after_earlier_output(scanner: PiiScanner) -> None:
    lines = ['{"text": "mail bob@example.com"}\n', "\n", '{"text": 3}\n', '{"text": "never"}\n']
    produced = scan_lines(scanner, lines)
    first = json.loads(next(produced))
    assert first["redacted"] == "mail <EMAIL_ADDRESS_1>"
    with pytest.raises(PiiInputError, match="stdin line 3"):
        next(produced)


NO_NETWORK_SCRIPT = textwrap.dedent(
    """
    import socket
    attempts = []
    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from policies.config import PiiConfig
    from policies.pii import PiiScanner
    scanner = PiiScanner(PiiConfig(entities=PiiConfig().entities + ("URL",)))
    scan = scanner.scan("Mail ops@contoso.co.uk or see https://status.example.org, Ann Lee")
    print("types", ",".join(scan.types))
    secret = scanner.scan("export GITHUB_TOKEN=ghp_4fT9kQz2LmN8pR1sV6wX3yB7cD0eF5gH2jK9")
    print("secret", ",".join(secret.types))
    print("attempts", len(attempts))
    try:
        socket.create_connection(("127.0.0.1", 9))
    except OSError:
        pass
    print("blocker_works", len(attempts) == 1)
    """
)


def test_first_load_and_scan_make_no_network_call() -> None:
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK_SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "types EMAIL_ADDRESS,PERSON,URL" in lines
    assert "secret SECRET" in lines
    assert "attempts 0" in lines
    assert "blocker_works True" in lines


def test_cli_pii_jsonl_end_to_end(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[pii]\ndeny_list = ["Bluebird"]\n', encoding="utf-8")
    stdin = (
        '{"text": "Call Margaret Holloway at +44 20 7946 0958 about Bluebird"}\n'
        '{"text": "port 8080 on 127.0.0.1"}\n'
        "{not json\n"
        '{"text": "never reached"}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", str(config), "pii", "--jsonl"],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line, no traceback
    assert "line 3" in result.stderr and "Traceback" not in result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["redacted"] == "Call <PERSON_1> at <PHONE_NUMBER_1> about <DENY_LIST_1>"
    assert set(first) == {"text", "redacted", "entities"}
    text = first["text"]
    assert [(e["type"], text[e["start"] : e["end"]]) for e in first["entities"]] == [
        ("PERSON", "Margaret Holloway"),
        ("PHONE_NUMBER", "+44 20 7946 0958"),
        ("DENY_LIST", "Bluebird"),
    ]
    assert all(set(e) == {"type", "start", "end", "score"} for e in first["entities"])
    assert second == {
        "text": "port 8080 on 127.0.0.1",
        "redacted": "port 8080 on 127.0.0.1",
        "entities": [],
    }
