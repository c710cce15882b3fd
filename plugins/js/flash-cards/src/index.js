// The flash-cards teaching tool: the component's two exports, `describe` and
// `invoke`, wired to the host through the lectern:tool imports.
//
// The drill itself (cards, Leitner scheduling, answer checking) is in deck.js;
// this file only reads the lesson and state, calls into it, records progress
// and shapes what the model reads and the learner sees.

import { current } from 'lectern:tool/lesson@0.1.0';
import { get, set } from 'lectern:tool/state@0.1.0';
import { recordEvidence } from 'lectern:tool/progress@0.1.0';
import { log } from 'lectern:tool/log@0.1.0';

import {
  CARD_KINDS,
  MAX_BOX,
  SELF_GRADES,
  InvalidArguments,
  ToolFailed,
  answerMatches,
  applyGrade,
  boxCounts,
  buildCards,
  dueCount,
  evidenceScore,
  parseDeck,
  pickNext,
  pruneDeck,
} from './deck.js';

const PLUGIN_VERSION = '0.1.0';
/** The state key holding the schedule (JSON). */
const DECK_KEY = 'deck';

const NO_ARGUMENTS = JSON.stringify({ type: 'object', properties: {}, additionalProperties: false });

const TOOLS = [
  {
    name: 'next_flash_card',
    description:
      'Show the learner the next flash card of this lesson (spaced repetition: cards the learner ' +
      'found hard come back sooner). Read the prompt to the learner and wait for their answer, ' +
      'then call grade_flash_card. Do not say the answer.',
    parameters: NO_ARGUMENTS,
  },
  {
    name: 'grade_flash_card',
    description:
      "Grade the learner's answer to the flash card just shown. Pass `answer` with what the " +
      'learner said when the card asks for a word or number; for explain-in-your-own-words ' +
      'cards judge the explanation yourself and pass `self_grade` (again = wrong or no idea, ' +
      'hard = partly right, good = right, easy = right at once). Returns the back of the card.',
    parameters: JSON.stringify({
      type: 'object',
      properties: {
        card_id: { type: 'string', description: 'The card to grade; defaults to the card last shown.' },
        answer: { type: 'string', maxLength: 500, description: "The learner's answer, as said." },
        self_grade: { type: 'string', enum: SELF_GRADES },
      },
      additionalProperties: false,
    }),
  },
  {
    name: 'flash_card_progress',
    description: "Show how the learner's flash-card drill is going: cards reviewed, right answers, cards learned.",
    parameters: NO_ARGUMENTS,
  },
];

export function describe() {
  return {
    name: 'flash-cards',
    version: PLUGIN_VERSION,
    description: "A flash-card drill with spaced repetition, built from the lesson's key points, objectives and examples.",
    tools: TOOLS,
    capabilities: [],
  };
}

/** componentize-js turns a thrown error carrying `payload` into the result's `err`. */
function toolError(tag, message) {
  const error = new Error(message);
  error.payload = { tag, val: message };
  return error;
}

function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidArguments(`${what} is not valid JSON`);
  }
}

function readConfig(text) {
  let config;
  try {
    config = JSON.parse(text || '{}');
  } catch {
    throw new ToolFailed('the plugin configuration is not valid JSON; fix it in the subtopic binding');
  }
  const kinds = config?.kinds ?? CARD_KINDS;
  if (!Array.isArray(kinds) || kinds.length === 0 || !kinds.every((k) => CARD_KINDS.includes(k))) {
    throw new ToolFailed(`config "kinds" must be a non-empty list drawn from ${CARD_KINDS.join(', ')}`);
  }
  return { kinds };
}

function loadDeck(cards) {
  return pruneDeck(parseDeck(get(DECK_KEY)), cards);
}

function saveDeck(deck) {
  try {
    set(DECK_KEY, JSON.stringify(deck));
  } catch (e) {
    // The host refuses writes past the state cap; say so rather than trap.
    throw new ToolFailed(`could not save the drill's progress (${e?.payload ?? e})`);
  }
}

function nextCard(subtopic, cards) {
  const deck = loadDeck(cards);
  const next = pickNext(deck, cards);
  deck.current = next.card.id;
  saveDeck(deck);
  const due = dueCount(deck, cards);
  const content = {
    card_id: next.card.id,
    kind: next.card.kind,
    prompt: next.card.front,
    box: next.schedule.box,
    max_box: MAX_BOX,
    cards_due: due,
    cards_total: cards.length,
    answer_check: next.card.answer ? 'pass the learner\'s words as `answer`' : 'judge it and pass `self_grade`',
  };
  if (next.early) content.note = 'No card is due yet; this one is reviewed early.';
  return {
    content: JSON.stringify(content),
    display: {
      tag: 'question',
      val: { prompt: next.card.front, choices: [], objectiveId: next.card.objectiveId ?? undefined },
    },
  };
}

function gradeCard(subtopic, cards, args) {
  const deck = loadDeck(cards);
  const cardId = args.card_id ?? deck.current;
  if (!cardId) {
    throw new InvalidArguments('no flash card is waiting for a grade; call next_flash_card first');
  }
  const card = cards.find((c) => c.id === cardId);
  if (!card) {
    throw new InvalidArguments(`there is no flash card "${cardId}" in this lesson; use the card_id next_flash_card returned`);
  }
  let grade;
  let correct;
  if (args.self_grade !== undefined) {
    if (!SELF_GRADES.includes(args.self_grade)) {
      throw new InvalidArguments(`self_grade must be one of ${SELF_GRADES.join(', ')}`);
    }
    grade = args.self_grade;
    correct = grade !== 'again';
  } else if (typeof args.answer === 'string' && args.answer.trim() !== '') {
    if (!card.answer) {
      throw new InvalidArguments(
        'this card asks for an explanation, which the tool cannot check word for word; judge the answer and pass self_grade (again, hard, good or easy)',
      );
    }
    correct = answerMatches(args.answer, card.answer);
    grade = correct ? 'good' : 'again';
  } else {
    throw new InvalidArguments('pass the learner\'s `answer` or a `self_grade`');
  }

  const result = applyGrade(deck, card, grade);
  if (card.objectiveId) {
    const note = `flash card ${card.kind} "${card.back.slice(0, 80)}": ${grade}`;
    try {
      recordEvidence(card.objectiveId, evidenceScore(grade), note);
    } catch (e) {
      log('warn', `progress not recorded for ${card.objectiveId}: ${e?.payload ?? e}`);
    }
  }
  saveDeck(result.deck);

  const verdict = correct ? (grade === 'hard' ? 'Partly right.' : 'Correct!') : 'Not quite.';
  const expected = card.answer ? `The answer: **${card.answer}**\n\n` : '';
  const when = result.reviewsUntilDue === 1 ? 'after the next card' : `after ${result.reviewsUntilDue} more cards`;
  const markdown =
    `**${verdict}**\n\n${expected}${card.back}\n\n` +
    `_Box ${result.boxAfter} of ${MAX_BOX} — this card comes back ${when}._`;
  return {
    content: JSON.stringify({
      card_id: card.id,
      correct,
      grade,
      expected: card.answer ?? undefined,
      back: card.back,
      box: result.boxAfter,
      comes_back_after_cards: result.reviewsUntilDue,
      reviewed: result.deck.reviews,
      right: result.deck.correct,
    }),
    display: { tag: 'markdown', val: markdown },
  };
}

function progressReport(subtopic, cards) {
  const deck = loadDeck(cards);
  const counts = boxCounts(deck, cards);
  const learned = counts[MAX_BOX];
  const boxes = counts
    .slice(1)
    .map((n, i) => `box ${i + 1}: ${n}`)
    .join(', ');
  const summary = {
    reviewed: deck.reviews,
    right: deck.correct,
    cards_total: cards.length,
    cards_learned: learned,
    cards_due: dueCount(deck, cards),
    boxes: counts.slice(1),
  };
  if (deck.reviews === 0) {
    return {
      content: JSON.stringify(summary),
      display: {
        tag: 'markdown',
        val: `No flash cards reviewed yet — ${cards.length} cards are ready for "${subtopic.title}".`,
      },
    };
  }
  return {
    content: JSON.stringify(summary),
    display: {
      tag: 'score',
      val: {
        title: `Flash cards: ${subtopic.title}`,
        correct: deck.correct,
        total: deck.reviews,
        feedback: `${learned} of ${cards.length} cards learned (${boxes}).`,
      },
    },
  };
}

export function invoke(ctx, tool, argumentsJson) {
  try {
    const args = parseJson(argumentsJson, 'the arguments');
    if (args === null || typeof args !== 'object' || Array.isArray(args)) {
      throw new InvalidArguments('the arguments must be a JSON object');
    }
    const { kinds } = readConfig(ctx.config);
    const subtopic = current();
    const cards = buildCards(subtopic, kinds);
    if (cards.length === 0) {
      throw new ToolFailed(
        `the subtopic "${subtopic.title}" has no key points, objectives or examples to make flash cards from`,
      );
    }
    switch (tool) {
      case 'next_flash_card':
        return nextCard(subtopic, cards);
      case 'grade_flash_card':
        return gradeCard(subtopic, cards, args);
      case 'flash_card_progress':
        return progressReport(subtopic, cards);
      default:
        throw new InvalidArguments(`unknown tool "${tool}"; this plugin has ${TOOLS.map((t) => t.name).join(', ')}`);
    }
  } catch (e) {
    if (e instanceof InvalidArguments) throw toolError('invalid-arguments', e.message);
    if (e instanceof ToolFailed) throw toolError('failed', e.message);
    // A bug in this plugin: report it as a failure the model can read instead
    // of trapping (a pure component cannot print the stack anywhere else).
    log('error', `unexpected error: ${e?.stack ?? e}`);
    throw toolError('failed', `the flash-card tool hit an internal error (${e?.message ?? e})`);
  }
}
