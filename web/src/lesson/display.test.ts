import { describe, expect, it } from "vitest";
import { choiceLetter, parseDisplay } from "./display";

describe("parseDisplay", () => {
  it("reads the internally tagged form", () => {
    expect(parseDisplay({ kind: "score", title: "Quiz", correct: 3, total: 4, feedback: "Nice" })).toEqual({
      kind: "score",
      title: "Quiz",
      correct: 3,
      total: 4,
      feedback: "Nice",
    });
    expect(parseDisplay({ kind: "key-points", points: ["a", "b"] })).toEqual({ kind: "key_points", points: ["a", "b"] });
  });

  it("reads the externally tagged form serde writes by default", () => {
    expect(parseDisplay({ markdown: "**hi**" })).toEqual({ kind: "markdown", markdown: "**hi**" });
    expect(parseDisplay({ key_points: ["x"] })).toEqual({ kind: "key_points", points: ["x"] });
    expect(parseDisplay({ example: { title: "T", problem: "P", solution: "S" } })).toEqual({
      kind: "example",
      title: "T",
      problem: "P",
      solution: "S",
    });
  });

  it("reads the adjacently tagged form", () => {
    expect(parseDisplay({ kind: "markdown", value: "text" })).toEqual({ kind: "markdown", markdown: "text" });
    expect(parseDisplay({ type: "question", data: { prompt: "Why?", choices: [] } })).toEqual({
      kind: "question",
      prompt: "Why?",
      choices: [],
      objectiveId: null,
    });
  });

  it("rejects unknown kinds and non-objects, and sanitises counts", () => {
    expect(parseDisplay({ kind: "hologram" })).toBeNull();
    expect(parseDisplay("markdown")).toBeNull();
    expect(parseDisplay(null)).toBeNull();
    const s = parseDisplay({ kind: "score", correct: -2, total: 2.7 });
    expect(s).toMatchObject({ correct: 0, total: 2 });
  });
});

describe("choiceLetter", () => {
  it("letters choices the way tutors read them out", () => {
    expect([0, 1, 2, 3].map(choiceLetter)).toEqual(["A", "B", "C", "D"]);
    expect(choiceLetter(25)).toBe("Z");
    expect(choiceLetter(26)).toBe("A2");
  });
});
