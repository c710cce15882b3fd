import { useEffect, useId, useReducer, useRef, useState, type FormEvent } from "react";
import { getClientConfig } from "../api/sessions";
import { initialLessonView, lessonViewReducer } from "../lesson/lessonState";
import { LiveKitTransport } from "../lesson/livekitTransport";
import type { AgentState } from "../lesson/protocol";
import { visibleText } from "../lesson/transcript";
import { LessonStartError, type LessonTransport } from "../lesson/transport";
import { WsTransport } from "../lesson/wsTransport";
import { DisplayCard } from "../ui/DisplayCard";
import { Notice } from "../ui/Notice";
import { Visualizer } from "../ui/Visualizer";
import type { LessonChoice } from "./LessonSetup";

const STATE_TEXT: Record<AgentState, string> = {
  connecting: "Connecting…",
  listening: "Listening",
  thinking: "Thinking…",
  speaking: "Speaking",
  ended: "Lesson ended",
};

interface Props {
  choice: LessonChoice;
  onFailedStart: (error: LessonStartError | Error) => void;
  onLeave: () => void;
}

export function LessonRoom({ choice, onFailedStart, onLeave }: Props) {
  const [view, dispatch] = useReducer(lessonViewReducer, initialLessonView);
  const [transport, setTransport] = useState<LessonTransport | null>(null);
  const [analysers, setAnalysers] = useState<{ mic: AnalyserNode | null; tutor: AnalyserNode | null }>({ mic: null, tutor: null });
  const [muted, setMuted] = useState(false);
  const [draft, setDraft] = useState("");
  const transcriptEnd = useRef<HTMLDivElement>(null);
  const ids = useId();

  useEffect(() => {
    let cancelled = false;
    let active: LessonTransport | null = null;
    (async () => {
      const config = await getClientConfig();
      const t: LessonTransport =
        config.transport === "livekit"
          ? new LiveKitTransport(choice.subtopic.id, choice.learnerName, dispatch)
          : new WsTransport(choice.subtopic.id, choice.learnerName, dispatch);
      active = t;
      await t.start();
      if (cancelled) return void t.end();
      setTransport(t);
      setAnalysers({ mic: t.micAnalyser, tutor: t.tutorAnalyser });
    })().catch((e: unknown) => {
      void active?.end();
      if (!cancelled) onFailedStart(e instanceof Error ? e : new Error(String(e)));
    });
    return () => {
      cancelled = true;
      void active?.end();
    };
  }, [choice, onFailedStart]);

  // LiveKit attaches the tutor's track after the start: pick its analyser up when it appears.
  useEffect(() => {
    if (transport && analysers.tutor !== transport.tutorAnalyser) setAnalysers({ mic: transport.micAnalyser, tutor: transport.tutorAnalyser });
  }, [transport, view.agentState, analysers.tutor]);

  useEffect(() => {
    transcriptEnd.current?.scrollIntoView?.({ block: "nearest" });
  }, [view.transcript]);

  const send = (e: FormEvent) => {
    e.preventDefault();
    if (!draft.trim() || !transport) return;
    transport.sendText(draft);
    setDraft("");
  };

  const toggleMute = () => {
    const next = !muted;
    setMuted(next);
    transport?.setMuted(next);
  };

  const visibleTurns = view.transcript.filter((e) => visibleText(e) !== "" || e.speaker === "learner");
  const title = view.subtopic?.title ?? choice.subtopic.title;
  const live = !view.ended;

  return (
    <div className="grid-two">
      <div className="stack">
        <section className="panel" aria-labelledby={`${ids}-title`}>
          <div className="panel-header">
            <div>
              <p className="muted" style={{ margin: 0 }}>
                {view.subtopic?.topicTitle || choice.topic.title}
              </p>
              <h2 id={`${ids}-title`}>{title}</h2>
            </div>
            <span className="state-pill" data-state={view.agentState} role="status" aria-live="polite" data-testid="agent-state">
              {STATE_TEXT[view.agentState]}
            </span>
          </div>
          <Visualizer mic={muted ? null : analysers.mic} tutor={analysers.tutor} label={`Voice activity. Tutor: ${STATE_TEXT[view.agentState]}.`} />
          <div className="stage-controls">
            <p className="legend" aria-hidden="true">
              <span className="swatch tutor" /> Tutor <span className="swatch learner" /> You
            </p>
            <div className="controls">
              {live ? (
                <>
                  <button type="button" className="button secondary" aria-pressed={muted} onClick={toggleMute} disabled={!transport}>
                    {muted ? "Unmute microphone" : "Mute microphone"}
                  </button>
                  <button type="button" className="button danger" onClick={() => void transport?.end()} disabled={!transport}>
                    End lesson
                  </button>
                </>
              ) : (
                <button type="button" className="button" onClick={onLeave}>
                  Choose another lesson
                </button>
              )}
            </div>
          </div>
          {muted && live ? (
            <p className="muted" role="status" style={{ marginTop: 12, marginBottom: 0 }}>
              Your microphone is muted. The tutor cannot hear you.
            </p>
          ) : null}
          {view.error ? (
            <div style={{ marginTop: 16 }}>
              <Notice kind="error" code={view.error.code}>
                {view.error.message}
              </Notice>
            </div>
          ) : null}
          {view.ended && !view.error ? (
            <div style={{ marginTop: 16 }}>
              <Notice kind="ok">The lesson has ended. Well done, {choice.learnerName}!</Notice>
            </div>
          ) : null}
        </section>

        <section className="panel" aria-labelledby={`${ids}-transcript`}>
          <h2 id={`${ids}-transcript`}>Conversation</h2>
          <div className="transcript" role="log" aria-live="polite" aria-relevant="additions text" aria-labelledby={`${ids}-transcript`} data-testid="transcript">
            {visibleTurns.length === 0 ? (
              <p className="empty">{live ? "Say hello when the tutor is listening." : "Nothing was said."}</p>
            ) : null}
            {visibleTurns.map((e) => (
              <div key={e.id} className={`turn ${e.speaker}${e.final ? "" : " pending"}`} data-speaker={e.speaker}>
                <span className="who">{e.speaker === "tutor" ? "Tutor" : e.typed ? "You (typed)" : "You"}</span>
                {visibleText(e)}
                {e.interrupted ? <span className="cut"> — interrupted</span> : null}
              </div>
            ))}
            <div ref={transcriptEnd} aria-hidden="true" />
          </div>
          <form className="composer" onSubmit={send}>
            <label htmlFor={`${ids}-draft`} className="visually-hidden">
              Type a message to the tutor
            </label>
            <input
              id={`${ids}-draft`}
              type="text"
              placeholder="Type instead of speaking…"
              value={draft}
              onChange={(e) => setDraft(e.target.value)}
              disabled={!transport || !live}
            />
            <button type="submit" className="button" disabled={!transport || !live || !draft.trim()}>
              Send
            </button>
          </form>
        </section>
      </div>

      <aside className="stack" aria-label="Lesson tools">
        <section className="panel" aria-labelledby={`${ids}-cards`}>
          <h2 id={`${ids}-cards`}>From your tutor</h2>
          {view.cards.length === 0 ? <p className="muted">Questions, examples and scores appear here.</p> : null}
          <div className="stack" data-testid="cards">
            {[...view.cards].reverse().map((c) => (
              <DisplayCard
                key={c.callId || c.tool}
                display={c.display}
                answer={c.answer}
                onAnswer={
                  live && transport
                    ? (choice) => {
                        dispatch({ type: "answered", callId: c.callId, answer: choice });
                        transport.sendText(choice);
                      }
                    : undefined
                }
              />
            ))}
          </div>
        </section>

        <section className="panel" aria-labelledby={`${ids}-progress`}>
          <h2 id={`${ids}-progress`}>Your progress</h2>
          {view.progress.length === 0 ? <p className="muted">Progress on each objective shows as you go.</p> : null}
          <ul className="progress-list">
            {view.progress.map((p) => {
              const pct = Math.round(p.score * 100);
              return (
                <li key={p.objectiveId}>
                  <div className="progress-row">
                    <span>{p.text}</span>
                    <span className="muted">{pct}%</span>
                  </div>
                  <div className="meter" role="progressbar" aria-label={p.text} aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct}>
                    <span style={{ width: `${pct}%` }} />
                  </div>
                </li>
              );
            })}
          </ul>
        </section>
      </aside>
    </div>
  );
}
