import { test } from 'node:test';
import assert from 'node:assert/strict';

import { nextKeyPoint, parseShown } from '../src/logic.js';

const POINTS = ['first', 'second', 'third'];

test('points come in order, then start over', () => {
  let shown = [];
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const next = nextKeyPoint(POINTS, shown);
    seen.push(next.point);
    shown = next.shown;
  }
  assert.deepEqual(seen, ['first', 'second', 'third', 'first']);
});

test('no key points, nothing to show', () => {
  assert.equal(nextKeyPoint([], []), null);
});

test('bad state counts as nothing shown', () => {
  assert.deepEqual(parseShown('nonsense'), []);
  assert.deepEqual(parseShown(undefined), []);
  assert.deepEqual(nextKeyPoint(POINTS, [7, 'x']).index, 0);
});
