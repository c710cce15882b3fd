// PCM16 conversion and resampling shared by the audio worklets and the tests.
//
// Everything here is allocation-light and free of DOM types so that the same code
// runs inside an AudioWorkletGlobalScope, in the page and under Vitest.

/** The sample rate of every PCM16 frame on the wire (OpenAI Realtime's `audio/pcm`). */
export const WIRE_SAMPLE_RATE_HZ = 24_000;
/** Capture frames are sent every 20 ms: small enough for quick barge-in, large enough to be cheap. */
export const CAPTURE_FRAME_MS = 20;
/** Samples in one capture frame at the wire rate. */
export const CAPTURE_FRAME_SAMPLES = (WIRE_SAMPLE_RATE_HZ * CAPTURE_FRAME_MS) / 1000;

/** Float samples in [-1, 1] to little-endian PCM16 (clamped, rounded to nearest). */
export function floatToPcm16(input: Float32Array): Int16Array {
  const out = new Int16Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const s = Math.max(-1, Math.min(1, input[i] ?? 0));
    out[i] = s < 0 ? Math.round(s * 0x8000) : Math.round(s * 0x7fff);
  }
  return out;
}

/** PCM16 samples to floats in [-1, 1). */
export function pcm16ToFloat(input: Int16Array): Float32Array {
  const out = new Float32Array(input.length);
  for (let i = 0; i < input.length; i++) {
    out[i] = (input[i] ?? 0) / 0x8000;
  }
  return out;
}

/**
 * PCM16 from the bytes of a binary WebSocket frame. The wire is little-endian;
 * every browser we support is too, but read explicitly so it never matters.
 * An odd trailing byte is ignored.
 */
export function bytesToPcm16(bytes: ArrayBuffer): Int16Array {
  const view = new DataView(bytes);
  const out = new Int16Array(Math.floor(bytes.byteLength / 2));
  for (let i = 0; i < out.length; i++) {
    out[i] = view.getInt16(i * 2, true);
  }
  return out;
}

/** Little-endian bytes of PCM16 samples, ready for a binary frame. */
export function pcm16ToBytes(samples: Int16Array): ArrayBuffer {
  const buf = new ArrayBuffer(samples.length * 2);
  const view = new DataView(buf);
  for (let i = 0; i < samples.length; i++) {
    view.setInt16(i * 2, samples[i] ?? 0, true);
  }
  return buf;
}

/** Milliseconds of audio in `samples` samples at `rateHz`. */
export function samplesToMs(samples: number, rateHz: number = WIRE_SAMPLE_RATE_HZ): number {
  return (samples * 1000) / rateHz;
}

/**
 * A streaming resampler for mono audio: a one-pole-pair low-pass (when going down)
 * followed by linear interpolation. It keeps its phase and last sample between
 * calls, so feeding a signal in 128-sample render quanta gives the same output as
 * feeding it whole. Good enough for speech going to a speech model; not hi-fi.
 */
export class StreamingResampler {
  readonly ratio: number;
  private position = 0; // fractional input index of the next output sample, relative to `previous`
  private previous = 0;
  private lowPassState1 = 0;
  private lowPassState2 = 0;
  private readonly lowPassAlpha: number;

  constructor(
    readonly fromRateHz: number,
    readonly toRateHz: number,
  ) {
    if (!(fromRateHz > 0) || !(toRateHz > 0)) {
      throw new RangeError(`sample rates must be positive, got ${fromRateHz} -> ${toRateHz}`);
    }
    this.ratio = fromRateHz / toRateHz;
    // Cut off a little below the new Nyquist frequency when downsampling; pass-through otherwise.
    if (toRateHz < fromRateHz) {
      const cutoffHz = 0.45 * toRateHz;
      const rc = 1 / (2 * Math.PI * cutoffHz);
      const dt = 1 / fromRateHz;
      this.lowPassAlpha = dt / (rc + dt);
    } else {
      this.lowPassAlpha = 1;
    }
  }

  /** Resample one block; the output length varies by at most one between calls. */
  process(input: Float32Array): Float32Array {
    if (this.fromRateHz === this.toRateHz) {
      return input.slice();
    }
    const filtered = new Float32Array(input.length);
    const a = this.lowPassAlpha;
    for (let i = 0; i < input.length; i++) {
      // Two cascaded one-pole stages: a gentle 12 dB/octave roll-off.
      this.lowPassState1 += a * ((input[i] ?? 0) - this.lowPassState1);
      this.lowPassState2 += a * (this.lowPassState1 - this.lowPassState2);
      filtered[i] = this.lowPassState2;
    }
    // Output sample k sits at input index `position` where index 0 is `previous`
    // (the last sample of the previous block) and index j+1 is filtered[j].
    const out: number[] = [];
    let pos = this.position;
    const available = input.length; // indices 0..available are readable
    for (;;) {
      const i0 = Math.floor(pos);
      if (i0 + 1 > available) {
        break;
      }
      const frac = pos - i0;
      const s0 = i0 === 0 ? this.previous : (filtered[i0 - 1] ?? 0);
      const s1 = filtered[i0] ?? 0;
      out.push(s0 + (s1 - s0) * frac);
      pos += this.ratio;
    }
    this.position = pos - available;
    if (input.length > 0) {
      this.previous = filtered[input.length - 1] ?? 0;
    }
    return Float32Array.from(out);
  }
}

/**
 * Collects variable-size blocks into fixed-size frames (e.g. 128-sample render
 * quanta into 480-sample 20 ms frames).
 */
export class FrameAssembler {
  private buffer: Float32Array;
  private filled = 0;

  constructor(readonly frameSamples: number) {
    this.buffer = new Float32Array(frameSamples);
  }

  /** Push samples; returns every frame completed by them (possibly none). */
  push(samples: Float32Array): Float32Array[] {
    const frames: Float32Array[] = [];
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(this.frameSamples - this.filled, samples.length - offset);
      this.buffer.set(samples.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === this.frameSamples) {
        frames.push(this.buffer);
        this.buffer = new Float32Array(this.frameSamples);
        this.filled = 0;
      }
    }
    return frames;
  }
}

/** Root-mean-square level of a block, 0..1, for the visualizer. */
export function rmsLevel(samples: Float32Array | Int16Array): number {
  if (samples.length === 0) {
    return 0;
  }
  const scale = samples instanceof Int16Array ? 1 / 0x8000 : 1;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = (samples[i] ?? 0) * scale;
    sum += s * s;
  }
  return Math.sqrt(sum / samples.length);
}
