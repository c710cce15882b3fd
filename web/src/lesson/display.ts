// The `display` variant of the `lectern:tool` WIT contract, as the client receives it.
//
// The server sends it as JSON with a `kind` tag; the parser also accepts the
// externally tagged shape (`{"question": {...}}`) serde produces by default, so
// either server encoding renders.

export interface QuestionCard {
  kind: "question";
  prompt: string;
  choices: string[];
  objectiveId: string | null;
}
export interface ExampleCard {
  kind: "example";
  title: string;
  problem: string;
  solution: string;
}
export interface ScoreCard {
  kind: "score";
  title: string;
  correct: number;
  total: number;
  feedback: string;
}
export interface KeyPointsCard {
  kind: "key_points";
  points: string[];
}
export interface MarkdownCard {
  kind: "markdown";
  markdown: string;
}
export type Display = QuestionCard | ExampleCard | ScoreCard | KeyPointsCard | MarkdownCard;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}
function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}
function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

function normaliseKind(kind: string): string {
  return kind.toLowerCase().replace(/-/g, "_");
}

function build(kind: string, body: unknown): Display | null {
  switch (normaliseKind(kind)) {
    case "markdown": {
      const markdown = typeof body === "string" ? body : isObject(body) ? str(body.markdown ?? body.text) : "";
      return { kind: "markdown", markdown };
    }
    case "question": {
      if (!isObject(body)) return null;
      const objective = body.objective_id ?? body.objectiveId;
      return {
        kind: "question",
        prompt: str(body.prompt),
        choices: strList(body.choices),
        objectiveId: typeof objective === "string" ? objective : null,
      };
    }
    case "example":
      if (!isObject(body)) return null;
      return { kind: "example", title: str(body.title), problem: str(body.problem), solution: str(body.solution) };
    case "score":
      if (!isObject(body)) return null;
      return {
        kind: "score",
        title: str(body.title),
        correct: count(body.correct),
        total: count(body.total),
        feedback: str(body.feedback),
      };
    case "key_points": {
      const points = Array.isArray(body) ? strList(body) : isObject(body) ? strList(body.points ?? body.key_points) : [];
      return { kind: "key_points", points };
    }
    default:
      return null;
  }
}

/** A display from the server's JSON, or null when it is not one we can show. */
export function parseDisplay(value: unknown): Display | null {
  if (!isObject(value)) {
    return null;
  }
  // Internally tagged: {"kind": "question", "prompt": ...} (also "type").
  const tag = value.kind ?? value.type;
  if (typeof tag === "string") {
    // Adjacent form {"kind": "markdown", "value": "..."} or {"kind": "...", "data": {...}}.
    const inner = value.value ?? value.data ?? value.content;
    if (inner !== undefined && (typeof inner === "string" || Array.isArray(inner) || isObject(inner))) {
      const viaInner = build(tag, inner);
      if (viaInner) return viaInner;
    }
    return build(tag, value);
  }
  // Externally tagged: {"question": {...}}.
  const keys = Object.keys(value);
  if (keys.length === 1) {
    return build(keys[0]!, value[keys[0]!]);
  }
  return null;
}

/** The letter a choice is read out by: A, B, C… then A2, B2… past Z. */
export function choiceLetter(index: number): string {
  const round = Math.floor(index / 26);
  return String.fromCharCode(65 + (index % 26)) + (round > 0 ? String(round + 1) : "");
}
