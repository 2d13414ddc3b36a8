"""Task-type prompt grammar G: composed prompts the way people paste them. Training only.

The seventh training source, written in wave 3 by a hand that wrote none of grammars A-F. Where
the earlier grammars fill one sentence, G composes each prompt from parts generated per type:
- an ask (dozens of phrasings per type) placed before, after or around content it acts on;
- content generated from small fact tables (passages, meeting notes, chat threads, CSV, logs,
  config, code in several languages), so extraction, summarisation, rewriting and translation
  prompts carry realistic pasted text whose topic says nothing about the task;
- the hard types in prose: programming questions with no code, math word problems with named
  people and random quantities, generated logic puzzles, sequences and flawed arguments, "why /
  how" science questions over many phenomena and audiences;
- role-play with generated fictional names and situations, creative forms crossed with subjects
  and constraints, humanities and advice questions over many topics, chit-chat composed of
  greeting, news and feeling.
Nothing here is copied or paraphrased from a public benchmark or from the frozen fresh test set.
"""

from __future__ import annotations

import random
from collections.abc import Callable

FIRST = [
    "Adaeze",
    "Bjorn",
    "Camila",
    "Dariusz",
    "Elif",
    "Fumiko",
    "Gideon",
    "Hana",
    "Ivo",
    "Jolene",
    "Kwame",
    "Lucie",
    "Mateus",
    "Nadia",
    "Oren",
    "Petra",
    "Quentin",
    "Rania",
    "Soren",
    "Tamsin",
    "Ulrich",
    "Valeria",
    "Wendell",
    "Xiomara",
    "Yannick",
    "Zuzana",
    "Arjun",
    "Beatriz",
    "Cosmin",
    "Delphine",
    "Emeka",
    "Freya",
    "Gustavo",
    "Hiroshi",
    "Ingrid",
    "Javier",
    "Keziah",
    "Lorenzo",
]
LAST = [
    "Abernathy",
    "Bakshi",
    "Castellanos",
    "Draper",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Jurado",
    "Kaminski",
    "Lindqvist",
    "Mwangi",
    "Novak",
    "Oyelaran",
    "Petrov",
    "Quist",
    "Rosales",
    "Szabo",
    "Tanaka",
    "Urquhart",
    "Vance",
    "Whitlock",
    "Yilmaz",
    "Zeller",
]
TOWNS = [
    "Harrowgate",
    "Little Brenton",
    "Port Ellis",
    "Kestwick",
    "Valemont",
    "Dunmere",
    "Oakridge",
    "Saltmarsh",
    "Westerby",
    "Millbrook",
    "Thornbury",
    "Ashcombe",
    "Greyhaven",
    "Linfield",
]
ORGS = [
    "Brightwater Foods",
    "Corvid Analytics",
    "Helix Freight",
    "Juniper Health",
    "Kiln & Co",
    "Lodestar Insurance",
    "Marlowe Textiles",
    "Nimbus Cloudworks",
    "Orchard Lane Primary",
    "Pioneer Credit Union",
    "Quarry Hill Council",
    "Redfern Robotics",
    "Silverbirch Hotels",
]
OPENERS = [
    "",
    "",
    "",
    "",
    "Hi, ",
    "Hello! ",
    "Quick question: ",
    "Hey, ",
    "Could you help? ",
    "Morning. ",
    "OK so ",
    "Hi there. ",
    "Sorry to bother you, ",
    "Question for you: ",
]
CLOSERS = ["", "", "", "", " Thanks!", " Thank you.", " Cheers.", " Thanks in advance.", " ty"]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _wrap(rng: random.Random, ask: str, closer: bool = True) -> str:
    return f"{rng.choice(OPENERS)}{ask}{rng.choice(CLOSERS) if closer else ''}"


def _place(rng: random.Random, ask: str, content: str) -> str:
    """The ask before, after, or on both sides of the pasted content."""
    sep = rng.choice(["\n\n", "\n", ": ", "\n\n---\n"])
    if sep == ": " and ask.endswith((":", ".")):
        sep = " "
    roll = rng.random()
    if roll < 0.55:
        return f"{ask}{sep}{content}"
    if roll < 0.85:
        return f"{content}\n\n{ask}{rng.choice(CLOSERS)}"
    return f"{ask}\n\n{content}\n\n{rng.choice(['Thanks.', 'Keep it short.', 'As before.'])}"


# ---------------------------------------------------------------- content generators

_NEWS = [
    "{org} announced on {day} that it will close its site in {town}, affecting {n} jobs.",
    "A spokesperson, {person}, said the decision followed two years of falling orders.",
    "Union representatives called the move short-sighted and asked for talks.",
    "The council in {town} said it would help workers find new roles locally.",
    "Shares in {org} rose {pct}% after the news.",
    "Local shops fear a loss of trade when the site shuts next {month}.",
    "{person}, who has worked there for {years} years, said staff learned of it by email.",
    "The company plans to move production to a larger plant it opened last year.",
    "A public meeting is planned for {day} at the community hall.",
    "Analysts expect further cuts across the sector in the coming months.",
]
_MEETING = [
    "{person} reported that the budget is {amount} over plan.",
    "We agreed to postpone the launch until {month}.",
    "{person} will draft the supplier contract by {day}.",
    "Nobody has checked whether the old servers can be switched off.",
    "The design review found {n} open issues, two of them serious.",
    "{person} asked for more testers before the beta.",
    "Decision: the pilot runs in {town} first.",
    "Action: {person} to book the venue for the autumn workshop.",
    "The team is worried about the timeline for the data migration.",
    "Next meeting moved to {day}.",
]
_STORY = [
    "{person} found the letter under the floorboards of the old house in {town}.",
    "It was addressed to a sister nobody in the family had ever mentioned.",
    "That winter the river froze for the first time in forty years.",
    "The ferryman refused to cross, so {person} walked across the ice at dawn.",
    "On the far bank stood a cottage with smoke rising from the chimney.",
    "An old woman opened the door before {person} could knock.",
    "She said she had been waiting for the letter since {year}.",
    "By spring the two of them had rebuilt the boathouse together.",
]
_REPORT = [
    "Revenue for the quarter was {amount}, up {pct}% on last year.",
    "Customer complaints fell for the third quarter in a row.",
    "Staff turnover in the {town} office remains high at {pct}%.",
    "The new billing system went live in {month} after a two-week delay.",
    "Marketing spend was cut by {pct}% without a visible drop in leads.",
    "Two large contracts are expected to be signed before year end.",
    "The board approved a hiring freeze for non-essential roles.",
    "Energy costs at the warehouse rose sharply over the winter.",
]
_CHAT = [
    "{a}: did anyone restart the {thing} after the update?",
    "{b}: not me, I thought {c} did",
    "{c}: I did, but it came back with the old settings",
    "{a}: so the config didn't persist?",
    "{b}: looks like the volume wasn't mounted",
    "{c}: fixed now, I remounted it and restarted",
    "{a}: great, can someone write that down in the runbook",
    "{b}: on it",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "3 March", "the 14th", "12 June"]
_MONTHS = ["January", "March", "May", "August", "October", "November"]


def _fill(rng: random.Random, text: str) -> str:
    return text.format(
        org=rng.choice(ORGS),
        town=rng.choice(TOWNS),
        person=_name(rng),
        day=rng.choice(_DAYS),
        month=rng.choice(_MONTHS),
        n=rng.randint(3, 900),
        pct=rng.randint(2, 45),
        years=rng.randint(2, 35),
        amount=f"{rng.randint(2, 900) * 1000:,}",
        year=rng.randint(1890, 2015),
        a=rng.choice(FIRST),
        b=rng.choice(FIRST),
        c=rng.choice(FIRST),
        thing=rng.choice(["cache", "queue worker", "print server", "VPN box", "database"]),
    )


def _passage(rng: random.Random, short: bool = False) -> str:
    pool = rng.choice([_NEWS, _MEETING, _STORY, _REPORT])
    count = rng.randint(2, 3) if short else rng.randint(4, len(pool))
    sentences = [_fill(rng, s) for s in rng.sample(pool, count)]
    if pool is _MEETING and rng.random() < 0.5:
        return "\n".join(f"- {s}" for s in sentences)
    return " ".join(sentences)


def _thread(rng: random.Random) -> str:
    values = {"a": rng.choice(FIRST), "b": rng.choice(FIRST), "c": rng.choice(FIRST)}
    thing = rng.choice(["cache", "queue worker", "print server", "VPN box", "database"])
    lines = _CHAT[: rng.randint(4, len(_CHAT))]
    return "\n".join(line.format(thing=thing, **values) for line in lines)


def _csv(rng: random.Random) -> str:
    rows = ["id,name,city,amount,status"]
    for i in range(rng.randint(3, 8)):
        rows.append(
            f"{100 + i},{_name(rng)},{rng.choice(TOWNS)},{rng.randint(10, 5000)},"
            f"{rng.choice(['paid', 'open', 'late', 'cancelled'])}"
        )
    return "\n".join(rows)


def _log(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(4, 10)):
        level = rng.choice(["INFO", "INFO", "WARN", "ERROR"])
        svc = rng.choice(["auth", "billing", "search", "mailer"])
        lines.append(
            f"2025-0{rng.randint(1, 9)}-{rng.randint(10, 28)} {rng.randint(10, 23)}:"
            f"{rng.randint(10, 59)}:{rng.randint(10, 59)} {level} {svc} "
            f"req={rng.randint(1000, 9999)} took {rng.randint(3, 4000)}ms"
        )
    return "\n".join(lines)


def _record(rng: random.Random) -> str:
    """A short text full of extractable facts."""
    return rng.choice(
        [
            f"{_name(rng)} joined {rng.choice(ORGS)} as head of sales on {rng.choice(_DAYS)}; "
            f"she previously ran the {rng.choice(TOWNS)} branch of {rng.choice(ORGS)}.",
            f"Order {rng.randint(10000, 99999)} ({rng.randint(1, 9)} items, "
            f"{rng.randint(20, 900)}.{rng.randint(10, 99)}) ships from {rng.choice(TOWNS)} on "
            f"{rng.choice(_DAYS)}; contact {rng.choice(FIRST).lower()}@example.org.",
            f"Flight {rng.choice(['QX', 'LN', 'TB'])}{rng.randint(100, 999)} leaves "
            f"{rng.choice(TOWNS)} at {rng.randint(6, 22)}:{rng.randint(10, 59)} from gate "
            f"{rng.choice('ABCD')}{rng.randint(1, 30)}.",
            f"The {rng.choice(TOWNS)} marathon on {rng.choice(_DAYS)} raised "
            f"{rng.randint(5, 90) * 1000:,} for {rng.choice(ORGS)}; {_name(rng)} won in "
            f"2:{rng.randint(10, 59)}:{rng.randint(10, 59)}.",
        ]
    )


_SNIPPETS = [
    "def mean(values):\n    return sum(values) / len(values)\n\nprint(mean([]))",
    "const ids = users.map(u => u.id)\nconst unique = ids.filter((x, i) => ids.indexOf(x) == i)",
    "SELECT name, total FROM invoices WHERE paid = 0 ORDER BY due_date",
    'for i in 0..=v.len() {\n    println!("{}", v[i]);\n}',
    "public int sum(List<Integer> xs) "
    "{\n  int s = 0;\n  for (Integer x : xs) s += x;\n  return s;\n}",
    "if [ $COUNT > 10 ]; then\n  echo too many\nfi",
    "items = {}\nfor line in open('data.txt'):\n    k, v = line.split(',')\n    items[k] += int(v)",
    "async function load(url) {\n  const r = fetch(url);\n  return r.json();\n}",
    'x := make(map[string]int)\ngo func() { x["a"]++ }()\ngo func() { x["b"]++ }()',
    "class Stack:\n    def __init__(self, items=[]):\n        self.items = items\n    def "
    "push(self, x):\n        self.items.append(x)",
    '#include <stdio.h>\nint main() {\n  char s[5];\n  strcpy(s, "hello");\n  printf("%s", s);\n}',
    "df = pd.read_csv('sales.csv')\ndf['month'] = df['date'].month\ndf.groupby('month').sum()",
]

_PRACTICES = [
    "use global state",
    "catch every exception",
    "return null from a lookup",
    "put logic in constructors",
    "share one database connection across threads",
]
_IDEAS = [
    "dependency injection",
    "the event loop",
    "garbage collection",
    "tail calls",
    "memoisation",
    "lazy evaluation",
    "generics",
    "ownership and borrowing",
]
_RIDDLES = [
    "what has keys but opens no locks",
    "what gets wetter the more it dries",
    "what can you catch but not throw",
    "what has a neck but no head",
    "what runs but never walks",
]
_VALUES = ["freedom", "happiness", "justice", "the state", "knowledge", "virtue"]
_DILEMMAS = [
    "lie to protect a friend",
    "buy fast fashion",
    "fly for holidays",
    "have a pet parrot",
    "track employees at home",
]

# ---------------------------------------------------------------- per-type composers

_LANGS = [
    "Python",
    "JavaScript",
    "TypeScript",
    "Go",
    "Rust",
    "Java",
    "C#",
    "C++",
    "Kotlin",
    "Swift",
    "Ruby",
    "PHP",
    "Scala",
    "Elixir",
    "bash",
    "SQL",
    "R",
]
_CONCEPTS = [
    "interfaces and abstract classes",
    "threads and coroutines",
    "a list and a tuple",
    "composition and inheritance",
    "optimistic and pessimistic locking",
    "a left join and an inner join",
    "unit tests and integration tests",
    "a shallow copy and a deep copy",
    "value types and reference types",
    "a process pool and a thread pool",
    "rebase and merge",
    "stack and heap allocation",
    "REST and GraphQL",
    "an index scan and a sequential scan",
]
_CODE_TASKS = [
    "parse a date string with a timezone",
    "read a large file line by line without loading it all",
    "retry an HTTP call with exponential backoff",
    "debounce a search box",
    "paginate a query",
    "hash a password properly",
    "run two tasks in parallel and wait for both",
    "mock a database in tests",
    "stream a CSV download",
    "validate an email field",
    "cache the result of an expensive function",
    "deploy a container to a small VPS",
    "profile a slow endpoint",
    "write a migration that renames a column safely",
]
_SYMPTOMS = [
    "leaks memory over a few hours",
    "returns stale data after an update",
    "deadlocks under load",
    "is fast locally but slow in production",
    "crashes only on Windows",
    "fails one test in ten",
    "times out when the payload is over 1 MB",
    "prints garbled accents",
    "uses 100% of one core",
]


def _code(rng: random.Random) -> str:
    lang = rng.choice(_LANGS)
    roll = rng.random()
    if roll < 0.45:
        ask = rng.choice(
            [
                f"What's the difference between {rng.choice(_CONCEPTS)} in {lang}?",
                f"How do I {rng.choice(_CODE_TASKS)} in {lang}?",
                f"What's the cleanest way to {rng.choice(_CODE_TASKS)} with {lang}?",
                f"My {lang} service {rng.choice(_SYMPTOMS)}. Where do I start looking?",
                f"Our {lang} app {rng.choice(_SYMPTOMS)} since the last deploy. Any ideas why?",
                f"Is it bad practice in {lang} to {rng.choice(_PRACTICES)}?",
                f"When would you pick {rng.choice(_CONCEPTS).replace(' and ', ' over ')} in "
                f"{lang}?",
                f"Write a {lang} function to {rng.choice(_CODE_TASKS)}.",
                f"Explain {rng.choice(_IDEAS)} as it works in {lang}, with a small example.",
                f"I'm new to {lang}. How should I structure a project with {rng.randint(3, 12)} "
                "modules and tests?",
                f"Which {lang} library would you use to {rng.choice(_CODE_TASKS)}, and why?",
            ]
        )
        return _wrap(rng, ask)
    snippet = rng.choice(_SNIPPETS)
    if rng.random() < 0.5:
        snippet = f"```\n{snippet}\n```"
    ask = rng.choice(
        [
            "What's wrong with this?",
            "Why does this fail?",
            "Can you fix this code?",
            "Review this snippet and suggest improvements:",
            "This throws an error, why?",
            "Rewrite this so it is correct and idiomatic:",
            "Is there a bug here?",
            "Explain what this code does line by line:",
            "How would you test this?",
            f"Port this to {lang}:",
            "Make this faster:",
            "Add error handling to this:",
        ]
    )
    return _place(rng, _wrap(rng, ask, closer=False), snippet)


def _math(rng: random.Random) -> str:
    a, b, c = rng.randint(2, 19), rng.randint(2, 40), rng.randint(3, 90)
    p, q = _name(rng).split()[0], rng.choice(FIRST)
    problems = [
        f"{p} buys {a} notebooks at {b / 4:.2f} each and pays with a {c + 50} note. How much "
        "change?",
        f"A train covers {c * 3} km in {a} hours. At the same speed, how long for {c * 5} km?",
        f"{p} is {a} years older than {q}. In {b} years their ages will add up to "
        f"{c + 2 * b + a}. How old is each now?",
        f"A pool fills in {a} hours from one pipe and {b} hours from another. How long with both?",
        f"What is {c}% of {b * 37}?",
        f"Solve {a}x - {b} = {c}.",
        f"Solve the equations {a}x + y = {c} and x - {b % 5 + 1}y = 2.",
        f"Find the roots of x^2 - {a + b}x + {a * b} = 0.",
        f"Differentiate {a}x^{b % 6 + 2} - {c}x + {b}.",
        f"Integrate {a}x^2 + {b}x from 0 to {c % 9 + 1}.",
        f"A box holds {a} red and {b} blue balls. Two are drawn without replacement. Probability "
        "both are red?",
        f"{p} saves {c * 10} a month at {a % 6 + 1}% a year compounded monthly. How much after "
        f"{b % 10 + 2} years?",
        f"A rectangle has perimeter {2 * (a + b)} cm and one side {a} cm. What is its area?",
        f"A circle has radius {a} cm. What are its circumference and area?",
        f"How many ways can {a % 8 + 3} people sit around a round table?",
        f"The average of {a} test scores is {c}. One more score of {b + 50} is added. New average?",
        f"A jacket costs {c * 2} after a {a + 5}% discount. What was the original price?",
        f"{p} runs {a} km at {b % 6 + 8} km/h and walks {b % 4 + 1} km at 5 km/h. Average speed "
        "overall?",
        "Prove that the sum of two odd numbers is even.",
        f"Show that {a * 2 + 1}^2 - 1 is divisible by 8.",
        f"Is {c * 7 + 1} prime?",
        f"Convert {a}/{b + a} to a decimal and a percentage.",
        f"What is the gcd of {a * 12} and {b * 18}, and the lcm?",
        f"A cone has radius {a} and height {b}. What is its volume?",
        f"Find the sum of the first {c} positive integers.",
        f"If log base 2 of x is {a % 9 + 2}, what is x?",
        f"The population of {rng.choice(TOWNS)} grows {a % 7 + 1}% a year from {c * 1000}. When "
        f"does it pass {c * 2000}?",
        f"{p} paints a fence in {a} hours, {q} in {b} hours. Working together, how long?",
        f"A car loses {a + 5}% of its value each year. Worth {c * 1000} new, what is it worth "
        f"after {b % 6 + 2} years?",
        f"Find the mean, median and mode of {a}, {b}, {c}, {a}, {b + c}.",
    ]
    ask = rng.choice(problems)
    style = rng.random()
    if style < 0.25:
        ask = f"{ask} Show your working."
    elif style < 0.4:
        ask = f"{ask.lower().rstrip('?.')} pls"
    elif style < 0.5:
        ask = f"Homework help: {ask}"
    return _wrap(rng, ask)


_CATS = [
    "painters",
    "cyclists",
    "doctors",
    "violinists",
    "gardeners",
    "pilots",
    "chess players",
    "teachers",
    "vegetarians",
    "students",
    "sailors",
    "poets",
    "engineers",
    "bakers",
]
_FALLACIES = [
    "Since the new mayor took office, crime went up, so the mayor caused it.",
    "Everyone I know likes the film, so it must be the best film of the year.",
    "If we allow one exception to the dress code, soon nobody will follow any rule.",
    "My grandfather smoked and lived to 95, so smoking isn't that harmful.",
    "Either you support every part of this plan or you want the town to fail.",
    "The expert is wrong about climate because he once got a tax case wrong.",
    "Ice cream sales and drownings rise together, so ice cream causes drowning.",
    "The lottery number 7 hasn't come up in months, so it's due to win soon.",
]


def _sequence(rng: random.Random) -> str:
    kind = rng.randint(0, 3)
    a, d = rng.randint(1, 9), rng.randint(2, 7)
    if kind == 0:
        terms = [a + d * i for i in range(5)]
    elif kind == 1:
        terms = [a * d**i for i in range(5)]
    elif kind == 2:
        terms = [a + i * i * d for i in range(5)]
    else:
        terms = [a, d]
        for _ in range(3):
            terms.append(terms[-1] + terms[-2])
    return ", ".join(str(t) for t in terms)


def _reasoning(rng: random.Random) -> str:
    names = rng.sample(FIRST, 4)
    x, y, z = rng.sample(_CATS, 3)
    items = rng.sample(["a bicycle", "a piano", "a canoe", "a telescope", "a sewing machine"], 3)
    puzzles = [
        f"{names[0]} is older than {names[1]}, {names[2]} is younger than {names[1]}, and "
        f"{names[3]} is older than {names[0]}. Who is the youngest?",
        f"All {x} are {y}. Some {y} are {z}. Does it follow that some {x} are {z}?",
        f"No {x} are {y}, and all {z} are {y}. What can we conclude about {z} and {x}?",
        f"What comes next in the sequence {_sequence(rng)}?",
        f"Find the pattern: {_sequence(rng)}, ... and give the next two numbers.",
        f'What\'s the flaw in this argument? "{rng.choice(_FALLACIES)}"',
        f"Is this reasoning sound? {rng.choice(_FALLACIES)}",
        f"{names[0]}, {names[1]} and {names[2]} each own one of {', '.join(items)}. {names[0]} "
        f"can't play music. {names[1]} doesn't own {items[2]}. Who owns what?",
        f"{names[0]} says {names[1]} is lying. {names[1]} says {names[2]} is lying. {names[2]} "
        "says both of them are lying. Who tells the truth?",
        f"If today is {rng.choice(['Monday', 'Wednesday', 'Saturday'])}, what day is it "
        f"{rng.randint(10, 100)} days from now? Explain.",
        f"{names[0]} is {names[1]}'s aunt, and {names[2]} is {names[0]}'s only brother. How might "
        f"{names[2]} be related to {names[1]}?",
        f"A liar always lies and a truth-teller always tells the truth. {names[0]} says: 'at "
        f"least one of us is a liar'. What are {names[0]} and {names[1]}?",
        f"Four suspects: {', '.join(names)}. Exactly one is guilty and exactly one statement is "
        f"true. {names[0]}: '{names[1]} did it.' {names[1]}: '{names[3]} did it.' "
        f"{names[2]}: 'I didn't.' {names[3]}: '{names[1]} is lying.' Who is guilty?",
        f"You have {rng.randint(8, 12)} balls, one heavier, and a balance. What's the fewest "
        "weighings that guarantee finding it? Reason it out.",
        f"If it's true that every {x[:-1]} in the club is a {y[:-1]}, and {names[0]} is not a "
        f"{y[:-1]}, what follows about {names[0]}?",
        f"Riddle: {rng.choice(_RIDDLES)}? Explain the answer.",
        "Three doors, one prize. You pick a door, the host opens an empty one and offers a "
        "switch. Should you switch? Walk through the logic.",
        f"Using only a {rng.choice([4, 7, 9])}-minute and a {rng.choice([5, 11, 13])}-minute "
        f"hourglass, how do you time {rng.choice([15, 9, 17])} minutes?",
        "Which one doesn't belong and why: "
        f"{', '.join(rng.sample(['oak', 'pine', 'rose', 'birch', 'maple', 'tulip'], 4))}?",
        f"{names[0]} always takes the bus when it rains. {names[0]} took the bus today. Did it "
        "rain? Think carefully.",
    ]
    ask = rng.choice(puzzles)
    if rng.random() < 0.3:
        ask += rng.choice([" Explain step by step.", " Show the logic.", " Just reason it out."])
    return _wrap(rng, ask)


def _extraction(rng: random.Random) -> str:
    content = rng.choice([_passage(rng), _record(rng), _csv(rng), _log(rng), _thread(rng)])
    field = rng.choice(
        [
            "names",
            "dates",
            "amounts",
            "people and their roles",
            "places",
            "companies",
            "key facts",
            "errors",
            "request ids",
            "statuses",
            "action items and owners",
            "times",
        ]
    )
    shape = rng.choice(
        ["as JSON", "as a table", "as a bulleted list", "as CSV", "", "", "as key: value pairs"]
    )
    ask = rng.choice(
        [
            f"Extract the {field} {shape}",
            f"Pull out every one of the {field} {shape}",
            f"List all {field} in the text below {shape}",
            f"Give me just the {field} {shape}",
            f"Find the {field} in this and return them {shape}",
            f"Parse this into structured data: {field} {shape}",
            f"Which {field} are mentioned here? Answer {shape}",
            f"Fill a record with the {field} from this",
            f"Identify the {field} {shape}",
            f"From the following, get the {field} {shape}",
        ]
    )
    return _place(rng, _wrap(rng, " ".join(ask.split()) + ":", closer=False), content)


def _summarization(rng: random.Random) -> str:
    content = rng.choice([_passage(rng), _passage(rng), _thread(rng), _passage(rng, short=True)])
    ask = rng.choice(
        [
            "Summarise this",
            "Summarize the following",
            "TL;DR please",
            "Give me the gist of this",
            "What's the short version?",
            "Boil this down",
            f"Sum this up in {rng.choice(['one', 'two', 'three'])} sentences",
            f"Condense this into {rng.randint(3, 5)} bullet points",
            "Key takeaways from this?",
            "Recap this for someone who missed it",
            "Write an executive summary of this",
            f"Summarise this in under {rng.choice([20, 30, 50, 100])} words",
            "What are the main points here?",
            "Give me a brief overview of the text below",
            "I don't have time to read this, what does it say?",
            "Short summary please",
        ]
    )
    return _place(rng, _wrap(rng, ask + rng.choice([":", "", "."]), closer=False), content)


_TONGUES = [
    "French",
    "German",
    "Spanish",
    "Italian",
    "Portuguese",
    "Dutch",
    "Polish",
    "Turkish",
    "Japanese",
    "Korean",
    "Swahili",
    "Greek",
    "Czech",
    "Romanian",
    "Hungarian",
    "Finnish",
    "Tagalog",
    "Thai",
    "Catalan",
    "Icelandic",
    "Welsh",
    "Estonian",
    "Serbian",
    "Malay",
]
_FOREIGN = [
    ("French", "Le magasin ferme à dix-neuf heures le samedi."),
    ("German", "Könnten Sie mir bitte den Weg zum Bahnhof zeigen?"),
    ("Spanish", "Mañana vamos a la playa si no llueve."),
    ("Italian", "Il treno per Milano è in ritardo di venti minuti."),
    ("Portuguese", "Preciso de uma mesa para quatro pessoas, por favor."),
    ("Dutch", "De vergadering begint om half tien."),
    ("Polish", "Dziękuję bardzo za pomoc."),
    ("Swedish", "Var ligger närmaste busshållplats?"),
]


def _translation(rng: random.Random) -> str:
    tongue = rng.choice(_TONGUES)
    roll = rng.random()
    if roll < 0.3:
        phrase = rng.choice(
            [
                "where is the train station",
                "I don't eat meat",
                "the bill, please",
                "I'm running late",
                "nice to meet you",
                "can you speak more slowly",
                "I lost my passport",
                "congratulations on your new job",
                "see you next week",
            ]
        )
        return _wrap(
            rng,
            rng.choice(
                [
                    f'How do you say "{phrase}" in {tongue}?',
                    f'what\'s "{phrase}" in {tongue}',
                    f'{tongue} for "{phrase}"?',
                    f'How would a native {tongue} speaker say "{phrase}"?',
                ]
            ),
        )
    if roll < 0.5:
        source, text = rng.choice(_FOREIGN)
        return _wrap(
            rng,
            rng.choice(
                [
                    f"Translate this {source} into English: {text}",
                    f'What does "{text}" mean?',
                    f'Can you translate "{text}" for me?',
                    f"{source} to English please: {text}",
                ]
            ),
        )
    content = rng.choice([_passage(rng, short=True), _record(rng), _passage(rng)])
    ask = rng.choice(
        [
            f"Translate into {tongue}",
            f"Please translate the following to {tongue}",
            f"Can you put this into {tongue}",
            f"{tongue} version of this please",
            f"Render this in {tongue}, formal register",
            f"English to {tongue}",
            f"I need this in {tongue} for a client",
            f"Translate this text to {tongue}, keep the tone",
        ]
    )
    return _place(rng, _wrap(rng, ask + rng.choice([":", ""]), closer=False), content)


_ROUGH = [
    "we was late cause the bus never come and then it start raining",
    "pls send me the thing asap its been ages and nobody told me nothing",
    "The results that were obtained by the team were presented to the board by the director.",
    "Due to the fact that the weather was bad, the event was cancelled.",
    "I think that maybe we should possibly consider perhaps changing the plan a bit.",
    "your late again. this is unacceptable and frankly I'm sick of it.",
    "The product is good. It is cheap. It is fast. It is small.",
    "In order to facilitate the utilisation of resources, a reallocation was effected.",
]


def _rewriting(rng: random.Random) -> str:
    content = rng.choice([*_ROUGH, _passage(rng, short=True), _record(rng)])
    content = _fill(rng, content)
    ask = rng.choice(
        [
            "Rewrite this more formally",
            "Make this sound friendlier",
            "Fix the grammar",
            "Proofread this",
            "Rephrase this",
            "Make this shorter",
            "Simplify this",
            "Make this clearer",
            "Reword this so it sounds more professional",
            "Put this in active voice",
            "Tone this down",
            "Make this more persuasive",
            "Polish this paragraph",
            "Edit this for clarity and flow",
            "Rewrite this for a ten-year-old",
            "Paraphrase this",
            "Make this less wordy",
            "Correct the spelling and punctuation",
            "Rewrite in plain English",
            "Make it sound less passive-aggressive",
            "Tighten this up",
            "Rewrite this in the style of "
            f"{rng.choice(['a news report', 'a tweet', 'a formal letter', 'a pirate'])}",
        ]
    )
    return _place(rng, _wrap(rng, ask + rng.choice([":", "", "."]), closer=False), content)


_FORMS = [
    "poem",
    "haiku",
    "short story",
    "limerick",
    "sonnet",
    "song",
    "speech",
    "toast",
    "blog post",
    "newsletter intro",
    "product description",
    "cover letter",
    "thank-you note",
    "slogan",
    "tagline",
    "caption",
    "fairy tale",
    "scene",
    "monologue",
    "ballad",
    "riddle",
    "birthday message",
    "invitation",
    "fable",
    "diary entry",
    "ad script",
    "letter",
]
_SUBJECTS = [
    "a retired ferry captain",
    "the last day of summer",
    "a bakery at dawn",
    "a broken umbrella",
    "moving to a new city",
    "a robot gardener",
    "a lost library book",
    "the first snow",
    "a village festival",
    "two rival pigeons",
    "a job interview gone wrong",
    "an old typewriter",
    "a night train",
    "a stubborn goat",
    "grandmother's recipe box",
    "a haunted lift",
    "our team's product launch",
    "a new vegan café",
    "a charity bike ride",
    "a lighthouse",
]


def _creative(rng: random.Random) -> str:
    form, subject = rng.choice(_FORMS), rng.choice(_SUBJECTS)
    extra = rng.choice(
        [
            "",
            "",
            f" in about {rng.choice([50, 100, 200, 300, 500])} words",
            " that rhymes",
            " with a twist ending",
            ", funny",
            ", for children",
            ", melancholy",
            f" for {_name(rng)}'s retirement",
            ", in the first person",
        ]
    )
    ask = rng.choice(
        [
            f"Write a {form} about {subject}{extra}.",
            f"Compose a {form} about {subject}{extra}.",
            f"Can you write me a {form} about {subject}{extra}?",
            f"I need a {form} about {subject}{extra}.",
            f"Draft a {form} about {subject}{extra}.",
            f"Come up with a {form} on {subject}{extra}.",
            f"Make up a {form} about {subject}{extra}.",
            f"Give me {rng.randint(3, 10)} ideas for a {form} about {subject}.",
            f"Brainstorm names for {subject}.",
        ]
    )
    return _wrap(rng, ask)


_ROLES = [
    "innkeeper",
    "starship captain",
    "detective",
    "witch",
    "museum guide",
    "knight",
    "grumpy chef",
    "pirate",
    "travel agent",
    "fortune teller",
    "dragon",
    "robot",
    "Victorian butler",
    "radio host",
    "mountain guide",
    "ghost",
    "court wizard",
    "job interviewer",
    "shopkeeper",
    "sea captain",
    "time traveller",
    "librarian",
]


def _roleplay(rng: random.Random) -> str:
    name, role = _name(rng), rng.choice(_ROLES)
    me = rng.choice(
        [
            "a lost traveller",
            "a new recruit",
            "a customer",
            "a journalist",
            "your apprentice",
            "a suspicious guard",
            "a student",
            "the king",
        ]
    )
    start = rng.choice(
        [
            "I walk in and say hello.",
            "Start the scene.",
            "What do you say first?",
            "I ask you for directions.",
            "Go!",
            "I hand you a sealed letter.",
            "",
        ]
    )
    ask = rng.choice(
        [
            f"You are {name}, a {role}. I'm {me}. {start}",
            f"Pretend you're a {role} named {name}. {start}",
            f"Let's role-play: you play {name} the {role}, I'm {me}. Stay in character. {start}",
            f"Act as a {role} and talk to me like I'm {me}. {start}",
            f"Be {name}, the {role}, for the rest of this chat. {start}",
            f"Play the part of a {role}. I'll be {me}. {start}",
            f"Stay in character as {name}, a {role} in {rng.choice(TOWNS)}. {start}",
            f"Improv time: you're a {role}, I'm {me}. {start}",
            f"pretend ur a {role} called {name.split()[0]} lol. {start}",
        ]
    )
    return _wrap(rng, ask.strip())


_FACT_QS = [
    "What is the capital of {country}?",
    "What currency does {country} use?",
    "What language is spoken in {country}?",
    "What is the population of {country}?",
    "Who wrote {book}?",
    "When was {book} published?",
    "Who painted {painting}?",
    "Who composed {music}?",
    "When did {event} happen?",
    "Where did {event} take place?",
    "How long is the {river}?",
    "Which countries does the {river} flow through?",
    "How high is {mountain}?",
    "In which country is {mountain}?",
    "What does {acronym} stand for?",
    "Who founded {company}?",
    "When was {company} founded?",
    "Who was the first {first}?",
    "Which year did {event} end?",
]
_FACTS = {
    "country": [
        "Chile",
        "Mongolia",
        "Ghana",
        "Latvia",
        "Bhutan",
        "Uruguay",
        "Malta",
        "Oman",
        "Slovenia",
        "Madagascar",
        "Laos",
        "Paraguay",
        "Tunisia",
        "Nepal",
        "Iceland",
    ],
    "book": [
        "Middlemarch",
        "The Tin Drum",
        "Things Fall Apart",
        "Pedro Páramo",
        "Dracula",
        "The Master and Margarita",
        "Beloved",
        "The Leopard",
        "Kokoro",
    ],
    "painting": ["The Night Watch", "The Hay Wain", "Las Meninas", "Guernica", "The Swing"],
    "music": ["the Goldberg Variations", "Peer Gynt", "Carmen", "the New World Symphony"],
    "event": [
        "the Battle of Hastings",
        "the Congress of Vienna",
        "the Meiji Restoration",
        "the first Moon landing",
        "the Great Fire of London",
        "the Treaty of Westphalia",
    ],
    "river": ["Danube", "Mekong", "Zambezi", "Volga", "Rhine", "Orinoco", "Murray"],
    "mountain": ["Mont Blanc", "Denali", "Mount Elbrus", "Matterhorn", "Mount Cook"],
    "acronym": ["NATO", "OPEC", "WHO", "NASA", "UNICEF", "FIFA", "CERN", "IMF"],
    "company": ["IKEA", "Nokia", "Lego", "Toyota", "Samsung", "Siemens"],
    "first": [
        "person in space",
        "woman to fly solo across the Atlantic",
        "emperor of China",
        "president of Kenya",
        "person to climb Everest without oxygen",
    ],
}


def _factual(rng: random.Random) -> str:
    q = rng.choice(_FACT_QS)
    q = q.format(**{k: rng.choice(v) for k, v in _FACTS.items()})
    style = rng.random()
    if style < 0.2:
        q = q.lower().rstrip("?")
    elif style < 0.3:
        q = f"Trivia: {q}"
    elif style < 0.4:
        q = f"{q} Just the answer."
    return _wrap(rng, q)


_PHENOMENA = [
    "bread goes stale",
    "the sea has tides",
    "ice melts faster with salt",
    "metal rusts",
    "soap removes grease",
    "we get goosebumps",
    "the moon has phases",
    "microwaves heat food",
    "a rainbow forms",
    "stars twinkle",
    "magnets attract iron",
    "fever fights infection",
    "plants need nitrogen",
    "volcanoes erupt",
    "yeast makes dough rise",
    "wind turbines make power",
    "our ears pop on a plane",
    "hurricanes spin",
    "muscles get sore after exercise",
    "coffee keeps us awake",
    "cats purr",
    "batteries go flat in the cold",
    "glass is transparent",
    "sound travels faster in water",
    "the heart keeps its rhythm",
    "leaves are green",
    "nuclear reactors make heat",
    "a fridge stays cold",
    "bridges expand in summer",
]
_TOPICS = [
    "quantum tunnelling",
    "the Krebs cycle",
    "continental drift",
    "radioactive half-life",
    "photosynthesis",
    "the immune response",
    "semiconductors",
    "dark matter",
    "osmosis",
    "natural selection",
    "thermodynamics",
    "neurotransmitters",
    "ocean acidification",
    "special relativity",
    "protein folding",
    "the carbon cycle",
    "electromagnetic induction",
]


def _science(rng: random.Random) -> str:
    aud = rng.choice(
        [
            "",
            "",
            " to a ten-year-old",
            " in simple terms",
            " at university level",
            " like I'm a curious adult",
            " for my biology homework",
        ]
    )
    ask = rng.choice(
        [
            f"Why does it happen that {rng.choice(_PHENOMENA)}?",
            f"How come {rng.choice(_PHENOMENA)}?",
            f"Explain the science of why {rng.choice(_PHENOMENA)}{aud}.",
            f"What's the physics or chemistry behind how {rng.choice(_PHENOMENA)}?",
            f"Explain {rng.choice(_TOPICS)}{aud}.",
            f"How does {rng.choice(_TOPICS)} work{aud}?",
            f"What is {rng.choice(_TOPICS)} and why does it matter?",
            f"Can you walk me through {rng.choice(_TOPICS)} step by step?",
            f"My kid asked why {rng.choice(_PHENOMENA)}. What do I tell her?",
            f"What's the difference between {rng.choice(_TOPICS)} and {rng.choice(_TOPICS)}?",
        ]
    )
    return _wrap(rng, ask)


_DEBATES = [
    "congestion charges",
    "compulsory military service",
    "homework for young children",
    "rewilding farmland",
    "banning private cars from city centres",
    "tipping culture",
    "term limits for politicians",
    "space exploration budgets",
    "inheritance tax",
    "standardised testing",
    "nuclear energy",
    "animal testing",
    "open borders",
]
_HISTORY = [
    "the fall of Constantinople",
    "the Meiji era reforms",
    "the Black Death",
    "the Enlightenment",
    "the partition of India",
    "the Cold War",
    "the Hanseatic League",
    "the abolition movement",
    "the spread of railways",
    "the Cultural Revolution",
]
_ADVICE = [
    "asking my boss for a sabbatical",
    "moving abroad alone at 30",
    "choosing a university course",
    "dealing with a jealous friend",
    "splitting chores with a flatmate",
    "going back to study at 50",
    "managing money as a freelancer",
    "setting boundaries with my in-laws",
]
_THINKERS = [
    "Hume",
    "Confucius",
    "Simone de Beauvoir",
    "Spinoza",
    "Hannah Arendt",
    "Mill",
    "Nietzsche",
    "Aristotle",
    "Rousseau",
    "Wittgenstein",
]


def _opinion(rng: random.Random) -> str:
    ask = rng.choice(
        [
            f"What are the arguments for and against {rng.choice(_DEBATES)}?",
            f"Should we have {rng.choice(_DEBATES)}? Give both sides.",
            f"What's your view on {rng.choice(_DEBATES)}?",
            f"What were the long-term consequences of {rng.choice(_HISTORY)}?",
            f"Why did {rng.choice(_HISTORY)} matter so much for ordinary people?",
            f"How do historians disagree about {rng.choice(_HISTORY)}?",
            f"Any advice on {rng.choice(_ADVICE)}?",
            f"I'm thinking about {rng.choice(_ADVICE)}. What should I weigh up?",
            f"What did {rng.choice(_THINKERS)} believe about "
            f"{rng.choice(_VALUES)}, and is it convincing?",
            f"Compare {rng.choice(_THINKERS)} and {rng.choice(_THINKERS)} on "
            f"{rng.choice(['ethics', 'society', 'human nature'])}.",
            f"Is it ethical to {rng.choice(_DILEMMAS)}?",
            f"How did {rng.choice(_HISTORY)} shape the culture that followed?",
            f"Do you think {rng.choice(_DEBATES)} would make society fairer?",
        ]
    )
    return _wrap(rng, ask)


def _chitchat(rng: random.Random) -> str:
    greet = rng.choice(["hi", "hey", "hello", "yo", "good evening", "morning", "hiya", "heyy", ""])
    news = rng.choice(
        [
            "",
            "just got home",
            "long day at work",
            "it's raining again",
            "my tea went cold",
            "finally the weekend",
            "I got the job!",
            "watching the football",
            "can't sleep",
            "the kids are finally asleep",
            "I'm back",
            "made soup today",
            "thanks for earlier",
        ]
    )
    feel = rng.choice(
        [
            "",
            "",
            ":)",
            "😊",
            "lol",
            "how are you?",
            "what are you up to?",
            "how's it going?",
            "miss our chats",
            "you're the best",
            "bye for now",
        ]
    )
    parts = [p for p in (greet, news, feel) if p]
    if not parts:
        parts = ["hello"]
    text = rng.choice([", ", ". ", " ", "! "]).join(parts)
    return text[:1].upper() + text[1:] if rng.random() < 0.5 else text


COMPOSERS: dict[str, Callable[[random.Random], str]] = {
    "code": _code,
    "math": _math,
    "reasoning": _reasoning,
    "extraction": _extraction,
    "summarization": _summarization,
    "translation": _translation,
    "rewriting": _rewriting,
    "creative": _creative,
    "roleplay": _roleplay,
    "factual": _factual,
    "science": _science,
    "opinion": _opinion,
    "chitchat": _chitchat,
}


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (fewer if the grammar runs out)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        seen.setdefault(COMPOSERS[kind](rng), None)
        if len(seen) >= count:
            break
    return list(seen)
