import { describe, expect, it } from "vitest";
import { initialLessonView, lessonViewReducer, mergeProgress, MAX_CARDS_SHOWN, type LessonViewAction } from "./lessonState";

const question = { kind: "question" as const, prompt: "Which gas do plants take in?", choices: ["Oxygen", "Carbon dioxide"], objectiveId: "o1" };

function run(actions: LessonViewAction[]) {
  return actions.reduce(lessonViewReducer, initialLessonView);
}

describe("lesson view", () => {
  it("tracks the tutor's state until the lesson ends", () => {
    const v = run([
      { type: "state", state: "listening" },
      { type: "state", state: "speaking" },
      { type: "ended", reason: "completed" },
      { type: "state", state: "listening" },
    ]);
    expect(v.agentState).toBe("ended");
    expect(v.endReason).toBe("completed");
  });

  it("keeps cards, replaces a card with the same call id, and records answers", () => {
    const v = run([
      { type: "card", callId: "c1", tool: "quiz", display: question },
      { type: "card", callId: "c2", tool: "example", display: { kind: "markdown", markdown: "x" } },
      { type: "card", callId: "c1", tool: "quiz", display: { ...question, prompt: "Again?" } },
      { type: "answered", callId: "c1", answer: "Carbon dioxide" },
    ]);
    expect(v.cards.map((c) => c.callId)).toEqual(["c2", "c1"]);
    expect(v.cards[1]!.answer).toBe("Carbon dioxide");
    expect(v.cards[1]!.display).toMatchObject({ prompt: "Again?" });
  });

  it("caps the cards on screen", () => {
    const many = Array.from({ length: MAX_CARDS_SHOWN + 3 }, (_, i): LessonViewAction => ({
      type: "card",
      callId: `c${i}`,
      tool: "t",
      display: { kind: "markdown", markdown: String(i) },
    }));
    const v = run(many);
    expect(v.cards).toHaveLength(MAX_CARDS_SHOWN);
    expect(v.cards[0]!.callId).toBe("c3");
  });

  it("merges progress per objective", () => {
    const a = { objectiveId: "a", text: "A", score: 0.2, evidenceCount: 1 };
    const b = { objectiveId: "b", text: "B", score: 0, evidenceCount: 0 };
    expect(mergeProgress([a, b], [{ ...b, score: 0.9, evidenceCount: 2 }, { objectiveId: "c", text: "C", score: 1, evidenceCount: 1 }])).toEqual([
      a,
      { ...b, score: 0.9, evidenceCount: 2 },
      { objectiveId: "c", text: "C", score: 1, evidenceCount: 1 },
    ]);
  });

  it("ends the lesson on a fatal error but not on a passing one", () => {
    const passing = run([{ type: "error", code: "tool_failed", message: "m", fatal: false }]);
    expect(passing.ended).toBe(false);
    expect(passing.error?.code).toBe("tool_failed");
    const fatal = run([{ type: "error", code: "connection_lost", message: "m", fatal: true }]);
    expect(fatal.ended).toBe(true);
  });

  it("routes transcript updates through the transcript reducer", () => {
    const v = run([{ type: "transcript", action: { type: "learner_text", id: "u1", text: "hi", final: true } }]);
    expect(v.transcript[0]!.text).toBe("hi");
  });
});
