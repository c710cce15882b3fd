// Starting a lesson: which transport the server uses, and the short-lived
// credentials for it.
//
// - `ws` (embedded default): `POST /api/sessions {subtopic_id, learner_id,
//   learner_name}` answers a session token; the browser opens the lesson
//   WebSocket with it.
// - `livekit`: the starter apps' `POST /api/connection-details` answers
//   `{serverUrl, roomName, participantName, participantToken}`.

import { ApiError, request } from "./http";

export type TransportKind = "ws" | "livekit";

export interface ClientConfig {
  transport: TransportKind;
}

export interface WsSession {
  sessionId: string;
  token: string;
  /** Absolute ws:// or wss:// URL of the lesson socket, token included. */
  url: string;
  expiresAt: string | null;
}

export interface LiveKitDetails {
  serverUrl: string;
  roomName: string;
  participantName: string;
  participantToken: string;
}

type Json = Record<string, unknown>;
const s = (o: Json, ...k: string[]): string => {
  for (const key of k) if (typeof o[key] === "string") return o[key] as string;
  return "";
};

/**
 * The transport the server is configured for. A server without `/api/config`
 * serves the embedded default, so a 404 means `ws`.
 */
export async function getClientConfig(): Promise<ClientConfig> {
  try {
    const body = await request<Json>("/api/config");
    const t = s(body, "transport");
    return { transport: t === "livekit" ? "livekit" : "ws" };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { transport: "ws" };
    throw e;
  }
}

/** Resolve the socket URL the server gave (absolute, relative, or none) against this page. */
export function lessonSocketUrl(body: Json, base: Location | URL = window.location): string {
  const token = s(body, "token", "session_token");
  const given = s(body, "ws_url", "url", "websocket_url");
  const http = new URL(given || `/api/sessions/${encodeURIComponent(s(body, "session_id", "id"))}/ws`, base.href);
  http.protocol = http.protocol === "https:" || http.protocol === "wss:" ? "wss:" : "ws:";
  if (token && !http.searchParams.has("token")) http.searchParams.set("token", token);
  return http.toString();
}

/** A stable, opaque learner id per browser: progress follows the learner, not their name. */
export function learnerId(): string {
  const key = "lectern.learnerId";
  try {
    const existing = localStorage.getItem(key);
    if (existing) return existing;
    const id = `learner-${crypto.randomUUID()}`;
    localStorage.setItem(key, id);
    return id;
  } catch {
    return `learner-${crypto.randomUUID()}`;
  }
}

export async function startWsSession(subtopicId: string, learnerName: string): Promise<WsSession> {
  const body = await request<Json>("/api/sessions", {
    method: "POST",
    body: { subtopic_id: subtopicId, learner_id: learnerId(), learner_name: learnerName },
  });
  return {
    sessionId: s(body, "session_id", "id"),
    token: s(body, "token", "session_token"),
    url: lessonSocketUrl(body),
    expiresAt: s(body, "expires_at") || null,
  };
}

export async function getLiveKitDetails(subtopicId: string, learnerName: string): Promise<LiveKitDetails> {
  const body = await request<Json>("/api/connection-details", {
    method: "POST",
    body: {
      participant_name: learnerName,
      participant_identity: learnerId(),
      participant_metadata: JSON.stringify({ subtopic_id: subtopicId }),
      room_config: { agents: [{ metadata: JSON.stringify({ subtopic_id: subtopicId, learner_id: learnerId() }) }] },
    },
  });
  return {
    serverUrl: s(body, "serverUrl", "server_url"),
    roomName: s(body, "roomName", "room_name"),
    participantName: s(body, "participantName", "participant_name"),
    participantToken: s(body, "participantToken", "participant_token"),
  };
}
