// The `livekit` transport: the learner joins a LiveKit room; Lectern's agent
// joins it too. LiveKit's conventions carry the lesson:
// - transcripts of both sides on the `lk.transcription` text-stream topic
//   (`lk.segment_id`, `lk.transcription_final`, `lk.transcribed_track_id`),
//   already in step with playout; interim text of a segment is replaced by
//   later streams of the same segment;
// - the tutor's state in its `lk.agent.state` participant attribute;
// - typed input on the `lk.chat` topic;
// - Lectern's own events (tool cards, progress) as JSON on `lectern.events`,
//   in the same shape as the `ws` protocol.

import type { Participant, RemoteTrack, Room, TextStreamReader } from "livekit-client";
import { microphoneProblem } from "../audio/microphone";
import { ApiError } from "../api/http";
import { getLiveKitDetails } from "../api/sessions";
import { parseAgentState, parseServerEvent } from "./protocol";
import { TYPED_ID_PREFIX } from "./transcript";
import { LessonStartError, type LessonTransport, type UpdateSink } from "./transport";

export const TRANSCRIPTION_TOPIC = "lk.transcription";
export const CHAT_TOPIC = "lk.chat";
export const LECTERN_EVENTS_TOPIC = "lectern.events";
export const AGENT_STATE_ATTRIBUTE = "lk.agent.state";
export const SEGMENT_ID_ATTRIBUTE = "lk.segment_id";
export const FINAL_ATTRIBUTE = "lk.transcription_final";
export const TRANSCRIBED_TRACK_ATTRIBUTE = "lk.transcribed_track_id";

export class LiveKitTransport implements LessonTransport {
  private room: Room | null = null;
  private context: AudioContext | null = null;
  private mic: AnalyserNode | null = null;
  private tutor: AnalyserNode | null = null;
  private audioElements: HTMLMediaElement[] = [];
  private ended = false;

  constructor(
    private readonly subtopicId: string,
    private readonly learnerName: string,
    private readonly emit: UpdateSink,
  ) {}

  get micAnalyser(): AnalyserNode | null {
    return this.mic;
  }
  get tutorAnalyser(): AnalyserNode | null {
    return this.tutor;
  }

  async start(): Promise<void> {
    this.emit({ type: "state", state: "connecting" });
    let details;
    try {
      details = await getLiveKitDetails(this.subtopicId, this.learnerName);
    } catch (e) {
      if (e instanceof ApiError) throw new LessonStartError(e.code, e.message);
      throw e;
    }
    // Loaded only for LiveKit lessons: the embedded default does not pay for it.
    const { Room, RoomEvent, Track } = await import("livekit-client");
    const room = new Room({ adaptiveStream: true, dynacast: true });
    this.room = room;
    this.context = new AudioContext();

    room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, (reader, who) => void this.readTranscription(reader, who.identity));
    room.registerTextStreamHandler(LECTERN_EVENTS_TOPIC, (reader) => void this.readLecternEvents(reader));
    room.on(RoomEvent.ParticipantAttributesChanged, (_changed: Record<string, string>, p: Participant) => this.agentState(p));
    room.on(RoomEvent.ParticipantConnected, (p: Participant) => this.agentState(p));
    room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => {
      if (track.kind !== Track.Kind.Audio) return;
      const el = track.attach();
      el.setAttribute("aria-hidden", "true");
      document.body.appendChild(el);
      this.audioElements.push(el);
      if (this.context) {
        this.tutor = this.context.createAnalyser();
        this.tutor.fftSize = 256;
        this.context.createMediaStreamSource(new MediaStream([track.mediaStreamTrack])).connect(this.tutor);
      }
    });
    room.on(RoomEvent.Disconnected, () => {
      if (!this.ended) {
        this.ended = true;
        this.emit({ type: "error", code: "connection_lost", message: "The lesson room closed. Start the lesson again to continue.", fatal: true });
      }
    });

    try {
      await room.connect(details.serverUrl, details.participantToken);
    } catch {
      throw new LessonStartError("connect_failed", "Could not join the lesson room. Check your connection and start again.");
    }
    try {
      const pub = await room.localParticipant.setMicrophoneEnabled(true, { echoCancellation: true, noiseSuppression: true });
      const track = pub?.track?.mediaStreamTrack;
      if (track && this.context) {
        this.mic = this.context.createAnalyser();
        this.mic.fftSize = 256;
        this.context.createMediaStreamSource(new MediaStream([track])).connect(this.mic);
      }
    } catch (e) {
      await room.disconnect();
      const p = microphoneProblem(e);
      throw new LessonStartError(p.code, p.message);
    }
    for (const p of room.remoteParticipants.values()) this.agentState(p);
  }

  private agentState(p: Participant): void {
    const state = parseAgentState(p.attributes[AGENT_STATE_ATTRIBUTE]);
    if (state) this.emit({ type: "state", state });
  }

  private async readTranscription(reader: TextStreamReader, identity: string): Promise<void> {
    const attrs = reader.info.attributes ?? {};
    const id = attrs[SEGMENT_ID_ATTRIBUTE] ?? reader.info.id;
    const learner = this.isLearnerTranscript(identity, attrs[TRANSCRIBED_TRACK_ATTRIBUTE]);
    let text = "";
    for await (const delta of reader) {
      text += delta;
      this.emit({
        type: "transcript",
        action: learner ? { type: "learner_text", id, text, final: false } : { type: "tutor_synced", id, text, final: false },
      });
    }
    // A stream's trailer may carry the final flag: LiveKit merges it into
    // `info.attributes` (a new object) when the stream closes.
    const final = (reader.info.attributes ?? attrs)[FINAL_ATTRIBUTE] !== "false";
    this.emit({
      type: "transcript",
      action: learner ? { type: "learner_text", id, text, final } : { type: "tutor_synced", id, text, final },
    });
  }

  /**
   * The agent may publish the learner's transcript under the learner's identity
   * or under its own, naming the learner's microphone track.
   */
  private isLearnerTranscript(identity: string, trackSid: string | undefined): boolean {
    const local = this.room?.localParticipant;
    if (!local) return false;
    if (identity === local.identity) return true;
    return trackSid !== undefined && local.trackPublications.has(trackSid);
  }

  private async readLecternEvents(reader: TextStreamReader): Promise<void> {
    const event = parseServerEvent(await reader.readAll());
    if (!event) return;
    if (event.kind === "tool_card") this.emit({ type: "card", callId: event.callId, tool: event.tool, display: event.display });
    else if (event.kind === "progress") this.emit({ type: "progress", objectives: event.objectives });
    else if (event.kind === "subtopic") this.emit({ type: "subtopic", subtopic: event.subtopic });
    else if (event.kind === "ended") {
      this.ended = true;
      this.emit({ type: "ended", reason: event.reason });
      void this.end();
    }
  }

  sendText(text: string): void {
    const trimmed = text.trim();
    if (!trimmed || !this.room) return;
    this.emit({ type: "transcript", action: { type: "learner_text", id: `${TYPED_ID_PREFIX}${Date.now()}`, text: trimmed, final: true, typed: true } });
    void this.room.localParticipant.sendText(trimmed, { topic: CHAT_TOPIC });
  }

  setMuted(muted: boolean): void {
    void this.room?.localParticipant.setMicrophoneEnabled(!muted);
  }

  async end(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      this.emit({ type: "ended", reason: "learner_ended" });
    }
    await this.room?.disconnect();
    for (const el of this.audioElements) el.remove();
    this.audioElements = [];
    await this.context?.close().catch(() => undefined);
  }
}
