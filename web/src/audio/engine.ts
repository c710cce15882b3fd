// The browser side of lesson audio for the `ws` transport: one AudioContext,
// the capture and playback worklets, and analysers for the visualizer.

import captureUrl from "./capture.worklet.ts?worker&url";
import playbackUrl from "./playback.worklet.ts?worker&url";
import type { PlayedPosition } from "./playout";

export interface AudioEngineEvents {
  /** A 20 ms PCM16 frame at 24 kHz, little-endian bytes. */
  onFrame(bytes: ArrayBuffer): void;
  /** Playout progress of an item. */
  onPlayed(itemId: string, playedMs: number): void;
  /** Playout ran out of audio. */
  onIdle(): void;
}

export class AudioEngine {
  readonly micAnalyser: AnalyserNode;
  readonly tutorAnalyser: AnalyserNode;
  private clearRequests = new Map<number, (heard: PlayedPosition | null) => void>();
  private nextRequestId = 1;

  private constructor(
    private readonly context: AudioContext,
    private readonly stream: MediaStream,
    private readonly capture: AudioWorkletNode,
    private readonly playback: AudioWorkletNode,
    events: AudioEngineEvents,
  ) {
    const source = context.createMediaStreamSource(stream);
    this.micAnalyser = context.createAnalyser();
    this.micAnalyser.fftSize = 256;
    this.tutorAnalyser = context.createAnalyser();
    this.tutorAnalyser.fftSize = 256;
    source.connect(capture);
    source.connect(this.micAnalyser);
    // The capture node must reach the destination to be pulled; it outputs silence.
    const sink = context.createGain();
    sink.gain.value = 0;
    capture.connect(sink).connect(context.destination);
    playback.connect(this.tutorAnalyser);
    playback.connect(context.destination);

    capture.port.onmessage = (e: MessageEvent<ArrayBuffer>) => events.onFrame(e.data);
    playback.port.onmessage = (e: MessageEvent<{ type: string; itemId?: string; playedMs?: number; requestId?: number; heard?: PlayedPosition | null }>) => {
      const m = e.data;
      if (m.type === "played" && m.itemId !== undefined) events.onPlayed(m.itemId, m.playedMs ?? 0);
      else if (m.type === "idle") events.onIdle();
      else if (m.type === "cleared" && m.requestId !== undefined) {
        this.clearRequests.get(m.requestId)?.(m.heard ?? null);
        this.clearRequests.delete(m.requestId);
      }
    };
  }

  /** Build the graph on an already-open microphone stream. */
  static async create(stream: MediaStream, events: AudioEngineEvents): Promise<AudioEngine> {
    const context = new AudioContext({ latencyHint: "interactive" });
    await Promise.all([context.audioWorklet.addModule(captureUrl), context.audioWorklet.addModule(playbackUrl)]);
    const capture = new AudioWorkletNode(context, "lectern-capture", { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1 });
    const playback = new AudioWorkletNode(context, "lectern-playback", { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] });
    if (context.state === "suspended") await context.resume();
    return new AudioEngine(context, stream, capture, playback, events);
  }

  /** Queue tutor audio (PCM16, 24 kHz) of `itemId`. */
  play(itemId: string, samples: Int16Array): void {
    this.playback.port.postMessage({ type: "audio", itemId, samples }, [samples.buffer]);
  }

  /** The item's audio is complete: play the tail even below the prebuffer. */
  drain(): void {
    this.playback.port.postMessage({ type: "drain" });
  }

  /** Stop playout now; resolves with what was heard of the item playing. */
  clear(): Promise<PlayedPosition | null> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve) => {
      this.clearRequests.set(requestId, resolve);
      this.playback.port.postMessage({ type: "clear", requestId });
    });
  }

  setMuted(muted: boolean): void {
    this.capture.port.postMessage({ type: "mute", muted });
    for (const track of this.stream.getAudioTracks()) track.enabled = !muted;
  }

  async close(): Promise<void> {
    for (const track of this.stream.getTracks()) track.stop();
    this.capture.disconnect();
    this.playback.disconnect();
    await this.context.close().catch(() => undefined);
  }
}
