"""Worked maths problems: generate one, solve it step by step, check an answer.

Pure Python with no host imports, so `python3 -m unittest` tests it directly;
`app.py` wires it to the lectern:tool interfaces.

Problems are fresh each time: their numbers come from a small seeded random
generator whose seed lives in the tool's state, so a lesson never repeats a
problem yet every run of a test case is reproducible.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

# Problem kinds this tool can generate, with words that point at each in a lesson.
KIND_KEYWORDS: dict[str, tuple[str, ...]] = {
    "add-fractions": ("adding", "add ", "addition", "sum"),
    "subtract-fractions": ("subtract", "difference", "minus", "take away"),
    "multiply-fractions": ("multiply", "multiplying", "product", "times"),
    "divide-fractions": ("divide fraction", "dividing fraction", "division", "quotient", "reciprocal"),
    "simplify-fraction": ("simplify", "simplifying", "lowest terms", "equivalent fraction"),
    "linear-equation": ("equation", "solve for", "unknown", "linear"),
}
KINDS = tuple(KIND_KEYWORDS)

# Difficulty tiers: 1 like denominators / small numbers, 2 unlike denominators,
# 3 larger denominators and mixed-number answers.
MIN_TIER = 1
MAX_TIER = 3
TIER_BY_LEVEL = {"beginner": 1, "intermediate": 2, "advanced": 3}
# Right answers in a row that move the learner up a tier (a wrong one moves down).
STREAK_TO_STEP_UP = 2
# Wrong answers before the solution is shown.
MAX_ATTEMPTS = 2


class InvalidAnswer(ValueError):
    """The answer could not be read as a number, fraction or equation solution."""


class Rng:
    """mulberry32: a tiny 32-bit generator. Chosen over `random.Random` so the
    sequence is fixed by this code, not by the Python version inside the
    component, and the whole state is one integer."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFF

    def next_u32(self) -> int:
        self.state = (self.state + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high]; the modulo bias is negligible for these ranges."""
        return low + self.next_u32() % (high - low + 1)

    def choice(self, items):
        return items[self.randint(0, len(items) - 1)]


def seed_from(text: str) -> int:
    """FNV-1a of the text: a stable starting seed per session and learner."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


# --- fractions as (numerator, denominator) pairs, denominator > 0 ------------


def reduce(n: int, d: int) -> tuple[int, int]:
    g = math.gcd(n, d) or 1
    sign = -1 if d < 0 else 1
    return sign * n // g, sign * d // g


def fmt(n: int, d: int) -> str:
    return str(n) if d == 1 else f"{n}/{d}"


def fmt_mixed(n: int, d: int) -> str:
    """7/2 -> '3 1/2'; proper fractions and whole numbers as usual."""
    if d == 1 or abs(n) < d:
        return fmt(n, d)
    whole, rest = divmod(abs(n), d)
    sign = "-" if n < 0 else ""
    return f"{sign}{whole}" if rest == 0 else f"{sign}{whole} {rest}/{d}"


def lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


@dataclass
class Problem:
    """One generated problem and its worked solution."""

    kind: str
    tier: int
    prompt: str
    # The exact answer as a reduced fraction (integers have denominator 1).
    answer: tuple[int, int]
    steps: list[str]
    hint: str
    # Words that tie the problem to an objective (see `closest_objective`).
    topic_words: tuple[str, ...] = field(default_factory=tuple)
    attempts: int = 0

    def answer_text(self) -> str:
        n, d = self.answer
        text = fmt(n, d)
        mixed = fmt_mixed(n, d)
        return text if mixed == text else f"{text} (= {mixed})"

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "tier": self.tier,
            "prompt": self.prompt,
            "answer": list(self.answer),
            "steps": self.steps,
            "hint": self.hint,
            "topic_words": list(self.topic_words),
            "attempts": self.attempts,
        }

    @staticmethod
    def from_json(data: dict) -> "Problem":
        return Problem(
            kind=str(data["kind"]),
            tier=int(data["tier"]),
            prompt=str(data["prompt"]),
            answer=(int(data["answer"][0]), int(data["answer"][1])),
            steps=[str(s) for s in data["steps"]],
            hint=str(data["hint"]),
            topic_words=tuple(str(w) for w in data.get("topic_words", ())),
            attempts=int(data.get("attempts", 0)),
        )


def _simplify_steps(n: int, d: int, steps: list[str]) -> tuple[int, int]:
    rn, rd = reduce(n, d)
    if (rn, rd) != (n, d):
        g = n // rn if rn else d // rd
        steps.append(f"Simplify: {n} and {d} are both divisible by {g}, so {fmt(n, d)} = {fmt(rn, rd)}.")
    if rd != 1 and abs(rn) > rd:
        steps.append(f"As a mixed number: {fmt(rn, rd)} = {fmt_mixed(rn, rd)}.")
    return rn, rd


def _denominators(rng: Rng, tier: int) -> tuple[int, int]:
    if tier == 1:
        d = rng.randint(4, 9)
        return d, d
    top = 10 if tier == 2 else 12
    while True:
        b, d = rng.randint(2, top), rng.randint(2, top)
        if b == d:
            continue
        # Tier 3 avoids pairs where one denominator already is the common one,
        # so the learner must really look for a common multiple.
        if tier == 3 and lcm(b, d) in (b, d):
            continue
        return b, d


def _numerator(rng: Rng, d: int, improper: bool = False) -> int:
    """A numerator in lowest terms over d: proper (below d) or, for improper,
    between d and 2d."""
    low, high = (d + 1, 2 * d - 1) if improper else (1, d - 1)
    while True:
        n = rng.randint(low, high)
        if math.gcd(n, d) == 1:
            return n


def _add_or_subtract(rng: Rng, tier: int, subtract: bool) -> Problem:
    b, d = _denominators(rng, tier)
    # Tier 3 may start from an improper fraction, for a mixed-number answer.
    if b == d:  # like denominators: any numerators (2/6 + 3/6 is a fine exercise)
        a, c = rng.randint(1, b - 1), rng.randint(1, d - 1)
    else:
        a = _numerator(rng, b, improper=tier == 3 and rng.randint(0, 1) == 1)
        c = _numerator(rng, d)
    # With like denominators, a difference of 0 or a sum of exactly 1 teaches
    # little; redraw a few times (small denominators may have no other choice).
    for _ in range(8):
        if b != d or (a != c and (subtract or a + c != b)):
            break
        c = rng.randint(1, d - 1)
    if subtract and a * d < c * b:  # keep the result positive
        a, b, c, d = c, d, a, b
    op, verb = ("-", "subtract") if subtract else ("+", "add")
    prompt = f"Work out {fmt(a, b)} {op} {fmt(c, d)}. Give the answer in its simplest form."
    steps: list[str] = []
    if b == d:
        n = a - c if subtract else a + c
        steps.append(f"The denominators are both {b}, so {verb} the numerators: {a} {op} {c} = {n}.")
        steps.append(f"Keep the denominator: {fmt(a, b)} {op} {fmt(c, d)} = {n}/{b}.")
        answer = _simplify_steps(n, b, steps)
        hint = f"The denominators already match; {verb} the numerators and keep {b} underneath."
        words = ("same", "like", verb)
    else:
        m = lcm(b, d)
        x, y = a * (m // b), c * (m // d)
        steps.append(f"The denominators differ, so find a common denominator: the least common multiple of {b} and {d} is {m}.")
        steps.append(f"Rewrite {fmt(a, b)} as {x}/{m} (multiply top and bottom by {m // b}).")
        steps.append(f"Rewrite {fmt(c, d)} as {y}/{m} (multiply top and bottom by {m // d}).")
        n = x - y if subtract else x + y
        steps.append(f"Now {verb} the numerators: {x} {op} {y} = {n}, so the result is {n}/{m}.")
        answer = _simplify_steps(n, m, steps)
        hint = f"First rewrite both fractions over a common denominator; the least common multiple of {b} and {d} works."
        words = ("different", "unlike", "common", verb)
    return Problem("subtract-fractions" if subtract else "add-fractions", tier, prompt, answer, steps, hint, words)


def _multiply(rng: Rng, tier: int) -> Problem:
    top = (6, 9, 12)[tier - 1]
    b, d = rng.randint(2, top), rng.randint(2, top)
    a, c = _numerator(rng, b, improper=tier == 3), _numerator(rng, d)
    prompt = f"Work out {fmt(a, b)} × {fmt(c, d)}. Give the answer in its simplest form."
    n, m = a * c, b * d
    steps = [
        f"Multiply the numerators: {a} × {c} = {n}.",
        f"Multiply the denominators: {b} × {d} = {m}.",
        f"So the product is {n}/{m}.",
    ]
    answer = _simplify_steps(n, m, steps)
    hint = "Multiply top by top and bottom by bottom, then simplify."
    return Problem("multiply-fractions", tier, prompt, answer, steps, hint, ("multiply", "product"))


def _divide(rng: Rng, tier: int) -> Problem:
    top = (6, 9, 12)[tier - 1]
    b, d = rng.randint(2, top), rng.randint(2, top)
    a, c = _numerator(rng, b), _numerator(rng, d)
    prompt = f"Work out {fmt(a, b)} ÷ {fmt(c, d)}. Give the answer in its simplest form."
    n, m = a * d, b * c
    steps = [
        f"Dividing by {fmt(c, d)} is the same as multiplying by its reciprocal, {fmt(d, c)}.",
        f"So {fmt(a, b)} ÷ {fmt(c, d)} = {fmt(a, b)} × {fmt(d, c)}.",
        f"Multiply: ({a} × {d}) / ({b} × {c}) = {n}/{m}.",
    ]
    answer = _simplify_steps(n, m, steps)
    hint = f"Flip the second fraction to {fmt(d, c)} and multiply instead."
    return Problem("divide-fractions", tier, prompt, answer, steps, hint, ("divide", "reciprocal"))


def _simplify(rng: Rng, tier: int) -> Problem:
    top = (9, 12, 20)[tier - 1]
    while True:
        d = rng.randint(2, top)
        n = rng.randint(1, d - 1)
        if math.gcd(n, d) == 1:
            break
    k = rng.randint(2, (5, 9, 12)[tier - 1])
    big_n, big_d = n * k, d * k
    g = math.gcd(big_n, big_d)
    prompt = f"Simplify {big_n}/{big_d} to its lowest terms."
    steps = [
        f"Find the greatest common divisor of {big_n} and {big_d}: it is {g}.",
        f"Divide the numerator by {g}: {big_n} ÷ {g} = {n}.",
        f"Divide the denominator by {g}: {big_d} ÷ {g} = {d}.",
        f"So {big_n}/{big_d} = {n}/{d}, and {n} and {d} share no factor other than 1.",
    ]
    hint = f"Look for the largest number that divides both {big_n} and {big_d}."
    return Problem("simplify-fraction", tier, prompt, (n, d), steps, hint, ("simplify", "lowest", "terms"))


def _linear_equation(rng: Rng, tier: int) -> Problem:
    x = rng.randint(-9, 12) if tier > 1 else rng.randint(1, 12)
    a = rng.randint(2, (5, 9, 12)[tier - 1])
    b = rng.randint(1, 20) * rng.choice((1, -1) if tier > 1 else (1,))
    c = a * x + b
    sign, magnitude = ("+", b) if b >= 0 else ("-", -b)
    prompt = f"Solve for x: {a}x {sign} {magnitude} = {c}."
    undo = "Subtract" if b >= 0 else "Add"
    steps = [
        f"{undo} {magnitude} on both sides to get the x term alone: {a}x = {c} {'-' if b >= 0 else '+'} {magnitude} = {c - b}.",
        f"Divide both sides by {a}: x = {c - b} ÷ {a} = {x}.",
        f"Check: {a} × {x} {sign} {magnitude} = {c}. ✓",
    ]
    hint = f"Undo the {sign} {magnitude} first, then the × {a}."
    return Problem("linear-equation", tier, prompt, (x, 1), steps, hint, ("solve", "equation"))


_GENERATORS = {
    "add-fractions": lambda rng, tier: _add_or_subtract(rng, tier, subtract=False),
    "subtract-fractions": lambda rng, tier: _add_or_subtract(rng, tier, subtract=True),
    "multiply-fractions": _multiply,
    "divide-fractions": _divide,
    "simplify-fraction": _simplify,
    "linear-equation": _linear_equation,
}


def generate(kind: str, tier: int, rng: Rng) -> Problem:
    if kind not in _GENERATORS:
        raise KeyError(kind)
    return _GENERATORS[kind](rng, max(MIN_TIER, min(MAX_TIER, tier)))


def infer_kind(title: str, objectives: list[str], summary: str = "") -> str | None:
    """The problem kind a subtopic is about: its title decides when it names one,
    then its objectives, then its summary. None when nothing fits."""
    for text in (title, " ".join(objectives), summary):
        low = f" {text.lower()} "
        best, best_pos = None, len(low)
        for kind, words in KIND_KEYWORDS.items():
            for word in words:
                pos = low.find(word)
                if pos != -1 and pos < best_pos:
                    best, best_pos = kind, pos
        if best is not None:
            return best
    return None


def closest_objective(problem: Problem, objectives: list[tuple[str, str]]) -> str | None:
    """The objective (id, text) that mentions most of the problem's topic words;
    the first on a tie, None when the lesson has no objectives."""
    if not objectives:
        return None
    best_id, best_score = objectives[0][0], 0
    for objective_id, text in objectives:
        low = text.lower()
        score = sum(1 for w in problem.topic_words if w in low)
        if score > best_score:
            best_id, best_score = objective_id, score
    return best_id


_NUMBER = r"-?\d+(?:\.\d+)?"


def parse_answer(text: str) -> tuple[tuple[int, int], bool]:
    """Read a learner's answer into an exact fraction.

    Accepts `5/12`, `1 1/2` or `1 and 1/2`, `-3`, `0.75`, `x = 4`, with words
    around them ("I got 5/12"). Returns the value and whether it was written as
    a fraction (so an unsimplified fraction can be told apart from a decimal).
    """
    t = text.lower().replace("−", "-").replace(",", " ")
    t = re.sub(r"\bx\s*=\s*", " ", t)
    mixed = re.search(r"(-?\d+)\s+(?:and\s+)?(\d+)\s*/\s*(\d+)", t)
    if mixed:
        whole, n, d = int(mixed.group(1)), int(mixed.group(2)), int(mixed.group(3))
        if d == 0:
            raise InvalidAnswer("a denominator of 0 is not a number")
        sign = -1 if whole < 0 else 1
        return (sign * (abs(whole) * d + n), d), True
    frac = re.search(r"(-?\d+)\s*/\s*(-?\d+)", t)
    if frac:
        n, d = int(frac.group(1)), int(frac.group(2))
        if d == 0:
            raise InvalidAnswer("a denominator of 0 is not a number")
        if d < 0:
            n, d = -n, -d
        return (n, d), True
    numbers = re.findall(_NUMBER, t)
    if not numbers:
        raise InvalidAnswer("no number or fraction found in the answer; pass it in digits, e.g. 5/12 or 0.75")
    value = numbers[-1]
    if "." in value:
        whole, decimals = value.split(".")
        d = 10 ** len(decimals)
        n = int(whole) * d + (int(decimals) if not whole.startswith("-") else -int(decimals))
        return (n, d), False
    return (int(value), 1), False


@dataclass
class Verdict:
    correct: bool
    simplified: bool
    score: float
    feedback: str


def check(problem: Problem, answer_text: str) -> Verdict:
    """Grade an answer: exact value in lowest terms is full marks; the right
    value left unsimplified is mostly right (wrong for a simplifying problem);
    a decimal counts when it equals the answer or rounds to it at 2+ places."""
    (n, d), as_fraction = parse_answer(answer_text)
    want_n, want_d = problem.answer
    exact = n * want_d == want_n * d
    if not exact and not as_fraction and d > 1:
        places = len(str(d)) - 1
        exact = places >= 2 and round(want_n / want_d, places) == round(n / d, places)
    if not exact:
        return Verdict(False, False, 0.0, "That is not the right value.")
    reduced = (not as_fraction) or reduce(n, d) == (n, d)
    if reduced:
        return Verdict(True, True, 1.0, "Right, and in its simplest form.")
    if problem.kind == "simplify-fraction":
        return Verdict(False, False, 0.3, f"Equal in value, but {fmt(n, d)} can still be simplified.")
    return Verdict(True, False, 0.7, f"Right value; it simplifies to {fmt(*problem.answer)}.")


def next_tier(tier: int, streak: int, correct: bool) -> tuple[int, int]:
    """The tier and streak after an answer: two right in a row step up, a
    wrong answer steps down, so problems track how the learner is doing."""
    if not correct:
        return max(MIN_TIER, tier - 1), 0
    streak += 1
    if streak >= STREAK_TO_STEP_UP and tier < MAX_TIER:
        return tier + 1, 0
    return tier, streak


def solution_markdown(problem: Problem) -> str:
    lines = [f"{i}. {step}" for i, step in enumerate(problem.steps, start=1)]
    lines.append("")
    lines.append(f"**Answer: {problem.answer_text()}**")
    return "\n".join(lines)
