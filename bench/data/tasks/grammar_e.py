"""Task-type prompt grammar E: broad vocabularies, so a type is told by its ask, not its nouns.

A fifth, separately written source for training: each type's templates draw on long lists of
everyday and workplace nouns (tools, documents, topics, units) so that no single noun marks a
type. Training only; nothing here was taken from the test grammar.
"""

from __future__ import annotations

import random

TECH = [
    "python",
    "java",
    "javascript",
    "typescript",
    "go",
    "rust",
    "c++",
    "c#",
    "ruby",
    "php",
    "swift",
    "kotlin",
    "scala",
    "sql",
    "bash",
    "powershell",
    "react",
    "vue",
    "angular",
    "svelte",
    "express",
    "nestjs",
    "django",
    "flask",
    "fastapi",
    "spring",
    "rails",
    "laravel",
    "dotnet",
    "terraform",
    "ansible",
    "docker",
    "kubernetes",
    "helm",
    "postgres",
    "mysql",
    "mongodb",
    "redis",
    "kafka",
    "graphql",
    "grpc",
    "pytest",
    "jest",
    "webpack",
    "vite",
]
CODE_GOALS = [
    "parse query parameters",
    "retry failed jobs",
    "stream a csv export",
    "validate form input",
    "paginate an API",
    "memoize an expensive call",
    "upload files in chunks",
    "handle timeouts",
    "log structured events",
    "mock a database in tests",
    "read secrets from the environment",
    "debounce a handler",
    "migrate a table without downtime",
    "profile slow endpoints",
    "serialize dates to json",
    "run tasks in parallel",
    "cancel a running request",
    "write a custom middleware",
    "set up a health check",
    "compress responses",
]
CODE_PROBLEMS = [
    "throws a null reference",
    "hangs forever",
    "returns duplicates",
    "leaks file handles",
    "fails only in production",
    "is off by one",
    "crashes on empty input",
    "gets slower every hour",
    "deadlocks under load",
    "prints garbled unicode",
    "times out in CI",
    "uses too much memory",
]
CODE_T = [
    "{tech}: how can I {goal}?",
    "in {tech}, what's a clean way to {goal}",
    "my {tech} code {problem} - where should I look",
    "show me {tech} that can {goal}",
    "{tech} function {problem} when the list is empty, fix?",
    "help me {goal} using {tech}",
    "code review please, this {tech} snippet {problem}:\n{snippet}",
    "need a {tech} example to {goal}, with tests",
    "why would {tech} code that tries to {goal} be {slow}",
    "convert this to {tech}:\n{snippet}",
]
SNIPPETS = [
    "for k in d.keys(): print(k, d[k])",
    "let x = arr.map(a => a*2).filter(Boolean)",
    "SELECT a, b FROM t1 JOIN t2 USING (id) WHERE b > 3",
    "if err != nil { return err }",
    "public int sum(List<Integer> xs) { int s = 0; for (int x : xs) s += x; return s; }",
    "items.each { |i| puts i.name }",
    "docker run -p 8080:80 -v $(pwd):/app img",
]
SLOW = ["so slow", "flaky", "unreliable", "so verbose"]

MATH_T = [
    "{a} {unit} cost {b} dollars, how much for {c} {unit}",
    "what's {p}% of {c}, and {c} plus that",
    "if {a} people split a {c} dollar bill and tip {p}%, what does each pay",
    "a {shape} has {dim} {a} cm; what is its {measure}",
    "we grew from {a} to {c} users, what's the percentage increase",
    "how long to travel {c} km at {a} km/h",
    "average of {a}, {b}, {c} and {d}",
    "{a} squared plus {b} cubed",
    "work out {c} divided by {b} to 3 decimals",
    "if x/{a} = {b}, what's x",
    "probability of drawing {k} red balls from a bag of {a} red and {b} blue",
    "what number is {p}% bigger than {c}",
    "how many minutes in {a} weeks",
    "ratio {a}:{b} scaled so the total is {c}, what are the parts",
]
UNITS = [
    "kg of rice",
    "litres of milk",
    "tickets",
    "notebooks",
    "metres of cable",
    "hours",
    "boxes",
    "bottles",
]
SHAPES = [
    ("square", "side"),
    ("circle", "radius"),
    ("cube", "edge"),
    ("sphere", "radius"),
    ("equilateral triangle", "side"),
]
MEASURES = ["area", "perimeter", "volume", "surface area"]

REASON_T = [
    "puzzle: {who1} always lies, {who2} always tells the truth. {who1} says '{claim}'. what do "
    "we know",
    "if {p1} then {p2}. not {p2}. what follows? explain",
    "{who1} finished before {who2}, {who3} after {who1} but before {who2}. order?",
    "spot the mistake in this argument: {fallacy}",
    "riddle: {riddle}",
    "which is the odd one out: {odd}? why",
    "deduce: the {col1} car is not first, the {col2} car is between the others, who leads",
    "you have a {a}-litre and a {b}-litre jug; how do you measure exactly {c} litres",
    "logic check: all {g1} are {g2}, no {g2} are {g3}. can a {g1} be a {g3}",
    "think it through: {dilemma}",
]
CLAIMS = ["I am the truth teller", "the treasure is in the left cave", "we are both liars"]
PROPS = [
    ("the alarm rings", "the door opened"),
    ("it froze", "the pipes burst"),
    ("the train is late", "the meeting starts late"),
    ("she studied", "she passed"),
]
FALLACIES = [
    "the new manager arrived and sales fell, so the manager caused it",
    "nobody has proven ghosts don't exist, so they exist",
    "you either support this plan or you want the company to fail",
    "millions of people believe it, so it's correct",
]
RIDDLES = [
    "what has a neck but no head",
    "what goes up but never comes down",
    "what can you catch but not throw",
    "what has many teeth but can't bite",
    "I have cities but no houses, what am I",
]
ODD = [
    "apple, banana, carrot, grape",
    "2, 3, 5, 9, 11",
    "violin, cello, trumpet, viola",
    "mercury, venus, moon, mars",
]
GROUPS = ["poets", "surgeons", "dancers", "pilots", "gardeners", "engineers", "teachers"]
DILEMMAS = [
    "three people check into a hotel room that costs 30 and the refund goes missing",
    "a snail climbs 3 m a day and slides 2 m at night up a 10 m wall",
    "if you overtake the person in second place, what place are you in",
]

EXTRACT_T = [
    "from this {doc}, list every {field}: {text}",
    "pull the {field} out of the {doc} below as json\n{text}",
    "make a table of {field} from this {doc}: {text}",
    "which {field} appear in this {doc}? {text}",
    "extract {field} and put them in a csv: {text}",
    "give me only the {field} found in: {text}",
]
DOC_KINDS = [
    "email",
    "invoice",
    "log",
    "chat log",
    "contract",
    "receipt",
    "ticket",
    "report",
    "itinerary",
    "transcript",
]
FIELDS = [
    "dates",
    "names",
    "amounts",
    "phone numbers",
    "product codes",
    "deadlines",
    "locations",
    "order ids",
    "prices",
    "urls",
    "hostnames",
    "totals",
]
TEXTS = [
    "Paid 45.20 to Grove Market on 2 May and 12.99 to Lumen Books on 9 May (ref LB-7731).",
    "Call Dana on 0161 496 0001 before Friday; the Leeds depot closes at 5pm.",
    "SKU A-112 x2 @ 3.50, SKU B-907 x1 @ 19.00, shipping 4.95, total 30.95",
    "ERROR api-2 502 at 10:01; WARN api-4 slow at 10:03; ERROR api-2 502 at 10:07",
    "Flight 77 from Oslo lands 18:20; hotel check-in at the Harbour Inn after 15:00.",
]

SUMMARY_T = [
    "sum this {doc} up in {n} lines: {text}",
    "what are the takeaways from this {doc}? {text}",
    "boil this {doc} down for me: {text}",
    "give a quick overview of this {doc}: {text}",
    "condense the following {doc} into one paragraph: {text}",
    "recap this {doc} for someone who missed it: {text}",
    "short digest of the {doc} please: {text}",
    "{text}\n\nsummary?",
]
SUM_DOCS = [
    "meeting",
    "thread",
    "article",
    "chapter",
    "podcast episode",
    "lecture",
    "report",
    "email chain",
    "review",
    "press release",
]
SUM_TEXTS = [
    "The team agreed to freeze features for two weeks, fix the top ten bugs, and move "
    "the launch to the 14th; marketing will adjust the campaign dates.",
    "The author argues that cities should plant more trees because shade lowers street "
    "temperatures, cuts energy use, and improves mood, though upkeep costs money.",
    "Customers liked the faster checkout but complained about hidden delivery fees; "
    "support tickets fell by a fifth after the redesign.",
    "In this chapter the two sisters finally meet again after years apart, argue about "
    "their father's house, and agree to sell it together.",
]

TRANSLATE_T = [
    "{lang} please: {phrase}",
    "could you translate '{phrase}' to {lang}",
    "what's '{foreign}' in english",
    "in {lang}, how would you write '{phrase}'",
    "translate the sign: '{phrase}' into {lang}",
    "help me say '{phrase}' in {lang} politely",
]
LANGS = [
    "french",
    "spanish",
    "german",
    "italian",
    "dutch",
    "polish",
    "turkish",
    "greek",
    "korean",
    "mandarin",
    "hindi",
    "arabic",
    "portuguese",
    "swedish",
    "finnish",
]
PHRASES = [
    "the kitchen is closed",
    "can I pay by card",
    "my flight was cancelled",
    "where do I sign",
    "the meeting is postponed",
    "please remove your shoes",
    "is this seat taken",
    "we look forward to your reply",
]
FOREIGN = [
    "je suis désolé",
    "mañana por la mañana",
    "guten Appetit",
    "buona fortuna",
    "muito obrigada",
    "hyvää huomenta",
    "dank je wel",
    "çok teşekkürler",
]

REWRITE_T = [
    "rephrase this so it sounds {tone}: {s}",
    "can you clean up this sentence: {bad}",
    "edit for clarity: {s}",
    "make it {tone}: {s}",
    "rewrite without jargon: {s}",
    "correct my english: {bad}",
    "tighten this up: {s}",
    "say it in fewer words: {s}",
]
TONES = [
    "kinder",
    "more confident",
    "more neutral",
    "less stiff",
    "more persuasive",
    "more apologetic",
]
SENTENCES = [
    "we need to circle back on the deliverables going forward",
    "your complaint has been received and will be processed in due course",
    "the thing you asked for is not possible right now",
    "leveraging synergies will optimise our stakeholder value",
    "I guess the plan could maybe work if people try",
]
BAD = [
    "i didnt knew that you was coming",
    "the informations are in attachment",
    "she dont like when peoples is late",
    "we discussed about the problem yesterday",
]

CREATIVE_T = [
    "write a {form} about {subj}",
    "could you make up a {form} starring {subj}",
    "a {mood} {form} about {subj}, please",
    "{form} time: {subj}",
    "I want a {form} for my {rel} about {subj}",
    "invent a {form} where {subj} saves the day",
]
FORMS = [
    "poem",
    "story",
    "limerick",
    "ballad",
    "haiku",
    "fairy tale",
    "song",
    "sonnet",
    "short scene",
    "fable",
    "rhyme",
]
SUBJECTS = [
    "a nervous ghost",
    "the last bus home",
    "a city made of glass",
    "an old fisherman",
    "a lost mitten",
    "a robot gardener",
    "two rival bakers",
    "a comet",
    "a sleepy town",
    "the north wind",
    "a brave tortoise",
]
MOODS = ["gentle", "funny", "spooky", "sad", "hopeful", "silly"]
RELS = ["niece", "partner", "class", "grandad", "team"]

ROLE_T = [
    "be {role} for a bit. {line}",
    "let's pretend: you're {role}, I'm {me}",
    "roleplay {role} and stay in character",
    "speak as {role} would: {line}",
    "you are now {role}. first line: {line}",
    "act out a scene as {role} meeting {me}",
]
ROLES = [
    "a ship's cook",
    "an alien tourist",
    "a strict headmistress",
    "a dragon",
    "a mime",
    "a Roman senator",
    "a robot bartender",
    "a vampire landlord",
    "a time traveller",
    "a royal messenger",
    "a weather forecaster",
    "a fortune teller",
]
LINES = [
    "what's for dinner?",
    "I'm here about the missing cat",
    "can I come aboard?",
    "tell me a secret",
    "why are you here?",
]
MES = ["a lost tourist", "your apprentice", "a journalist", "a customer", "your rival"]

FACT_T = [
    "who {did} {what}",
    "when did {event}",
    "where is {place} located",
    "what is the capital of {country}",
    "how many {units} in a {big}",
    "which {cat} is the {sup}",
    "what year was {thing} founded",
    "who is known as the father of {field}",
]
DID = [
    ("painted", "the water lilies series"),
    ("composed", "the moonlight sonata"),
    ("wrote", "the origin of species"),
    ("discovered", "penicillin"),
    ("invented", "the world wide web"),
    ("directed", "the first feature-length cartoon"),
]
EVENTS = [
    "the titanic sink",
    "humans first reach the south pole",
    "the first olympic games take place",
    "the euro launch",
]
PLACES = ["the atacama desert", "lake titicaca", "the great barrier reef", "mount fuji"]
COUNTRIES = ["mongolia", "uruguay", "latvia", "zambia", "bhutan", "jamaica", "slovenia"]
UNITS_F = [("grams", "kilogram"), ("days", "leap year"), ("players", "football team")]
CATS = [
    ("country", "largest by area"),
    ("ocean", "deepest"),
    ("planet", "hottest"),
    ("river", "longest in asia"),
]
THINGS = ["the red cross", "oxford university", "the bbc", "ikea"]
FIELDS_F = ["medicine", "geometry", "computing", "economics"]

SCIENCE_T = [
    "why does {phen}",
    "how does {device} actually work",
    "explain {concept} simply",
    "what is the science behind {phen2}",
    "what would happen if {hypo}",
    "how do scientists know {known}",
    "why is {fact} true",
]
PHEN = [
    "bread go stale",
    "the sky turn red at sunset",
    "ice float",
    "a compass point north",
    "milk boil over",
    "metal feel colder than wood",
    "the moon always show the same face",
]
DEVICES = [
    "a fridge",
    "wifi",
    "an electric motor",
    "a solar cell",
    "a smoke detector",
    "an x-ray machine",
    "a jet engine",
]
CONCEPTS = [
    "photosynthesis",
    "inertia",
    "pH",
    "evolution by natural selection",
    "the doppler effect",
    "genetic mutation",
    "conservation of energy",
]
PHEN2 = ["rainbows", "static electricity", "fermentation", "tides", "auroras"]
HYPO = ["the moon disappeared", "earth stopped spinning", "there was no gravity for a second"]
KNOWN = ["the age of the universe", "what's inside the earth", "how far the stars are"]
FACTS = [
    "sound travels faster in water",
    "hot air rises",
    "salt water freezes at a lower temperature",
]

OPINION_T = [
    "what's your view on {issue}",
    "is {issue} worth it",
    "should I {choice}",
    "pros and cons of {issue}?",
    "how do I {life}",
    "any tips on {life}",
    "did {hist} do more good than harm",
    "make the case for and against {issue}",
]
ISSUES = [
    "four-day weeks",
    "homeschooling",
    "smart meters",
    "city bike lanes",
    "gap years",
    "fast fashion",
    "remote schooling",
    "term limits",
    "lab-grown meat",
]
CHOICES = [
    "switch jobs for more money",
    "buy an electric car now",
    "study abroad",
    "learn to code at 40",
    "move closer to family",
]
LIFE = [
    "stay calm in interviews",
    "make small talk",
    "keep a budget",
    "sleep better",
    "handle criticism at work",
]
HIST = [
    "the industrial revolution",
    "the spread of railways",
    "the invention of the car",
    "colonial trade",
]

CHAT_T = [
    "hey",
    "hi, how's things",
    "thanks so much!",
    "good morning :)",
    "night night",
    "lol",
    "haha",
    "what's up with you",
    "I'm tired",
    "had a great day today",
    "you there?",
    "how are you feeling",
    "nice chatting",
    "cool cool",
    "happy monday",
    "guess who passed their exam",
    "I love {food}",
    "it's raining again ugh",
    "what are your plans for {day}",
    "just got home from {place}",
    "bye!",
    "tell me something nice",
    "sorry, wrong chat",
    "morning! coffee time",
]
FOODS = ["pancakes", "ramen", "ice cream", "spicy food"]
DAYS = ["the weekend", "tonight", "tomorrow"]
PLACES_C = ["work", "the gym", "my cousin's", "the airport"]


def _fill(rng: random.Random, kind: str) -> str:
    pick = rng.choice
    a, b = rng.randint(2, 40), rng.randint(2, 30)
    if kind == "code":
        return pick(CODE_T).format(
            tech=pick(TECH),
            goal=pick(CODE_GOALS),
            problem=pick(CODE_PROBLEMS),
            snippet=pick(SNIPPETS),
            slow=pick(SLOW),
        )
    if kind == "math":
        shape, dim = pick(SHAPES)
        return pick(MATH_T).format(
            a=a,
            b=b,
            c=rng.randint(50, 900),
            d=rng.randint(1, 99),
            p=pick([5, 12, 15, 25, 40]),
            unit=pick(UNITS),
            shape=shape,
            dim=dim,
            measure=pick(MEASURES),
            k=rng.randint(1, 3),
        )
    if kind == "reasoning":
        w = rng.sample(["ana", "ben", "cleo", "dev", "eli", "fay"], 3)
        p1, p2 = pick(PROPS)
        g = rng.sample(GROUPS, 3)
        c = rng.sample(["red", "blue", "green", "black"], 2)
        return pick(REASON_T).format(
            who1=w[0],
            who2=w[1],
            who3=w[2],
            claim=pick(CLAIMS),
            p1=p1,
            p2=p2,
            fallacy=pick(FALLACIES),
            riddle=pick(RIDDLES),
            odd=pick(ODD),
            col1=c[0],
            col2=c[1],
            a=a % 9 + 3,
            b=b % 5 + 2,
            c=rng.randint(1, 7),
            g1=g[0],
            g2=g[1],
            g3=g[2],
            dilemma=pick(DILEMMAS),
        )
    if kind == "extraction":
        return pick(EXTRACT_T).format(doc=pick(DOC_KINDS), field=pick(FIELDS), text=pick(TEXTS))
    if kind == "summarization":
        return pick(SUMMARY_T).format(doc=pick(SUM_DOCS), n=rng.randint(1, 5), text=pick(SUM_TEXTS))
    if kind == "translation":
        return pick(TRANSLATE_T).format(
            lang=pick(LANGS), phrase=pick(PHRASES), foreign=pick(FOREIGN)
        )
    if kind == "rewriting":
        return pick(REWRITE_T).format(tone=pick(TONES), s=pick(SENTENCES), bad=pick(BAD))
    if kind == "creative":
        return pick(CREATIVE_T).format(
            form=pick(FORMS), subj=pick(SUBJECTS), mood=pick(MOODS), rel=pick(RELS)
        )
    if kind == "roleplay":
        return pick(ROLE_T).format(role=pick(ROLES), line=pick(LINES), me=pick(MES))
    if kind == "factual":
        did, what = pick(DID)
        units, big = pick(UNITS_F)
        cat, sup = pick(CATS)
        return pick(FACT_T).format(
            did=did,
            what=what,
            event=pick(EVENTS),
            place=pick(PLACES),
            country=pick(COUNTRIES),
            units=units,
            big=big,
            cat=cat,
            sup=sup,
            thing=pick(THINGS),
            field=pick(FIELDS_F),
        )
    if kind == "science":
        return pick(SCIENCE_T).format(
            phen=pick(PHEN),
            device=pick(DEVICES),
            concept=pick(CONCEPTS),
            phen2=pick(PHEN2),
            hypo=pick(HYPO),
            known=pick(KNOWN),
            fact=pick(FACTS),
        )
    if kind == "opinion":
        return pick(OPINION_T).format(
            issue=pick(ISSUES), choice=pick(CHOICES), life=pick(LIFE), hist=pick(HIST)
        )
    if kind == "chitchat":
        return pick(CHAT_T).format(food=pick(FOODS), day=pick(DAYS), place=pick(PLACES_C))
    raise ValueError(kind)


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (fewer when the grammar runs out of combinations)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        text = _fill(rng, kind)
        if rng.random() < 0.4:
            text = text[:1].upper() + text[1:]
        seen.setdefault(text, None)
        if len(seen) >= count:
            break
    return list(seen)
