import { describe, expect, it } from "vitest";
import { transcriptReducer, visibleText, wordBoundaryBefore, type Transcript, type TranscriptAction } from "./transcript";

function run(actions: TranscriptAction[]): Transcript {
  return actions.reduce(transcriptReducer, [] as Transcript);
}

const SENTENCE = "Photosynthesis turns light into chemical energy stored in sugar.";

describe("transcript alignment", () => {
  it("shows the learner's words as they arrive", () => {
    const t = run([
      { type: "learner_text", id: "u1", text: "What is", final: false },
      { type: "learner_text", id: "u1", text: "What is a leaf for?", final: true },
    ]);
    expect(t).toHaveLength(1);
    expect(visibleText(t[0]!)).toBe("What is a leaf for?");
    expect(t[0]!.final).toBe(true);
  });

  it("holds tutor text back until it is played", () => {
    const t = run([
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_audio", id: "a1", ms: 4000 },
      { type: "tutor_audio_done", id: "a1" },
    ]);
    expect(visibleText(t[0]!)).toBe("");
  });

  it("reveals tutor text in step with playout, whole words only", () => {
    const base: TranscriptAction[] = [
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_text_done", id: "a1" },
      { type: "tutor_audio", id: "a1", ms: 4000 },
      { type: "tutor_audio_done", id: "a1" },
    ];
    const half = run([...base, { type: "played", id: "a1", playedMs: 2000 }]);
    const shown = visibleText(half[0]!);
    expect(SENTENCE.startsWith(shown)).toBe(true);
    expect(shown.length).toBeGreaterThan(SENTENCE.length * 0.35);
    expect(shown.length).toBeLessThanOrEqual(SENTENCE.length * 0.5);
    expect(SENTENCE[shown.length] === " " || shown.length === SENTENCE.length).toBe(true);
    const all = run([...base, { type: "played", id: "a1", playedMs: 4000 }]);
    expect(visibleText(all[0]!)).toBe(SENTENCE);
  });

  it("cuts interrupted text where playout stopped and ignores what comes after", () => {
    const t = run([
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_audio", id: "a1", ms: 4000 },
      { type: "tutor_audio_done", id: "a1" },
      { type: "played", id: "a1", playedMs: 1000 },
      { type: "interrupted", id: "a1", playedMs: 1000 },
      { type: "tutor_delta", id: "a1", delta: " more words" },
      { type: "played", id: "a1", playedMs: 3000 },
    ]);
    const e = t[0]!;
    expect(e.interrupted).toBe(true);
    expect(e.playedMs).toBe(1000);
    // 1 s of 4 s: about a quarter of the sentence, ending on a word.
    expect(e.text).toBe("Photosynthesis");
    expect(visibleText(e)).toBe("Photosynthesis");
  });

  it("uses a typical speaking rate while audio is still arriving", () => {
    // The whole text arrived with only 500 ms of audio: the measured rate would
    // show far too much; the typical rate (16 chars/s) bounds it.
    const t = run([
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_audio", id: "a1", ms: 500 },
      { type: "interrupted", id: "a1", playedMs: 500 },
    ]);
    // 500 ms at 16 chars/s is 8 chars: "Photosynthesis" is not finished, nothing was heard whole.
    expect(t[0]!.text).toBe("");
    const longer = run([
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_audio", id: "a1", ms: 1500 },
      { type: "interrupted", id: "a1", playedMs: 1500 },
    ]);
    // 1.5 s is 24 chars: "Photosynthesis turns lig" -> the whole words before it.
    expect(longer[0]!.text).toBe("Photosynthesis turns");
  });

  it("a clear after everything was heard cuts nothing", () => {
    const t = run([
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_text_done", id: "a1" },
      { type: "tutor_audio", id: "a1", ms: 3000 },
      { type: "tutor_audio_done", id: "a1" },
      { type: "played", id: "a1", playedMs: 3000 },
      { type: "interrupted", id: "a1", playedMs: 3000 },
    ]);
    expect(t[0]!).toMatchObject({ interrupted: false, final: true, text: SENTENCE, playedMs: 3000 });
    expect(visibleText(t[0]!)).toBe(SENTENCE);
    // One millisecond short of the end while audio is still arriving is a real cut.
    const cut = run([
      { type: "tutor_delta", id: "a1", delta: SENTENCE },
      { type: "tutor_audio", id: "a1", ms: 3000 },
      { type: "interrupted", id: "a1", playedMs: 3000 },
    ]);
    expect(cut[0]!.interrupted).toBe(true);
  });

  it("clamps the cut to the audio received and never below zero", () => {
    const t = run([
      { type: "tutor_delta", id: "a1", delta: "Hello there" },
      { type: "tutor_audio", id: "a1", ms: 800 },
      { type: "tutor_audio_done", id: "a1" },
      { type: "interrupted", id: "a1", playedMs: 5000 },
    ]);
    expect(t[0]!.playedMs).toBe(800);
    expect(t[0]!.text).toBe("Hello there");
    const none = run([
      { type: "tutor_delta", id: "a2", delta: "Hello there" },
      { type: "tutor_audio", id: "a2", ms: 800 },
      { type: "interrupted", id: "a2", playedMs: -3 },
    ]);
    expect(none[0]!.playedMs).toBe(0);
    expect(none[0]!.text).toBe("");
  });

  it("shows a synced transcript (LiveKit) as it comes", () => {
    const t = run([{ type: "tutor_synced", id: "s1", text: "Hi, I am your tutor.", final: false }]);
    expect(visibleText(t[0]!)).toBe("Hi, I am your tutor.");
  });

  it("shows a reply without audio once complete", () => {
    const t = run([
      { type: "tutor_delta", id: "a1", delta: "Text only." },
      { type: "tutor_text_done", id: "a1" },
    ]);
    expect(visibleText(t[0]!)).toBe("");
    expect(visibleText(transcriptReducer(t, { type: "tutor_audio_done", id: "a1" })[0]!)).toBe("Text only.");
  });

  it("keeps entries in arrival order", () => {
    const t = run([
      { type: "learner_text", id: "u1", text: "hi", final: true },
      { type: "tutor_delta", id: "a1", delta: "Hello" },
      { type: "learner_text", id: "u2", text: "again", final: true },
      { type: "tutor_delta", id: "a1", delta: "!" },
    ]);
    expect(t.map((e) => e.id)).toEqual(["u1", "a1", "u2"]);
    expect(t[1]!.text).toBe("Hello!");
  });
});

describe("typed input", () => {
  it("adopts the server's echo of a typed line instead of showing it twice", () => {
    const t = run([
      { type: "learner_text", id: "typed-1", text: "Light and water", final: true, typed: true },
      { type: "tutor_delta", id: "a1", delta: "Right" },
      { type: "learner_text", id: "item_9", text: "Light and water", final: true },
    ]);
    expect(t.map((e) => e.id)).toEqual(["item_9", "a1"]);
    expect(t[0]!.typed).toBe(true);
  });

  it("keeps a spoken line that merely repeats typed words later on", () => {
    const t = run([
      { type: "learner_text", id: "typed-1", text: "yes", final: true, typed: true },
      { type: "learner_text", id: "item_1", text: "yes", final: true },
      { type: "learner_text", id: "item_2", text: "yes", final: true },
    ]);
    expect(t.map((e) => e.id)).toEqual(["item_1", "item_2"]);
  });
});

describe("wordBoundaryBefore", () => {
  it("never splits a word", () => {
    expect(wordBoundaryBefore("one two three", 5)).toBe(3);
    expect(wordBoundaryBefore("one two three", 4)).toBe(3);
    expect(wordBoundaryBefore("one two three", 7)).toBe(7);
    expect(wordBoundaryBefore("one two three", 99)).toBe(13);
    expect(wordBoundaryBefore("one", 2)).toBe(0);
  });
});
