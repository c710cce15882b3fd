import type { ReactNode } from "react";
import { ApiError } from "../api/http";

/** A status or error message; errors are announced to screen readers at once. */
export function Notice({ kind = "info", children, code }: { kind?: "info" | "error" | "ok"; children: ReactNode; code?: string }) {
  return (
    <div className={`notice ${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
      {code ? <div className="code">{code}</div> : null}
    </div>
  );
}

/** An error from any call, as a notice. */
export function ErrorNotice({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError) return <Notice kind="error" code={error.code}>{error.message}</Notice>;
  const message = error instanceof Error ? error.message : String(error);
  const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : undefined;
  return (
    <Notice kind="error" code={code}>
      {message}
    </Notice>
  );
}
