// The lesson WebSocket protocol (`ws` transport), client side.
//
// Binary frames carry PCM16 mono 24 kHz audio both ways; text frames carry one
// JSON event each, tagged by `type`. This module is the only place that knows
// the event names and field spellings: the transport and the UI work with the
// `LessonEvent` union below.

import { parseDisplay, type Display } from "./display";

export type AgentState = "connecting" | "listening" | "thinking" | "speaking" | "ended";

export interface ObjectiveProgress {
  objectiveId: string;
  text: string;
  score: number;
  evidenceCount: number;
}

export interface LessonSubtopic {
  id: string;
  title: string;
  topicTitle: string;
}

/** Everything the server can tell the client during a lesson. */
export type LessonEvent =
  | { kind: "ready"; sessionId: string; subtopic: LessonSubtopic | null }
  | { kind: "state"; state: AgentState }
  | { kind: "learner_transcript"; itemId: string; text: string; final: boolean }
  | { kind: "tutor_delta"; itemId: string; delta: string }
  | { kind: "tutor_text_done"; itemId: string; text: string | null }
  | { kind: "audio_start"; itemId: string }
  | { kind: "audio_done"; itemId: string }
  | { kind: "interrupt"; itemId: string | null }
  | { kind: "truncated"; itemId: string; audioEndMs: number }
  | { kind: "tool_card"; callId: string; tool: string; display: Display }
  | { kind: "tool_result"; callId: string; tool: string; outcome: string }
  | { kind: "progress"; objectives: ObjectiveProgress[] }
  | { kind: "subtopic"; subtopic: LessonSubtopic }
  | { kind: "ended"; reason: string }
  | { kind: "error"; code: string; message: string };

/** Everything the client can tell the server. */
export type ClientEvent =
  | { kind: "text"; text: string }
  | { kind: "playout"; itemId: string; playedMs: number }
  | { kind: "mute"; muted: boolean }
  | { kind: "end" };

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function str(o: Json, ...keys: string[]): string | null {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "string") return v;
  }
  return null;
}
function num(o: Json, ...keys: string[]): number | null {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

const AGENT_STATES: readonly AgentState[] = ["connecting", "listening", "thinking", "speaking", "ended"];

/** Maps the agent-state vocabulary of LiveKit (`lk.agent.state`) and ours to one set. */
export function parseAgentState(value: unknown): AgentState | null {
  if (typeof value !== "string") return null;
  const v = value.toLowerCase();
  if ((AGENT_STATES as readonly string[]).includes(v)) return v as AgentState;
  if (v === "initializing" || v === "idle") return "connecting";
  if (v === "disconnected") return "ended";
  return null;
}

function parseSubtopic(v: unknown): LessonSubtopic | null {
  if (!isObject(v)) return null;
  const id = str(v, "id", "subtopic_id");
  if (id === null) return null;
  return { id, title: str(v, "title") ?? id, topicTitle: str(v, "topic_title") ?? "" };
}

function parseProgress(v: unknown): ObjectiveProgress[] {
  if (!Array.isArray(v)) return [];
  const out: ObjectiveProgress[] = [];
  for (const item of v) {
    if (!isObject(item)) continue;
    const objectiveId = str(item, "objective_id", "id");
    if (objectiveId === null) continue;
    const score = num(item, "score", "mastery") ?? 0;
    out.push({
      objectiveId,
      text: str(item, "text", "objective") ?? objectiveId,
      score: Math.max(0, Math.min(1, score)),
      evidenceCount: num(item, "evidence_count") ?? 0,
    });
  }
  return out;
}

/**
 * One text frame to an event. Returns null for frames that are not JSON objects
 * or carry an unknown `type` (a newer server may send events this client does
 * not know; they are ignored rather than fatal).
 */
export function parseServerEvent(frame: string): LessonEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isObject(data)) return null;
  const type = str(data, "type");
  const itemId = str(data, "item_id") ?? "";
  switch (type) {
    case "session.ready":
    case "session.started":
      return {
        kind: "ready",
        sessionId: str(data, "session_id") ?? "",
        subtopic: parseSubtopic(data.subtopic),
      };
    case "agent.state": {
      const state = parseAgentState(data.state);
      return state ? { kind: "state", state } : null;
    }
    case "transcript.learner":
    case "learner.transcript": {
      const text = str(data, "text", "transcript");
      if (text === null) return null;
      return { kind: "learner_transcript", itemId, text, final: data.final !== false };
    }
    case "transcript.tutor.delta":
    case "tutor.transcript.delta": {
      const delta = str(data, "delta");
      return delta === null ? null : { kind: "tutor_delta", itemId, delta };
    }
    case "transcript.tutor.done":
    case "tutor.transcript.done":
      return { kind: "tutor_text_done", itemId, text: str(data, "text", "transcript") };
    case "audio.start":
      return { kind: "audio_start", itemId };
    case "audio.done":
      return { kind: "audio_done", itemId };
    case "audio.clear":
    case "interrupted":
      return { kind: "interrupt", itemId: str(data, "item_id") };
    case "transcript.truncated":
    case "truncated":
      return { kind: "truncated", itemId, audioEndMs: num(data, "audio_end_ms", "played_ms") ?? 0 };
    case "tool.card": {
      const display = parseDisplay(data.display);
      if (!display) return null;
      return { kind: "tool_card", callId: str(data, "call_id") ?? "", tool: str(data, "tool", "name") ?? "", display };
    }
    case "tool.result":
      return {
        kind: "tool_result",
        callId: str(data, "call_id") ?? "",
        tool: str(data, "tool", "name") ?? "",
        outcome: str(data, "outcome") ?? "ok",
      };
    case "progress":
      return { kind: "progress", objectives: parseProgress(data.objectives ?? data.mastery) };
    case "subtopic.changed": {
      const subtopic = parseSubtopic(data.subtopic);
      return subtopic ? { kind: "subtopic", subtopic } : null;
    }
    case "lesson.ended":
    case "session.ended":
      return { kind: "ended", reason: str(data, "reason") ?? "ended" };
    case "error": {
      const err = isObject(data.error) ? data.error : data;
      return {
        kind: "error",
        code: str(err, "code") ?? "unknown",
        message: str(err, "message") ?? "Something went wrong in the lesson.",
      };
    }
    default:
      return null;
  }
}

/** The JSON text frame for a client event. */
export function encodeClientEvent(event: ClientEvent): string {
  switch (event.kind) {
    case "text":
      return JSON.stringify({ type: "text.input", text: event.text });
    case "playout":
      return JSON.stringify({
        type: "playout.position",
        item_id: event.itemId,
        // The server truncates with this: whole milliseconds, never negative.
        played_ms: Math.max(0, Math.floor(event.playedMs)),
      });
    case "mute":
      return JSON.stringify({ type: "input.mute", muted: event.muted });
    case "end":
      return JSON.stringify({ type: "lesson.end" });
  }
}
