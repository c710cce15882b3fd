import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MAX_BOX,
  REVIEW_GAP_BY_BOX,
  answerMatches,
  applyGrade,
  boxCounts,
  buildCards,
  clozeWord,
  finalAnswer,
  newDeck,
  parseDeck,
  pickNext,
  pruneDeck,
  stableHash,
} from '../src/deck.js';

const LESSON = {
  id: 'fractions-intro',
  topicId: 'fractions',
  topicTitle: 'Fractions',
  title: 'What a fraction means',
  summary: 'A fraction names equal parts of a whole.',
  content: '',
  objectives: [
    { id: 'read', text: 'Read a fraction and say what its numerator and denominator mean' },
    { id: 'compare', text: 'Compare two fractions with the same denominator' },
  ],
  keyPoints: [
    'The denominator tells how many equal parts the whole is split into.',
    'The numerator counts how many of those parts we take.',
  ],
  examples: [{ title: 'Pizza', concept: 'compare', problem: 'Which is more: 3/8 or 5/8 of a pizza?', solution: '5 > 3, so the answer is 5/8' }],
  level: 'beginner',
};

test('cards come from key points, objectives and examples', () => {
  const cards = buildCards(LESSON);
  assert.equal(cards.length, 5);
  assert.deepEqual(
    cards.map((c) => c.kind),
    ['key_point', 'key_point', 'objective', 'objective', 'example'],
  );
  const first = cards[0];
  assert.equal(first.answer, 'denominator');
  assert.match(first.front, /^Fill in the blank: The _____ tells how many equal parts/);
  assert.equal(first.back, LESSON.keyPoints[0]);
  assert.equal(cards[4].answer, '5/8');
  assert.equal(cards[4].objectiveId, 'compare');
});

test('card ids are stable and depend on the text', () => {
  assert.equal(buildCards(LESSON)[0].id, buildCards(LESSON)[0].id);
  const edited = { ...LESSON, keyPoints: ['The denominator tells how many parts there are.', LESSON.keyPoints[1]] };
  assert.notEqual(buildCards(edited)[0].id, buildCards(LESSON)[0].id);
  assert.equal(buildCards(edited)[1].id, buildCards(LESSON)[1].id);
  assert.equal(stableHash(''), '811c9dc5');
});

test('kinds filter the deck', () => {
  assert.deepEqual(
    buildCards(LESSON, ['examples']).map((c) => c.kind),
    ['example'],
  );
  assert.equal(buildCards({ ...LESSON, keyPoints: [], objectives: [], examples: [] }).length, 0);
});

test('cloze word is the longest content word', () => {
  assert.equal(clozeWord('A fraction has a numerator').word, 'numerator');
  assert.equal(clozeWord('It is so.'), null);
});

test('final answer is the last number in the solution', () => {
  assert.equal(finalAnswer('1/4 + 2/4 = 3 / 4'), '3/4');
  assert.equal(finalAnswer('x = -2.5'), '-2.5');
  assert.equal(finalAnswer('no numbers'), null);
});

test('answers match spoken sentences, numbers by value, one typo', () => {
  assert.ok(answerMatches("I think it's the denominator", 'denominator'));
  assert.ok(answerMatches('Denominater', 'denominator'));
  assert.ok(!answerMatches('numerator', 'denominator'));
  assert.ok(answerMatches('0.625', '5/8'));
  assert.ok(answerMatches('five eighths, 5/8.', '5/8'));
  assert.ok(!answerMatches('3/8', '5/8'));
  assert.ok(!answerMatches('', '5/8'));
});

test('new cards come in lesson order, then the scheduler spaces them', () => {
  const cards = buildCards(LESSON);
  const deck = newDeck();
  const first = pickNext(deck, cards);
  assert.equal(first.card.id, cards[0].id);
  assert.equal(first.early, false);

  // Right: moves to box 2 and comes back after 2 reviews.
  let r = applyGrade(deck, cards[0], 'good');
  assert.equal(r.boxAfter, 2);
  assert.equal(deck.cards[cards[0].id].due, 1 + REVIEW_GAP_BY_BOX[2]);
  assert.equal(pickNext(deck, cards).card.id, cards[1].id);

  // Wrong: back to box 1, due after the next review, so it returns before box-2 cards.
  r = applyGrade(deck, cards[1], 'again');
  assert.equal(r.boxAfter, 1);
  assert.equal(deck.reviews, 2);
  assert.equal(deck.correct, 1);
  assert.equal(pickNext(deck, cards).card.id, cards[2].id);
});

test('easy jumps two boxes and the box is capped', () => {
  const cards = buildCards(LESSON);
  const deck = newDeck();
  for (let i = 0; i < 4; i++) applyGrade(deck, cards[0], 'easy');
  assert.equal(deck.cards[cards[0].id].box, MAX_BOX);
  assert.equal(boxCounts(deck, cards)[MAX_BOX], 1);
});

test('when nothing is due the soonest card comes early', () => {
  const cards = buildCards(LESSON).slice(0, 2);
  const deck = newDeck();
  applyGrade(deck, cards[0], 'easy'); // box 3, due at 1 + 4
  applyGrade(deck, cards[1], 'good'); // box 2, due at 2 + 2
  const next = pickNext(deck, cards);
  assert.equal(next.card.id, cards[1].id);
  assert.equal(next.early, true);
});

test('unreadable or foreign state starts a fresh deck', () => {
  assert.deepEqual(parseDeck('not json'), newDeck());
  assert.deepEqual(parseDeck('{"format": 99, "cards": {}}'), newDeck());
  assert.deepEqual(parseDeck(undefined), newDeck());
});

test('pruning forgets cards the lesson dropped', () => {
  const cards = buildCards(LESSON);
  const deck = newDeck();
  applyGrade(deck, cards[0], 'good');
  deck.current = cards[0].id;
  pruneDeck(deck, cards.slice(1));
  assert.deepEqual(deck.cards, {});
  assert.equal(deck.current, null);
});
