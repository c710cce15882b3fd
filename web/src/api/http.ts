// One way to call the Lectern API: JSON in and out, the server's error shape
// `{ "error": { "code", "message" } }` turned into `ApiError`, and the admin
// token (kept for the browser tab only, in sessionStorage) added where needed.

/** Where the operator's admin token lives: per tab, gone when the tab closes. */
export const ADMIN_TOKEN_KEY = "lectern.adminToken";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function getAdminToken(): string | null {
  try {
    return sessionStorage.getItem(ADMIN_TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setAdminToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(ADMIN_TOKEN_KEY, token);
    else sessionStorage.removeItem(ADMIN_TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives only as long as this page.
  }
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** JSON body, or raw bytes (sent as-is with `contentType`). */
  body?: unknown;
  contentType?: string;
  admin?: boolean;
  responseType?: "json" | "text";
  signal?: AbortSignal;
}

/** The error a failed response carries, in the server's shape or a sentence we write. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = `The server answered ${res.status} ${res.statusText}.`;
  try {
    const body: unknown = await res.json();
    if (typeof body === "object" && body !== null && "error" in body) {
      const err = (body as { error: unknown }).error;
      if (typeof err === "object" && err !== null) {
        const e = err as { code?: unknown; message?: unknown };
        if (typeof e.code === "string") code = e.code;
        if (typeof e.message === "string") message = e.message;
      } else if (typeof err === "string") {
        message = err;
      }
    }
  } catch {
    // Not JSON: keep the generic sentence.
  }
  if (res.status === 401 && code === `http_401`) {
    message = "The admin token was refused. Enter the token the server was started with.";
  }
  return new ApiError(res.status, code, message);
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  let body: BodyInit | undefined;
  if (options.body instanceof ArrayBuffer || options.body instanceof Blob || options.body instanceof Uint8Array) {
    body = options.body as BodyInit;
    headers["Content-Type"] = options.contentType ?? "application/octet-stream";
  } else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  }
  if (options.admin) {
    const token = getAdminToken();
    if (!token) {
      throw new ApiError(401, "admin_token_missing", "Enter the admin token to use the console.");
    }
    headers.Authorization = `Bearer ${token}`;
  }
  let res: Response;
  try {
    res = await fetch(path, { method: options.method ?? (body ? "POST" : "GET"), headers, body, signal: options.signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the Lectern server. Check that it is running and try again.");
  }
  if (!res.ok) {
    throw await errorFromResponse(res);
  }
  if (options.responseType === "text") {
    return (await res.text()) as T;
  }
  if (res.status === 204) {
    return undefined as T;
  }
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Lists may come bare or wrapped (`{items: [...]}`, `{topics: [...]}`): accept both. */
export function listFrom<T>(body: unknown, ...keys: string[]): T[] {
  if (Array.isArray(body)) return body as T[];
  if (typeof body === "object" && body !== null) {
    const o = body as Record<string, unknown>;
    for (const k of [...keys, "items", "data", "results"]) {
      if (Array.isArray(o[k])) return o[k] as T[];
    }
  }
  return [];
}
