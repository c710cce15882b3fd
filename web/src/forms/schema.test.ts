import { describe, expect, it } from "vitest";
import { fieldFromSchema, fieldFromSchemaText, initialValue, setAt, toArguments, validate, type FormValue } from "./schema";

const QUIZ = {
  type: "object",
  properties: {
    objective_id: { type: "string", description: "Which objective", minLength: 2 },
    difficulty: { type: "string", enum: ["easy", "medium", "hard"], default: "medium" },
    count: { type: "integer", minimum: 1, maximum: 5 },
    weight: { type: "number" },
    shuffle: { type: "boolean" },
    topics: { type: "array", items: { type: "string" }, minItems: 1 },
    settings: {
      type: "object",
      properties: { hint: { type: "string", pattern: "^[a-z]+$" } },
      required: ["hint"],
    },
    extra: { type: "array", items: { type: "object" } },
  },
  required: ["objective_id", "count"],
};

describe("schema-driven form", () => {
  const root = fieldFromSchema(QUIZ);

  it("builds one field per property with the right widget", () => {
    expect(root.kind).toBe("object");
    expect(root.fields.map((f) => [f.name, f.kind, f.required])).toEqual([
      ["objective_id", "string", true],
      ["difficulty", "enum", false],
      ["count", "integer", true],
      ["weight", "number", false],
      ["shuffle", "boolean", false],
      ["topics", "string_array", false],
      ["settings", "object", false],
      ["extra", "json", false],
    ]);
    expect(root.fields[0]!.label).toBe("Objective id");
    expect(root.fields[6]!.fields[0]!.path).toBe("settings.hint");
  });

  it("starts from the schema's defaults", () => {
    const v = initialValue(root) as Record<string, FormValue>;
    expect(v.difficulty).toBe("medium");
    expect(v.shuffle).toBe(false);
    expect(v.topics).toEqual([]);
  });

  it("reports every problem with a sentence", () => {
    let v = initialValue(root);
    v = setAt(v, ["count"], "2.5");
    v = setAt(v, ["weight"], "heavy");
    v = setAt(v, ["settings", "hint"], "ABC");
    const errors = validate(root, v);
    expect(errors).toEqual({
      objective_id: "Objective id is required.",
      count: "Count must be a whole number.",
      weight: "Weight must be a number.",
      "settings.hint": "Hint must match the pattern ^[a-z]+$.",
    });
  });

  it("checks bounds and lengths", () => {
    let v = initialValue(root);
    v = setAt(v, ["objective_id"], "x");
    v = setAt(v, ["count"], "9");
    v = setAt(v, ["settings", "hint"], "ok");
    expect(validate(root, v)).toEqual({
      objective_id: "Objective id needs at least 2 characters.",
      count: "Count must be at most 5.",
    });
  });

  it("produces typed arguments, leaving out empty optional fields", () => {
    let v = initialValue(root);
    v = setAt(v, ["objective_id"], "photosynthesis-1");
    v = setAt(v, ["count"], " 3 ");
    v = setAt(v, ["topics"], ["light", "", "water"]);
    v = setAt(v, ["settings", "hint"], "sun");
    v = setAt(v, ["extra"], '[{"a":1}]');
    expect(validate(root, v)).toEqual({});
    expect(toArguments(root, v)).toEqual({
      objective_id: "photosynthesis-1",
      difficulty: "medium",
      count: 3,
      shuffle: false,
      topics: ["light", "water"],
      settings: { hint: "sun" },
      extra: [{ a: 1 }],
    });
  });

  it("flags invalid JSON in raw fields", () => {
    const f = fieldFromSchema({ type: "object", properties: { extra: { type: "array" } } });
    expect(validate(f, { extra: "[1," })).toEqual({ extra: "Extra must be valid JSON." });
  });

  it("treats nullable types by their real type and enforces array sizes", () => {
    const f = fieldFromSchema({
      type: "object",
      properties: { note: { type: ["string", "null"] }, tags: { type: "array", items: { type: "string" }, maxItems: 1 } },
    });
    expect(f.fields[0]!.kind).toBe("string");
    expect(validate(f, { note: "", tags: ["a", "b"] })).toEqual({ tags: "Tags can have at most 1 items." });
  });

  it("survives a broken schema by offering raw JSON", () => {
    const f = fieldFromSchemaText("{not json");
    expect(f.kind).toBe("json");
  });

  it("accepts a tool with no parameters", () => {
    const f = fieldFromSchemaText('{"type":"object","properties":{}}');
    expect(validate(f, initialValue(f))).toEqual({});
    expect(toArguments(f, initialValue(f))).toEqual({});
  });
});
