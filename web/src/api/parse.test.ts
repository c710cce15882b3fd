import { describe, expect, it } from "vitest";
import { bindingFromJson, subtopicFromJson, subtopicToJson } from "./content";
import { listFrom } from "./http";
import { invokeResultFromJson, pluginFromJson, toolCallFromJson } from "./plugins";
import { lessonSocketUrl } from "./sessions";

describe("API shapes", () => {
  it("reads a stored tool invocation as the console shows it", () => {
    const call = toolCallFromJson({
      id: 42,
      conversation_id: "c-1",
      call_id: "call_9",
      subtopic_id: "fractions-equivalent",
      plugin_name: "quiz",
      plugin_version: "0.1.0",
      version_digest: "ab12",
      tool_name: "quiz",
      arguments: {},
      outcome: "deadline_exceeded",
      duration_us: 2500,
      output: null,
      error: "stopped at the deadline",
      limits_hit: [],
      created_at_ms: 1_700_000_000_000,
    });
    expect(call).toEqual({
      id: "42",
      at: new Date(1_700_000_000_000).toISOString(),
      plugin: "quiz",
      version: "0.1.0",
      tool: "quiz",
      outcome: "deadline_exceeded",
      durationMs: 2.5,
      sessionId: "c-1",
    });
    expect(toolCallFromJson({ id: 1 }).durationMs).toBeNull();
  });

  it("accepts bare and wrapped lists", () => {
    expect(listFrom([1, 2])).toEqual([1, 2]);
    expect(listFrom({ topics: [1] }, "topics")).toEqual([1]);
    expect(listFrom({ items: [3] })).toEqual([3]);
    expect(listFrom({ nothing: true })).toEqual([]);
  });

  it("reads a subtopic record and writes the update shape", () => {
    const update = {
      topic_id: "bio",
      title: "Photosynthesis",
      summary: "s",
      content: "# c",
      objectives: [{ id: "o1", text: "Explain" }],
      key_points: ["light"],
      examples: [{ title: "t", concept: "c", problem: "p", solution: "s" }],
      level: "advanced",
      position: 2,
    };
    const st = subtopicFromJson({ ...update, id: "photo", topic_title: "Biology", tools: [], created_at_ms: 1, updated_at_ms: 2 });
    expect(st.keyPoints).toEqual(["light"]);
    expect(st.level).toBe("advanced");
    expect(st.topicTitle).toBe("Biology");
    expect(subtopicToJson(st)).toEqual(update);
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

  it("reads the server's plugin detail (record flattened with versions and manifests)", () => {
    const p = pluginFromJson({
      name: "flash-cards",
      enabled: true,
      active_version: "1.1.0",
      active_sha256: "bb",
      version_count: 2,
      created_at_ms: 1,
      updated_at_ms: 2,
      loaded: true,
      versions: [
        { id: 2, plugin_name: "flash-cards", version: "1.1.0", sha256: "bb", status: "active", size_bytes: 10, created_at_ms: 1_700_000_000_000, manifest: { description: "Cards", tools: [{ name: "draw", description: "d", parameters: "{}" }] } },
        { id: 1, plugin_name: "flash-cards", version: "1.0.0", sha256: "aa", status: "inactive", size_bytes: 9, created_at_ms: 1_600_000_000_000, manifest: {} },
      ],
    });
    expect(p).toMatchObject({ name: "flash-cards", enabled: true, activeVersion: "1.1.0", activeDigest: "bb", description: "Cards", status: "active" });
    expect(p.tools.map((t) => t.name)).toEqual(["draw"]);
    expect(p.versions[0]!.uploadedAt).toBe(new Date(1_700_000_000_000).toISOString());
    expect(pluginFromJson({ name: "x", enabled: false, versions: [] }).status).toBe("disabled");
  });

  it("reads the runtime's call record from the playground", () => {
    const r = invokeResultFromJson({
      plugin: "flash-cards",
      version: "1.1.0",
      digest: "bb",
      tool: "draw",
      arguments: "{}",
      outcome: "ok",
      output: { content: "drew", display: { type: "markdown", text: "**card**" } },
      error: null,
      duration_us: 2500,
      fuel_used: null,
      limits_hit: [],
      logs: [{ level: "info", message: "hello" }],
      logs_dropped: 0,
      evidence: [{ objective_id: "o1", score: 0.5, note: "half" }],
      state_changed: true,
    });
    expect(r).toMatchObject({
      outcome: "ok",
      content: "drew",
      durationMs: 2.5,
      fuel: null,
      pluginVersion: "1.1.0",
      digest: "bb",
      display: { kind: "markdown", markdown: "**card**" },
      logs: [{ level: "info", message: "hello" }],
      evidence: [{ objectiveId: "o1", score: 0.5, note: "half" }],
    });
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
