"""Task-type prompt grammar D: a situation, then the ask, in everyday words (a fourth hand).

Written, like C, after A alone generalised poorly: D's prompts tell who is asking and why before
asking ("I run a small bakery and ..."), mixing registers and lengths. Its own vocabulary and
situations; no template or slot value is shared with the test grammar B. Training only.
"""

from __future__ import annotations

import random

WHO = [
    "I run a small bakery",
    "I'm a nurse on night shifts",
    "I teach year 9 science",
    "I'm a student",
    "I'm new to programming",
    "I manage a warehouse team",
    "I'm planning a trip with my kids",
    "I volunteer at a food bank",
    "I'm a freelance designer",
    "my grandmother asked me something",
    "I'm preparing for an exam",
    "I work in IT support",
    "I'm writing a blog",
    "our startup has five people",
    "I'm learning on my own",
]
LINK = [" and ", ". ", ", so ", " - ", ". Anyway, ", "; "]

ASK: dict[str, list[str]] = {
    "code": [
        "I need a small program that {prog}",
        "could you show me the code to {prog}",
        "my script to {prog} fails with '{err}', what should I change",
        "can you turn this into a reusable function: {snip}",
        "what library would you use to {prog}, and can you sketch the code",
        "this query is too slow, rewrite it: {snip}",
        "please add logging and tests to code that {prog}",
        "how do I structure the classes for an app that {prog}",
    ],
    "math": [
        "how many {unit} do I need if {scenario}",
        "what is {a} divided by {b}, rounded to two decimals",
        "can you work out {p}% of {c} for me",
        "if I {growth}, what do I end up with",
        "what's the {stat} of these numbers: {nums}",
        "how do I solve {eq}",
        "what are the odds of {chance}",
        "calculate the {geo}",
    ],
    "reasoning": [
        "here's a puzzle I can't crack: {puz}",
        "help me reason through this: {puz}",
        "is this conclusion justified? {claim}",
        "what is the logical answer: {puz}",
        "I keep getting this riddle wrong: {puz}",
        "check my logic: {claim}",
    ],
    "extraction": [
        "could you pull the {fld} out of this message and list them: {msg}",
        "please turn this note into a JSON record with {fld}: {msg}",
        "I only need the {fld} from the following: {msg}",
        "can you put the {fld} from this into a spreadsheet-ready format: {msg}",
    ],
    "summarization": [
        "could you summarise this for me: {long}",
        "what's the short version of the following? {long}",
        "I don't have time to read this, can you give me the main points: {long}",
        "please write a two-sentence recap of: {long}",
    ],
    "translation": [
        "how would I say '{ph}' in {lng}",
        "could you translate '{ph}' into {lng} for me",
        "what does '{fr}' mean in English",
        "I need '{ph}' written in {lng}",
    ],
    "rewriting": [
        "could you rewrite this so it sounds {tone}: '{txt}'",
        "can you make this message {tone}: {txt}",
        "please correct this sentence: {err_txt}",
        "can you rephrase '{txt}' so it reads better",
    ],
    "creative": [
        "could you write a {form} about {subj}",
        "I'd love a {form} about {subj} for {aud}",
        "please make up a {form} where {subj} is the hero",
        "write me a {form} on {subj}",
    ],
    "roleplay": [
        "can you pretend to be {who} so I can practise {prac}",
        "please play {who} and stay in character while I {prac}",
        "let's do a role-play: you're {who}, I'm practising {prac}",
        "answer as if you were {who}: {q}",
    ],
    "factual": [
        "do you know {fq}",
        "can you tell me {fq}",
        "quick fact check: {fq}",
        "I forgot {fq}",
    ],
    "science": [
        "can you explain {sci} in a way {aud} would understand",
        "I never understood {sci}, can you explain it",
        "how does {sci} actually work",
        "what's the science behind {sci}",
    ],
    "opinion": [
        "what would you advise about {adv}",
        "what do you think about {deb}",
        "can you give me both sides of {deb}",
        "how should I approach {adv}",
        "how has {hist} affected {aud}",
    ],
    "chitchat": [
        "just wanted to say hi",
        "how's your day been",
        "thanks for the help earlier",
        "it's been a long week",
        "I'm in a good mood today",
        "what do you do for fun",
        "I'm having {food} tonight",
        "good to talk to you again",
        "tell me about yourself",
        "I'm heading to bed soon",
    ],
}
SLOTS: dict[str, list[str]] = {
    "prog": [
        "renames my photos by the date they were taken",
        "emails me when a website changes",
        "tracks stock levels in a spreadsheet",
        "converts temperatures from a csv",
        "checks all the links on a web page",
        "backs up my database every night",
    ],
    "err": [
        "permission denied",
        "unexpected indent",
        "cannot read property of undefined",
        "connection timed out",
        "no such file or directory",
    ],
    "snip": [
        "SELECT * FROM sales WHERE YEAR(date) = 2024 ORDER BY amount",
        "def f(l): return [x for x in l if l.count(x) == 1]",
        "for (var i = 0; i < arr.length; i++) { total += arr[i].price }",
    ],
    "unit": ["tiles", "litres of paint", "bags of flour", "metres of fence"],
    "scenario": [
        "the room is 4 by 5 metres",
        "each cake takes 350 g",
        "the garden is 30 m round",
        "each wall is 12 square metres",
    ],
    "a": ["355", "78", "1,250", "64"],
    "b": ["7", "12", "16", "9"],
    "c": ["480", "2,300", "95"],
    "p": ["15", "22", "8"],
    "growth": [
        "save 150 a month for 3 years at 4% interest",
        "double 5 every day for a week",
        "lose 2% of value each year for 10 years",
    ],
    "stat": ["mean", "median", "standard deviation", "range"],
    "nums": ["4, 8, 15, 16, 23, 42", "10, 12, 9, 14", "3, 3, 7, 11, 20"],
    "eq": ["3(x + 4) = 27", "x^2 = 5x - 6", "2^x = 32", "y/4 + 3 = 10"],
    "chance": ["drawing two aces from a deck", "three heads in a row", "rolling a double six"],
    "geo": [
        "volume of a cylinder 10 cm tall with radius 3",
        "perimeter of a 7 by 9 rectangle",
        "angle sum of a hexagon",
    ],
    "puz": [
        "a woman has four daughters and each has a brother, how many children",
        "the day before yesterday I was 20 and next year I'll be 23, when's my birthday",
        "three switches downstairs, one bulb upstairs, you may go up once",
        "two fathers and two sons eat three eggs, one each, how",
    ],
    "claim": [
        "sales rose after the ad ran, so the ad caused the rise",
        "most accidents happen near home, so driving far is safer",
        "every expert I asked agreed, so it must be true",
    ],
    "fld": ["names", "dates", "totals", "addresses", "order numbers", "deadlines"],
    "msg": [
        "Hi, order 5520 for Ms Ortiz (12 Elm Rd) ships on 3 June, total 42.10",
        "Reminder: tax forms due 31 Jan, payroll due 25 Jan, audit on 14 Feb",
        "Team: Aiko (Kyoto), Ben (Leeds), Chidi (Abuja) - calls at 9:00 and 16:00",
    ],
    "long": [
        "the village hall roof leaks, repair quotes range from 8k to 15k, the council may "
        "fund half, and a fundraiser is planned for spring; volunteers are needed",
        "the trial compared two fertilisers over three seasons; yields were similar but "
        "the organic one improved soil health and cost slightly more",
        "our support backlog grew after the release; most tickets are about password "
        "resets, which a self-service page could handle",
    ],
    "ph": [
        "the shop opens at nine",
        "I lost my passport",
        "two coffees to take away",
        "congratulations on the new baby",
        "please wait here",
    ],
    "lng": ["Spanish", "French", "German", "Mandarin", "Swahili", "Hungarian", "Thai"],
    "fr": ["carpe diem", "je t'aime", "c'est la vie", "gracias por todo", "schadenfreude"],
    "tone": ["warmer", "more formal", "more direct", "less robotic", "more upbeat"],
    "txt": [
        "your refund has been processed",
        "we can't help you with that",
        "the event is cancelled",
        "please update your details",
    ],
    "err_txt": [
        "me and her goes to school together",
        "he have three brother",
        "we should of left earlier",
    ],
    "form": ["poem", "short story", "bedtime story", "song", "riddle in verse", "fable"],
    "subj": [
        "a hedgehog who wants to fly",
        "our old family car",
        "a lighthouse in winter",
        "the first day at a new school",
        "a snail on a long journey",
    ],
    "aud": ["my six-year-old", "my students", "a retirement party", "my grandparents", "teenagers"],
    "who": [
        "a hotel receptionist",
        "a strict interviewer",
        "a customs officer",
        "a medieval merchant",
        "a shop assistant in Tokyo",
    ],
    "prac": ["a job interview", "my Spanish", "complaining politely", "haggling"],
    "q": ["what brings you here?", "what can you sell me?", "how was the journey?"],
    "fq": [
        "how many players are on a rugby team",
        "when the first iphone came out",
        "what the capital of Canada is",
        "who painted the sistine chapel ceiling",
        "how deep the pacific ocean is",
        "which country hosted the 2016 olympics",
    ],
    "sci": [
        "how the heart pumps blood",
        "why we get jet lag",
        "how bridges hold weight",
        "what causes the seasons",
        "how a rocket gets to orbit",
        "what a gene is",
    ],
    "adv": [
        "asking for a pay rise",
        "a friend who never pays back money",
        "choosing between two job offers",
        "getting my toddler to sleep",
    ],
    "deb": [
        "phones in classrooms",
        "a shorter school week",
        "paying for plastic bags",
        "voting at sixteen",
    ],
    "hist": ["the industrial revolution", "the printing press", "the internet", "railways"],
    "food": ["lasagne", "a curry", "soup", "fish and chips"],
}


def _fill(rng: random.Random, kind: str) -> str:
    values = {key: rng.choice(options) for key, options in SLOTS.items()}
    ask = rng.choice(ASK[kind]).format(**values)
    if kind != "chitchat" and rng.random() < 0.6:
        ask = rng.choice(WHO) + rng.choice(LINK) + ask
    if rng.random() < 0.5:
        ask = ask[:1].upper() + ask[1:]
    return ask + rng.choice(["", "?", ".", "", "!"]) if not ask.endswith("?") else ask


def generate(kind: str, count: int, seed: int) -> list[str]:
    """`count` distinct prompts of `kind` (fewer when the grammar runs out of combinations)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    for _ in range(count * 30):
        seen.setdefault(_fill(rng, kind), None)
        if len(seen) >= count:
            break
    return list(seen)
