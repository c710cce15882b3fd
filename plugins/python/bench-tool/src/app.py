"""bench-tool: one flash-card drill step, written identically in Python (here),
JavaScript (plugins/js/bench-tool) and Rust, so the benchmark compares languages
on the same work. Change one, change all three (see README.md)."""

import json
import re

import wit_world
from componentize_py_types import Err
from wit_world.imports import lesson, progress, state, types

MAX_BOX = 5
GAP_BY_BOX = [0, 1, 2, 4, 8, 16]
STOP_WORDS = {"that", "this", "with", "from", "they", "them", "then", "than", "into", "only", "have", "each",
              "what", "when", "which", "there", "their", "these", "those"}
WORD = re.compile(r"[A-Za-z]+")


def fnv1a(text: str) -> str:
    h = 0x811C9DC5
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def cloze_word(text: str):
    """The longest ASCII word of 4+ letters that is not a stop word; the first on a tie."""
    best = None
    for m in WORD.finditer(text):
        w = m.group(0)
        if len(w) >= 4 and w.lower() not in STOP_WORDS and (best is None or len(w) > len(best)):
            best = w
    return best


def build_cards(key_points):
    cards = []
    for text in key_points:
        answer = cloze_word(text)
        front = text if answer is None else text.replace(answer, "_____", 1)
        cards.append({"id": f"kp-{fnv1a(text)}", "front": front, "answer": answer})
    return cards


def pick(deck, cards):
    """Due cards first (lowest box, then most overdue, then lesson order); else the soonest due."""
    best = None
    for order, card in enumerate(cards):
        s = deck["cards"].get(card["id"], {"box": 1, "due": 0})
        key = (0, s["box"], s["due"], order) if s["due"] <= deck["clock"] else (1, s["due"], 0, order)
        if best is None or key < best[1]:
            best = (card, key, s["box"])
    return best


class WitWorld(wit_world.WitWorld):
    def describe(self) -> types.Manifest:
        return types.Manifest(
            name="bench-tool",
            version="0.1.0",
            description="Benchmark twin: one flash-card drill step (grade the last card, pick the next).",
            tools=[
                types.ToolSpec(
                    name="bench_drill",
                    description="Grade the answer to the last card (if any) and show the next card.",
                    parameters=json.dumps({"type": "object", "properties": {"answer": {"type": "string", "maxLength": 200}}, "additionalProperties": False}),
                )
            ],
            capabilities=[],
        )

    def invoke(self, ctx: types.CallContext, tool: str, arguments: str) -> types.ToolOutput:
        if tool != "bench_drill":
            raise Err(types.ToolError_InvalidArguments(f"unknown tool {tool}"))
        try:
            args = json.loads(arguments)
            subtopic = lesson.current()
            cards = build_cards(subtopic.key_points)
            if not cards:
                raise Err(types.ToolError_Failed("the lesson has no key points"))
            deck = {"clock": 0, "cards": {}, "current": None}
            stored = state.get("deck")
            if stored is not None:
                try:
                    deck = json.loads(stored)
                except ValueError:
                    pass  # unreadable state: start afresh
            correct = None
            answer = args.get("answer")
            if isinstance(answer, str) and deck["current"] is not None:
                card = next((c for c in cards if c["id"] == deck["current"]), None)
                if card is not None:
                    correct = card["answer"] is not None and card["answer"].lower() in answer.lower()
                    s = deck["cards"].get(card["id"], {"box": 1, "due": 0})
                    s["box"] = min(MAX_BOX, s["box"] + 1) if correct else 1
                    deck["clock"] += 1
                    s["due"] = deck["clock"] + GAP_BY_BOX[s["box"]]
                    deck["cards"][card["id"]] = s
                    if subtopic.objectives:
                        progress.record_evidence(subtopic.objectives[0].id, 1.0 if correct else 0.0, f"card {card['id']}")
            card, _, box = pick(deck, cards)
            deck["current"] = card["id"]
            state.set("deck", json.dumps(deck, separators=(",", ":")))
            return types.ToolOutput(
                content=json.dumps({"card_id": card["id"], "prompt": card["front"], "box": box, "correct": correct}, separators=(",", ":")),
                display=types.Display_Question(types.QuestionCard(prompt=card["front"], choices=[], objective_id=None)),
            )
        except Err as e:
            if isinstance(e.value, (types.ToolError_Failed, types.ToolError_InvalidArguments)):
                raise
            raise Err(types.ToolError_Failed(f"host refused: {e.value}"))
        except Exception as e:
            raise Err(types.ToolError_Failed(f"internal error: {type(e).__name__}: {e}"))
