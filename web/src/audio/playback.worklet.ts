// The tutor's voice in the audio thread: 24 kHz PCM16 in, resampled to the
// context's rate, played through the jitter buffer; reports how much of each
// item was heard so the page can align the transcript and the server can
// truncate exactly.

import { pcm16ToFloat, StreamingResampler, WIRE_SAMPLE_RATE_HZ } from "./pcm";
import { PlayoutQueue } from "./playout";

/** How often the page hears about playout progress. */
const REPORT_EVERY_MS = 100;

type Message =
  | { type: "audio"; itemId: string; samples: Int16Array }
  | { type: "drain" }
  | { type: "clear"; requestId: number };

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly queue = new PlayoutQueue(sampleRate);
  private resampler = new StreamingResampler(WIRE_SAMPLE_RATE_HZ, sampleRate);
  private resamplerItem: string | null = null;
  private sinceReportSamples = 0;
  private wasPlaying = false;

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent<Message>) => {
      const m = e.data;
      if (m.type === "audio") {
        if (this.resamplerItem !== m.itemId) {
          // A new item starts from silence: do not smear the last one into it.
          this.resampler = new StreamingResampler(WIRE_SAMPLE_RATE_HZ, sampleRate);
          this.resamplerItem = m.itemId;
        }
        this.queue.push(m.itemId, this.resampler.process(pcm16ToFloat(m.samples)));
      } else if (m.type === "drain") {
        this.queue.drain();
      } else if (m.type === "clear") {
        const heard = this.queue.clear();
        this.port.postMessage({ type: "cleared", requestId: m.requestId, heard });
        this.wasPlaying = false;
      }
    };
  }

  private report(): void {
    const item = this.queue.item;
    if (item !== null) {
      this.port.postMessage({ type: "played", itemId: item, playedMs: this.queue.playedMs(item) });
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]?.[0];
    if (!out) return true;
    const written = this.queue.pull(out);
    for (let c = 1; c < (outputs[0]?.length ?? 0); c++) outputs[0]![c]!.set(out);
    this.sinceReportSamples += written;
    if (this.sinceReportSamples >= (REPORT_EVERY_MS * sampleRate) / 1000) {
      this.sinceReportSamples = 0;
      this.report();
    }
    const playing = this.queue.isPlaying || written > 0;
    if (this.wasPlaying && !playing) {
      this.report();
      this.port.postMessage({ type: "idle" });
    }
    this.wasPlaying = playing;
    return true;
  }
}

registerProcessor("lectern-playback", PlaybackProcessor);
