// The lesson transcript as the learner sees it.
//
// The tutor's words arrive as text well before the learner hears them, so a
// tutor line only shows what has been played so far, and when the learner
// interrupts, the line is cut where playout stopped — the same cut the server
// makes with `conversation.item.truncate`, so screen and record agree.

/** Rounding between the playout clock and the received audio's length. */
const HEARD_ALL_TOLERANCE_MS = 1;

/** Typical speaking rate used while a response's audio is still arriving (chars per ms, ~16 chars/s). */
export const TYPICAL_SPEECH_CHARS_PER_MS = 0.016;

export type Speaker = "learner" | "tutor";

export interface TranscriptEntry {
  /** Conversation item id (from the server), or a local id for typed text before the server echoes it. */
  id: string;
  speaker: Speaker;
  /** Everything received so far. */
  text: string;
  /** The text is complete. */
  final: boolean;
  /** Tutor only: milliseconds of audio received for this item. */
  audioMs: number;
  /** Tutor only: all the audio of this item has been received. */
  audioDone: boolean;
  /** Tutor only: milliseconds the learner has heard. */
  playedMs: number;
  /** Tutor only: the learner interrupted; `text` was cut to what was heard. */
  interrupted: boolean;
  /** The text is already aligned with what was heard (e.g. LiveKit's synchronized transcription). */
  synced: boolean;
  /** The learner typed this rather than said it. */
  typed: boolean;
}

export type TranscriptAction =
  | { type: "learner_text"; id: string; text: string; final: boolean; typed?: boolean }
  | { type: "tutor_delta"; id: string; delta: string }
  | { type: "tutor_text_done"; id: string; text?: string }
  | { type: "tutor_synced"; id: string; text: string; final: boolean }
  | { type: "tutor_audio"; id: string; ms: number }
  | { type: "tutor_audio_done"; id: string }
  | { type: "played"; id: string; playedMs: number }
  | { type: "interrupted"; id: string; playedMs: number }
  | { type: "reset" };

export type Transcript = readonly TranscriptEntry[];

function blank(id: string, speaker: Speaker): TranscriptEntry {
  return {
    id,
    speaker,
    text: "",
    final: false,
    audioMs: 0,
    audioDone: false,
    playedMs: 0,
    interrupted: false,
    synced: false,
    typed: false,
  };
}

function upsert(
  state: Transcript,
  id: string,
  speaker: Speaker,
  change: (entry: TranscriptEntry) => TranscriptEntry,
): Transcript {
  const index = state.findIndex((e) => e.id === id);
  if (index === -1) {
    return [...state, change(blank(id, speaker))];
  }
  const next = state.slice();
  next[index] = change(state[index]!);
  return next;
}

/** Pure reducer: every event the transports report goes through here. */
export function transcriptReducer(state: Transcript, action: TranscriptAction): Transcript {
  switch (action.type) {
    case "reset":
      return [];
    case "learner_text": {
      // The server may echo typed text back as a transcript item: adopt its id
      // rather than showing the line twice.
      if (!action.typed && !state.some((e) => e.id === action.id)) {
        const echo = findTypedEcho(state, action.text);
        if (echo !== -1) {
          const next = state.slice();
          next[echo] = { ...state[echo]!, id: action.id, final: action.final };
          return next;
        }
      }
      return upsert(state, action.id, "learner", (e) => ({
        ...e,
        text: action.text,
        final: action.final,
        typed: action.typed ?? e.typed,
      }));
    }
    case "tutor_delta":
      return upsert(state, action.id, "tutor", (e) =>
        e.interrupted ? e : { ...e, text: e.text + action.delta },
      );
    case "tutor_text_done":
      return upsert(state, action.id, "tutor", (e) =>
        e.interrupted ? e : { ...e, text: action.text ?? e.text, final: true },
      );
    case "tutor_synced":
      return upsert(state, action.id, "tutor", (e) => ({
        ...e,
        text: action.text,
        final: action.final,
        synced: true,
      }));
    case "tutor_audio":
      return upsert(state, action.id, "tutor", (e) =>
        e.interrupted ? e : { ...e, audioMs: e.audioMs + Math.max(0, action.ms) },
      );
    case "tutor_audio_done":
      return upsert(state, action.id, "tutor", (e) => ({ ...e, audioDone: true }));
    case "played":
      return upsert(state, action.id, "tutor", (e) =>
        e.interrupted ? e : { ...e, playedMs: Math.max(e.playedMs, action.playedMs) },
      );
    case "interrupted":
      return upsert(state, action.id, "tutor", (e) => {
        if (e.interrupted) {
          return e;
        }
        const playedMs = Math.min(Math.max(0, action.playedMs), e.audioMs);
        // The server also clears playout when the learner speaks just after the
        // tutor finished: if every received millisecond was heard, nothing was
        // cut (the server does not truncate either).
        if (e.audioDone && e.audioMs > 0 && playedMs >= e.audioMs - HEARD_ALL_TOLERANCE_MS) {
          return { ...e, playedMs: e.audioMs };
        }
        return {
          ...e,
          text: heardText(e, playedMs),
          playedMs,
          final: true,
          interrupted: true,
        };
      });
  }
}

/** How far back a server echo of typed text is looked for. */
const TYPED_ECHO_WINDOW_ENTRIES = 4;

function findTypedEcho(state: Transcript, text: string): number {
  const wanted = text.trim();
  for (let i = state.length - 1; i >= Math.max(0, state.length - TYPED_ECHO_WINDOW_ENTRIES); i--) {
    const e = state[i]!;
    if (e.speaker === "learner" && e.typed && e.id.startsWith(TYPED_ID_PREFIX) && e.text.trim() === wanted) return i;
  }
  return -1;
}

/** Local ids of typed lines until the server names them. */
export const TYPED_ID_PREFIX = "typed-";

/** The end of the last whole word at or before `index` (never splits a word). */
export function wordBoundaryBefore(text: string, index: number): number {
  if (index >= text.length) {
    return text.length;
  }
  if (index <= 0) {
    return 0;
  }
  // Inside a word (the next char is not a space): back up to the space before it.
  if (/\S/.test(text[index] ?? "") && /\S/.test(text[index - 1] ?? "")) {
    let i = index;
    while (i > 0 && /\S/.test(text[i - 1] ?? "")) {
      i--;
    }
    index = i;
  }
  return text.slice(0, index).trimEnd().length;
}

/** Speaking rate for an entry, chars per ms of audio. */
function charsPerMs(entry: TranscriptEntry): number {
  if (entry.audioMs <= 0) {
    return TYPICAL_SPEECH_CHARS_PER_MS;
  }
  const measured = entry.text.length / entry.audioMs;
  // While audio is still arriving the text usually runs ahead of it, which would
  // overstate the rate; a typical speaking rate bounds it until the audio is complete.
  return entry.audioDone ? measured : Math.min(measured, TYPICAL_SPEECH_CHARS_PER_MS);
}

/** What of a tutor entry's text had been heard after `playedMs`. */
export function heardText(entry: TranscriptEntry, playedMs: number): string {
  if (entry.synced) {
    return entry.text;
  }
  if (entry.audioDone && playedMs >= entry.audioMs) {
    return entry.text;
  }
  const chars = Math.floor(playedMs * charsPerMs(entry));
  return entry.text.slice(0, wordBoundaryBefore(entry.text, chars));
}

/** The text to show for an entry right now. */
export function visibleText(entry: TranscriptEntry): string {
  if (entry.speaker === "learner" || entry.synced || entry.interrupted) {
    return entry.text;
  }
  // A reply with no audio at all (text-only turn) shows once complete.
  if (entry.audioMs === 0) {
    return entry.final && entry.audioDone ? entry.text : "";
  }
  return heardText(entry, entry.playedMs);
}
