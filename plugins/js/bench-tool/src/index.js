// bench-tool: one flash-card drill step, written identically in JavaScript
// (here), Python (plugins/python/bench-tool) and Rust, so the benchmark compares
// languages on the same work. Change one, change all three (see README.md).

import { current } from 'lectern:tool/lesson@0.1.0';
import { get, set } from 'lectern:tool/state@0.1.0';
import { recordEvidence } from 'lectern:tool/progress@0.1.0';

const MAX_BOX = 5;
const GAP_BY_BOX = [0, 1, 2, 4, 8, 16];
const STOP_WORDS = new Set(['that', 'this', 'with', 'from', 'they', 'them', 'then', 'than', 'into', 'only', 'have', 'each', 'what', 'when', 'which', 'there', 'their', 'these', 'those']);

function fnv1a(text) {
  let hash = 0x811c9dc5;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** The longest ASCII word of 4+ letters that is not a stop word; the first on a tie. */
function clozeWord(text) {
  let best = null;
  for (const m of text.matchAll(/[A-Za-z]+/g)) {
    const w = m[0];
    if (w.length >= 4 && !STOP_WORDS.has(w.toLowerCase()) && (best === null || w.length > best.length)) best = w;
  }
  return best;
}

function buildCards(keyPoints) {
  return keyPoints.map((text) => {
    const answer = clozeWord(text);
    const front = answer === null ? text : text.replace(answer, '_____');
    return { id: `kp-${fnv1a(text)}`, front, answer };
  });
}

/** Lexicographic comparison of two equal-length number arrays. */
function before(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}

/** Due cards first (lowest box, then most overdue, then lesson order); else the soonest due. */
function pick(deck, cards) {
  let best = null;
  cards.forEach((card, order) => {
    const s = deck.cards[card.id] ?? { box: 1, due: 0 };
    const key = s.due <= deck.clock ? [0, s.box, s.due, order] : [1, s.due, 0, order];
    if (best === null || before(key, best.key)) best = { card, key, box: s.box };
  });
  return best;
}

function toolError(tag, message) {
  const e = new Error(message);
  e.payload = { tag, val: message };
  return e;
}

export function describe() {
  return {
    name: 'bench-tool',
    version: '0.1.0',
    description: 'Benchmark twin: one flash-card drill step (grade the last card, pick the next).',
    tools: [
      {
        name: 'bench_drill',
        description: 'Grade the answer to the last card (if any) and show the next card.',
        parameters: JSON.stringify({ type: 'object', properties: { answer: { type: 'string', maxLength: 200 } }, additionalProperties: false }),
      },
    ],
    capabilities: [],
  };
}

export function invoke(ctx, tool, argumentsJson) {
  if (tool !== 'bench_drill') throw toolError('invalid-arguments', `unknown tool ${tool}`);
  try {
    const args = JSON.parse(argumentsJson);
    const lesson = current();
    const cards = buildCards(lesson.keyPoints);
    if (cards.length === 0) throw toolError('failed', 'the lesson has no key points');
    let deck = { clock: 0, cards: {}, current: null };
    const stored = get('deck');
    if (stored !== undefined) {
      try {
        deck = JSON.parse(stored);
      } catch {
        // unreadable state: start afresh
      }
    }
    let correct = null;
    if (typeof args.answer === 'string' && deck.current !== null) {
      const card = cards.find((c) => c.id === deck.current);
      if (card) {
        correct = card.answer !== null && args.answer.toLowerCase().includes(card.answer.toLowerCase());
        const s = deck.cards[card.id] ?? { box: 1, due: 0 };
        s.box = correct ? Math.min(MAX_BOX, s.box + 1) : 1;
        deck.clock += 1;
        s.due = deck.clock + GAP_BY_BOX[s.box];
        deck.cards[card.id] = s;
        if (lesson.objectives.length > 0) {
          recordEvidence(lesson.objectives[0].id, correct ? 1.0 : 0.0, `card ${card.id}`);
        }
      }
    }
    const next = pick(deck, cards);
    deck.current = next.card.id;
    set('deck', JSON.stringify(deck));
    return {
      content: JSON.stringify({ card_id: next.card.id, prompt: next.card.front, box: next.box, correct }),
      display: { tag: 'question', val: { prompt: next.card.front, choices: [] } },
    };
  } catch (e) {
    if (e?.payload) throw e;
    throw toolError('failed', `internal error: ${e?.message ?? e}`);
  }
}
