// The tutor's voice, queued for playout: a small jitter buffer that knows, for
// every response item, how many milliseconds the learner has actually heard.
//
// It runs inside the playback AudioWorklet (one `pull` per 128-sample render
// quantum) and is plain TypeScript so the tests drive it sample by sample.

/** Audio buffered before playout starts, so network jitter does not cause gaps. */
export const PLAYOUT_PREBUFFER_MS = 80;

interface QueuedChunk {
  itemId: string;
  samples: Float32Array;
  offset: number;
}

/** What the learner heard of one item. */
export interface PlayedPosition {
  itemId: string;
  playedMs: number;
}

export class PlayoutQueue {
  private readonly chunks: QueuedChunk[] = [];
  private bufferedSamples = 0;
  private playing = false;
  private drainRequested = false;
  private readonly playedSamplesByItem = new Map<string, number>();
  private currentItem: string | null = null;
  private readonly prebufferSamples: number;

  /** `rateHz` is the rate of the samples pushed and pulled (the AudioContext's). */
  constructor(
    readonly rateHz: number,
    prebufferMs: number = PLAYOUT_PREBUFFER_MS,
  ) {
    this.prebufferSamples = Math.round((prebufferMs * rateHz) / 1000);
  }

  /** Queue samples of `itemId`. */
  push(itemId: string, samples: Float32Array): void {
    if (samples.length === 0) {
      return;
    }
    this.chunks.push({ itemId, samples, offset: 0 });
    this.bufferedSamples += samples.length;
    if (!this.playedSamplesByItem.has(itemId)) {
      this.playedSamplesByItem.set(itemId, 0);
    }
  }

  /** The server sent the whole response: play what is left even below the prebuffer. */
  drain(): void {
    this.drainRequested = true;
  }

  /** Milliseconds queued and not yet played. */
  get bufferedMs(): number {
    return (this.bufferedSamples * 1000) / this.rateHz;
  }

  /** Whether samples are being played right now. */
  get isPlaying(): boolean {
    return this.playing;
  }

  /** The item being heard, if any. */
  get item(): string | null {
    return this.currentItem;
  }

  /** Fill `out` (silence where nothing is queued); returns the number of real samples written. */
  pull(out: Float32Array): number {
    out.fill(0);
    if (!this.playing) {
      if (this.bufferedSamples === 0) {
        return 0;
      }
      if (this.bufferedSamples < this.prebufferSamples && !this.drainRequested) {
        return 0;
      }
      this.playing = true;
    }
    let written = 0;
    while (written < out.length && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(out.length - written, chunk.samples.length - chunk.offset);
      out.set(chunk.samples.subarray(chunk.offset, chunk.offset + take), written);
      chunk.offset += take;
      written += take;
      this.bufferedSamples -= take;
      this.currentItem = chunk.itemId;
      this.playedSamplesByItem.set(
        chunk.itemId,
        (this.playedSamplesByItem.get(chunk.itemId) ?? 0) + take,
      );
      if (chunk.offset === chunk.samples.length) {
        this.chunks.shift();
      }
    }
    if (this.chunks.length === 0) {
      // Underrun or end of response: wait for a fresh prebuffer before resuming.
      this.playing = false;
      this.drainRequested = false;
    }
    return written;
  }

  /** Milliseconds of `itemId` played so far (0 for an unknown item). */
  playedMs(itemId: string): number {
    return ((this.playedSamplesByItem.get(itemId) ?? 0) * 1000) / this.rateHz;
  }

  /**
   * Stop at once (the learner barged in, or the lesson ended): drop everything
   * queued and say how much of the item being heard was played.
   */
  clear(): PlayedPosition | null {
    const item = this.currentItem ?? this.chunks[0]?.itemId ?? null;
    this.chunks.length = 0;
    this.bufferedSamples = 0;
    this.playing = false;
    this.drainRequested = false;
    if (item === null) {
      return null;
    }
    return { itemId: item, playedMs: this.playedMs(item) };
  }

  /** Forget the counters of items that are finished, so a long lesson does not grow memory. */
  forget(itemId: string): void {
    if (this.currentItem !== itemId && !this.chunks.some((c) => c.itemId === itemId)) {
      this.playedSamplesByItem.delete(itemId);
    }
  }
}
