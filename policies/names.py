"""Names from the whole world: a gazetteer index and the contexts that make a word a name.

The gazetteer is policies/pii_world_names.txt, the most frequent first and last names of 105
countries precomputed from the `names-dataset` package by bench/data/make_world_names.py
(loading names-dataset itself takes ~14 s and ~1.9 GB here; the index loads in well under a
second). Words are compared folded: lower case, diacritics removed ("Tóth" -> "toth"), letters
such as "ł", "ø", "æ", "ß" written in ASCII ("Michał" -> "michal": without that, every name
holding one was missing from the index).

`find_context_names` finds PERSON spans by where they stand rather than by NER:
speaker labels in chat logs ("[10:42] Siobhan O'Driscoll: ..."), sign-offs ("Cheers,\\nIfeoma"),
"by"/"from"/"paged"/"escalated to" followed by a name, e-mail "From:" headers, a name before
"<address@domain>" (git log, Signed-off-by), honorifics
("Mr Kowalczyk", "Dr. Ingrid Halvorsen"), login names next to personal cues (/home/NAME,
uid=NAME, `who` output, sshd's "Failed password for NAME"), Chinese names in Han characters,
and capitalised pairs of known names ("Lars Øvergaard", "Nguyễn Thị Hoa").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from policies.pii_places import is_place

#: A detection: start, end (character offsets) and score.
Hit = tuple[int, int, float]

WORLD_NAMES_FILE = Path(__file__).with_name("pii_world_names.txt")


#: Letters NFKD does not decompose into an ASCII letter and marks ("Michał", "Søren", "Æsa").
LETTERS_TO_ASCII = str.maketrans(
    dict(zip("đĐłŁøØıðÐħĦŀĿ", "dDlLoOidDhHlL", strict=True))
    | {"æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ß": "ss", "þ": "th", "Þ": "Th"}
)


def fold(word: str) -> str:
    """Lower-case ASCII form of a word ("Đỗ" -> "do", "Tóth" -> "toth", "Michał" -> "michal")."""
    if word.isascii():
        return word.casefold()
    decomposed = unicodedata.normalize("NFKD", word.translate(LETTERS_TO_ASCII))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def _world_names() -> tuple[frozenset[str], frozenset[str]]:
    firsts: list[str] = []
    lasts: list[str] = []
    for line in WORLD_NAMES_FILE.read_text(encoding="ascii").splitlines():
        kind, _, name = line.partition(" ")
        (firsts if kind == "F" else lasts).append(name)
    return frozenset(firsts), frozenset(lasts)


def world_first_names() -> frozenset[str]:
    """Folded first names of 105 countries (names-dataset's most frequent)."""
    return _world_names()[0]


def world_last_names() -> frozenset[str]:
    """Folded last names of 105 countries (names-dataset's most frequent)."""
    return _world_names()[1]


@cache
def _not_name_words() -> frozenset[str]:
    from policies.pii_recognizers import COMMON_WORDS, english_words, stop_words

    return english_words() | stop_words() | COMMON_WORDS | _ROLE_WORDS


# Words that label a line without being a person ("Error:", "User:", "Assistant:").
_ROLE_WORDS = frozenset(
    re.findall(
        r"\S+",
        """
    user assistant system bot error warning warn info debug trace fatal note notes summary
    subject from to cc bcc date re fwd host hostname server status output input result
    results question answer q a prompt response request reply customer client agent support
    admin root operator ops oncall on-call sre dev devops team everyone all here channel
    traceback exception caused stack file line step action todo fixme hint tip example
    """,
    )
)
_WORD = r"[^\W\d_](?:[^\W\d_]|['’\-.](?=[^\W\d_]))*"
_CAP = r"[^\W\d_a-z](?:[^\W\d_]|['’\-](?=[^\W\d_]))*"
_PARTICLE = r"(?:van|von|de|der|den|da|di|del|la|le|du|dos|bin|ibn|al|Ní|Ní|Nic|Mac|Mc|Ó|O'|Ui)"
_NAME_RUN = rf"{_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_CAP}){{0,3}}"

_SPEAKER = re.compile(
    rf"(?m)^[ \t]*(\[?\d{{1,2}}:\d{{2}}(?::\d{{2}})?\]?[ \t]*)?<?({_WORD}(?:[ \t]+{_WORD}){{0,3}})"
    r">?:[ \t]"
)
_SIGN_OFF = re.compile(
    r"(?im)^[ \t]*(?:cheers|thanks|thank you|many thanks|best|best regards|kind regards|regards"
    r"|warm regards|sincerely|yours|br|ta|talk soon|see you)[ \t]*[,!.]?[ \t]*\n[ \t]*"
    rf"(?:[—–-]+[ \t]*)?({_WORD}(?:[ \t]+{_WORD}){{0,2}})[ \t]*$"
)
_DASH_SIGNATURE = re.compile(rf"(?m)(?:^|[ \t])[—–][ \t]*({_NAME_RUN})[ \t]*$")
_BY_FROM = re.compile(
    r"(?i:\b(?:written|posted|reported|approved|reviewed|authored|submitted|created|opened"
    r"|filed|signed off|assigned|escalated|handed|sent|raised|requested|interviewed|paged"
    r"|notes|message|email|mail|invite|meeting invite|ticket #?\d+|call|ask)?[ \t]*"
    r"(?:by|from|to|for)\b:?)[ \t]+(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?[ \t]+)?"
    rf"({_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_WORD}){{0,2}})"
)
# "Ship to:\nJakub Jamroz", "Attn: Ana Ruiz": labels that put a person's name on their line.
_LABELLED = re.compile(
    r"(?m)^[ \t]*(?i:ship to|deliver to|bill to|sold to|attn|attention|recipient|addressee|c/o"
    r"|lease holder|account holder|tenant|customer|contact|emergency contact)[ \t]*:?[ \t]*\n?"
    rf"[ \t]*({_NAME_RUN})[ \t]*$"
)
# "Hi team, Inkeri here.": a greeting, then a name introducing its writer.
_INTRODUCTION = re.compile(
    rf"(?i:\b(?:hi|hello|hey|morning|good morning|evening)\b[^.\n!?]{{0,20}}?[,!]?[ \t]+)({_CAP})"
    r"[ \t]+here\b"
)
_FROM_HEADER = re.compile(r"(?im)^(?:from|to|cc|reply-to):[ \t]*\"?([^<\n\"@]{2,60}?)\"?[ \t]*<")
# "Lars Øvergaard <lars@example.org>": git log, mail headers, CODEOWNERS, Signed-off-by.
_NAME_BEFORE_EMAIL = re.compile(
    rf"(?<![\w@.])({_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+)?{_CAP}){{1,3}})[ \t]+<[^@\s<>]+@[^\s<>]+>"
)
_HONORIFIC = re.compile(
    r"\b(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Sgt|SGT|Capt|Lt|Col|Rev|Fr"
    r"|pan|pani|Pan|Pani|Chị|Anh|Ông|Bà|Cô|Chú)\.?[ \t]+"
    rf"({_NAME_RUN})"
)
_LOGIN = re.compile(
    r"(?:/home/|/Users/|\buid=|\bcn=|\bsudo[ \t]+-u[ \t]+|\bsu[ \t]+-[ \t]+|\bchown[ \t]+"
    r"|Failed password for (?:invalid user )?|Accepted \w+ for |session opened for user )"
    r"([a-z][a-z0-9._\-]{1,31})(?![\w@])"
)
_WHO = re.compile(r"(?m)^([a-z][a-z0-9._\-]{1,31})[ \t]+(?:pts|tty|console)\S*[ \t]")
_HAN_NAME = re.compile(
    r"(?<![\u4e00-\u9fff])[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于"
    r"蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    r"龚邵万钱严覃武戴莫孔向汤欧阳司马诸葛][\u4e00-\u9fff]{1,2}(?![\u4e00-\u9fff])"
)
_CAP_RUN = re.compile(_NAME_RUN)
#: Accounts that belong to a service, not a person.
SYSTEM_ACCOUNTS = frozenset(
    re.findall(
        r"\S+",
        """
    root admin administrator ubuntu debian centos ec2-user fedora alpine postgres mysql redis
    www-data nginx apache httpd nobody daemon bin sys git gitlab github deploy deployer jenkins
    runner gitlab-runner ci build builder backup etl report reporting svc service app apps
    test tester guest operator ansible terraform docker kube kubernetes grafana prometheus
    elastic kafka zookeeper hadoop spark airflow celery node npm python java oracle sa dba
    people staff users groups ou dc example org com local
    """,
    )
)


def _is_name_word(word: str) -> bool:
    folded = fold(word).strip("'’-.")
    return (
        bool(folded) and folded not in _not_name_words() and not (len(word) > 1 and word.isupper())
    )


def _known(word: str) -> bool:
    folded = fold(word).strip("'’-.")
    return folded in world_first_names() or folded in world_last_names()


def _name_like(run: str) -> bool:
    """Every word could be a name, and at least one is a known first or last name."""
    words = [w for w in run.split() if not re.fullmatch(_PARTICLE, w)]
    return bool(words) and all(_is_name_word(w) for w in words) and any(_known(w) for w in words)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without trailing words that are not names ("Kasia reviewing" -> "Kasia")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    while len(words) > 1 and not _is_name_word(words[-1].group()):
        words.pop()
    return start, start + words[-1].end() if words else start


def _speaker_labels(text: str) -> Iterator[Hit]:
    for match in _SPEAKER.finditer(text):
        label = match.group(2)
        words = label.replace(".", " ").split()
        if any(fold(w) in _ROLE_WORDS for w in words):
            continue
        timestamped = match.group(1) is not None
        if (timestamped and all(_is_name_word(w) or _known(w) for w in words)) or _name_like(
            label.replace(".", " ")
        ):
            yield (*match.span(2), 0.7)


def _signatures(text: str) -> Iterator[Hit]:
    for pattern in (_SIGN_OFF, _DASH_SIGNATURE):
        for match in pattern.finditer(text):
            run = match.group(1)
            if any(fold(w) in _ROLE_WORDS for w in run.split()):
                continue
            if _name_like(run) or (run[0].isupper() and all(_is_name_word(w) for w in run.split())):
                yield (*match.span(1), 0.7)


def _by_from(text: str) -> Iterator[re.Match[str]]:
    """Matches of _BY_FROM, overlapping: "to Ann Lee by Bo Chan" holds two cues."""
    position = 0
    while (match := _BY_FROM.search(text, position)) is not None:
        yield match
        position = match.start(1) + 1


def _after_cues(text: str) -> Iterator[Hit]:
    for match in _by_from(text):
        start, end = _trim(text, *match.span(1))
        first = text[start:end].split()[0]
        if not _is_name_word(first):
            continue
        if first[0].isupper() and _name_like(text[start:end]):
            if end - start == len(first) and is_place(first):
                continue
            yield start, end, 0.6
        elif first.islower() and fold(first) in world_first_names() and len(first) > 3:
            yield start, start + len(first), 0.5
    for match in _FROM_HEADER.finditer(text):
        yield (*match.span(1), 0.7)
    for pattern in (_LABELLED, _INTRODUCTION):
        for match in pattern.finditer(text):
            words = [w for w in match.group(1).split() if not re.fullmatch(_PARTICLE, w)]
            if words and all(_is_name_word(w) for w in words) and not is_place(match.group(1)):
                yield (*match.span(1), 0.7)
    for match in _NAME_BEFORE_EMAIL.finditer(text):
        if all(_is_name_word(w) or re.fullmatch(_PARTICLE, w) for w in match.group(1).split()):
            yield (*match.span(1), 0.7)
    for match in _HONORIFIC.finditer(text):
        start, end = _trim(text, *match.span(1))
        if _is_name_word(text[start:end].split()[0]):
            yield start, end, 0.7


def _logins(text: str) -> Iterator[Hit]:
    for pattern in (_LOGIN, _WHO):
        for match in pattern.finditer(text):
            login = match.group(1)
            parts = re.split(r"[._\-]", login)
            if login in SYSTEM_ACCOUNTS or any(p in SYSTEM_ACCOUNTS for p in parts if len(p) > 3):
                continue
            yield (*match.span(1), 0.6)


def _known_pairs(text: str) -> Iterator[Hit]:
    """Capitalised runs of two to four words holding a known first name and a known surname."""
    firsts, lasts = world_first_names(), world_last_names()
    for match in _CAP_RUN.finditer(text):
        words = [w for w in match.group().split() if not re.fullmatch(_PARTICLE, w)]
        if len(words) < 2 or not all(_is_name_word(w) for w in words):
            continue
        folded = [fold(w) for w in words]
        if any(f in firsts for f in folded) and sum(f in firsts or f in lasts for f in folded) >= 2:
            yield (*match.span(), 0.6)


def find_context_names(text: str) -> list[Hit]:
    """PERSON spans found by context and the world gazetteer (see the module docstring)."""
    hits: list[Hit] = []
    for finder in (_speaker_labels, _signatures, _after_cues, _logins, _known_pairs):
        hits.extend(finder(text))
    hits.extend((*m.span(), 0.6) for m in _HAN_NAME.finditer(text))
    return hits


def load() -> None:
    """Read the gazetteer and word lists (at scanner load, not in a scan)."""
    _world_names()
    _not_name_words()
