"""Task-type prompt grammar B: chatty, context-first requests, written separately from grammar A.

Different slot words, different sentence shapes (a situation first, then the ask), mixed case,
occasional typos and lower case, as people type into a chat box. Used only for the frozen test
split, so the classifier is measured on phrasing it was not trained on.
"""

from __future__ import annotations

import random

OPENERS = [
    "",
    "",
    "",
    "hey, ",
    "quick question: ",
    "ok so ",
    "Hello! ",
    "pls help - ",
    "I'm stuck. ",
    "For work: ",
    "my boss asked me this: ",
]

CODE = [
    "my {stack} service keeps leaking memory when {situation}, how do I track it down",
    "how would I {goal} in {stack}",
    "here's a snippet that {goal}s but it's slow:\n{snippet}\nany ideas to speed it up?",
    "I get '{err}' from {stack} when I {situation}. what am I doing wrong",
    "what's the idiomatic way to {goal} with {stack}",
    "can you review this and suggest cleaner code?\n{snippet}",
    "need a regex that matches {regex_target}",
    "convert this loop to a list comprehension:\n{snippet}",
    "my unit test for the {module} module fails only on CI, where do I start",
    "design the database tables for a {app} app and write the migrations",
    "write a dockerfile for a {stack} app that {goal}s",
    "how do i make this function async?\n{snippet}",
]
STACKS = [
    "node",
    "django",
    "flask",
    "spring boot",
    "react",
    "rails",
    "fastapi",
    "golang",
    "pandas",
    "numpy",
    "kubernetes operator",
    "android",
    "swift",
    "php laravel",
]
SITUATIONS = [
    "I upload big files",
    "two requests hit the same row",
    "the cron job runs",
    "users log out",
    "I run the migration",
    "the websocket reconnects",
]
GOALS = [
    "deduplicate records by email",
    "stream a large JSON file",
    "cache API responses",
    "hash passwords",
    "upload images to S3",
    "debounce search input",
    "schedule a job",
    "batch database inserts",
    "sort objects by two keys",
    "read environment variables",
]
ERRS_B = [
    "undefined is not a function",
    "connection reset by peer",
    "out of memory",
    "cannot borrow as mutable",
    "module not found",
    "deadlock detected",
    "maximum recursion depth exceeded",
]
SNIPPETS = [
    "for i in range(len(xs)):\n    if xs[i] % 2 == 0:\n        out.append(xs[i] * 2)",
    "def total(items):\n    t = 0\n    for it in items:\n        t = t + it['price'] * it['qty']\n"
    "    return t",
    "const res = await fetch(url);\nconst data = await res.json();\ndata.forEach(d => render(d));",
    "SELECT * FROM orders o, customers c WHERE o.cid = c.id AND c.country = 'FR';",
    "while (node != null) { if (node.val == key) return node; node = node.next; }",
    "result = []\nfor line in open('data.txt'):\n    result.append(line.strip().split(','))",
]
REGEX_TARGETS = [
    "UK postcodes",
    "ISO dates",
    "hex colours like #a1b2c3",
    "semantic version strings",
    "IPv4 addresses",
    "words in camelCase",
]
MODULES = ["billing", "auth", "search", "export", "scheduler"]
APPS = ["library", "gym membership", "recipe sharing", "parking", "veterinary clinic"]

MATH = [
    "my kid's homework: {a} apples shared between {b} kids, how many each and how many left over",
    "what's {a} times {b} plus {c}",
    "if {x} = {a} and y = {b}, what is 3{x} - 2y squared?",
    "a recipe needs {a} g of flour for {b} cookies. how much for {c} cookies",
    "i drove {c} miles on {b} gallons, whats my mpg",
    "what's the median of {a}, {b}, {c}, {d} and 7",
    "a {a}-sided polygon, what's the sum of its interior angles",
    "the price went from {c} to {d}. what percent change is that",
    "need help with a limit: lim x->0 of sin({a}x)/x",
    "Factorise x^2 + {s}x + {prod}",
    "what is the lcm of {a} and {b}",
    "is {big} a prime number? show the working",
    "a rectangle has perimeter {c} and one side {a}, find its area",
    "expected value of a game where you win ${a} with probability 1/{b} and lose $1 otherwise?",
    "how many diagonals does a {a}-gon have",
]

REASONING = [
    "riddle time: {riddle}",
    "logic puzzle: {n1} sits left of {n2}, {n3} is not next to {n1}. there are 3 seats. "
    "who is in the middle?",
    "if every {g1} in my team is also a {g2}, and {n1} is not a {g2}, is {n1} a {g1}?",
    "we have {a} red socks and {b} blue socks in a drawer, in the dark. how many do I pull to be "
    "sure of a pair?",
    "my friend argues: '{fallacy}'. what's the logical mistake",
    "a bat and a ball puzzle variant: together they cost ${a}.10 and the bat costs ${a} more than "
    "the ball. what does the ball cost? think it through",
    "two doors, two guards, one always lies, one always tells the truth. what single question "
    "finds the safe door?",
    "if {n1} finishes the job in {a} days and {n2} in {b} days, working together how long?",
    "which weighs more and why - think step by step: {riddle}",
    "schedule puzzle: {n1} can't meet monday, {n2} only tuesday or wednesday, {n3} not wednesday. "
    "find a day for all three",
    "deduce the order: the {c1} house is left of the {c2} one, the {c3} house is at an end, and "
    "the {c2} house is not in the middle",
]
RIDDLES = [
    "what has keys but can't open locks?",
    "a kilo of feathers or a kilo of iron?",
    "the more you take, the more you leave behind. what am I?",
    "a man pushes his car to a hotel and is bankrupt. why?",
    "what gets wetter the more it dries?",
]
FALLACIES = [
    "everyone I know likes it so it must be good",
    "we've always done it this way so it's right",
    "if we allow this, soon everything will be allowed",
    "he's not an expert, so his argument is wrong",
]
GROUPS = ["designer", "manager", "tester", "runner", "vegetarian", "musician"]
COLOURS = ["red", "green", "blue", "yellow", "white"]
PEOPLE_B = ["sam", "priya", "tomás", "mei", "olu", "lena", "raj", "ana"]

EXTRACT = [
    "from the text below get me the {fields} as json\n\n{doc}",
    "{doc}\n\n^ can you pull the {fields} out of that into a table",
    "turn this into structured data ({fields}):\n{doc}",
    "which {fields} are mentioned here? list only those. {doc}",
    "parse these rows into csv with columns {fields}:\n{doc}",
    "grab the {fields} from this receipt:\n{doc}",
]
FIELDS = [
    "names and emails",
    "dates and deadlines",
    "order numbers and totals",
    "addresses",
    "company names",
    "error codes and hosts",
    "sku, qty, price",
    "flight numbers and times",
]
DOCS = [
    "Order #4471 shipped 12/02, total 88.40 EUR. Order #4472 pending, total 19.99 EUR.",
    "Reminder: the audit report is due Friday 14th; the budget draft is due the 21st.",
    "Flight LH402 departs 09:40 from gate B12; connecting UA88 leaves at 14:05.",
    "host=db-3 code=E1042 retry=2\nhost=web-7 code=E0007 retry=0\nhost=db-3 code=E1042 retry=3",
    "2x USB-C cable 9.99, 1x charger 24.50, 3x notebook 4.20, subtotal 58.08",
    "Contact Rafael at the Lisbon office or Ines in Porto; both report to Helix Logistics.",
]

SUMMARY = [
    "can you sum up this thread for me?\n{doc}",
    "{doc}\n\ntoo long, didn't read - what's the gist",
    "give me the short version of this:\n{doc}",
    "i need a recap of the following for the standup: {doc}",
    "what does this say, in a nutshell? {doc}",
    "shorten this to fit a tweet: {doc}",
    "outline the main ideas in this chapter excerpt: {doc}",
]
DOCS_SUM = [
    "Ana: the deploy failed again. Raj: it's the flaky cache test. Ana: can we skip it? Raj: no, "
    "last time that broke prod. Mei: I'll fix the test today, deploy tomorrow morning then.",
    "The library will close for renovation from June to September. Members can borrow from the "
    "east branch, and fines will be frozen during the closure. Online services stay open.",
    "Researchers tracked bee colonies near farms using two pesticides. Colonies near the second "
    "pesticide lost more foragers, but hives recovered within a season when spraying stopped.",
    "In the chapter, the narrator returns to her childhood village, finds the mill abandoned, and "
    "slowly learns that her brother sold it to pay debts he never mentioned.",
    "The vendor says the outage was caused by an expired certificate on a load balancer. They "
    "renewed it, added monitoring for expiry dates, and will credit affected customers.",
]

TRANSLATE = [
    "how do i say {phrase} in {lang}",
    "{lang} for '{phrase}'?",
    "can u put this in {lang}: {phrase}",
    "what does {foreign} mean",
    "I'm writing to a {lang} supplier, translate: {phrase}",
    "translate to english pls: {foreign}",
    "give me the {lang} version of this menu item: {phrase}",
]
LANGS_B = [
    "french",
    "spanish",
    "german",
    "italian",
    "japanese",
    "arabic",
    "greek",
    "hindi",
    "russian",
    "czech",
    "vietnamese",
    "norwegian",
]
PHRASES = [
    "good luck with your exams",
    "the invoice is attached",
    "happy birthday grandma",
    "grilled fish with lemon",
    "we are out of stock",
    "see you at the airport",
    "where can I charge my phone",
    "no parking on weekdays",
]
FOREIGN_B = [
    "buenas noches",
    "auf Wiedersehen",
    "merci beaucoup",
    "arigatou gozaimasu",
    "bom dia",
    "tack så mycket",
    "dziękuję bardzo",
    "grazie mille",
]

REWRITE = [
    "can you make this less rude? '{s}'",
    "reword this so it doesn't sound passive aggressive: {s}",
    "clean up my writing: {bad}",
    "make this shorter and punchier: {s}",
    "formal version please: {s}",
    "say this differently: {s}",
    "tone this down for a customer: {s}",
    "correct the mistakes: {bad}",
]
S_B = [
    "as I said in my last three emails, the file is on the shared drive",
    "this is the third time the delivery was wrong, fix it",
    "we regret to inform you that your application was unsuccessful",
    "the thing is broken and nobody cares",
    "I was wondering if maybe you could possibly look at my request when you have time",
]
BAD_B = [
    "i has went to the meeting but noone where there",
    "its a good oportunity for we to grow are business",
    "could you borrow me you're charger",
    "the results was suprising and we was happy",
]

CREATIVE = [
    "write me a little poem for {occasion}",
    "story idea: {premise}. write the first scene",
    "can you write a rap verse about {subject}",
    "short scary story set in {setting}",
    "write a love letter from {subject} to {subject2}",
    "compose a children's rhyme about {subject}",
    "flash fiction, 100 words, about {premise}",
    "write a free verse poem about {subject} in {setting}",
    "a fable with a moral, starring {subject}",
]
OCCASIONS = [
    "my mum's 60th",
    "a retirement card",
    "valentine's day",
    "a graduation",
    "our team's launch party",
]
PREMISES = [
    "a city where nobody can lie",
    "the last tree on earth",
    "a librarian who can read minds",
    "two strangers stuck in a lift",
    "a dog that becomes mayor",
]
SUBJECTS = [
    "a sleepy owl",
    "the morning bus",
    "an old piano",
    "the sea",
    "a paper boat",
    "a tired barista",
    "the wind",
]
SETTINGS = ["an abandoned hospital", "a space station", "a snowy village", "a night train"]

ROLEPLAY = [
    "you're {role} now. i walk in: '{line}'",
    "stay in character as {role} for the rest of this chat",
    "roleplay {role} - i'm {me}. go",
    "*{action}* ({role}, respond in character)",
    "be {role} and interview me about {topic}",
    "speak only as {role} would. first question: {line}",
]
ROLES_B = [
    "a grumpy dwarf blacksmith",
    "a noir detective",
    "my D&D dungeon master",
    "an alien ambassador",
    "a 1950s radio host",
    "a sarcastic ship AI",
    "a ghost in a castle",
    "a cowboy sheriff",
]
LINES = [
    "got any work for me?",
    "I need a sword",
    "where were you last night?",
    "we come in peace",
    "is this the way out?",
]
ME_B = ["a lost adventurer", "a nervous intern", "the new sheriff", "a reporter"]
ACTIONS = [
    "pushes open the tavern door",
    "hands over a sealed letter",
    "draws a sword",
    "sits down at the bar",
]
RP_TOPICS = ["my travels", "the heist", "life on earth", "the missing jewels"]

FACTUAL = [
    "who was the {nth} president of {place}",
    "when was {thing} built",
    "which country has the most {stat}",
    "what's the boiling point of water in fahrenheit",
    "how long is {river}",
    "who discovered {disc}",
    "what year did {person} die",
    "which planet is closest to the sun",
    "what is the official language of {place2}",
    "name the author of {book}",
    "how tall is {thing}",
]
NTHS = ["first", "second", "third", "16th"]
PLACES_B = ["the united states", "france", "mexico", "kenya"]
THINGS_F = [
    "the eiffel tower",
    "the great wall of china",
    "the colosseum",
    "the golden gate bridge",
    "big ben",
    "the taj mahal",
]
STATS = ["islands", "time zones", "volcanoes", "lakes", "official languages"]
RIVERS = ["the nile", "the amazon", "the danube", "the mississippi", "the rhine"]
DISCS = ["penicillin", "gravity", "radium", "the electron", "oxygen"]
PERSONS = ["shakespeare", "napoleon", "mozart", "cleopatra", "einstein"]
PLACES2 = ["brazil", "switzerland", "india", "belgium", "singapore"]
BOOKS_B = ["the hobbit", "1984", "the little prince", "crime and punishment"]

SCIENCE = [
    "why does {phen}? my son asked and I didn't know",
    "eli5 {concept}",
    "what actually happens when {event}",
    "how do {things} work, physically?",
    "what's the chemistry behind {chem}",
    "is it true that {claim}? explain the physics",
    "why do {things} {verb}",
]
PHEN_B = [
    "salt melt ice on roads",
    "a magnet stick to the fridge",
    "the ocean look blue",
    "hot air rise",
    "soap remove grease",
    "your ears pop on a plane",
]
CONCEPTS_B = [
    "how vaccines train the immune system",
    "what a neutron star is",
    "half-life",
    "why the speed of light is a limit",
    "how antibiotics stop working",
]
EVENTS_B = [
    "lightning strikes a tree",
    "you boil water at high altitude",
    "a star collapses",
    "milk goes sour",
    "metal rusts",
]
THINGS_B = [
    "solar panels",
    "noise-cancelling headphones",
    "lasers",
    "batteries",
    "touchscreens",
    "microwaves",
]
CHEM = ["baking soda and vinegar", "fireworks colours", "caramelising sugar", "bleach"]
CLAIMS = [
    "heavier objects fall faster",
    "glass is a liquid",
    "lightning never strikes twice",
    "we only use 10% of our brain",
]
VERBS = ["glow", "get hot", "lose charge in the cold", "interfere with wifi"]

OPINION = [
    "honestly, is {issue} a good idea?",
    "i'm torn about whether to {choice}, what would you weigh up",
    "what's your take on {issue}",
    "write a short essay arguing for and against {issue}",
    "how did {hist} shape the world we live in",
    "any advice for {life}",
    "what would you say are the biggest lessons of {hist}",
    "give me a balanced view on {issue}",
]
ISSUES_B = [
    "self-driving cars",
    "a tax on sugary drinks",
    "open-plan offices",
    "space tourism",
    "school uniforms",
    "tipping culture",
    "zoos",
]
CHOICES_B = [
    "quit my job to travel",
    "go back to university",
    "adopt a dog while working full time",
    "move back in with my parents to save",
]
HIST_B = [
    "the moon landing",
    "the fall of the Soviet Union",
    "the invention of the internet",
    "the age of exploration",
    "the abolition of slavery",
]
LIFE_B = [
    "a first-time manager",
    "dealing with a difficult neighbour",
    "starting to run at 50",
    "keeping plants alive",
    "my first job interview",
]

CHAT = [
    "yo",
    "good night!",
    "haha you're funny",
    "thank u so much",
    "how's it going?",
    "I'm so tired today",
    "what are you up to",
    "guess what, {news}",
    "do you ever get bored?",
    "happy friday!!",
    "{greeting} :)",
    "that's cool",
    "i love {thing}",
    "are you a robot?",
    "bye for now",
    "ugh mondays",
    "did you sleep well",
    "just saying hi",
]
NEWS = ["i got the job", "my cat had kittens", "it's my birthday", "I passed my driving test"]
GREETINGS = ["hiya", "hey there", "morning", "evening all", "sup"]
LOVES = ["rainy days", "pizza", "this song", "weekends"]


def _fill(rng: random.Random, kind: str) -> str:
    """One prompt of task type `kind` from grammar B."""
    pick = rng.choice
    text: str
    if kind == "code":
        text = pick(CODE).format(
            stack=pick(STACKS),
            situation=pick(SITUATIONS),
            goal=pick(GOALS),
            err=pick(ERRS_B),
            snippet=pick(SNIPPETS),
            regex_target=pick(REGEX_TARGETS),
            module=pick(MODULES),
            app=pick(APPS),
        )
    elif kind == "math":
        a, b = rng.randint(3, 60), rng.randint(2, 12)
        s, t = rng.randint(1, 9), rng.randint(1, 9)
        text = pick(MATH).format(
            a=a,
            b=b,
            c=rng.randint(20, 500),
            d=rng.randint(20, 500),
            x=pick("xyz"),
            s=s + t,
            prod=s * t,
            big=rng.randint(100, 9999),
        )
    elif kind == "reasoning":
        n = rng.sample(PEOPLE_B, 3)
        g1, g2 = rng.sample(GROUPS, 2)
        c = rng.sample(COLOURS, 3)
        text = pick(REASONING).format(
            riddle=pick(RIDDLES),
            n1=n[0],
            n2=n[1],
            n3=n[2],
            g1=g1,
            g2=g2,
            a=rng.randint(2, 9),
            b=rng.randint(2, 9),
            fallacy=pick(FALLACIES),
            c1=c[0],
            c2=c[1],
            c3=c[2],
        )
    elif kind == "extraction":
        text = pick(EXTRACT).format(fields=pick(FIELDS), doc=pick(DOCS))
    elif kind == "summarization":
        text = pick(SUMMARY).format(doc=pick(DOCS_SUM))
    elif kind == "translation":
        text = pick(TRANSLATE).format(
            lang=pick(LANGS_B), phrase=pick(PHRASES), foreign=pick(FOREIGN_B)
        )
    elif kind == "rewriting":
        text = pick(REWRITE).format(s=pick(S_B), bad=pick(BAD_B))
    elif kind == "creative":
        text = pick(CREATIVE).format(
            occasion=pick(OCCASIONS),
            premise=pick(PREMISES),
            subject=pick(SUBJECTS),
            subject2=pick(SUBJECTS),
            setting=pick(SETTINGS),
        )
    elif kind == "roleplay":
        text = pick(ROLEPLAY).format(
            role=pick(ROLES_B),
            line=pick(LINES),
            me=pick(ME_B),
            action=pick(ACTIONS),
            topic=pick(RP_TOPICS),
        )
    elif kind == "factual":
        text = pick(FACTUAL).format(
            nth=pick(NTHS),
            place=pick(PLACES_B),
            thing=pick(THINGS_F),
            stat=pick(STATS),
            river=pick(RIVERS),
            disc=pick(DISCS),
            person=pick(PERSONS),
            place2=pick(PLACES2),
            book=pick(BOOKS_B),
        )
    elif kind == "science":
        text = pick(SCIENCE).format(
            phen=pick(PHEN_B),
            concept=pick(CONCEPTS_B),
            event=pick(EVENTS_B),
            things=pick(THINGS_B),
            chem=pick(CHEM),
            claim=pick(CLAIMS),
            verb=pick(VERBS),
        )
    elif kind == "opinion":
        text = pick(OPINION).format(
            issue=pick(ISSUES_B), choice=pick(CHOICES_B), hist=pick(HIST_B), life=pick(LIFE_B)
        )
    elif kind == "chitchat":
        text = pick(CHAT).format(news=pick(NEWS), greeting=pick(GREETINGS), thing=pick(LOVES))
    else:
        raise ValueError(kind)
    text = pick(OPENERS) + text
    if rng.random() < 0.3:
        text = text[:1].upper() + text[1:]
    if rng.random() < 0.25 and not text.endswith(("?", ".", "!")):
        text += "?" if rng.random() < 0.5 else "."
    return text


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (fewer when the grammar runs out of combinations)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        seen.setdefault(_fill(rng, kind), None)
        if len(seen) >= count:
            break
    return list(seen)
