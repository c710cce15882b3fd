import { describe, expect, it } from "vitest";
import { PlayoutQueue } from "./playout";

const RATE = 48_000;
const QUANTUM = 128;

function ms(n: number): Float32Array {
  return new Float32Array((n * RATE) / 1000).fill(0.25);
}

function pullMs(q: PlayoutQueue, n: number): number {
  const out = new Float32Array(QUANTUM);
  let real = 0;
  for (let i = 0; i < (n * RATE) / 1000 / QUANTUM; i++) real += q.pull(out);
  return real;
}

describe("PlayoutQueue", () => {
  it("waits for the prebuffer before playing", () => {
    const q = new PlayoutQueue(RATE, 80);
    q.push("a", ms(40));
    expect(pullMs(q, 40)).toBe(0);
    expect(q.playedMs("a")).toBe(0);
    q.push("a", ms(60));
    expect(q.bufferedMs).toBe(100);
    pullMs(q, 40);
    expect(q.isPlaying).toBe(true);
    expect(q.playedMs("a")).toBeCloseTo(40, 0);
  });

  it("plays a short response once drained", () => {
    const q = new PlayoutQueue(RATE, 80);
    q.push("a", ms(20));
    q.drain();
    pullMs(q, 40);
    expect(q.playedMs("a")).toBe(20);
    expect(q.isPlaying).toBe(false);
  });

  it("tracks played time per item in order", () => {
    const q = new PlayoutQueue(RATE, 0);
    q.push("a", ms(30));
    q.push("b", ms(30));
    pullMs(q, 40);
    expect(q.playedMs("a")).toBe(30);
    expect(q.playedMs("b")).toBeCloseTo(10, 0);
    expect(q.item).toBe("b");
  });

  it("stops at once on clear and reports what was heard", () => {
    const q = new PlayoutQueue(RATE, 0);
    q.push("a", ms(1000));
    pullMs(q, 320);
    const heard = q.clear();
    expect(heard?.itemId).toBe("a");
    expect(heard?.playedMs).toBeCloseTo(320, 0);
    expect(q.bufferedMs).toBe(0);
    const out = new Float32Array(QUANTUM);
    expect(q.pull(out)).toBe(0);
    expect(out.every((s) => s === 0)).toBe(true);
  });

  it("reports zero heard when cleared before playout started", () => {
    const q = new PlayoutQueue(RATE, 80);
    q.push("a", ms(40));
    expect(q.clear()).toEqual({ itemId: "a", playedMs: 0 });
    expect(new PlayoutQueue(RATE).clear()).toBeNull();
  });

  it("rebuffers after an underrun", () => {
    const q = new PlayoutQueue(RATE, 80);
    q.push("a", ms(100));
    pullMs(q, 120);
    expect(q.isPlaying).toBe(false);
    q.push("a", ms(40));
    expect(pullMs(q, 40)).toBe(0);
  });
});
