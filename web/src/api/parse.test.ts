import { describe, expect, it } from "vitest";
import { bindingFromJson, subtopicFromJson, subtopicToJson } from "./content";
import { listFrom } from "./http";
import { invokeResultFromJson, pluginFromJson } from "./plugins";
import { lessonSocketUrl } from "./sessions";

describe("API shapes", () => {
  it("accepts bare and wrapped lists", () => {
    expect(listFrom([1, 2])).toEqual([1, 2]);
    expect(listFrom({ topics: [1] }, "topics")).toEqual([1]);
    expect(listFrom({ items: [3] })).toEqual([3]);
    expect(listFrom({ nothing: true })).toEqual([]);
  });

  it("round-trips a subtopic in the runtime's snake_case shape", () => {
    const json = {
      id: "photo",
      topic_id: "bio",
      topic_title: "Biology",
      title: "Photosynthesis",
      summary: "s",
      content: "# c",
      objectives: [{ id: "o1", text: "Explain" }],
      key_points: ["light"],
      examples: [{ title: "t", concept: "c", problem: "p", solution: "s" }],
      level: "advanced",
    };
    const st = subtopicFromJson(json);
    expect(st.keyPoints).toEqual(["light"]);
    expect(st.level).toBe("advanced");
    expect(subtopicToJson(st)).toEqual(json);
  });

  it("reads a binding with a JSON-text config and no pin", () => {
    expect(bindingFromJson({ plugin: "quiz", config: '{"n":3}', enabled: true })).toEqual({
      plugin: "quiz",
      version: null,
      config: { n: 3 },
      enabled: true,
    });
  });

  it("reads a plugin whose active version is marked in its versions", () => {
    const p = pluginFromJson({
      name: "quiz",
      versions: [
        { version: "1.0.0", sha256: "aa", status: "inactive" },
        { version: "1.1.0", sha256: "bb", status: "active", tools: [{ name: "ask", description: "d", parameters: { type: "object" } }] },
      ],
    });
    expect(p.activeVersion).toBe("1.1.0");
    expect(p.activeDigest).toBe("bb");
    expect(p.tools[0]).toEqual({ name: "ask", description: "d", parameters: '{"type":"object"}' });
  });

  it("reads an invoke result with its display, time and fuel", () => {
    const r = invokeResultFromJson({
      outcome: "ok",
      output: { content: "asked", display: { type: "key_points", points: ["a"] } },
      duration_ms: 2.5,
      fuel_consumed: 1000,
    });
    expect(r).toMatchObject({ outcome: "ok", content: "asked", durationMs: 2.5, fuel: 1000, display: { kind: "key_points", points: ["a"] } });
    const failed = invokeResultFromJson({ outcome: "deadline_exceeded", error: { code: "deadline_exceeded", message: "took too long" } });
    expect(failed.error).toBe("took too long");
    expect(failed.display).toBeNull();
  });

  it("builds the lesson socket URL from what the server gave", () => {
    const base = new URL("https://lectern.example/lesson");
    expect(lessonSocketUrl({ session_id: "s1", token: "t" }, base)).toBe("wss://lectern.example/api/sessions/s1/ws?token=t");
    expect(lessonSocketUrl({ ws_url: "/ws?token=abc", token: "abc" }, new URL("http://localhost:8080/"))).toBe("ws://localhost:8080/ws?token=abc");
    expect(lessonSocketUrl({ ws_url: "ws://other:9/x", token: "z" }, base)).toBe("ws://other:9/x?token=z");
  });
});
