// Everything the learner view shows during a lesson, as one pure reducer over
// the transports' updates.

import type { Display } from "./display";
import type { AgentState, LessonSubtopic, ObjectiveProgress } from "./protocol";
import { transcriptReducer, type Transcript } from "./transcript";
import type { LessonUpdate } from "./transport";

/** Cards kept on screen; older ones scroll away. */
export const MAX_CARDS_SHOWN = 12;

export interface ToolCard {
  callId: string;
  tool: string;
  display: Display;
  /** The learner's answer to a question card, once given. */
  answer: string | null;
}

export interface LessonView {
  agentState: AgentState;
  transcript: Transcript;
  cards: ToolCard[];
  progress: ObjectiveProgress[];
  subtopic: LessonSubtopic | null;
  ended: boolean;
  endReason: string | null;
  error: { code: string; message: string } | null;
}

export const initialLessonView: LessonView = {
  agentState: "connecting",
  transcript: [],
  cards: [],
  progress: [],
  subtopic: null,
  ended: false,
  endReason: null,
  error: null,
};

export type LessonViewAction = LessonUpdate | { type: "answered"; callId: string; answer: string } | { type: "reset" };

/** Merge new mastery figures into the known ones, keeping objectives in their first-seen order. */
export function mergeProgress(known: ObjectiveProgress[], update: ObjectiveProgress[]): ObjectiveProgress[] {
  const next = known.map((p) => update.find((u) => u.objectiveId === p.objectiveId) ?? p);
  for (const u of update) if (!known.some((p) => p.objectiveId === u.objectiveId)) next.push(u);
  return next;
}

export function lessonViewReducer(state: LessonView, action: LessonViewAction): LessonView {
  switch (action.type) {
    case "reset":
      return initialLessonView;
    case "state":
      return state.ended ? state : { ...state, agentState: action.state };
    case "transcript":
      return { ...state, transcript: transcriptReducer(state.transcript, action.action) };
    case "card": {
      const card: ToolCard = { callId: action.callId, tool: action.tool, display: action.display, answer: null };
      const others = state.cards.filter((c) => c.callId !== action.callId || !action.callId);
      return { ...state, cards: [...others, card].slice(-MAX_CARDS_SHOWN) };
    }
    case "answered":
      return { ...state, cards: state.cards.map((c) => (c.callId === action.callId ? { ...c, answer: action.answer } : c)) };
    case "progress":
      return { ...state, progress: mergeProgress(state.progress, action.objectives) };
    case "subtopic":
      return { ...state, subtopic: action.subtopic };
    case "ended":
      return { ...state, ended: true, endReason: action.reason, agentState: "ended" };
    case "error":
      return action.fatal
        ? { ...state, error: { code: action.code, message: action.message }, ended: true, agentState: "ended", endReason: action.code }
        : { ...state, error: { code: action.code, message: action.message } };
  }
}
