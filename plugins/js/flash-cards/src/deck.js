// Flash cards built from a lesson, scheduled with Leitner boxes.
//
// This module is pure: it never touches the host. index.js reads the lesson and
// the state through the lectern:tool imports and hands plain objects in here, so
// the whole drill can be unit-tested with `node --test` without WebAssembly.

/** Highest Leitner box; a card there is considered learned. */
export const MAX_BOX = 5;

/**
 * Reviews to wait before a card in box N comes back: box 1 returns after the
 * next review, each box after that doubles the gap (spacing is what makes
 * recall stick; doubling keeps a short lesson's deck cycling).
 */
export const REVIEW_GAP_BY_BOX = [0, 1, 2, 4, 8, 16];

/** Cards built per source kind at most, so a long lesson cannot bloat the state. */
export const MAX_CARDS_PER_KIND = 20;

/** Kinds of card, in the order a fresh deck introduces them. */
export const CARD_KINDS = ['key_points', 'objectives', 'examples'];

/** Self-grades the model may pass, from worst to best. */
export const SELF_GRADES = ['again', 'hard', 'good', 'easy'];

/** Mastery evidence recorded for each grade (progress.record-evidence score). */
const EVIDENCE_SCORE = { again: 0.0, hard: 0.5, good: 0.8, easy: 1.0 };

/** Version of the state layout below, kept in the state so a later release can migrate it. */
export const DECK_FORMAT = 1;

const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could do does for from has have how in into is it its ' +
    'may more most must not of on one or our over same so some such than that the their them then ' +
    'there these they this those to two use used uses using was were what when where which while ' +
    'who why will with without you your each every other only also very much many just like about ' +
    'after before both between because should would'
  ).split(' '),
);

/** An error the model should read: the arguments did not make sense. */
export class InvalidArguments extends Error {}
/** An error the model should read: the tool could not do its work. */
export class ToolFailed extends Error {}

/** FNV-1a (32 bit): a short, stable card id from the card's source text. */
export function stableHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

function words(text) {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

function contentWords(text) {
  return new Set(words(text).filter((w) => w.length > 2 && !STOP_WORDS.has(w)).map(stem));
}

/** Words that share their first six letters count as one (denominator/denominators). */
function stem(word) {
  return word.toLowerCase().slice(0, 6);
}

/**
 * The word of a key point worth blanking out: the longest word that is not a
 * stop word (ties go to the earliest), so the learner recalls the term that
 * carries the meaning. Words whose stem is in `avoid` (answers of earlier cards)
 * are passed over while another candidate exists, so a deck does not ask for
 * the same term again and again. Returns null when no word qualifies.
 */
export function clozeWord(text, avoid = new Set()) {
  let best = null;
  let fallback = null;
  for (const match of text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu)) {
    const word = match[0];
    if (word.length < 4 || STOP_WORDS.has(word.toLowerCase())) continue;
    const candidate = { word, index: match.index };
    if (fallback === null || word.length > fallback.word.length) fallback = candidate;
    if (avoid.has(stem(word))) continue;
    if (best === null || word.length > best.word.length) best = candidate;
  }
  return best ?? fallback;
}

/** The last number or fraction in a worked solution, e.g. `3/4` or `-2.5`. */
export function finalAnswer(solution) {
  const numbers = solution.match(/-?\d+(?:\s*\/\s*\d+|\.\d+)?/g);
  if (!numbers) return null;
  return numbers[numbers.length - 1].replace(/\s+/g, '');
}

/**
 * The objective whose words overlap the text most, each shared word weighted by
 * how rare it is among the objectives (a word every objective uses says
 * nothing). The first objective wins a tie or when nothing overlaps.
 */
function closestObjective(text, objectives) {
  if (objectives.length === 0) return null;
  const mine = contentWords(text);
  const vocab = objectives.map((o) => contentWords(o.text));
  const spread = new Map();
  for (const set of vocab) for (const w of set) spread.set(w, (spread.get(w) ?? 0) + 1);
  let best = 0;
  let bestScore = 0;
  vocab.forEach((set, i) => {
    let score = 0;
    for (const w of set) if (mine.has(w)) score += 1 / spread.get(w);
    if (score > bestScore + 1e-9) {
      best = i;
      bestScore = score;
    }
  });
  return objectives[best].id;
}

function relatedKeyPoints(text, keyPoints, count) {
  const mine = contentWords(text);
  return keyPoints
    .map((point, order) => {
      let score = 0;
      for (const w of contentWords(point)) if (mine.has(w)) score++;
      return { point, score, order };
    })
    .filter((p) => p.score > 0)
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .slice(0, count)
    .map((p) => p.point);
}

/**
 * Build the deck for a subtopic. Cards are recomputed from the lesson on every
 * call (the lesson is the source of truth); only their schedule lives in state,
 * keyed by ids derived from the card's text, so editing one key point resets
 * only that card.
 *
 * @param subtopic the lesson as `lesson.current()` returns it (camelCase fields)
 * @param kinds which of CARD_KINDS to build
 */
export function buildCards(subtopic, kinds = CARD_KINDS) {
  const cards = [];
  const objectives = subtopic.objectives ?? [];
  if (kinds.includes('key_points')) {
    const asked = new Set();
    for (const point of (subtopic.keyPoints ?? []).slice(0, MAX_CARDS_PER_KIND)) {
      const text = point.trim();
      if (!text) continue;
      const blank = clozeWord(text, asked);
      if (blank) asked.add(stem(blank.word));
      const front = blank
        ? `Fill in the blank: ${text.slice(0, blank.index)}_____${text.slice(blank.index + blank.word.length)}`
        : `Recall a key point of "${subtopic.title}" that begins: ${words(text).slice(0, 3).join(' ')}…`;
      cards.push({
        id: `kp-${stableHash(text)}`,
        kind: 'key_point',
        front,
        back: text,
        answer: blank ? blank.word : null,
        objectiveId: closestObjective(text, objectives),
      });
    }
  }
  if (kinds.includes('objectives')) {
    for (const objective of objectives.slice(0, MAX_CARDS_PER_KIND)) {
      const related = relatedKeyPoints(objective.text, subtopic.keyPoints ?? [], 2);
      const back = [subtopic.summary?.trim(), ...related.map((p) => `- ${p}`)].filter(Boolean).join('\n');
      cards.push({
        id: `obj-${stableHash(objective.id + '\n' + objective.text)}`,
        kind: 'objective',
        front: `In your own words: ${objective.text}`,
        back: back || objective.text,
        answer: null,
        objectiveId: objective.id,
      });
    }
  }
  if (kinds.includes('examples')) {
    for (const example of (subtopic.examples ?? []).slice(0, MAX_CARDS_PER_KIND)) {
      const text = `${example.title}\n${example.problem}`;
      cards.push({
        id: `ex-${stableHash(text)}`,
        kind: 'example',
        front: `${example.title}: ${example.problem}`,
        back: example.solution,
        answer: finalAnswer(example.solution),
        objectiveId: closestObjective(`${example.concept ?? ''} ${example.title} ${example.problem}`, objectives),
      });
    }
  }
  return cards;
}

/** A fresh schedule. */
export function newDeck() {
  return { format: DECK_FORMAT, clock: 0, reviews: 0, correct: 0, current: null, cards: {} };
}

/**
 * Read the stored schedule, or start one. Anything unreadable starts afresh
 * rather than failing the lesson: a schedule is worth less than the lesson.
 */
export function parseDeck(text) {
  if (text == null) return newDeck();
  try {
    const deck = JSON.parse(text);
    if (deck && deck.format === DECK_FORMAT && typeof deck.cards === 'object' && deck.cards !== null) return deck;
  } catch {
    // fall through
  }
  return newDeck();
}

function scheduleOf(deck, card) {
  return deck.cards[card.id] ?? { box: 1, due: 0, reviews: 0, correct: 0 };
}

/**
 * Choose the next card: among cards due now (due <= clock), the lowest box
 * first, then the longest overdue, then lesson order. When nothing is due the
 * card due soonest comes early, so the drill never runs dry.
 */
export function pickNext(deck, cards) {
  if (cards.length === 0) return null;
  const ranked = cards
    .map((card, order) => ({ card, order, schedule: scheduleOf(deck, card) }))
    .sort((a, b) => {
      const aDue = a.schedule.due <= deck.clock;
      const bDue = b.schedule.due <= deck.clock;
      if (aDue !== bDue) return aDue ? -1 : 1;
      if (!aDue) return a.schedule.due - b.schedule.due || a.order - b.order;
      return a.schedule.box - b.schedule.box || a.schedule.due - b.schedule.due || a.order - b.order;
    });
  const first = ranked[0];
  return { card: first.card, schedule: first.schedule, early: first.schedule.due > deck.clock };
}

function normalise(text) {
  return text
    .toLowerCase()
    // No String.prototype.normalize here: the component's JS engine is built
    // without Unicode normalisation data.
    .replace(/[^\p{L}\p{N}/.\s-]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

function asNumber(text) {
  const t = text.replace(/\s+/g, '');
  const fraction = t.match(/^(-?\d+)\/(\d+)$/);
  if (fraction) return Number(fraction[2]) === 0 ? null : Number(fraction[1]) / Number(fraction[2]);
  return /^-?\d+(\.\d+)?$/.test(t) ? Number(t) : null;
}

function editDistanceAtMostOne(a, b) {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  let j = 0;
  let edits = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      i++;
      j++;
      continue;
    }
    if (++edits > 1) return false;
    if (a.length > b.length) i++;
    else if (b.length > a.length) j++;
    else {
      i++;
      j++;
    }
  }
  return edits + (a.length - i) + (b.length - j) <= 1;
}

/**
 * Whether the learner's answer matches the card's expected answer. Spoken
 * answers arrive as sentences ("I think it's the denominator"), so any word of
 * the answer may match; numbers compare by value (0.75 = 3/4); one typo is
 * forgiven in words of six letters or more.
 */
export function answerMatches(given, expected) {
  const want = normalise(expected);
  const got = normalise(given);
  if (!got) return false;
  if (got === want) return true;
  const wantNumber = asNumber(want);
  const tokens = got.split(' ');
  for (const token of tokens) {
    if (wantNumber !== null) {
      const n = asNumber(token.replace(/\.$/, ''));
      if (n !== null && Math.abs(n - wantNumber) < 1e-9) return true;
      continue;
    }
    if (token === want) return true;
    if (want.length >= 6 && editDistanceAtMostOne(token, want)) return true;
  }
  return wantNumber === null && want.includes(' ') && got.includes(want);
}

/**
 * Apply one review to the schedule (mutates and returns `deck`).
 * again: back to box 1; hard: stays; good: up one box; easy: up two.
 */
export function applyGrade(deck, card, grade) {
  const schedule = { ...scheduleOf(deck, card) };
  const boxBefore = schedule.box;
  if (grade === 'again') schedule.box = 1;
  else if (grade === 'good') schedule.box = Math.min(MAX_BOX, schedule.box + 1);
  else if (grade === 'easy') schedule.box = Math.min(MAX_BOX, schedule.box + 2);
  deck.clock += 1;
  schedule.due = deck.clock + REVIEW_GAP_BY_BOX[schedule.box];
  schedule.reviews += 1;
  deck.reviews += 1;
  if (grade !== 'again') {
    schedule.correct += 1;
    deck.correct += 1;
  }
  deck.cards[card.id] = schedule;
  deck.current = null;
  return { deck, boxBefore, boxAfter: schedule.box, reviewsUntilDue: REVIEW_GAP_BY_BOX[schedule.box] };
}

/** The mastery evidence one review is worth. */
export function evidenceScore(grade) {
  return EVIDENCE_SCORE[grade];
}

/** Drop schedules of cards the lesson no longer has, so state stays small. */
export function pruneDeck(deck, cards) {
  const live = new Set(cards.map((c) => c.id));
  for (const id of Object.keys(deck.cards)) if (!live.has(id)) delete deck.cards[id];
  if (deck.current !== null && !live.has(deck.current)) deck.current = null;
  return deck;
}

/** How many cards sit in each box (index 1..MAX_BOX; new cards count as box 1). */
export function boxCounts(deck, cards) {
  const counts = new Array(MAX_BOX + 1).fill(0);
  for (const card of cards) counts[scheduleOf(deck, card).box] += 1;
  return counts;
}

/** Cards due now. */
export function dueCount(deck, cards) {
  return cards.filter((card) => scheduleOf(deck, card).due <= deck.clock).length;
}
