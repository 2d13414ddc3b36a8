"""Task-type prompt grammar A: plain, imperative office English (written for this project).

Each task type has its own templates and slot vocabulary. Grammar B (grammar_b.py) was written
separately with different words, structures and tone, so a model trained on A and tested on B
is measured on wording it has not seen.
"""

from __future__ import annotations

import random

LANGS = ["Python", "JavaScript", "Go", "Rust", "Java", "C#", "TypeScript", "Ruby", "C++", "Kotlin"]
CODE_TASKS = [
    "parses a CSV file and returns the rows as dictionaries",
    "checks whether a string is a palindrome",
    "merges two sorted lists into one sorted list",
    "retries an HTTP request with exponential backoff",
    "reads a config file and validates the required keys",
    "computes the moving average of a list of numbers",
    "removes duplicate entries from a list while keeping order",
    "converts a Roman numeral to an integer",
    "walks a directory tree and lists files larger than 10 MB",
    "implements a thread-safe counter",
    "serializes a binary tree to a string and back",
    "validates an email address with a regular expression",
    "implements an LRU cache with a fixed capacity",
    "finds the longest common prefix of a list of strings",
    "paginates results from a REST API",
    "rate-limits calls to a function",
]
CODE_TEMPLATES = [
    "Write a {lang} function that {task}.",
    "Implement a {lang} class that {task}.",
    "Can you write {lang} code that {task}? Add type hints and a docstring.",
    "Refactor this {lang} function so it {task} without the nested loops.",
    "Write unit tests in {lang} for a function that {task}.",
    "Fix the bug in my {lang} code: it is supposed to do this but crashes: {task}.",
    "Explain what is wrong with my {lang} implementation that {task}, and show a corrected "
    "version.",
    "Port a Python script that {task} to {lang}.",
    "Give me an efficient {lang} algorithm that {task}, with its time complexity.",
    "Write a SQL query that returns the {col} of every {table} created in the last {n} days.",
    "Write a bash script that {shell}.",
    "Why does my {lang} code throw a {err} when it {task}?",
]
SQL_COLS = ["name", "total amount", "average price", "count of orders", "latest login"]
SQL_TABLES = ["customer", "invoice", "user", "product", "ticket", "shipment"]
SHELL = [
    "backs up a folder to a tarball with today's date in the name",
    "finds all log files older than a week and deletes them",
    "checks that a list of hosts respond to ping",
    "renames every .jpeg file in a directory to .jpg",
    "counts the lines of code per file extension in a repository",
]
ERRORS = [
    "NullPointerException",
    "KeyError",
    "segmentation fault",
    "TypeError",
    "panic",
    "IndexError",
]

MATH_TEMPLATES = [
    "What is {a} multiplied by {b}?",
    "Solve for x: {a}x + {b} = {c}.",
    "Calculate {p}% of {c}.",
    "If a train travels at {a} km/h for {b} hours, how far does it go?",
    "Find the derivative of {a}x^{b} + {c}x.",
    "Compute the integral of {a}x^2 from 0 to {b}.",
    "What is the sum of the first {c} positive integers?",
    "A shop sells pens at ${a} each. How much do {b} pens cost after a {p}% discount?",
    "Prove that the square root of {prime} is irrational.",
    "What is the probability of rolling a total of {roll} with two fair dice?",
    "Simplify the fraction {c}/{d}.",
    "Find the area of a circle with a radius of {a} cm.",
    "Solve the system of equations: x + y = {c}, x - y = {a}.",
    "What is {a} to the power of {e}?",
    "How many ways can {a} people be seated in a row?",
    "Convert {c} from base 10 to binary.",
    "If I invest ${c} at {p}% annual interest compounded yearly, how much will I have after "
    "{b} years?",
    "Find the greatest common divisor of {c} and {d}.",
]

REASONING_TEMPLATES = [
    "{n1} is taller than {n2}, and {n2} is taller than {n3}. Who is the shortest?",
    "If all {x} are {y} and some {y} are {z}, can we conclude that some {x} are {z}? Explain.",
    "There are three boxes labelled {x}, {y} and {mixed}, and every label is wrong. You may pick "
    "one item from one box. How do you relabel them correctly?",
    "{n1} says {n2} is lying. {n2} says {n3} is lying. {n3} says both {n1} and {n2} are lying. "
    "Who is telling the truth?",
    "A farmer must cross a river with a {x}, a {y} and a sack of {z}. Only one fits in the boat. "
    "How does he get everything across safely?",
    "What comes next in the sequence {seq}? Explain the pattern.",
    "If it takes {a} machines {a} minutes to make {a} widgets, how long do {b} machines need "
    "to make {b} widgets?",
    "{n1} is {n2}'s father's only son's daughter. What is {n1} to {n2}?",
    "Is this argument valid? If it rains, the {x} get wet. The {x} are wet. Therefore it rained.",
    "Which statement must be true if no {x} are {y} and every {z} is a {y}?",
    "Three friends, {n1}, {n2} and {n3}, each own a different pet: a {x}, a {y} and a {z}. "
    "{n1} does not own the {x}. {n2} owns the {z}. Who owns what?",
    "A clock shows {a}:15. What is the angle between the hour and minute hands?",
    "Find the flaw in this reasoning: every time I carry an umbrella it does not rain, so "
    "carrying an umbrella prevents rain.",
]
NAMES = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Hugo", "Ivy", "Jack"]
THINGS = ["cats", "dogs", "birds", "apples", "cars", "robots", "teachers", "painters", "wolves"]
SEQS = ["2, 4, 8, 16", "1, 1, 2, 3, 5, 8", "3, 6, 11, 18", "1, 4, 9, 16", "2, 3, 5, 7, 11"]

EXTRACT_TEMPLATES = [
    "Extract all the dates and amounts from this text and return them as JSON: {passage}",
    "From the following email, list the names of the people and the meeting time: {passage}",
    "Pull out the product names and prices from this text into a table: {passage}",
    "Return a JSON object with the fields name, company and role from this bio: {passage}",
    "Identify every city mentioned in this paragraph and output them as a comma-separated list: "
    "{passage}",
    "Parse this log line into timestamp, level and message fields: {log}",
    "Convert the following list of items into a YAML document: {passage}",
    "Extract the key facts from this announcement as bullet points with no commentary: {passage}",
    'Fill in this schema {{"title": str, "year": int, "author": str}} from the text: {passage}',
]
PASSAGES_A = [
    "On 3 March the team paid $1,200 for servers and on 17 April another $450 for licences.",
    "Hi all, Maria and Tom will join the review on Thursday at 10:30 in room B.",
    "The new Falcon laptop costs $999, the Falcon Pro $1,399 and the dock $149.",
    "Jane Doe is a senior data engineer at Northwind, where she leads the ingestion team.",
    "We drove from Lyon to Geneva, then took the train to Zurich and flew to Vienna.",
    "Apples 3kg, flour 1kg, eggs 12, butter 250g, sugar 500g.",
    "The Silent Harbor, published in 1987 by R. Mendel, tells of a fishing town in decline.",
    "Acme Corp announced record revenue of $2.1 billion for the quarter and a new CEO, Li Wei.",
]
LOGS = [
    "2024-05-01T12:03:44Z ERROR db.pool connection refused after 3 retries",
    "[WARN] 2023-11-20 08:15:02 disk /var at 91% capacity",
    "Jan 12 04:22:10 web01 nginx[2211]: upstream timed out while reading response header",
]

SUMMARY_TEMPLATES = [
    "Summarize the following text in {k} sentences: {text}",
    "Give me a short summary of this article: {text}",
    "TL;DR this for me: {text}",
    "Condense these meeting notes into the main decisions: {text}",
    "What are the key points of the following passage? {text}",
    "Write a one-paragraph abstract for this report: {text}",
    "Summarise this customer review in one line: {text}",
    "Boil this down to three bullet points for my manager: {text}",
]
TEXTS_A = [
    "The city council met on Monday to discuss the new bus routes. After a long debate, members "
    "agreed to extend two lines to the northern suburbs and to postpone the tram project.",
    "Our quarterly results show growth in subscriptions but a drop in hardware sales. Costs rose "
    "because of shipping delays, and the board wants a plan to reduce inventory by summer.",
    "The study followed 400 volunteers for two years and found that those who walked daily slept "
    "better and reported lower stress, although the effect on weight was small.",
    "I bought this blender last month. It is powerful and easy to clean, but it is very loud and "
    "the lid cracked after three weeks. Support replaced it quickly.",
    "During the sprint the team finished the login redesign, fixed twelve bugs, and decided to "
    "move the payment migration to the next quarter because of a dependency on the bank API.",
    "Volcanic eruptions release ash and gases that can cool the climate for a few years. Large "
    "eruptions in history have caused crop failures far from the volcano itself.",
]

TRANSLATE_TEMPLATES = [
    "Translate into {lang}: {sent}",
    "How do you say '{sent}' in {lang}?",
    "Please translate the following sentence to {lang}: {sent}",
    "Translate this from {lang} to English: {foreign}",
    "What does '{foreign}' mean in English?",
    "Render this paragraph in {lang}, keeping a formal tone: {sent}",
    "I need this in {lang} for a sign: {sent}",
]
HUMAN_LANGS = [
    "French",
    "Spanish",
    "German",
    "Italian",
    "Portuguese",
    "Japanese",
    "Dutch",
    "Polish",
    "Chinese",
    "Korean",
    "Swedish",
    "Turkish",
]
SENTS_A = [
    "Where is the nearest train station?",
    "The meeting has been moved to next Tuesday.",
    "Please keep the door closed at all times.",
    "I would like to book a table for two people.",
    "Thank you for your patience while we fix the problem.",
    "The museum is closed on Mondays.",
    "Could you send me the invoice by email?",
    "My luggage did not arrive with my flight.",
]
FOREIGN = [
    "Je voudrais un café, s'il vous plaît.",
    "¿Dónde está la biblioteca?",
    "Ich habe meinen Schlüssel vergessen.",
    "Dove si trova la stazione?",
    "Obrigado pela ajuda.",
    "Het regent al de hele dag.",
]

REWRITE_TEMPLATES = [
    "Rewrite this sentence to sound more polite: {s}",
    "Fix the grammar and spelling in this text: {bad}",
    "Make this paragraph more concise: {s}",
    "Paraphrase the following: {s}",
    "Rewrite this email in a friendlier tone: {s}",
    "Change this text to the passive voice: {s}",
    "Make this sound more professional: {s}",
    "Simplify this sentence for a ten-year-old: {s}",
    "Proofread my message please: {bad}",
]
REWRITE_S = [
    "Send me the report now, I have been waiting all day.",
    "The committee has decided that the proposal will not be accepted at this time.",
    "Your order is late because the warehouse messed up.",
    "We need to talk about your performance in the last quarter.",
    "The software update changes the way the system handles user permissions.",
    "I cannot come to the party because I have too much work.",
]
BAD_S = [
    "their going to the store tomorow and they wants to by milk",
    "me and him has finished the project yesterday but it dont work",
    "please find attach the document wich you requested",
    "the datas shows that sales was increasing alot",
]

CREATIVE_TEMPLATES = [
    "Write a short poem about {topic}.",
    "Write a haiku about {topic}.",
    "Write a short story about {char} who discovers {topic}.",
    "Compose a limerick about {char}.",
    "Write song lyrics about {topic} in the style of a ballad.",
    "Give me an opening paragraph for a fantasy novel about {char}.",
    "Write a funny bedtime story about {char} and {topic}.",
    "Write a sonnet about {topic}.",
    "Invent a myth explaining the origin of {topic}.",
    "Write a product description for a magical {item} in a whimsical tone.",
    "Write a toast for my friend's wedding that mentions {topic}.",
]
TOPICS_A = [
    "the ocean at night",
    "autumn leaves",
    "a lost key",
    "the first snow",
    "city lights",
    "an old lighthouse",
    "friendship",
    "time travel",
    "a forgotten garden",
    "the moon",
    "coffee in the morning",
    "a rainy Sunday",
]
CHARS_A = [
    "a shy dragon",
    "a retired astronaut",
    "a talking cat",
    "a young baker",
    "a lonely robot",
    "a clumsy wizard",
    "a lighthouse keeper",
    "a pirate grandmother",
]
ITEMS = ["umbrella", "teapot", "pair of boots", "lantern", "notebook"]

ROLEPLAY_TEMPLATES = [
    "Pretend you are {role}. {ask}",
    "Act as {role} and answer my questions in character.",
    "You are {role}. Greet me and stay in character.",
    "Let's role-play: you are {role} and I am a {me}. Start the scene.",
    "From now on, speak like {role}. {ask}",
    "Imagine you are {role} talking to a {me}. What do you say first?",
    "Play the part of {role} in a job interview with me.",
]
ROLES_A = [
    "a pirate captain",
    "Sherlock Holmes",
    "a medieval knight",
    "a grumpy innkeeper",
    "a starship commander",
    "a Victorian butler",
    "a wise old wizard",
    "a game show host",
    "a tour guide in ancient Rome",
    "a detective in 1920s Chicago",
]
ASKS = [
    "Tell me about your day.",
    "What advice would you give me?",
    "Describe where we are.",
    "How do I get to the castle?",
    "What is your biggest secret?",
]
ME = ["traveller", "customer", "new recruit", "suspect", "student", "tourist"]

FACTUAL_TEMPLATES = [
    "What is the capital of {country}?",
    "Who wrote {book}?",
    "When did {event} happen?",
    "What is the tallest mountain in {region}?",
    "What currency is used in {country}?",
    "Who painted {painting}?",
    "How many {unit} are in a {bigunit}?",
    "What language is spoken in {country}?",
    "Who was the first person to {feat}?",
    "What is the population of {country}, roughly?",
    "In which year was {invention} invented?",
    "What is the largest {animal_kind} in the world?",
]
COUNTRIES = [
    "Canada",
    "Brazil",
    "Kenya",
    "Norway",
    "Australia",
    "Japan",
    "Peru",
    "Egypt",
    "Vietnam",
    "Portugal",
    "Chile",
    "Morocco",
]
BOOKS = [
    "Pride and Prejudice",
    "War and Peace",
    "Don Quixote",
    "The Odyssey",
    "Moby-Dick",
    "One Hundred Years of Solitude",
    "Frankenstein",
]
EVENTS = [
    "the fall of the Berlin Wall",
    "the first Moon landing",
    "the French Revolution",
    "the signing of the Magna Carta",
    "the end of World War II",
]
REGIONS = ["Africa", "Europe", "South America", "Japan", "the Alps"]
PAINTINGS = ["the Mona Lisa", "The Starry Night", "Guernica", "The Night Watch"]
UNITS = [("centimetres", "metre"), ("ounces", "pound"), ("seconds", "day"), ("feet", "mile")]
FEATS = [
    "climb Mount Everest",
    "fly across the Atlantic alone",
    "walk on the Moon",
    "reach the South Pole",
]
INVENTIONS = ["the telephone", "the printing press", "the light bulb", "the bicycle"]
ANIMAL_KINDS = ["bird", "fish", "cat", "snake", "desert"]

SCIENCE_TEMPLATES = [
    "Explain why {phen}.",
    "How does {process} work?",
    "Why is it that {phen}?",
    "Can you explain the science behind {process}?",
    "What causes {cause}?",
    "Describe the role of {thing} in {system}.",
    "Explain {concept} in simple terms.",
    "What is the difference between {c1} and {c2}?",
]
PHEN = [
    "the sky is blue",
    "ice floats on water",
    "we have seasons",
    "metals conduct electricity",
    "the sea is salty",
    "leaves change colour in autumn",
    "bread rises",
    "planes can fly",
    "the Moon has phases",
    "a spoon looks bent in water",
]
PROCESSES = [
    "photosynthesis",
    "a vaccine",
    "a nuclear reactor",
    "GPS",
    "a heat pump",
    "natural selection",
    "a refrigerator",
    "an MRI scanner",
    "plate tectonics",
]
CAUSES = [
    "thunder",
    "the northern lights",
    "tides",
    "earthquakes",
    "rainbows",
    "inflation of the universe",
    "muscle cramps",
]
THINGS_S = [
    ("mitochondria", "the cell"),
    ("enzymes", "digestion"),
    ("the ozone layer", "the atmosphere"),
    ("insulin", "the body"),
    ("catalysts", "chemical reactions"),
]
CONCEPTS = [
    "entropy",
    "quantum entanglement",
    "general relativity",
    "DNA replication",
    "the greenhouse effect",
    "black holes",
    "osmosis",
]
PAIRS_S = [
    ("a virus", "a bacterium"),
    ("weather", "climate"),
    ("mass", "weight"),
    ("fission", "fusion"),
    ("an element", "a compound"),
]

OPINION_TEMPLATES = [
    "What do you think about {issue}?",
    "Discuss the pros and cons of {issue}.",
    "How did {hist} change society?",
    "Should I {choice}? Give me your advice.",
    "What are the ethical issues around {issue}?",
    "Write an essay on the impact of {hist} on modern culture.",
    "Give me some tips for {life}.",
    "How can I {life}?",
    "What lessons can we learn from {hist}?",
    "Is it better to {choice} or not?",
]
ISSUES = [
    "remote work",
    "social media for teenagers",
    "a four-day work week",
    "universal basic income",
    "nuclear energy",
    "banning cars from city centres",
    "homework in primary schools",
    "genetic testing",
]
HIST = [
    "the printing press",
    "the industrial revolution",
    "the Renaissance",
    "the Silk Road",
    "the invention of photography",
    "the Roman Empire",
    "the Cold War",
]
CHOICES = [
    "rent or buy a house",
    "learn a second language as an adult",
    "change careers at 40",
    "take a gap year",
    "move to a big city",
]
LIFE = [
    "staying motivated when studying",
    "improving my public speaking",
    "saving money on groceries",
    "getting better sleep",
    "making friends in a new city",
    "negotiating a raise",
]

CHAT_TEMPLATES = [
    "Hi! How are you today?",
    "Good morning, {name}!",
    "Thanks, that was really helpful.",
    "Tell me a joke.",
    "What's up?",
    "I'm bored, talk to me.",
    "Hello there",
    "Do you like {hobby}?",
    "What's your favourite {fav}?",
    "Have a nice {period}!",
    "I just got back from {place}, it was great.",
    "Can you cheer me up? I had a long day.",
    "lol that's funny",
    "Who are you?",
    "Nice to meet you.",
    "I'm going to {place} this weekend!",
    "How was your {period}?",
]
HOBBIES = ["music", "movies", "football", "cooking", "reading", "video games", "hiking"]
FAVS = ["colour", "food", "season", "animal", "movie", "song"]
PERIODS = ["day", "weekend", "evening", "holiday", "week"]
PLACES = ["the beach", "the gym", "Paris", "my grandmother's house", "a concert", "the mountains"]


def _fill(rng: random.Random, kind: str) -> str:
    """One prompt of task type `kind` from grammar A."""
    pick = rng.choice
    if kind == "code":
        return pick(CODE_TEMPLATES).format(
            lang=pick(LANGS),
            task=pick(CODE_TASKS),
            col=pick(SQL_COLS),
            table=pick(SQL_TABLES),
            n=rng.randint(2, 90),
            shell=pick(SHELL),
            err=pick(ERRORS),
        )
    if kind == "math":
        a, b = rng.randint(2, 99), rng.randint(2, 40)
        return pick(MATH_TEMPLATES).format(
            a=a,
            b=b,
            c=rng.randint(10, 999),
            d=rng.randint(10, 999),
            p=rng.choice([5, 10, 15, 20, 25, 30]),
            prime=pick([2, 3, 5, 7]),
            roll=rng.randint(2, 12),
            e=rng.randint(2, 9),
        )
    if kind == "reasoning":
        n = rng.sample(NAMES, 3)
        x, y, z = rng.sample(THINGS, 3)
        return pick(REASONING_TEMPLATES).format(
            n1=n[0],
            n2=n[1],
            n3=n[2],
            x=x,
            y=y,
            z=z,
            mixed="mixed",
            seq=pick(SEQS),
            a=rng.randint(2, 9),
            b=rng.randint(10, 200),
        )
    if kind == "extraction":
        return pick(EXTRACT_TEMPLATES).format(passage=pick(PASSAGES_A), log=pick(LOGS))
    if kind == "summarization":
        return pick(SUMMARY_TEMPLATES).format(k=rng.randint(1, 4), text=pick(TEXTS_A))
    if kind == "translation":
        return pick(TRANSLATE_TEMPLATES).format(
            lang=pick(HUMAN_LANGS), sent=pick(SENTS_A), foreign=pick(FOREIGN)
        )
    if kind == "rewriting":
        return pick(REWRITE_TEMPLATES).format(s=pick(REWRITE_S), bad=pick(BAD_S))
    if kind == "creative":
        return pick(CREATIVE_TEMPLATES).format(
            topic=pick(TOPICS_A), char=pick(CHARS_A), item=pick(ITEMS)
        )
    if kind == "roleplay":
        return pick(ROLEPLAY_TEMPLATES).format(role=pick(ROLES_A), ask=pick(ASKS), me=pick(ME))
    if kind == "factual":
        small, big = pick(UNITS)
        return pick(FACTUAL_TEMPLATES).format(
            country=pick(COUNTRIES),
            book=pick(BOOKS),
            event=pick(EVENTS),
            region=pick(REGIONS),
            painting=pick(PAINTINGS),
            unit=small,
            bigunit=big,
            feat=pick(FEATS),
            invention=pick(INVENTIONS),
            animal_kind=pick(ANIMAL_KINDS),
        )
    if kind == "science":
        thing, system = pick(THINGS_S)
        c1, c2 = pick(PAIRS_S)
        return pick(SCIENCE_TEMPLATES).format(
            phen=pick(PHEN),
            process=pick(PROCESSES),
            cause=pick(CAUSES),
            thing=thing,
            system=system,
            concept=pick(CONCEPTS),
            c1=c1,
            c2=c2,
        )
    if kind == "opinion":
        return pick(OPINION_TEMPLATES).format(
            issue=pick(ISSUES), hist=pick(HIST), choice=pick(CHOICES), life=pick(LIFE)
        )
    if kind == "chitchat":
        return pick(CHAT_TEMPLATES).format(
            name=pick(NAMES),
            hobby=pick(HOBBIES),
            fav=pick(FAVS),
            period=pick(PERIODS),
            place=pick(PLACES),
        )
    raise ValueError(kind)


# Politeness and framing around the ask: the same in every task type, so they carry no label.
PREFIXES = [
    "",
    "",
    "",
    "Please help. ",
    "Could you help me with this? ",
    "Question: ",
    "I would like some help. ",
    "Task: ",
    "Good afternoon. ",
    "Dear assistant, ",
]
SUFFIXES = [
    "",
    "",
    "",
    " Thank you.",
    " Keep it brief.",
    " Please be accurate.",
    " Answer in English.",
    " Thanks in advance!",
    " No need for a long answer.",
]


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (fewer when the grammar runs out of combinations)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        text = rng.choice(PREFIXES) + _fill(rng, kind) + rng.choice(SUFFIXES)
        seen.setdefault(text, None)
        if len(seen) >= count:
            break
    return list(seen)
