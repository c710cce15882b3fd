// The tool's logic, kept free of host imports so `npm test` can check it
// without WebAssembly. index.js passes in the lesson and the stored state.

/**
 * Choose the next key point to tell the learner: the first one not yet
 * shown in this lesson, starting over once all have been shown.
 *
 * @param keyPoints the subtopic's key points
 * @param shown indexes of the points already shown (from state)
 * @returns { index, point, shown, restarted }
 */
export function nextKeyPoint(keyPoints, shown) {
  if (keyPoints.length === 0) return null;
  let seen = shown.filter((i) => Number.isInteger(i) && i >= 0 && i < keyPoints.length);
  let restarted = false;
  if (seen.length >= keyPoints.length) {
    seen = [];
    restarted = true;
  }
  const index = keyPoints.findIndex((_, i) => !seen.includes(i));
  return { index, point: keyPoints[index], shown: [...seen, index], restarted };
}

/** Read the list of shown indexes from state; anything unreadable counts as none. */
export function parseShown(text) {
  try {
    const value = JSON.parse(text ?? '[]');
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}
