// The `ws` transport: the browser talks straight to Lectern over one WebSocket.
// Binary frames are PCM16 mono 24 kHz audio both ways; text frames are JSON
// events (see `protocol.ts`).

import { AudioEngine } from "../audio/engine";
import { microphoneProblem, openMicrophone } from "../audio/microphone";
import { bytesToPcm16, samplesToMs } from "../audio/pcm";
import { ApiError } from "../api/http";
import { startWsSession } from "../api/sessions";
import { encodeClientEvent, parseServerEvent, type ClientEvent, type LessonEvent } from "./protocol";
import { TYPED_ID_PREFIX } from "./transcript";
import { LessonStartError, type LessonTransport, type UpdateSink } from "./transport";

/** Playout positions go to the server at most this often while the tutor speaks. */
const PLAYOUT_REPORT_INTERVAL_MS = 200;
/** How long to wait for the socket to open before telling the learner. */
const CONNECT_TIMEOUT_MS = 10_000;

export class WsTransport implements LessonTransport {
  private socket: WebSocket | null = null;
  private engine: AudioEngine | null = null;
  private audioItem = "tutor";
  private lastReportAt = 0;
  private muted = false;
  private ended = false;
  private localTextCounter = 0;
  /** Until the server reports the tutor's state itself, it is inferred from the audio and transcripts. */
  private serverReportsState = false;

  constructor(
    private readonly subtopicId: string,
    private readonly learnerName: string,
    private readonly emit: UpdateSink,
  ) {}

  get micAnalyser(): AnalyserNode | null {
    return this.engine?.micAnalyser ?? null;
  }
  get tutorAnalyser(): AnalyserNode | null {
    return this.engine?.tutorAnalyser ?? null;
  }

  async start(): Promise<void> {
    this.emit({ type: "state", state: "connecting" });
    let stream: MediaStream;
    try {
      stream = await openMicrophone();
    } catch (e) {
      const p = microphoneProblem(e);
      throw new LessonStartError(p.code, p.message);
    }
    let session;
    try {
      session = await startWsSession(this.subtopicId, this.learnerName);
    } catch (e) {
      for (const t of stream.getTracks()) t.stop();
      if (e instanceof ApiError) throw new LessonStartError(e.code, e.message);
      throw e;
    }
    this.engine = await AudioEngine.create(stream, {
      onFrame: (bytes) => {
        if (!this.muted && this.socket?.readyState === WebSocket.OPEN) this.socket.send(bytes);
      },
      onPlayed: (itemId, playedMs) => {
        this.emit({ type: "transcript", action: { type: "played", id: itemId, playedMs } });
        const now = performance.now();
        if (now - this.lastReportAt >= PLAYOUT_REPORT_INTERVAL_MS) {
          this.lastReportAt = now;
          this.send({ kind: "playout", itemId, playedMs });
        }
      },
      onIdle: () => this.inferState("listening"),
    });
    await this.connect(session.url);
  }

  private connect(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      const timer = window.setTimeout(() => {
        socket.close();
        reject(new LessonStartError("connect_timeout", "The lesson server did not answer. Check your connection and start again."));
      }, CONNECT_TIMEOUT_MS);
      socket.onopen = () => {
        window.clearTimeout(timer);
        resolve();
      };
      socket.onerror = () => {
        window.clearTimeout(timer);
        reject(new LessonStartError("connect_failed", "Could not connect to the lesson. The session may have expired: start again."));
      };
      socket.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
        if (typeof e.data === "string") {
          const event = parseServerEvent(e.data);
          if (event) void this.handle(event);
        } else {
          this.handleAudio(e.data);
        }
      };
      socket.onclose = (e) => {
        window.clearTimeout(timer);
        if (!this.ended) {
          this.ended = true;
          this.emit(
            e.code === 1000
              ? { type: "ended", reason: e.reason || "ended" }
              : { type: "error", code: "connection_lost", message: "The connection to the lesson was lost. Start the lesson again to continue.", fatal: true },
          );
          void this.engine?.close();
        }
      };
    });
  }

  private inferState(state: "listening" | "thinking" | "speaking"): void {
    if (!this.serverReportsState && !this.ended) this.emit({ type: "state", state });
  }

  private handleAudio(bytes: ArrayBuffer): void {
    this.inferState("speaking");
    const samples = bytesToPcm16(bytes);
    this.emit({ type: "transcript", action: { type: "tutor_audio", id: this.audioItem, ms: samplesToMs(samples.length) } });
    this.engine?.play(this.audioItem, samples);
  }

  private async handle(event: LessonEvent): Promise<void> {
    switch (event.kind) {
      case "ready":
        if (event.subtopic) this.emit({ type: "subtopic", subtopic: event.subtopic });
        this.emit({ type: "state", state: "listening" });
        break;
      case "state":
        this.serverReportsState = true;
        this.emit({ type: "state", state: event.state });
        break;
      case "learner_transcript":
        if (event.final) this.inferState("thinking");
        this.emit({ type: "transcript", action: { type: "learner_text", id: event.itemId, text: event.text, final: event.final } });
        break;
      case "tutor_delta":
        this.emit({ type: "transcript", action: { type: "tutor_delta", id: event.itemId, delta: event.delta } });
        break;
      case "tutor_text_done":
        this.emit({ type: "transcript", action: { type: "tutor_text_done", id: event.itemId, text: event.text ?? undefined } });
        break;
      case "audio_start":
        this.audioItem = event.itemId;
        break;
      case "audio_done":
        this.engine?.drain();
        this.emit({ type: "transcript", action: { type: "tutor_audio_done", id: event.itemId || this.audioItem } });
        break;
      case "interrupt": {
        // The learner spoke over the tutor: silence at once, then say how much was heard.
        const heard = (await this.engine?.clear()) ?? null;
        // Always answer, even when nothing of the item was played: the server waits for it.
        const itemId = event.itemId ?? heard?.itemId ?? this.audioItem;
        const playedMs = heard && heard.itemId === itemId ? heard.playedMs : 0;
        this.emit({ type: "transcript", action: { type: "interrupted", id: itemId, playedMs } });
        this.send({ kind: "playout", itemId, playedMs });
        this.inferState("listening");
        break;
      }
      case "truncated":
        this.emit({ type: "transcript", action: { type: "interrupted", id: event.itemId, playedMs: event.audioEndMs } });
        break;
      case "tool_card":
        this.emit({ type: "card", callId: event.callId, tool: event.tool, display: event.display });
        break;
      case "tool_result":
        break;
      case "progress":
        this.emit({ type: "progress", objectives: event.objectives });
        break;
      case "subtopic":
        this.emit({ type: "subtopic", subtopic: event.subtopic });
        break;
      case "ended":
        this.ended = true;
        this.emit({ type: "ended", reason: event.reason });
        await this.shutdown();
        break;
      case "error":
        this.emit({ type: "error", code: event.code, message: event.message, fatal: false });
        break;
    }
  }

  private send(event: ClientEvent): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(encodeClientEvent(event));
  }

  sendText(text: string): void {
    const trimmed = text.trim();
    if (!trimmed) return;
    // Shown at once; the server's transcript of it (if it echoes one) has its own id.
    this.localTextCounter += 1;
    this.emit({ type: "transcript", action: { type: "learner_text", id: `${TYPED_ID_PREFIX}${this.localTextCounter}`, text: trimmed, final: true, typed: true } });
    this.send({ kind: "text", text: trimmed });
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    this.engine?.setMuted(muted);
    this.send({ kind: "mute", muted });
  }

  private async shutdown(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "learner ended the lesson");
    await this.engine?.close();
  }

  async end(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      this.send({ kind: "end" });
      this.emit({ type: "ended", reason: "learner_ended" });
    }
    await this.shutdown();
  }
}
