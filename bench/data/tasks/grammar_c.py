"""Task-type prompt grammar C: terse, search-box and messaging styles (a third, separate hand).

Written after grammar A alone generalised poorly to unseen phrasing (macro-F1 0.58 on the frozen
test split): C adds the informal registers A lacks (no capitals, no punctuation, greetings and
framing in front of every kind of ask), with its own vocabulary and domains. Training only.
"""

from __future__ import annotations

import random

FRAMES = ["", "", "", "", "so ", "hi there - ", "urgent: ", "Quick one. ", "need this asap: ",
          "btw ", "hello, ", "thanks in advance - ", "morning! ", "can you help? ", "ok, "]
ENDS = ["", "", "", "", " thx", " please", " :)", " ty!", " cheers", "??", " - short answer ok"]

T: dict[str, list[str]] = {
    "code": [
        "{lang} {op} example", "how to {op} in {lang}", "{lang}: {op} without a library",
        "fix: {err} in my {lang} {thing}", "code for {op}", "my {thing} throws {err}, code below\n"
        "{snip}", "optimize this {lang}\n{snip}", "what does this do\n{snip}",
        "best way to {op} {lang}", "write the {lang} for {op} and a test",
        "refactor my {thing} so it can {op}", "{lang} snippet to {op}",
    ],
    "math": [
        "{a}+{b}*{c}", "{a} x {b} = ?", "sqrt of {sq}", "{p} percent of {c}", "{a}/{b} as a decimal",
        "solve {a}x - {b} = {c}", "area of a triangle base {a} height {b}",
        "how much is {a} squared minus {b}", "average of {a} {b} {c}", "{c} km in miles",
        "volume of a cube side {a}", "interest on {c} at {p}% for {b} years simple",
        "if {a} workers need {b} days, how many days for {c} workers", "mod {b} of {c}",
        "{a}! divided by {b}!", "log base 2 of {pow2}",
    ],
    "reasoning": [
        "puzzle: {n1} is older than {n2} but younger than {n3}; who is oldest", "which conclusion "
        "follows: all {g} are {h}; {n1} is a {g}", "brain teaser: {teaser}", "is it logically "
        "valid: {arg}", "who is lying? {n1}: '{n2} did it'. {n2}: 'I didn't'. only one tells the "
        "truth", "seating: {n1} not beside {n2}, {n3} on the left end, 3 chairs - arrangement?",
        "what's the next letter: {letters}", "river crossing with a {a1}, a {a2} and a {a3}, "
        "boat holds one, solve", "if {n1} is north of {n2} and {n2} north of {n3}, where is {n3} "
        "relative to {n1}", "spot the fallacy: {arg}",
    ],
    "extraction": [
        "get the {what} out of: {src}", "{src} -> json with {what}", "list {what} in: {src}",
        "structured output ({what}) for this: {src}", "scrape {what} from this text {src}",
        "csv of {what}:\n{src}", "which {what} are in this? {src}", "table with {what}: {src}",
    ],
    "summarization": [
        "summary pls: {doc}", "sum up: {doc}", "short recap of this {doc}", "{doc}\n\nsummarize",
        "key points only: {doc}", "in two lines what is this about: {doc}",
        "executive summary for: {doc}", "gist? {doc}",
    ],
    "translation": [
        "{phrase} in {lang}", "{lang} translation: {phrase}", "{foreign} -> english",
        "translate {phrase} to {lang}", "meaning of {foreign}", "{phrase} ({lang})",
        "how to write {phrase} in {lang}", "english to {lang}: {phrase}",
    ],
    "rewriting": [
        "reword: {s}", "more formal: {s}", "make it nicer: {s}", "grammar check: {bad}",
        "shorter please: {s}", "rewrite for kids: {s}", "less formal version: {s}",
        "fix spelling {bad}", "better wording for: {s}", "make this sound confident: {s}",
    ],
    "creative": [
        "poem: {topic}", "story about {topic}", "write something fun about {topic}",
        "short tale, {topic}", "rhyming couplets about {topic}", "a song about {topic}",
        "creative writing prompt: {topic}, go", "write a scene with {topic}",
        "funny poem for my {rel} about {topic}",
    ],
    "roleplay": [
        "be {role}", "pretend ur {role}", "roleplay as {role}, i'll start: {line}",
        "you are {role}, reply in character: {line}", "{role} mode on. {line}",
        "imagine you're {role} and i'm your {rel}", "talk to me like {role}",
        "in character as {role}: {line}",
    ],
    "factual": [
        "capital of {country}", "{country} population", "who invented {inv}",
        "when was {person} born", "what year {event}", "how far is the moon",
        "who is the author of {book}", "{country} currency", "what is the national animal of "
        "{country}", "highest waterfall in the world", "which ocean is the largest",
        "who founded {org}", "where is {landmark}",
    ],
    "science": [
        "why {phen}", "how {thing} works", "explain {concept}", "what is {concept} really",
        "science of {thing}", "why do {phen2}", "what happens to {matter} when {cond}",
        "difference {c1} vs {c2}", "eli5: {concept}",
    ],
    "opinion": [
        "thoughts on {issue}?", "{issue} good or bad", "should i {choice}", "advice: {life}",
        "pros cons {issue}", "your opinion on {issue}", "how to {life}", "was {hist} a good "
        "thing", "impact of {hist} on society", "debate {issue}",
    ],
    "chitchat": [
        "hi", "hey", "hello", "how are you", "thanks", "good morning", "gn", "what's new",
        "i'm happy today", "bored", "you're awesome", "how was your weekend", "ok cool",
        "talk to you later", "miss me?", "what are you doing", "nice weather today huh",
        "i just had {food} for lunch", "do you like {food}", "i'm watching {show}",
    ],
}
S: dict[str, list[str]] = {
    "lang": ["python", "js", "java", "c", "go", "rust", "sql", "bash", "php", "scala", "perl",
             "haskell", "r", "lua", "elixir"],
    "op": ["reverse a linked list", "read a json file", "sort a dict by value", "send an email",
           "parse dates", "flatten a nested list", "connect to postgres", "make a http server",
           "split a string by comma", "generate a uuid", "zip two lists", "measure run time"],
    "err": ["nullpointer", "index out of range", "stack overflow", "type mismatch",
            "permission denied", "syntax error", "borrow checker error", "unhandled promise"],
    "thing": ["script", "api", "cli tool", "lambda", "query", "service", "plugin", "test"],
    "snip": ["x = [i*i for i in range(10) if i%2]", "if (a = b) { run(); }",
             "SELECT name FROM t GROUP BY id;", "let v = vec![1,2,3]; v.push(4);",
             "echo $PATH | tr ':' '\\n'", "int main(){int *p; *p = 3;}"],
    "teaser": ["i speak without a mouth and hear without ears", "what can travel around the "
               "world while staying in a corner", "a rooster lays an egg on a roof, which side "
               "does it fall", "how many months have 28 days"],
    "arg": ["all birds fly, penguins are birds, so penguins fly", "it's popular so it's true",
            "you can't prove it's false so it's true", "if I study I pass; I passed; so I studied"],
    "letters": ["a c e g", "z x v t", "b d g k", "o t t f f s s"],
    "a1": ["fox"], "a2": ["goose"], "a3": ["bag of grain"],
    "g": ["pilot", "chef", "nurse", "poet"], "h": ["early riser", "reader", "driver"],
    "what": ["names", "emails", "prices", "dates", "cities", "amounts", "urls", "ids",
             "phone numbers", "titles", "times"],
    "src": ["invoice 88 from Kestrel Ltd, 14 May, total 310.00", "meet Ravi (ravi@firm.example) "
            "and Jo at 3pm Tuesday in Leeds", "pkg 7731 delivered 09:12; pkg 7732 delayed",
            "Oslo -> Bergen 08:00, Bergen -> Tromsø 13:30", "see https://docs.example/a and "
            "https://docs.example/b", "Widget A 3.50, Widget B 4.75, Gadget 12.00"],
    "doc": ["the school board voted to start classes later, citing sleep research; parents "
            "worry about after-school jobs; the change starts in the autumn term",
            "our app crashed for 2 hours on friday. root cause: a bad config push. we rolled "
            "back, added a canary step, and will review the deploy checklist",
            "the novel follows a chef who loses her sense of taste and rebuilds her restaurant "
            "around smell, texture and the stories of her regulars",
            "sales up 8% in the south, flat in the north; marketing spend cut; two new hires "
            "planned for the support team"],
    "phrase": ["thank you very much", "where is the toilet", "i am allergic to nuts",
               "the bill please", "nice to meet you", "how much does this cost",
               "i don't understand", "call a doctor"],
    "foreign": ["je ne sais pas", "hasta luego", "wie geht's", "non capisco", "até logo",
                "kiitos", "ni hao", "spasibo"],
    "s": ["we will not be able to attend due to unforeseen circumstances", "gimme the keys",
          "the meeting was a total waste of time", "kindly revert at the earliest",
          "your package may or may not arrive on time", "i think maybe we should try it"],
    "bad": ["i seen him yesterday at the shop", "we was going too the park",
            "there cat are very cute", "he dont know nothing about it"],
    "topic": ["a dragon who hates fire", "the last day of summer", "a robot learning to dance",
              "my grumpy neighbour's garden", "a ghost who is afraid of people", "stars",
              "a train that never stops", "two old friends meeting again", "a broken umbrella"],
    "rel": ["sister", "dad", "boss", "best friend", "coworker", "grandpa", "apprentice"],
    "role": ["a cowboy", "an evil overlord", "a pirate", "my therapist", "a knight", "a spy",
             "santa claus", "a zombie", "a flight attendant", "a news anchor"],
    "line": ["hello?", "who goes there", "I have a problem", "what's the plan", "sorry I'm late"],
    "country": ["peru", "iceland", "nepal", "ghana", "fiji", "laos", "cuba", "oman", "chad"],
    "inv": ["the radio", "the telescope", "paper", "the steam engine", "the computer mouse"],
    "person": ["darwin", "frida kahlo", "gandhi", "marie curie", "beethoven"],
    "event": ["did ww1 start", "did the berlin wall fall", "was the first olympics"],
    "book": ["dracula", "hamlet", "the iliad", "emma", "ulysses"],
    "org": ["the red cross", "the un", "wikipedia", "the olympic games"],
    "landmark": ["machu picchu", "petra", "angkor wat", "the acropolis"],
    "phen": ["is the ocean salty", "do cats purr", "do stars twinkle", "is snow white",
             "does the moon cause tides", "do we dream", "do onions make you cry"],
    "phen2": ["birds migrate", "metals rust", "bubbles pop", "clouds float"],
    "concept": ["dark matter", "quantum tunnelling", "plate tectonics", "the immune system",
                "evolution", "electric current", "radioactive decay", "climate feedback loops"],
    "matter": ["water", "iron", "glass", "chocolate", "air"],
    "cond": ["it is heated", "it freezes", "pressure drops", "it's hit by light"],
    "c1": ["acid", "speed", "heat", "atom"], "c2": ["base", "velocity", "temperature", "molecule"],
    "issue": ["crypto", "ai art", "working from home", "electric cars", "veganism",
              "standardized tests", "daylight saving time", "nuclear power"],
    "choice": ["learn piano at 30", "switch to a mac", "take the job offer abroad",
               "go freelance", "buy a used car"],
    "life": ["deal with stress", "stop procrastinating", "be a better listener",
             "plan a wedding on a budget", "raise a teenager"],
    "hist": ["colonialism", "the space race", "the printing revolution", "globalisation",
             "the internet"],
    "food": ["pasta", "sushi", "tacos", "pizza", "curry"],
    "show": ["a cooking show", "the football", "an old movie", "cartoons"],
}


def _fill(rng: random.Random, kind: str) -> str:
    template = rng.choice(T[kind])
    values = {
        "n1": "", "n2": "", "n3": "", "a": rng.randint(2, 99), "b": rng.randint(2, 20),
        "c": rng.randint(10, 800), "p": rng.choice([3, 7, 12, 18, 40]),
        "sq": rng.choice([16, 49, 144, 2, 300]), "pow2": rng.choice([8, 64, 1024]),
    }
    names = rng.sample(["ken", "zoe", "amir", "lucy", "femi", "nina", "oscar"], 3)
    values.update(n1=names[0], n2=names[1], n3=names[2])
    for key, options in S.items():
        values[key] = rng.choice(options)
    text = template.format(**values)
    return rng.choice(FRAMES) + text + rng.choice(ENDS)


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (fewer when the grammar runs out of combinations)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        seen.setdefault(_fill(rng, kind), None)
        if len(seen) >= count:
            break
    return list(seen)
