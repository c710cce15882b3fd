import { useId, useState, type FormEvent, type ReactNode } from "react";
import { getAdminToken, setAdminToken } from "../api/http";

/**
 * Asks once per tab for the admin token (kept in sessionStorage, never in the
 * URL or localStorage) and renders the admin page behind it.
 */
export function AdminGate({ children, purpose }: { children: (signOut: () => void) => ReactNode; purpose: string }) {
  const [token, setToken] = useState(() => getAdminToken());
  const [draft, setDraft] = useState("");
  const id = useId();

  if (token) {
    return (
      <>
        {children(() => {
          setAdminToken(null);
          setToken(null);
        })}
      </>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!draft.trim()) return;
    setAdminToken(draft.trim());
    setToken(draft.trim());
  };
  return (
    <form className="panel" style={{ maxWidth: 520 }} onSubmit={submit}>
      <h2>Admin token</h2>
      <p className="muted">{purpose} needs the admin token the server was started with. It is kept for this tab only.</p>
      <div className="field">
        <label htmlFor={`${id}-token`}>Token</label>
        <input id={`${id}-token`} type="password" autoComplete="current-password" value={draft} onChange={(e) => setDraft(e.target.value)} />
      </div>
      <button type="submit" className="button" disabled={!draft.trim()}>
        Continue
      </button>
    </form>
  );
}
