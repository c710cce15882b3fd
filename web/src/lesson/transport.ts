// What the learner view needs from a lesson, whichever way the audio travels.

import type { Display } from "./display";
import type { AgentState, LessonSubtopic, ObjectiveProgress } from "./protocol";
import type { TranscriptAction } from "./transcript";

export type LessonUpdate =
  | { type: "state"; state: AgentState }
  | { type: "transcript"; action: TranscriptAction }
  | { type: "card"; callId: string; tool: string; display: Display }
  | { type: "progress"; objectives: ObjectiveProgress[] }
  | { type: "subtopic"; subtopic: LessonSubtopic }
  | { type: "ended"; reason: string }
  | { type: "error"; code: string; message: string; fatal: boolean };

export interface LessonTransport {
  /** Open the microphone and connect; rejects with a message the learner can act on. */
  start(): Promise<void>;
  /** Typed input (or a clicked answer). */
  sendText(text: string): void;
  setMuted(muted: boolean): void;
  /** End the lesson and release the microphone. */
  end(): Promise<void>;
  /** For the visualizer; null until started. */
  readonly micAnalyser: AnalyserNode | null;
  readonly tutorAnalyser: AnalyserNode | null;
}

export type UpdateSink = (update: LessonUpdate) => void;

/** A failure to start, with a code and a sentence for the learner. */
export class LessonStartError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "LessonStartError";
  }
}
