// Plugin administration (admin token): plugins, versions, upload, activate,
// rollback, disable/enable, the playground's invoke and the audit log.
//
// Server shapes: `GET /api/plugins` -> PluginRecord[] (no tools), `GET
// /api/plugins/{name}` -> PluginDetail (record + versions with manifests),
// `POST /api/plugins/{name}/invoke` -> the runtime's CallRecord; times are
// Unix milliseconds (`*_ms`).

import { listFrom, request } from "./http";
import { parseDisplay, type Display } from "../lesson/display";

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema text of the arguments. */
  parameters: string;
}

export interface PluginVersion {
  version: string;
  digest: string;
  status: string;
  active: boolean;
  uploadedAt: string;
  sizeBytes: number | null;
  description: string;
  tools: ToolSpec[];
}

export interface Plugin {
  name: string;
  description: string;
  status: string;
  enabled: boolean;
  activeVersion: string | null;
  activeDigest: string | null;
  tools: ToolSpec[];
  versions: PluginVersion[];
}

export interface InvokeResult {
  outcome: string;
  content: string | null;
  display: Display | null;
  error: string | null;
  durationMs: number | null;
  fuel: number | null;
  pluginVersion: string | null;
  digest: string | null;
  logs: Array<{ level: string; message: string }>;
  evidence: Array<{ objectiveId: string; score: number; note: string }>;
  limitsHit: string[];
}

export interface ToolCall {
  id: string;
  at: string;
  plugin: string;
  version: string;
  tool: string;
  outcome: string;
  durationMs: number | null;
  sessionId: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface LiveLesson {
  sessionId: string;
  learner: string;
  subtopic: string;
  startedAt: string;
  transport: string;
  state: string;
}

type Json = Record<string, unknown>;
const s = (o: Json, ...k: string[]): string => {
  for (const key of k) {
    const v = o[key];
    if (typeof v === "string") return v;
    if (typeof v === "number") return String(v);
  }
  return "";
};
const n = (o: Json, ...k: string[]): number | null => {
  for (const key of k) if (typeof o[key] === "number") return o[key] as number;
  return null;
};
const obj = (v: unknown): Json => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as unknown[]).map(obj) : []);

/** A timestamp as ISO text, from Unix milliseconds (`*_ms`) or text. */
export function timeFrom(o: Json, ...keys: string[]): string {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === "number" && Number.isFinite(v)) return new Date(v).toISOString();
    if (typeof v === "string" && v) return v;
  }
  return "";
}

function toolsFrom(v: unknown): ToolSpec[] {
  const m = obj(v);
  const list = Array.isArray(v) ? v : Array.isArray(m.tools) ? m.tools : [];
  return (list as Json[]).map((t) => ({
    name: s(t, "name"),
    description: s(t, "description"),
    parameters: typeof t.parameters === "string" ? t.parameters : JSON.stringify(t.parameters ?? { type: "object" }),
  }));
}

export function versionFromJson(o: Json): PluginVersion {
  const status = s(o, "status");
  return {
    version: s(o, "version"),
    digest: s(o, "sha256", "digest"),
    status,
    active: o.active === true || status === "active",
    uploadedAt: timeFrom(o, "created_at_ms", "uploaded_at", "created_at"),
    sizeBytes: n(o, "size_bytes"),
    description: s(obj(o.manifest), "description"),
    tools: toolsFrom(o.tools ?? o.manifest),
  };
}

export function pluginFromJson(o: Json): Plugin {
  const versions = Array.isArray(o.versions) ? (o.versions as Json[]).map(versionFromJson) : [];
  const active = obj(o.active);
  const activeVersion = s(o, "active_version") || s(active, "version") || versions.find((v) => v.active)?.version || "";
  const activeDigest = s(o, "active_sha256", "active_digest") || s(active, "digest", "sha256") || versions.find((v) => v.active)?.digest || "";
  const enabled = o.enabled !== false;
  const activeRecord = versions.find((v) => v.active) ?? versions.find((v) => v.digest === activeDigest);
  let tools = toolsFrom(o.tools ?? o.manifest ?? active.tools);
  if (tools.length === 0) tools = activeRecord?.tools ?? [];
  return {
    name: s(o, "name"),
    description: s(o, "description") || s(obj(o.manifest), "description") || activeRecord?.description || "",
    status: s(o, "status") || (!enabled ? "disabled" : activeVersion ? "active" : "no active version"),
    enabled,
    activeVersion: activeVersion || null,
    activeDigest: activeDigest || null,
    tools,
    versions,
  };
}

export function invokeResultFromJson(o: Json): InvokeResult {
  const output = obj(o.output);
  const err = o.error;
  const micros = n(o, "duration_us");
  return {
    outcome: s(o, "outcome") || (err ? "error" : "ok"),
    content: s(output, "content") || s(o, "content") || null,
    display: parseDisplay(output.display ?? o.display),
    error: typeof err === "string" ? err : s(obj(err), "message") || null,
    durationMs: micros !== null ? micros / 1000 : n(o, "duration_ms", "elapsed_ms"),
    fuel: n(o, "fuel_used", "fuel_consumed", "fuel"),
    pluginVersion: s(o, "version", "plugin_version") || null,
    digest: s(o, "digest", "sha256") || null,
    logs: arr(o.logs).map((l) => ({ level: s(l, "level"), message: s(l, "message") })),
    evidence: arr(o.evidence).map((e) => ({ objectiveId: s(e, "objective_id"), score: n(e, "score") ?? 0, note: s(e, "note") })),
    limitsHit: (Array.isArray(o.limits_hit) ? o.limits_hit : []).map((l) => (typeof l === "string" ? l : JSON.stringify(l))),
  };
}

/** Audit details as short `key: value` text. */
function detailText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v !== "object" || v === null) return "";
  return Object.entries(v as Json)
    // Digests are long: their first 12 hex digits identify them on screen.
    .map(([k, x]) => `${k}: ${typeof x === "string" ? (/^[0-9a-f]{64}$/.test(x) ? `${x.slice(0, 12)}…` : x) : JSON.stringify(x)}`)
    .join(", ");
}

const admin = { admin: true } as const;
const enc = encodeURIComponent;

/** Every plugin with its versions and tools (the list has neither: one detail request each). */
export async function listPlugins(): Promise<Plugin[]> {
  const records = listFrom<Json>(await request<unknown>("/api/plugins", admin), "plugins");
  return Promise.all(
    records.map(async (record) => {
      if (Array.isArray(record.versions)) return pluginFromJson(record);
      const detail = await request<Json>(`/api/plugins/${enc(s(record, "name"))}`, admin);
      return pluginFromJson({ ...record, ...detail });
    }),
  );
}

export async function listVersions(name: string): Promise<PluginVersion[]> {
  return listFrom<Json>(await request<unknown>(`/api/plugins/${enc(name)}/versions`, admin), "versions").map(versionFromJson);
}

export interface Uploaded {
  plugin: string;
  version: string;
  digest: string;
  active: boolean;
  newlyStored: boolean;
}

/** Upload a component; the server validates it and keeps it by digest. */
export async function uploadVersion(bytes: ArrayBuffer, activate: boolean): Promise<Uploaded> {
  const body = await request<Json>(`/api/plugins?activate=${activate}`, {
    method: "POST",
    body: bytes,
    contentType: "application/wasm",
    ...admin,
  });
  return {
    plugin: s(body, "plugin", "name"),
    version: s(body, "version"),
    digest: s(body, "sha256", "digest"),
    active: body.active === true,
    newlyStored: body.newly_stored !== false,
  };
}

export async function activateVersion(name: string, digestOrVersion: string): Promise<void> {
  await request(`/api/plugins/${enc(name)}/activate`, { method: "POST", body: { version: digestOrVersion }, ...admin });
}

export async function rollback(name: string): Promise<void> {
  await request(`/api/plugins/${enc(name)}/rollback`, { method: "POST", ...admin });
}

export async function disablePlugin(name: string): Promise<void> {
  await request(`/api/plugins/${enc(name)}/disable`, { method: "POST", ...admin });
}

export async function enablePlugin(name: string): Promise<void> {
  await request(`/api/plugins/${enc(name)}/enable`, { method: "POST", ...admin });
}

export async function invokeTool(name: string, tool: string, args: unknown, subtopicId: string): Promise<InvokeResult> {
  const body = await request<Json>(`/api/plugins/${enc(name)}/invoke`, {
    method: "POST",
    body: { tool, arguments: args, subtopic_id: subtopicId },
    ...admin,
  });
  return invokeResultFromJson(body);
}

/** One row of `GET /api/tool-invocations` (a stored tool invocation). */
export function toolCallFromJson(o: Json): ToolCall {
  const micros = n(o, "duration_us");
  return {
    id: String(o.id ?? ""),
    at: timeFrom(o, "created_at_ms"),
    plugin: s(o, "plugin_name"),
    version: s(o, "plugin_version", "version_digest"),
    tool: s(o, "tool_name"),
    outcome: s(o, "outcome"),
    durationMs: micros === null ? null : micros / 1000,
    sessionId: s(o, "conversation_id"),
  };
}

export async function listToolCalls(limit = 25): Promise<ToolCall[]> {
  const body = await request<unknown>(`/api/tool-invocations?limit=${limit}`, admin);
  return listFrom<Json>(body).map(toolCallFromJson);
}

export async function listAudit(limit = 50): Promise<AuditEntry[]> {
  const body = await request<unknown>(`/api/audit?limit=${limit}`, admin);
  return listFrom<Json>(body, "entries", "audit").map((o) => ({
    id: s(o, "id"),
    at: timeFrom(o, "at_ms", "at", "created_at"),
    actor: s(o, "actor"),
    action: s(o, "action"),
    target: s(o, "target", "plugin"),
    detail: detailText(o.details ?? o.detail),
  }));
}

export async function listLiveLessons(): Promise<LiveLesson[]> {
  const body = await request<unknown>("/api/sessions", admin);
  return listFrom<Json>(body, "sessions").map((o) => ({
    sessionId: s(o, "session_id", "id"),
    learner: s(o, "learner_name", "learner_id", "learner"),
    subtopic: s(o, "subtopic_title", "subtopic_id", "subtopic"),
    startedAt: timeFrom(o, "started_at_ms", "started_at"),
    transport: s(o, "transport"),
    state: s(o, "state", "status"),
  }));
}
