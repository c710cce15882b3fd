// Microphone capture in the audio thread: resample the context's rate to
// 24 kHz, cut 20 ms frames, convert to PCM16 and hand the bytes to the page.

import { CAPTURE_FRAME_SAMPLES, FrameAssembler, floatToPcm16, pcm16ToBytes, StreamingResampler, WIRE_SAMPLE_RATE_HZ } from "./pcm";

class CaptureProcessor extends AudioWorkletProcessor {
  private readonly resampler = new StreamingResampler(sampleRate, WIRE_SAMPLE_RATE_HZ);
  private readonly frames = new FrameAssembler(CAPTURE_FRAME_SAMPLES);
  private muted = false;

  constructor() {
    super();
    this.port.onmessage = (e: MessageEvent<{ type: string; muted?: boolean }>) => {
      if (e.data.type === "mute") this.muted = e.data.muted === true;
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (!channel || this.muted) return true;
    for (const frame of this.frames.push(this.resampler.process(channel))) {
      const bytes = pcm16ToBytes(floatToPcm16(frame));
      this.port.postMessage(bytes, [bytes]);
    }
    return true;
  }
}

registerProcessor("lectern-capture", CaptureProcessor);
