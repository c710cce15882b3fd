import { useCallback, useEffect, useId, useRef, useState, type DragEvent } from "react";
import { ApiError } from "../api/http";
import { fetchMetrics, histogramQuantile, sumOf, type Sample } from "../api/metrics";
import {
  activateVersion,
  disablePlugin,
  enablePlugin,
  listAudit,
  listLiveLessons,
  listPlugins,
  listToolCalls,
  listVersions,
  rollback,
  uploadVersion,
  type AuditEntry,
  type LiveLesson,
  type Plugin,
  type PluginVersion,
  type ToolCall,
} from "../api/plugins";
import { AdminGate } from "../ui/AdminGate";
import { ErrorNotice, Notice } from "../ui/Notice";

/** How often the console refreshes on its own. */
const REFRESH_INTERVAL_MS = 10_000;
/** Largest component the console will try to upload; the server has its own limit. */
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

function shortDigest(d: string): string {
  const hex = d.replace(/^sha256:/, "");
  return hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
}

function when(ts: string): string {
  if (!ts) return "—";
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}

function outcomeBadge(outcome: string): string {
  return outcome === "ok" ? "badge ok" : outcome === "invalid_arguments" || outcome === "plugin_error" ? "badge warn" : "badge bad";
}

interface CallCount {
  plugin: string;
  tool: string;
  outcome: string;
  count: number;
}

/** Tool calls by plugin, tool and outcome since the server started, from `lectern_plugin_calls_total`. */
export function callCountsFrom(samples: Sample[]): CallCount[] {
  return samples
    .filter((s) => s.name === "lectern_plugin_calls_total" && s.value > 0)
    .map((s) => ({ plugin: s.labels.plugin ?? "", tool: s.labels.tool ?? "", outcome: s.labels.outcome ?? "", count: s.value }))
    .sort((a, b) => b.count - a.count);
}

interface Kpi {
  name: string;
  value: string;
}

/** The figures an operator wants first, from whatever the server exports. */
export function kpisFrom(samples: Sample[]): Kpi[] {
  const fmt = (n: number | null, unit = "") => (n === null ? "—" : `${Number.isInteger(n) ? n : n.toFixed(1)}${unit}`);
  const find = (...names: string[]) => {
    for (const n of names) {
      const v = sumOf(samples, n);
      if (v !== null) return v;
    }
    return null;
  };
  const calls = find("lectern_plugin_calls_total", "lectern_tool_calls_total");
  const okCalls = sumOf(samples, "lectern_plugin_calls_total", { outcome: "ok" }) ?? sumOf(samples, "lectern_tool_calls_total", { outcome: "ok" });
  const p99 = histogramQuantile(samples, "lectern_http_request_duration_seconds", 0.99);
  return [
    { name: "Live lessons", value: fmt(find("lectern_live_sessions", "lectern_lessons_active", "lectern_sessions_live")) },
    { name: "Lessons started", value: fmt(find("lectern_lessons_started_total")) },
    { name: "Tool calls", value: fmt(calls) },
    { name: "Tool success", value: calls ? fmt(((okCalls ?? 0) / calls) * 100, "%") : "—" },
    { name: "HTTP requests", value: fmt(find("lectern_http_requests_total")) },
    { name: "HTTP p99", value: p99 === null ? "—" : `${(p99 * 1000).toFixed(1)} ms` },
    { name: "Tokens issued", value: fmt(find("lectern_tokens_issued_total")) },
    { name: "Plugin swaps", value: fmt(find("lectern_plugin_swaps_total")) },
    { name: "Rate limited", value: fmt(find("lectern_rate_limited_total")) },
  ];
}

function PluginRow({ plugin, onChanged, onError }: { plugin: Plugin; onChanged: (msg: string) => void; onError: (e: unknown) => void }) {
  const [versions, setVersions] = useState<PluginVersion[]>(plugin.versions);
  const [open, setOpen] = useState(false);
  const id = useId();

  useEffect(() => {
    if (open) listVersions(plugin.name).then(setVersions).catch(onError);
  }, [open, plugin.name, onError]);

  const act = async (what: () => Promise<void>, msg: string) => {
    try {
      await what();
      onChanged(msg);
    } catch (e) {
      onError(e);
    }
  };

  return (
    <div className="plugin" data-plugin={plugin.name}>
      <div className="row">
        <div style={{ flex: "1 1 260px" }}>
          <h3 style={{ marginBottom: 2 }}>{plugin.name}</h3>
          <div className="muted" style={{ fontSize: "0.9rem" }}>
            {plugin.description}
          </div>
        </div>
        <span className={plugin.enabled && plugin.activeVersion ? "badge active" : "badge bad"} data-testid="plugin-status">
          {plugin.enabled && plugin.activeVersion ? `active ${plugin.activeVersion}` : plugin.status || "disabled"}
        </span>
        {plugin.activeDigest ? (
          <span className="mono muted" title={plugin.activeDigest}>
            {shortDigest(plugin.activeDigest)}
          </span>
        ) : null}
      </div>
      <div className="row" style={{ marginTop: 8 }}>
        <button type="button" className="button secondary small" aria-expanded={open} aria-controls={`${id}-versions`} onClick={() => setOpen(!open)}>
          {open ? "Hide versions" : "Versions"}
        </button>
        <button type="button" className="button secondary small" onClick={() => void act(() => rollback(plugin.name), `${plugin.name} rolled back.`)}>
          Roll back
        </button>
        {plugin.enabled ? (
          <button type="button" className="button danger small" onClick={() => void act(() => disablePlugin(plugin.name), `${plugin.name} disabled.`)}>
            Disable
          </button>
        ) : (
          <button type="button" className="button secondary small" onClick={() => void act(() => enablePlugin(plugin.name), `${plugin.name} enabled.`)}>
            Enable
          </button>
        )}
        <span className="muted" style={{ fontSize: "0.85rem" }}>
          {plugin.tools.map((t) => t.name).join(", ")}
        </span>
      </div>
      {open ? (
        <div className="table-scroll" id={`${id}-versions`} style={{ marginTop: 12 }} tabIndex={0} role="region" aria-label={`Versions of ${plugin.name}`}>
          <table className="data">
            <caption className="visually-hidden">Versions of {plugin.name}</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Digest (sha256)</th>
                <th scope="col">Uploaded</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <tr key={v.digest || v.version}>
                  <td>{v.version}</td>
                  <td className="mono" title={v.digest}>
                    {shortDigest(v.digest)}
                  </td>
                  <td>{when(v.uploadedAt)}</td>
                  <td>
                    <span className={v.active ? "badge active" : "badge"}>{v.active ? "active" : v.status || "kept"}</span>
                  </td>
                  <td>
                    {!v.active ? (
                      <button
                        type="button"
                        className="button secondary small"
                        onClick={() => void act(() => activateVersion(plugin.name, v.digest || v.version), `${plugin.name} ${v.version} activated.`)}
                      >
                        Activate<span className="visually-hidden"> {v.version}</span>
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

function Upload({ onUploaded, onError }: { onUploaded: (msg: string) => void; onError: (e: unknown) => void }) {
  const [active, setActive] = useState(false);
  const [busy, setBusy] = useState(false);
  const [activate, setActivate] = useState(true);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();

  const upload = async (file: File) => {
    if (!file.name.endsWith(".wasm")) return onError(new Error(`${file.name} is not a .wasm component. Build your plugin for wasm32-wasip2 and upload the .wasm file.`));
    if (file.size > MAX_UPLOAD_BYTES) return onError(new Error(`${file.name} is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB.`));
    setBusy(true);
    try {
      const v = await uploadVersion(await file.arrayBuffer(), activate);
      onUploaded(
        `Uploaded ${file.name}: ${v.plugin} ${v.version || "?"} (${shortDigest(v.digest)})${v.newlyStored ? "" : ", already stored"}${v.active ? ", now active" : ""}.`,
      );
    } catch (e) {
      onError(e);
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };

  const drop = (e: DragEvent) => {
    e.preventDefault();
    setActive(false);
    const file = e.dataTransfer.files[0];
    if (file) void upload(file);
  };

  return (
    <div>
      <div
        className="dropzone"
        data-active={active}
        onDragOver={(e) => {
          e.preventDefault();
          setActive(true);
        }}
        onDragLeave={() => setActive(false)}
        onDrop={drop}
        aria-busy={busy}
      >
        <p style={{ margin: 0 }}>{busy ? "Validating and uploading…" : "Drop a plugin .wasm here, or"}</p>
        <label htmlFor={`${id}-file`} className="button secondary small" style={{ marginTop: 8 }}>
          Choose a file
        </label>
        <input
          ref={input}
          id={`${id}-file`}
          className="visually-hidden"
          type="file"
          accept=".wasm,application/wasm"
          onChange={(e) => {
            const f = e.target.files?.[0];
            if (f) void upload(f);
          }}
        />
      </div>
      <label className="checkbox" style={{ marginTop: 8 }}>
        <input type="checkbox" checked={activate} onChange={(e) => setActivate(e.target.checked)} />
        Activate after validation
      </label>
    </div>
  );
}

function Console({ signOut }: { signOut: () => void }) {
  const [plugins, setPlugins] = useState<Plugin[] | null>(null);
  const [lessons, setLessons] = useState<LiveLesson[]>([]);
  const [calls, setCalls] = useState<ToolCall[]>([]);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [kpis, setKpis] = useState<Kpi[]>([]);
  const [callCounts, setCallCounts] = useState<CallCount[]>([]);
  const [callsOffered, setCallsOffered] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [unavailable, setUnavailable] = useState<string[]>([]);
  const ids = useId();

  const onError = useCallback(
    (e: unknown) => {
      setError(e);
      setMessage(null);
      if (e instanceof ApiError && e.status === 401) signOut();
    },
    [signOut],
  );

  const refresh = useCallback(async () => {
    const missing: string[] = [];
    // Each section loads on its own: one missing route does not blank the console.
    const load = async <T,>(name: string, f: () => Promise<T>, set: (v: T) => void) => {
      try {
        set(await f());
      } catch (e) {
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) missing.push(name);
        else throw e;
      }
    };
    try {
      await Promise.all([
        load("plugins", listPlugins, setPlugins),
        load("live lessons", listLiveLessons, setLessons),
        load("tool calls", () => listToolCalls(25), setCalls),
        load("audit log", () => listAudit(50), setAudit),
        load("metrics", fetchMetrics, (s) => {
          setKpis(kpisFrom(s));
          setCallCounts(callCountsFrom(s));
        }),
      ]);
      // Without a tool-call listing, the counts from the metrics stand in for it.
      setCallsOffered(!missing.includes("tool calls"));
      setUnavailable(missing.filter((m) => m !== "tool calls"));
    } catch (e) {
      onError(e);
    }
  }, [onError]);

  useEffect(() => {
    void refresh();
    const t = window.setInterval(() => void refresh(), REFRESH_INTERVAL_MS);
    return () => window.clearInterval(t);
  }, [refresh]);

  const changed = (msg: string) => {
    setError(null);
    setMessage(msg);
    void refresh();
  };

  return (
    <>
      <div className="page-head">
        <div className="page-intro">
          <h1>Operator console</h1>
          <p>Plugins and their versions, live lessons, tool calls and the audit trail.</p>
        </div>
        <div className="actions">
          <button type="button" className="button secondary small" onClick={() => void refresh()}>
            Refresh
          </button>
          <button type="button" className="button secondary small" onClick={signOut}>
            Forget token
          </button>
        </div>
      </div>
      <ErrorNotice error={error} />
      {message ? <Notice kind="ok">{message}</Notice> : null}
      {unavailable.length ? <Notice>This server does not offer: {unavailable.join(", ")}.</Notice> : null}

      {kpis.some((k) => k.value !== "—") ? null : <p className="muted">No metrics yet.</p>}
      <section aria-label="Key metrics" className="kpis">
        {kpis.filter((k) => k.value !== "—").map((k) => (
          <div className="kpi" key={k.name}>
            <div className="value">{k.value}</div>
            <div className="name">{k.name}</div>
          </div>
        ))}
      </section>

      <div className="grid-two">
        <section className="panel" aria-labelledby={`${ids}-plugins`}>
          <h2 id={`${ids}-plugins`}>Plugins</h2>
          <Upload onUploaded={changed} onError={onError} />
          <div style={{ marginTop: 16 }} data-testid="plugins">
            {plugins === null ? <p className="muted">Loading…</p> : null}
            {plugins?.map((p) => (
              <PluginRow key={`${p.name}:${p.activeDigest ?? ""}`} plugin={p} onChanged={changed} onError={onError} />
            ))}
          </div>
        </section>
        <section className="panel" aria-labelledby={`${ids}-lessons`}>
          <h2 id={`${ids}-lessons`}>Live lessons</h2>
          {lessons.length === 0 ? <p className="muted">No lesson is running.</p> : null}
          <ul className="progress-list">
            {lessons.map((l) => (
              <li key={l.sessionId}>
                <strong>{l.learner || "learner"}</strong> · {l.subtopic}
                <div className="muted" style={{ fontSize: "0.85rem" }}>
                  {when(l.startedAt)} · {l.transport} {l.state ? `· ${l.state}` : ""}
                </div>
              </li>
            ))}
          </ul>
        </section>
      </div>

      {callsOffered ? (
      <section className="panel" style={{ marginTop: 24 }} aria-labelledby={`${ids}-calls`}>
          <h2 id={`${ids}-calls`}>{callsOffered ? "Recent tool calls" : "Tool calls since start"}</h2>
          <div className="table-scroll" tabIndex={0} role="region" aria-labelledby={`${ids}-calls`}>
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Plugin</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {calls.length === 0 ? (
                  <tr>
                    <td colSpan={5} className="muted">
                      No tool calls yet.
                    </td>
                  </tr>
                ) : null}
                {calls.map((c, i) => (
                  <tr key={c.id || i}>
                    <td>{when(c.at)}</td>
                    <td>
                      {c.plugin} <span className="mono muted">{c.version.length > 16 ? shortDigest(c.version) : c.version}</span>
                    </td>
                    <td>{c.tool}</td>
                    <td>
                      <span className={outcomeBadge(c.outcome)}>{c.outcome}</span>
                    </td>
                    <td>{c.durationMs !== null ? `${c.durationMs} ms` : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : (
        <section className="panel" style={{ marginTop: 24 }} aria-labelledby={`${ids}-counts`}>
          <h2 id={`${ids}-counts`}>Tool calls since the server started</h2>
          <div className="table-scroll" tabIndex={0} role="region" aria-labelledby={`${ids}-counts`}>
            <table className="data">
              <thead>
                <tr>
                  <th scope="col">Plugin</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Calls</th>
                </tr>
              </thead>
              <tbody>
                {callCounts.length === 0 ? (
                  <tr>
                    <td colSpan={4} className="muted">
                      No tool calls yet.
                    </td>
                  </tr>
                ) : null}
                {callCounts.map((c) => (
                  <tr key={`${c.plugin}/${c.tool}/${c.outcome}`}>
                    <td>{c.plugin}</td>
                    <td>{c.tool}</td>
                    <td>
                      <span className={outcomeBadge(c.outcome)}>{c.outcome}</span>
                    </td>
                    <td>{c.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      <section className="panel" style={{ marginTop: 24 }} aria-labelledby={`${ids}-audit`}>
        <h2 id={`${ids}-audit`}>Audit log</h2>
        <div className="table-scroll" tabIndex={0} role="region" aria-labelledby={`${ids}-audit`}>
          <table className="data" data-testid="audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {audit.length === 0 ? (
                <tr>
                  <td colSpan={4} className="muted">
                    Nothing recorded yet.
                  </td>
                </tr>
              ) : null}
              {audit.map((a, i) => (
                <tr key={a.id || i}>
                  <td>{when(a.at)}</td>
                  <td>{a.action}</td>
                  <td>{a.target}</td>
                  <td className="mono" style={{ maxWidth: 360 }}>
                    {a.detail}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

export function ConsoleView() {
  return <AdminGate purpose="The operator console">{(signOut) => <Console signOut={signOut} />}</AdminGate>;
}
