// Curriculum: topics, subtopics and their tool bindings.
//
// Routes (DESIGN.md §7): `GET /api/topics`, `GET /api/topics/{id}/subtopics`,
// `GET /api/subtopics/{id}`, admin writes `PUT /api/subtopics/{id}` and
// `PUT /api/subtopics/{id}/tools`.

import { listFrom, request } from "./http";

export type Level = "beginner" | "intermediate" | "advanced";

export interface Topic {
  id: string;
  title: string;
  description: string;
}

export interface Objective {
  id: string;
  text: string;
}

export interface WorkedExample {
  title: string;
  concept: string;
  problem: string;
  solution: string;
}

export interface SubtopicSummary {
  id: string;
  topicId: string;
  title: string;
  summary: string;
  level: Level;
  /** Order within the topic; null when the server did not say. */
  position: number | null;
}

export interface Subtopic extends SubtopicSummary {
  topicTitle: string;
  content: string;
  objectives: Objective[];
  keyPoints: string[];
  examples: WorkedExample[];
}

export interface ToolBinding {
  plugin: string;
  /** A pinned version (semver or digest); null follows the active version. */
  version: string | null;
  /** The plugin's configuration for this subtopic (JSON object). */
  config: Record<string, unknown>;
  enabled: boolean;
}

type Json = Record<string, unknown>;
const s = (o: Json, ...k: string[]): string => {
  for (const key of k) if (typeof o[key] === "string") return o[key] as string;
  return "";
};

function level(v: unknown): Level {
  return v === "intermediate" || v === "advanced" ? v : "beginner";
}

export function topicFromJson(o: Json): Topic {
  return { id: s(o, "id"), title: s(o, "title", "name"), description: s(o, "description", "summary") };
}

export function subtopicSummaryFromJson(o: Json): SubtopicSummary {
  return {
    id: s(o, "id"),
    topicId: s(o, "topic_id"),
    title: s(o, "title"),
    summary: s(o, "summary"),
    level: level(o.level),
    position: typeof o.position === "number" ? o.position : null,
  };
}

export function subtopicFromJson(o: Json): Subtopic {
  const objectives = Array.isArray(o.objectives)
    ? (o.objectives as Json[]).map((x) => ({ id: s(x, "id"), text: s(x, "text") }))
    : [];
  const examples = Array.isArray(o.examples)
    ? (o.examples as Json[]).map((x) => ({
        title: s(x, "title"),
        concept: s(x, "concept"),
        problem: s(x, "problem"),
        solution: s(x, "solution"),
      }))
    : [];
  return {
    ...subtopicSummaryFromJson(o),
    topicTitle: s(o, "topic_title"),
    content: s(o, "content"),
    objectives,
    keyPoints: Array.isArray(o.key_points) ? (o.key_points as unknown[]).filter((x): x is string => typeof x === "string") : [],
    examples,
  };
}

/** The body of `PUT /api/subtopics/{id}` (the server's `SubtopicUpdate`: no id, no topic title). */
export function subtopicToJson(st: Subtopic): Json {
  return {
    topic_id: st.topicId,
    title: st.title,
    summary: st.summary,
    content: st.content,
    objectives: st.objectives,
    key_points: st.keyPoints,
    examples: st.examples,
    level: st.level,
    ...(st.position !== null ? { position: st.position } : {}),
  };
}

export function bindingFromJson(o: Json): ToolBinding {
  let config: Record<string, unknown> = {};
  if (typeof o.config === "object" && o.config !== null && !Array.isArray(o.config)) config = o.config as Json;
  else if (typeof o.config === "string") {
    try {
      const parsed: unknown = JSON.parse(o.config);
      if (typeof parsed === "object" && parsed !== null) config = parsed as Json;
    } catch {
      // Keep {}: the editor shows it and the author can fix it.
    }
  }
  const version = o.version ?? o.version_pin ?? o.pin ?? null;
  return {
    plugin: s(o, "plugin", "plugin_name", "name"),
    version: typeof version === "string" && version ? version : null,
    config,
    enabled: o.enabled !== false,
  };
}

export async function listTopics(): Promise<Topic[]> {
  return listFrom<Json>(await request<unknown>("/api/topics"), "topics").map(topicFromJson);
}

export async function listSubtopics(topicId: string): Promise<SubtopicSummary[]> {
  const body = await request<unknown>(`/api/topics/${encodeURIComponent(topicId)}/subtopics`);
  return listFrom<Json>(body, "subtopics").map(subtopicSummaryFromJson);
}

export async function getSubtopic(id: string): Promise<Subtopic> {
  return subtopicFromJson(await request<Json>(`/api/subtopics/${encodeURIComponent(id)}`));
}

export async function saveSubtopic(st: Subtopic): Promise<void> {
  await request(`/api/subtopics/${encodeURIComponent(st.id)}`, { method: "PUT", body: subtopicToJson(st), admin: true });
}

export async function listBindings(subtopicId: string): Promise<ToolBinding[]> {
  const body = await request<unknown>(`/api/subtopics/${encodeURIComponent(subtopicId)}/tools`);
  return listFrom<Json>(body, "tools", "bindings").map(bindingFromJson);
}

export async function saveBindings(subtopicId: string, bindings: ToolBinding[]): Promise<void> {
  await request(`/api/subtopics/${encodeURIComponent(subtopicId)}/tools`, {
    method: "PUT",
    admin: true,
    body: bindings.map((b) => ({ plugin: b.plugin, version: b.version, config: b.config, enabled: b.enabled })),
  });
}

/** Every subtopic of every topic, for pickers (small curricula: a few requests). */
export async function listAllSubtopics(): Promise<Array<SubtopicSummary & { topicTitle: string }>> {
  const topics = await listTopics();
  const lists = await Promise.all(
    topics.map(async (t) => (await listSubtopics(t.id)).map((st) => ({ ...st, topicTitle: t.title }))),
  );
  return lists.flat();
}
