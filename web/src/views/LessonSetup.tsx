import { useEffect, useId, useState, type FormEvent } from "react";
import { listSubtopics, listTopics, type SubtopicSummary, type Topic } from "../api/content";
import { ErrorNotice } from "../ui/Notice";

export interface LessonChoice {
  subtopic: SubtopicSummary;
  topic: Topic;
  learnerName: string;
}

const NAME_KEY = "lectern.learnerName";
/** Names are shown to the tutor; keep them short. */
const MAX_NAME_CHARS = 60;

export function LessonSetup({ onStart, error }: { onStart: (choice: LessonChoice) => void; error: unknown }) {
  const [topics, setTopics] = useState<Topic[] | null>(null);
  const [topicId, setTopicId] = useState("");
  const [subtopics, setSubtopics] = useState<SubtopicSummary[] | null>(null);
  const [subtopicId, setSubtopicId] = useState("");
  const [name, setName] = useState(() => localStorage.getItem(NAME_KEY) ?? "");
  const [loadError, setLoadError] = useState<unknown>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const ids = useId();

  useEffect(() => {
    listTopics()
      .then((t) => {
        setTopics(t);
        if (t[0]) setTopicId(t[0].id);
      })
      .catch(setLoadError);
  }, []);

  useEffect(() => {
    if (!topicId) return;
    setSubtopics(null);
    setSubtopicId("");
    listSubtopics(topicId)
      .then((s) => {
        setSubtopics(s);
        if (s[0]) setSubtopicId(s[0].id);
      })
      .catch(setLoadError);
  }, [topicId]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    const topic = topics?.find((t) => t.id === topicId);
    const subtopic = subtopics?.find((s) => s.id === subtopicId);
    if (!trimmed) return setFormError("Enter your name so the tutor knows what to call you.");
    if (!topic || !subtopic) return setFormError("Choose what you would like to learn.");
    setFormError(null);
    localStorage.setItem(NAME_KEY, trimmed);
    onStart({ topic, subtopic, learnerName: trimmed });
  };

  return (
    <form className="panel" onSubmit={submit} aria-labelledby={`${ids}-title`} noValidate>
      <h2 id={`${ids}-title`}>Start a lesson</h2>
      <ErrorNotice error={loadError} />
      <ErrorNotice error={error} />
      <div className="field">
        <label htmlFor={`${ids}-topic`}>Topic</label>
        <select id={`${ids}-topic`} value={topicId} onChange={(e) => setTopicId(e.target.value)} disabled={!topics}>
          {topics === null ? <option>Loading topics…</option> : null}
          {topics?.map((t) => (
            <option key={t.id} value={t.id}>
              {t.title}
            </option>
          ))}
        </select>
        {topics?.find((t) => t.id === topicId)?.description ? <span className="hint">{topics.find((t) => t.id === topicId)?.description}</span> : null}
      </div>
      <fieldset className="subtopic-list" aria-busy={subtopics === null}>
        <legend className="label" style={{ gridColumn: "1 / -1", marginBottom: 4 }}>
          Lesson
        </legend>
        {subtopics === null ? <p className="muted">Loading lessons…</p> : null}
        {subtopics?.length === 0 ? <p className="muted">This topic has no lessons yet.</p> : null}
        {subtopics?.map((s) => (
          <label className="subtopic-option" key={s.id}>
            <input type="radio" name={`${ids}-subtopic`} value={s.id} checked={subtopicId === s.id} onChange={() => setSubtopicId(s.id)} />
            <span className="title">{s.title}</span>
            {s.summary ? <span className="summary">{s.summary}</span> : null}
            <span className="badge">{s.level}</span>
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={`${ids}-name`}>Your name</label>
        <input
          id={`${ids}-name`}
          type="text"
          autoComplete="given-name"
          maxLength={MAX_NAME_CHARS}
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={formError?.startsWith("Enter your name") || undefined}
          aria-describedby={`${ids}-name-hint`}
        />
        <span className="hint" id={`${ids}-name-hint`}>
          The tutor uses it to talk to you. You will be asked to allow the microphone.
        </span>
      </div>
      {formError ? (
        <p className="error" role="alert" style={{ color: "var(--danger)" }}>
          {formError}
        </p>
      ) : null}
      <button type="submit" className="button" disabled={!subtopicId}>
        Start the lesson
      </button>
    </form>
  );
}
