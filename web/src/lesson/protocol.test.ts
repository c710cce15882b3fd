import { describe, expect, it } from "vitest";
import { encodeClientEvent, parseAgentState, parseServerEvent } from "./protocol";

describe("server events", () => {
  it("parses agent state, including LiveKit's vocabulary", () => {
    expect(parseServerEvent('{"type":"agent.state","state":"thinking"}')).toEqual({ kind: "state", state: "thinking" });
    expect(parseAgentState("initializing")).toBe("connecting");
    expect(parseAgentState("speaking")).toBe("speaking");
    expect(parseAgentState("dancing")).toBeNull();
    expect(parseServerEvent('{"type":"agent.state","state":"dancing"}')).toBeNull();
  });

  it("parses transcripts of both sides", () => {
    expect(parseServerEvent('{"type":"transcript.learner","item_id":"u1","text":"hello","final":true}')).toEqual({
      kind: "learner_transcript",
      itemId: "u1",
      text: "hello",
      final: true,
    });
    expect(parseServerEvent('{"type":"transcript.tutor.delta","item_id":"a1","delta":"Hi"}')).toEqual({
      kind: "tutor_delta",
      itemId: "a1",
      delta: "Hi",
    });
    expect(parseServerEvent('{"type":"transcript.tutor.done","item_id":"a1","text":"Hi there"}')).toEqual({
      kind: "tutor_text_done",
      itemId: "a1",
      text: "Hi there",
    });
  });

  it("parses a tool card with its display", () => {
    const e = parseServerEvent(
      JSON.stringify({
        type: "tool.card",
        call_id: "c1",
        tool: "check_understanding",
        display: { kind: "question", prompt: "2+2?", choices: ["3", "4"], objective_id: "o1" },
      }),
    );
    expect(e).toEqual({
      kind: "tool_card",
      callId: "c1",
      tool: "check_understanding",
      display: { kind: "question", prompt: "2+2?", choices: ["3", "4"], objectiveId: "o1" },
    });
  });

  it("drops a tool card whose display cannot be shown", () => {
    expect(parseServerEvent('{"type":"tool.card","call_id":"c1","display":{"kind":"hologram"}}')).toBeNull();
  });

  it("parses progress, clamping scores to 0..1", () => {
    const e = parseServerEvent(
      '{"type":"progress","objectives":[{"objective_id":"o1","text":"Explain","score":1.7,"evidence_count":2},{"bogus":1}]}',
    );
    expect(e).toEqual({ kind: "progress", objectives: [{ objectiveId: "o1", text: "Explain", score: 1, evidenceCount: 2 }] });
  });

  it("parses the error shape nested or flat", () => {
    expect(parseServerEvent('{"type":"error","error":{"code":"realtime_unavailable","message":"Try later."}}')).toEqual({
      kind: "error",
      code: "realtime_unavailable",
      message: "Try later.",
    });
    expect(parseServerEvent('{"type":"error","code":"x","message":"y"}')).toEqual({ kind: "error", code: "x", message: "y" });
  });

  it("parses interruption and the end of a lesson", () => {
    expect(parseServerEvent('{"type":"audio.clear","item_id":"a1"}')).toEqual({ kind: "interrupt", itemId: "a1" });
    expect(parseServerEvent('{"type":"lesson.ended","reason":"completed"}')).toEqual({ kind: "ended", reason: "completed" });
  });

  it("ignores frames that are not events", () => {
    expect(parseServerEvent("not json")).toBeNull();
    expect(parseServerEvent("[1,2]")).toBeNull();
    expect(parseServerEvent('{"type":"from.the.future"}')).toBeNull();
    expect(parseServerEvent('{"no":"type"}')).toBeNull();
  });
});

describe("client events", () => {
  it("encodes typed text", () => {
    expect(JSON.parse(encodeClientEvent({ kind: "text", text: "4" }))).toEqual({ type: "text.input", text: "4" });
  });

  it("encodes playout position as whole, non-negative milliseconds", () => {
    expect(JSON.parse(encodeClientEvent({ kind: "playout", itemId: "a1", playedMs: 1234.9 }))).toEqual({
      type: "playout.position",
      item_id: "a1",
      played_ms: 1234,
    });
    expect(JSON.parse(encodeClientEvent({ kind: "playout", itemId: "a1", playedMs: -5 })).played_ms).toBe(0);
  });

  it("encodes the end of a lesson", () => {
    expect(JSON.parse(encodeClientEvent({ kind: "end" }))).toEqual({ type: "lesson.end" });
  });
});
