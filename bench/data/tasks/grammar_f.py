"""Task-type prompt grammar F: many ways to phrase each ask, crossed with many subjects.

The sixth training source. Where grammar E varies the nouns, F varies the ask itself: each type
has a long list of request verbs and frames ("walk me through", "any chance you could", "I'd
like", "quick:") written for this file, crossed with a broad subject list. Training only.
"""

from __future__ import annotations

import random

FRAMES = [
    "{ask}",
    "{ask}",
    "any chance you could {ask}",
    "I'd like you to {ask}",
    "could you {ask}",
    "please {ask}",
    "quick: {ask}",
    "I need to {ask_me}",
    "can I get help to {ask_me}",
    "trying to {ask_me}, ideas?",
]

ASKS: dict[str, list[tuple[str, str]]] = {
    # (imperative for the assistant, what the user is trying to do)
    "code": [
        ("write a script that {code_task}", "write a script that {code_task}"),
        ("debug my {lang} {artifact}; it {symptom}", "debug a {lang} {artifact} that {symptom}"),
        ("refactor this {lang} {artifact} for readability", "clean up a {lang} {artifact}"),
        ("explain this {lang} error: {error}", "understand a {lang} error: {error}"),
        ("implement {algo} in {lang}", "implement {algo} in {lang}"),
        ("add type hints and tests to my {lang} {artifact}", "test my {lang} {artifact}"),
        ("set up {tool} for my {lang} project", "configure {tool} for a {lang} project"),
        ("optimise this query: {query}", "speed up the query {query}"),
    ],
    "math": [
        ("calculate {calc}", "calculate {calc}"),
        ("solve {eq}", "solve {eq}"),
        ("work out {calc}", "figure out {calc}"),
        ("find {geo}", "find {geo}"),
        ("tell me the answer to {word}", "answer {word}"),
    ],
    "reasoning": [
        ("solve this logic puzzle: {puzzle}", "crack this puzzle: {puzzle}"),
        ("reason step by step: {puzzle}", "reason through {puzzle}"),
        ("tell me whether this argument holds: {argument}", "check if this holds: {argument}"),
        ("figure out who is lying: {liars}", "work out who is lying: {liars}"),
    ],
    "extraction": [
        ("pull the {field} from this text: {record}", "get the {field} from: {record}"),
        ("turn this into structured json with {field}: {record}", "structure {record}"),
        ("list the {field} mentioned here: {record}", "find the {field} in {record}"),
    ],
    "summarization": [
        ("summarize this {doc}: {content}", "summarize a {doc}: {content}"),
        ("give me the main points of this {doc}: {content}", "get the gist of {content}"),
        ("shorten this {doc} to a few lines: {content}", "shorten this: {content}"),
        ("write a tl;dr for this {doc}: {content}", "tl;dr this {doc}: {content}"),
    ],
    "translation": [
        ("translate '{phrase}' into {lang_h}", "say '{phrase}' in {lang_h}"),
        ("tell me what '{foreign}' means", "understand '{foreign}'"),
        ("put this into {lang_h}: {phrase}", "write '{phrase}' in {lang_h}"),
    ],
    "rewriting": [
        ("rewrite this to be {tone}: {text}", "make this {tone}: {text}"),
        ("proofread this: {typo}", "fix the errors in: {typo}"),
        ("reword this for {audience}: {text}", "adapt this for {audience}: {text}"),
    ],
    "creative": [
        ("write a {form} about {theme}", "write a {form} about {theme}"),
        ("come up with a {form} featuring {theme}", "create a {form} with {theme}"),
        ("compose a {form} for {occasion}", "compose a {form} for {occasion}"),
    ],
    "roleplay": [
        ("pretend to be {persona} and {rp_act}", "practise with you as {persona}"),
        ("stay in character as {persona}: {rp_line}", "chat with {persona}"),
        ("play {persona}; I'll be {rp_me}", "role-play with {persona} while I'm {rp_me}"),
    ],
    "factual": [
        ("tell me {fact_q}", "find out {fact_q}"),
        ("remind me {fact_q}", "remember {fact_q}"),
        ("confirm {fact_q}", "check {fact_q}"),
    ],
    "science": [
        ("explain {sci}", "understand {sci}"),
        ("walk me through {sci}", "learn {sci}"),
        ("describe the physics of {phys}", "understand the physics of {phys}"),
        ("explain the biology of {bio}", "understand the biology of {bio}"),
    ],
    "opinion": [
        ("give me your opinion on {debate}", "decide what I think about {debate}"),
        ("advise me on {advice}", "get advice on {advice}"),
        ("weigh the pros and cons of {debate}", "weigh up {debate}"),
        ("discuss how {era} changed {area}", "discuss how {era} changed {area}"),
    ],
}
SLOTS: dict[str, list[str]] = {
    "code_task": [
        "renames files in bulk",
        "scrapes prices from a page",
        "watches a folder for new files",
        "sends a slack message on failure",
        "dedupes a contact list",
        "resizes images",
        "monitors disk usage",
        "exports a table to excel",
    ],
    "lang": ["python", "node", "go", "java", "rust", "c#", "php", "ruby", "bash", "kotlin"],
    "artifact": [
        "function",
        "class",
        "module",
        "endpoint",
        "script",
        "component",
        "query",
        "migration",
        "unit test",
        "build file",
    ],
    "symptom": [
        "returns none",
        "never terminates",
        "throws on unicode",
        "double-counts rows",
        "fails intermittently",
        "blocks the event loop",
    ],
    "error": [
        "AttributeError: 'NoneType' object has no attribute 'id'",
        "TypeError: cannot read properties of undefined",
        "panic: index out of range",
        "java.lang.ClassCastException",
        "segmentation fault (core dumped)",
        "ModuleNotFoundError: No module named 'requests'",
    ],
    "algo": [
        "dijkstra's shortest path",
        "binary search",
        "a trie",
        "merge sort",
        "a ring buffer",
        "topological sort",
        "a bloom filter",
    ],
    "tool": ["eslint", "pytest", "github actions", "pre-commit", "docker compose", "mypy"],
    "query": [
        "SELECT * FROM events WHERE user_id IN (SELECT id FROM users)",
        "SELECT COUNT(*) FROM logs WHERE msg LIKE '%error%'",
    ],
    "calc": [
        "the compound interest on 5000 at 3% over 7 years",
        "15% of 860",
        "the average speed for 240 km in 3.5 hours",
        "how many 0.75 l bottles fill 12 l",
        "the tip on a 84.20 bill at 18%",
        "the monthly payment on a 12000 loan",
    ],
    "eq": [
        "3x + 7 = 25",
        "x^2 - 9x + 20 = 0",
        "2(x - 4) = x + 6",
        "log10(x) = 3",
        "the system 2x + y = 11, x - y = 1",
    ],
    "geo": [
        "the area of a circle with diameter 14",
        "the hypotenuse of a 9-12 right triangle",
        "the volume of a box 3 by 4 by 5",
        "the interior angle of a regular octagon",
    ],
    "word": [
        "if 3 pumps fill a pool in 12 hours, how long do 4 pumps take",
        "a shirt costs 40 after a 20% discount, what was the price",
        "how many handshakes happen among 10 people",
    ],
    "puzzle": [
        "five houses, five owners, the green house is right of the white one",
        "a man looks at a photo and says 'his father is my father's son'",
        "you meet two guards at a fork in the road",
        "three boxes are all mislabelled",
        "which switch turns on the attic light",
    ],
    "argument": [
        "all successful people wake early, so waking early makes you successful",
        "this medicine works because my uncle got better after taking it",
        "if we ban cars, nobody will be able to get to work",
    ],
    "liars": [
        "A says B lies, B says C lies, C says A and B both lie",
        "one of three suspects always lies and each accuses another",
    ],
    "field": [
        "email addresses",
        "dates",
        "amounts",
        "company names",
        "addresses",
        "ticket numbers",
        "ip addresses",
        "times",
    ],
    "record": [
        "Acme invoice #2231, 14/03/2025, 1,250.00 EUR, contact billing@acme.example",
        "Meeting with Greta (Vienna) and Luis (Madrid) at 14:00 CET on 3 June",
        "10.0.0.12 refused; 10.0.0.14 ok; 10.0.0.12 refused again at 09:14",
    ],
    "doc": ["article", "memo", "thread", "report", "chapter", "transcript", "paper abstract"],
    "content": [
        "Sales rose in spring, fell in summer, and the team expects a strong autumn "
        "thanks to two new product lines and lower shipping costs.",
        "The committee reviewed three proposals, rejected the cheapest for safety "
        "reasons, and asked the other two bidders for revised timelines.",
        "The essay follows a migrant family over three generations and asks what home "
        "means when the language at the dinner table keeps changing.",
    ],
    "phrase": [
        "where is the exit",
        "I have a reservation",
        "the water is not drinkable",
        "thank you for coming",
        "how far is the station",
        "could you speak slower",
    ],
    "lang_h": [
        "french",
        "spanish",
        "german",
        "japanese",
        "italian",
        "russian",
        "dutch",
        "czech",
        "hebrew",
        "thai",
    ],
    "foreign": [
        "s'il te plaît",
        "lo siento mucho",
        "wie spät ist es",
        "arrivederci",
        "obrigado",
        "dobranoc",
    ],
    "tone": ["warmer", "more formal", "shorter", "clearer", "more polite", "less wordy"],
    "text": [
        "we regret that your request cannot be accommodated at this time",
        "send the files asap or the deal is off",
        "pls advise re the attached asap thx",
    ],
    "typo": [
        "thier going to recieve the package tommorow",
        "it's wings was broken",
        "i could of finished early",
    ],
    "audience": ["a ten-year-old", "my manager", "customers", "a non-technical audience"],
    "form": ["poem", "short story", "song", "limerick", "haiku", "fable", "monologue"],
    "theme": [
        "a dragon afraid of the dark",
        "a rainy train journey",
        "the first day of school",
        "a garden at midnight",
        "an astronaut's homesickness",
    ],
    "occasion": ["a wedding", "a farewell party", "a birthday card", "a retirement"],
    "persona": [
        "a pirate",
        "a noir detective",
        "a medieval queen",
        "a sports commentator",
        "an ancient philosopher",
        "a robot butler",
        "a museum guard",
    ],
    "rp_act": ["greet me", "interrogate me", "give me a tour", "sell me something"],
    "rp_line": ["who goes there?", "what brings you here, stranger?", "halt!"],
    "rp_me": ["a tourist", "a suspect", "a new recruit", "a customer"],
    "fact_q": [
        "who wrote the odyssey",
        "the capital of kenya",
        "when the first moon landing was",
        "how many continents there are",
        "who painted the mona lisa",
        "the tallest building in the world",
    ],
    "sci": [
        "how vaccines work",
        "why the sky is blue",
        "how batteries store energy",
        "what causes earthquakes",
        "how the immune system fights infection",
        "why leaves change colour",
    ],
    "phys": ["a rainbow", "a rocket launch", "a thunderstorm", "a microwave oven"],
    "bio": ["sleep", "ageing", "memory", "digestion"],
    "debate": [
        "nuclear power",
        "remote work",
        "banning phones in schools",
        "a meat tax",
        "universal basic income",
        "self-driving cars",
    ],
    "advice": [
        "changing careers",
        "dealing with a noisy neighbour",
        "saving for a house",
        "learning a language as an adult",
    ],
    "era": ["the printing press", "the steam engine", "the internet", "the renaissance"],
    "area": ["education", "work", "politics", "family life"],
}


def _fill(rng: random.Random, kind: str) -> str:
    values = {key: rng.choice(options) for key, options in SLOTS.items()}
    ask, ask_me = rng.choice(ASKS[kind])
    frame = rng.choice(FRAMES)
    text = frame.format(ask=ask, ask_me=ask_me).format(**values)
    return text[:1].upper() + text[1:] if rng.random() < 0.5 else text


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (chit-chat is left to the other grammars)."""
    if kind not in ASKS:
        return []
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        seen.setdefault(_fill(rng, kind), None)
        if len(seen) >= count:
            break
    return list(seen)
