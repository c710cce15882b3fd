import { useEffect, useId, useMemo, useState, type FormEvent } from "react";
import { listAllSubtopics, type SubtopicSummary } from "../api/content";
import { ApiError } from "../api/http";
import { invokeTool, listPlugins, type InvokeResult, type Plugin } from "../api/plugins";
import { fieldFromSchemaText, initialValue, setAt, toArguments, validate, type FormErrors, type FormValue } from "../forms/schema";
import { AdminGate } from "../ui/AdminGate";
import { DisplayCard } from "../ui/DisplayCard";
import { ErrorNotice } from "../ui/Notice";
import { SchemaForm } from "../ui/SchemaForm";
import { SubtopicEditor } from "./SubtopicEditor";

function outcomeClass(outcome: string): string {
  if (outcome === "ok") return "badge ok";
  if (outcome === "invalid_arguments" || outcome === "plugin_error" || outcome === "error") return "badge warn";
  return "badge bad";
}

function Playground({ signOut }: { signOut: () => void }) {
  const [plugins, setPlugins] = useState<Plugin[] | null>(null);
  const [subtopics, setSubtopics] = useState<Array<SubtopicSummary & { topicTitle: string }>>([]);
  const [pluginName, setPluginName] = useState("");
  const [toolName, setToolName] = useState("");
  const [subtopicId, setSubtopicId] = useState("");
  const [value, setValue] = useState<FormValue>({});
  const [errors, setErrors] = useState<FormErrors>({});
  const [result, setResult] = useState<InvokeResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ids = useId();

  useEffect(() => {
    listPlugins()
      .then((p) => {
        setPlugins(p);
        const first = p.find((x) => x.tools.length > 0);
        if (first) {
          setPluginName(first.name);
          setToolName(first.tools[0]!.name);
        }
      })
      .catch(setError);
    listAllSubtopics()
      .then((s) => {
        setSubtopics(s);
        if (s[0]) setSubtopicId(s[0].id);
      })
      .catch(setError);
  }, []);

  const plugin = plugins?.find((p) => p.name === pluginName) ?? null;
  const tool = plugin?.tools.find((t) => t.name === toolName) ?? null;
  const field = useMemo(() => fieldFromSchemaText(tool?.parameters ?? "{}"), [tool]);
  useEffect(() => {
    setValue(initialValue(field));
    setErrors({});
    setResult(null);
  }, [field]);

  const invoke = async (e: FormEvent) => {
    e.preventDefault();
    if (!plugin || !tool) return;
    const problems = validate(field, value);
    setErrors(problems);
    if (Object.keys(problems).length > 0) {
      document.getElementById(`${ids}-args-${Object.keys(problems)[0]}`.replace(/[^a-zA-Z0-9_-]/g, "-"))?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setResult(await invokeTool(plugin.name, tool.name, toArguments(field, value) ?? {}, subtopicId));
    } catch (err) {
      setResult(null);
      setError(err);
      if (err instanceof ApiError && err.status === 401) signOut();
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="page-intro">
        <h1>Author playground</h1>
        <p>Call any teaching tool against a lesson without a model, and edit what a subtopic teaches and which tools it offers.</p>
      </div>
      <ErrorNotice error={error} />
      <div className="grid-two">
        <form className="panel" onSubmit={invoke} aria-labelledby={`${ids}-invoke`} noValidate>
          <h2 id={`${ids}-invoke`}>Invoke a tool</h2>
          <div className="row">
            <div className="field" style={{ flex: "1 1 200px" }}>
              <label htmlFor={`${ids}-plugin`}>Plugin</label>
              <select
                id={`${ids}-plugin`}
                value={pluginName}
                onChange={(e) => {
                  setPluginName(e.target.value);
                  setToolName(plugins?.find((p) => p.name === e.target.value)?.tools[0]?.name ?? "");
                }}
              >
                {plugins === null ? <option>Loading…</option> : null}
                {plugins?.map((p) => (
                  <option key={p.name} value={p.name}>
                    {p.name} {p.activeVersion ? `(${p.activeVersion})` : "(disabled)"}
                  </option>
                ))}
              </select>
            </div>
            <div className="field" style={{ flex: "1 1 200px" }}>
              <label htmlFor={`${ids}-tool`}>Tool</label>
              <select id={`${ids}-tool`} value={toolName} onChange={(e) => setToolName(e.target.value)}>
                {plugin?.tools.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.name}
                  </option>
                ))}
              </select>
            </div>
          </div>
          {tool?.description ? <p className="muted">{tool.description}</p> : null}
          <div className="field">
            <label htmlFor={`${ids}-subtopic`}>Lesson context (subtopic)</label>
            <select id={`${ids}-subtopic`} value={subtopicId} onChange={(e) => setSubtopicId(e.target.value)}>
              {subtopics.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.topicTitle} — {s.title}
                </option>
              ))}
            </select>
          </div>
          <h3>Arguments</h3>
          <SchemaForm field={field} value={value} errors={errors} idPrefix={`${ids}-args`} onChange={(path, v) => setValue((old) => setAt(old, path, v))} />
          <button type="submit" className="button" disabled={!tool || !subtopicId || busy}>
            {busy ? "Invoking…" : "Invoke"}
          </button>
        </form>

        <section className="panel" aria-labelledby={`${ids}-result`} aria-live="polite" data-testid="invoke-result">
          <h2 id={`${ids}-result`}>Result</h2>
          {result === null ? <p className="muted">Invoke a tool to see what the model reads and what the learner sees.</p> : null}
          {result ? (
            <>
              <dl className="result-meta">
                <div>
                  <dt>Outcome</dt>
                  <dd>
                    <span className={outcomeClass(result.outcome)} data-testid="outcome">
                      {result.outcome}
                    </span>
                  </dd>
                </div>
                <div>
                  <dt>Time</dt>
                    <dd>{result.durationMs !== null ? `${result.durationMs.toFixed(result.durationMs < 10 ? 2 : 0)} ms` : "—"}</dd>
                </div>
                <div>
                  <dt>Fuel</dt>
                  <dd>{result.fuel !== null ? result.fuel.toLocaleString("en") : "not metered"}</dd>
                </div>
                {result.pluginVersion ? (
                  <div>
                    <dt>Version</dt>
                    <dd className="mono" title={result.digest ?? undefined}>
                      {result.pluginVersion}
                    </dd>
                  </div>
                ) : null}
              </dl>
              {result.error ? <p className="notice error">{result.error}</p> : null}
              {result.content ? (
                <>
                  <h3>What the model reads</h3>
                  <pre>{result.content}</pre>
                </>
              ) : null}
              {result.limitsHit.length ? (
                <p className="notice error">Limits hit: {result.limitsHit.join(", ")}</p>
              ) : null}
              {result.evidence.length ? (
                <>
                  <h3>Progress recorded</h3>
                  <ul className="key-points">
                    {result.evidence.map((e, i) => (
                      <li key={i}>
                        <span className="mono">{e.objectiveId}</span>: {Math.round(e.score * 100)}%{e.note ? ` — ${e.note}` : ""}
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
              {result.display ? (
                <>
                  <h3>What the learner sees</h3>
                  <DisplayCard display={result.display} headingLevel={4} />
                </>
              ) : null}
              {result.logs.length ? (
                <>
                  <h3 style={{ marginTop: 16 }}>Plugin log</h3>
                  <pre>{result.logs.map((l) => `${l.level.toUpperCase().padEnd(5)} ${l.message}`).join("\n")}</pre>
                </>
              ) : null}
            </>
          ) : null}
        </section>
      </div>
      <div style={{ marginTop: 24 }}>
        <SubtopicEditor subtopics={subtopics} plugins={plugins ?? []} initialId={subtopicId} onUnauthorized={signOut} />
      </div>
    </>
  );
}

export function PlaygroundView() {
  return <AdminGate purpose="The playground">{(signOut) => <Playground signOut={signOut} />}</AdminGate>;
}
