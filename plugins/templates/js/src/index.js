// {{name}}: a Lectern teaching tool.
//
// A teaching tool exports two functions. `describe` says which tools it offers
// (the model sees their names, descriptions and argument schemas); `invoke`
// runs one of them. The imports below are the host's: the current lesson, a
// small key/value state kept per lesson session, learner progress, and a log.

import { current } from 'lectern:tool/lesson@0.1.0';
import { get, set } from 'lectern:tool/state@0.1.0';
import { log } from 'lectern:tool/log@0.1.0';

import { nextKeyPoint, parseShown } from './logic.js';

/** State key for the indexes of the key points already shown. */
const SHOWN_KEY = 'shown';

export function describe() {
  return {
    name: '{{name}}',
    version: '0.1.0',
    description: 'Tells the learner the lesson key points one at a time.',
    tools: [
      {
        name: '{{tool_name}}',
        description:
          'Give the learner the next key point of this lesson that they have not heard yet. ' +
          'Use it when the learner asks what matters most, or to recap.',
        parameters: JSON.stringify({ type: 'object', properties: {}, additionalProperties: false }),
      },
    ],
    capabilities: [],
  };
}

/** A thrown error with a `payload` becomes the `err` of invoke's result. */
function toolError(tag, message) {
  const error = new Error(message);
  error.payload = { tag, val: message };
  return error;
}

export function invoke(ctx, tool, argumentsJson) {
  if (tool !== '{{tool_name}}') {
    throw toolError('invalid-arguments', `unknown tool "${tool}"; this plugin has {{tool_name}}`);
  }
  try {
    const subtopic = current();
    const next = nextKeyPoint(subtopic.keyPoints, parseShown(get(SHOWN_KEY)));
    if (next === null) {
      throw toolError('failed', `the subtopic "${subtopic.title}" has no key points yet`);
    }
    set(SHOWN_KEY, JSON.stringify(next.shown));
    log('debug', `showed key point ${next.index + 1} of ${subtopic.keyPoints.length}`);
    return {
      // What the model reads: short, and JSON is easy for it to use.
      content: JSON.stringify({
        key_point: next.point,
        number: next.index + 1,
        of: subtopic.keyPoints.length,
        all_shown_before: next.restarted,
      }),
      // What the learner sees: every point shown so far.
      display: { tag: 'key-points', val: next.shown.map((i) => subtopic.keyPoints[i]) },
    };
  } catch (e) {
    if (e?.payload) throw e;
    // Without this, a bug would trap: the host reports `trap` and the model
    // learns nothing. A `failed` error tells it what happened.
    throw toolError('failed', `internal error: ${e?.message ?? e}`);
  }
}
