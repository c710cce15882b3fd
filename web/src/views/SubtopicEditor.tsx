import { useEffect, useId, useState, type FormEvent } from "react";
import { getSubtopic, listBindings, saveBindings, saveSubtopic, type Level, type Subtopic, type SubtopicSummary, type ToolBinding } from "../api/content";
import { ApiError } from "../api/http";
import type { Plugin } from "../api/plugins";
import { ErrorNotice, Notice } from "../ui/Notice";

interface Props {
  subtopics: Array<SubtopicSummary & { topicTitle: string }>;
  plugins: Plugin[];
  initialId: string;
  onUnauthorized: () => void;
}

interface BindingDraft extends ToolBinding {
  configText: string;
}

const LEVELS: Level[] = ["beginner", "intermediate", "advanced"];

export function SubtopicEditor({ subtopics, plugins, initialId, onUnauthorized }: Props) {
  const [id, setId] = useState(initialId);
  const [subtopic, setSubtopic] = useState<Subtopic | null>(null);
  const [bindings, setBindings] = useState<BindingDraft[]>([]);
  const [keyPointsText, setKeyPointsText] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [bindingErrors, setBindingErrors] = useState<Record<number, string>>({});
  const ids = useId();

  useEffect(() => {
    if (!id && initialId) setId(initialId);
  }, [initialId, id]);

  useEffect(() => {
    if (!id) return;
    setSaved(null);
    setError(null);
    Promise.all([getSubtopic(id), listBindings(id)])
      .then(([s, b]) => {
        setSubtopic(s);
        setKeyPointsText(s.keyPoints.join("\n"));
        setBindings(b.map((x) => ({ ...x, configText: JSON.stringify(x.config, null, 2) })));
      })
      .catch(setError);
  }, [id]);

  const fail = (e: unknown) => {
    setError(e);
    if (e instanceof ApiError && e.status === 401) onUnauthorized();
  };

  const saveContent = async (e: FormEvent) => {
    e.preventDefault();
    if (!subtopic) return;
    setSaved(null);
    setError(null);
    if (!subtopic.title.trim()) return setError(new Error("A subtopic needs a title."));
    const next = { ...subtopic, keyPoints: keyPointsText.split("\n").map((l) => l.trim()).filter(Boolean) };
    try {
      await saveSubtopic(next);
      setSubtopic(next);
      setSaved("Content saved. New lessons use it from their next turn.");
    } catch (err) {
      fail(err);
    }
  };

  const saveTools = async () => {
    setSaved(null);
    setError(null);
    const problems: Record<number, string> = {};
    const parsed: ToolBinding[] = [];
    bindings.forEach((b, i) => {
      if (!b.plugin) problems[i] = "Choose a plugin.";
      try {
        const config: unknown = JSON.parse(b.configText || "{}");
        if (typeof config !== "object" || config === null || Array.isArray(config)) problems[i] = "Configuration must be a JSON object, e.g. {}.";
        else parsed.push({ plugin: b.plugin, version: b.version?.trim() || null, config: config as Record<string, unknown>, enabled: b.enabled });
      } catch {
        problems[i] = "Configuration is not valid JSON.";
      }
    });
    setBindingErrors(problems);
    if (Object.keys(problems).length > 0) return;
    try {
      await saveBindings(id, parsed);
      setSaved("Tool bindings saved. Lessons on this subtopic pick them up at their next turn.");
    } catch (err) {
      fail(err);
    }
  };

  const update = (change: Partial<Subtopic>) => setSubtopic((s) => (s ? { ...s, ...change } : s));
  const updateBinding = (i: number, change: Partial<BindingDraft>) => setBindings((bs) => bs.map((b, j) => (i === j ? { ...b, ...change } : b)));

  return (
    <section className="panel" aria-labelledby={`${ids}-title`}>
      <div className="panel-header">
        <h2 id={`${ids}-title`}>Edit a subtopic</h2>
        <div className="field" style={{ margin: 0, minWidth: 240 }}>
          <label htmlFor={`${ids}-pick`} className="visually-hidden">
            Subtopic to edit
          </label>
          <select id={`${ids}-pick`} value={id} onChange={(e) => setId(e.target.value)}>
            {subtopics.map((s) => (
              <option key={s.id} value={s.id}>
                {s.topicTitle} — {s.title}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorNotice error={error} />
      {saved ? <Notice kind="ok">{saved}</Notice> : null}
      {subtopic ? (
        <div className="grid-two">
          <form onSubmit={saveContent}>
            <h3>Content</h3>
            <div className="field">
              <label htmlFor={`${ids}-t`}>Title</label>
              <input id={`${ids}-t`} type="text" value={subtopic.title} onChange={(e) => update({ title: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor={`${ids}-s`}>Summary</label>
              <input id={`${ids}-s`} type="text" value={subtopic.summary} onChange={(e) => update({ summary: e.target.value })} />
            </div>
            <div className="field">
              <label htmlFor={`${ids}-l`}>Level</label>
              <select id={`${ids}-l`} value={subtopic.level} onChange={(e) => update({ level: e.target.value as Level })}>
                {LEVELS.map((l) => (
                  <option key={l}>{l}</option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`${ids}-c`}>Teaching content (markdown)</label>
              <textarea id={`${ids}-c`} rows={10} value={subtopic.content} onChange={(e) => update({ content: e.target.value })} />
            </div>
            <fieldset>
              <legend>Objectives</legend>
              {subtopic.objectives.map((o, i) => (
                <div className="array-item" key={i}>
                  <label className="visually-hidden" htmlFor={`${ids}-o${i}`}>
                    Objective {o.id}
                  </label>
                  <span className="mono" style={{ flex: "0 0 9rem", paddingTop: 10, overflowWrap: "anywhere" }}>
                    {o.id}
                  </span>
                  <input
                    id={`${ids}-o${i}`}
                    type="text"
                    value={o.text}
                    onChange={(e) => update({ objectives: subtopic.objectives.map((x, j) => (j === i ? { ...x, text: e.target.value } : x)) })}
                  />
                </div>
              ))}
            </fieldset>
            <div className="field">
              <label htmlFor={`${ids}-k`}>Key points</label>
              <span className="hint" id={`${ids}-k-hint`}>
                One per line.
              </span>
              <textarea id={`${ids}-k`} aria-describedby={`${ids}-k-hint`} rows={4} value={keyPointsText} onChange={(e) => setKeyPointsText(e.target.value)} />
            </div>
            <button type="submit" className="button">
              Save content
            </button>
          </form>
          <div>
            <h3>Tool bindings</h3>
            {bindings.length === 0 ? <p className="muted">No tools are bound: the tutor only has its built-in tools here.</p> : null}
            {bindings.map((b, i) => (
              <fieldset key={i}>
                <legend>{b.plugin || "New binding"}</legend>
                <div className="field">
                  <label htmlFor={`${ids}-bp${i}`}>Plugin</label>
                  <select id={`${ids}-bp${i}`} value={b.plugin} onChange={(e) => updateBinding(i, { plugin: e.target.value })}>
                    <option value="">Choose…</option>
                    {plugins.map((p) => (
                      <option key={p.name}>{p.name}</option>
                    ))}
                    {b.plugin && !plugins.some((p) => p.name === b.plugin) ? <option value={b.plugin}>{b.plugin} (not loaded)</option> : null}
                  </select>
                </div>
                <div className="field">
                  <label htmlFor={`${ids}-bv${i}`}>Version pin</label>
                  <input
                    id={`${ids}-bv${i}`}
                    type="text"
                    placeholder="active version"
                    value={b.version ?? ""}
                    onChange={(e) => updateBinding(i, { version: e.target.value })}
                  />
                </div>
                <div className="field">
                  <label htmlFor={`${ids}-bc${i}`}>Configuration (JSON)</label>
                  <textarea
                    id={`${ids}-bc${i}`}
                    className="code"
                    rows={3}
                    value={b.configText}
                    aria-invalid={bindingErrors[i] ? true : undefined}
                    aria-describedby={bindingErrors[i] ? `${ids}-be${i}` : undefined}
                    onChange={(e) => updateBinding(i, { configText: e.target.value })}
                  />
                  {bindingErrors[i] ? (
                    <span className="error" id={`${ids}-be${i}`}>
                      {bindingErrors[i]}
                    </span>
                  ) : null}
                </div>
                <div className="row">
                  <label className="checkbox">
                    <input type="checkbox" checked={b.enabled} onChange={(e) => updateBinding(i, { enabled: e.target.checked })} />
                    Enabled
                  </label>
                  <span className="spacer" />
                  <button type="button" className="button danger small" onClick={() => setBindings((bs) => bs.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </div>
              </fieldset>
            ))}
            <div className="row">
              <button
                type="button"
                className="button secondary"
                onClick={() => setBindings((bs) => [...bs, { plugin: "", version: null, config: {}, configText: "{}", enabled: true }])}
              >
                Add a tool
              </button>
              <button type="button" className="button" onClick={() => void saveTools()}>
                Save tools
              </button>
            </div>
          </div>
        </div>
      ) : !error ? (
        <p className="muted">Loading…</p>
      ) : null}
    </section>
  );
}
