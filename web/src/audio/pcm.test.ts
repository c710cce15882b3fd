import { describe, expect, it } from "vitest";
import {
  bytesToPcm16,
  CAPTURE_FRAME_SAMPLES,
  floatToPcm16,
  FrameAssembler,
  pcm16ToBytes,
  pcm16ToFloat,
  rmsLevel,
  samplesToMs,
  StreamingResampler,
} from "./pcm";

function sine(freqHz: number, rateHz: number, samples: number): Float32Array {
  const out = new Float32Array(samples);
  for (let i = 0; i < samples; i++) out[i] = 0.5 * Math.sin((2 * Math.PI * freqHz * i) / rateHz);
  return out;
}

describe("PCM16 conversion", () => {
  it("clamps and scales floats to the int16 range", () => {
    const out = floatToPcm16(Float32Array.from([0, 1, -1, 2, -2, 0.5]));
    expect(Array.from(out)).toEqual([0, 32767, -32768, 32767, -32768, 16384]);
  });

  it("round-trips through little-endian bytes", () => {
    const samples = Int16Array.from([0, 1, -1, 32767, -32768, 258]);
    const bytes = pcm16ToBytes(samples);
    expect(new Uint8Array(bytes).slice(10, 12)).toEqual(Uint8Array.from([0x02, 0x01]));
    expect(Array.from(bytesToPcm16(bytes))).toEqual(Array.from(samples));
  });

  it("ignores an odd trailing byte", () => {
    expect(bytesToPcm16(new Uint8Array([1, 0, 7]).buffer).length).toBe(1);
  });

  it("converts int16 back to floats within one step", () => {
    const f = pcm16ToFloat(floatToPcm16(Float32Array.from([0.25, -0.75])));
    expect(f[0]).toBeCloseTo(0.25, 3);
    expect(f[1]).toBeCloseTo(-0.75, 3);
  });

  it("measures 20 ms frames at 24 kHz as 480 samples", () => {
    expect(CAPTURE_FRAME_SAMPLES).toBe(480);
    expect(samplesToMs(480)).toBe(20);
  });
});

describe("StreamingResampler", () => {
  it("downsamples 48 kHz to 24 kHz with the right length", () => {
    const r = new StreamingResampler(48_000, 24_000);
    let total = 0;
    for (let i = 0; i < 375; i++) total += r.process(new Float32Array(128)).length; // 1 s in render quanta
    expect(Math.abs(total - 24_000)).toBeLessThanOrEqual(1);
  });

  it("handles a non-integer ratio (44.1 kHz) without drift", () => {
    const r = new StreamingResampler(44_100, 24_000);
    let total = 0;
    for (let i = 0; i < 44_100 / 147; i++) total += r.process(new Float32Array(147)).length;
    expect(Math.abs(total - 24_000)).toBeLessThanOrEqual(1);
  });

  it("gives the same output in blocks as in one piece", () => {
    const input = sine(440, 48_000, 4800);
    const whole = new StreamingResampler(48_000, 24_000).process(input);
    const r = new StreamingResampler(48_000, 24_000);
    const parts: number[] = [];
    for (let i = 0; i < input.length; i += 128) parts.push(...r.process(input.subarray(i, i + 128)));
    expect(parts.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i++) expect(parts[i]).toBeCloseTo(whole[i]!, 6);
  });

  it("keeps speech-band tones and attenuates what would alias", () => {
    const keep = new StreamingResampler(48_000, 24_000).process(sine(440, 48_000, 48_000));
    const alias = new StreamingResampler(48_000, 24_000).process(sine(20_000, 48_000, 48_000));
    const keptLevel = rmsLevel(keep.subarray(2400));
    const aliasLevel = rmsLevel(alias.subarray(2400));
    expect(keptLevel).toBeGreaterThan(0.3); // 0.5 amplitude sine has rms 0.354
    expect(aliasLevel).toBeLessThan(keptLevel / 4);
  });

  it("upsamples 24 kHz to 48 kHz", () => {
    const out = new StreamingResampler(24_000, 48_000).process(new Float32Array(480).fill(0.5));
    expect(Math.abs(out.length - 960)).toBeLessThanOrEqual(1);
    expect(out[out.length - 1]).toBeCloseTo(0.5, 6);
  });

  it("rejects a zero rate", () => {
    expect(() => new StreamingResampler(0, 24_000)).toThrow(RangeError);
  });
});

describe("FrameAssembler", () => {
  it("turns render quanta into 480-sample frames, keeping the remainder", () => {
    const a = new FrameAssembler(480);
    let frames = 0;
    for (let i = 0; i < 15; i++) frames += a.push(new Float32Array(128).fill(i)).length; // 1920 samples
    expect(frames).toBe(4);
    const next = a.push(new Float32Array(480));
    expect(next.length).toBe(1);
  });

  it("preserves sample order across frames", () => {
    const a = new FrameAssembler(4);
    const frames = a.push(Float32Array.from([1, 2, 3, 4, 5, 6]));
    frames.push(...a.push(Float32Array.from([7, 8])));
    expect(frames.map((f) => Array.from(f))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });
});
