import Markdown from "react-markdown";
import { choiceLetter, type Display } from "../lesson/display";

interface Props {
  display: Display;
  /** The learner's answer, once given (question cards). */
  answer?: string | null;
  /** Clicking a choice answers the question; omit to show choices read-only. */
  onAnswer?: (choice: string) => void;
  headingLevel?: 3 | 4;
}

/** A tool's `display`, the way the learner sees it. */
export function DisplayCard({ display, answer = null, onAnswer, headingLevel = 3 }: Props) {
  const H = headingLevel === 3 ? "h3" : "h4";
  switch (display.kind) {
    case "question":
      return (
        <section className="card question" aria-label="Question">
          <div className="card-kind">Question</div>
          <div className="prompt">{display.prompt}</div>
          {display.choices.length > 0 ? (
            <ul className="choices" aria-label="Choices">
              {display.choices.map((choice, index) => (
                <li key={choice}>
                  <button
                    type="button"
                    className="choice"
                    aria-pressed={answer === choice}
                    disabled={answer !== null || !onAnswer}
                    onClick={() => onAnswer?.(choice)}
                  >
                    {/* Tutors read choices out by letter; learners may answer "B" aloud. */}
                    <span className="choice-letter">{choiceLetter(index)}</span>
                    <span className="choice-text">{choice}</span>
                  </button>
                </li>
              ))}
            </ul>
          ) : onAnswer ? (
            <p className="muted">Answer out loud, or type your answer below.</p>
          ) : null}
          {answer !== null ? <p className="muted" role="status">You answered: {answer}</p> : display.choices.length > 0 && onAnswer ? <p className="muted">Click a choice or say your answer.</p> : null}
        </section>
      );
    case "example":
      return (
        <section className="card" aria-label={`Example: ${display.title}`}>
          <div className="card-kind">Worked example</div>
          <H>{display.title}</H>
          <div className="markdown">
            <Markdown>{display.problem}</Markdown>
          </div>
          <details>
            <summary>Show the solution</summary>
            <div className="markdown">
              <Markdown>{display.solution}</Markdown>
            </div>
          </details>
        </section>
      );
    case "score": {
      const pct = display.total > 0 ? Math.round((display.correct / display.total) * 100) : 0;
      return (
        <section className="card" aria-label={`Score: ${display.title}`}>
          <div className="card-kind">Score</div>
          <div className="score">
            <div className="score-figure" aria-label={`${display.correct} out of ${display.total}`}>
              {display.correct}/{display.total}
            </div>
            <div>
              <H>{display.title}</H>
              <div className="meter" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label="Score">
                <span style={{ width: `${pct}%` }} />
              </div>
            </div>
          </div>
          {display.feedback ? (
            <div className="markdown">
              <Markdown>{display.feedback}</Markdown>
            </div>
          ) : null}
        </section>
      );
    }
    case "key_points":
      return (
        <section className="card" aria-label="Key points">
          <div className="card-kind">Key points</div>
          <ul className="key-points">
            {display.points.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </section>
      );
    case "markdown":
      return (
        <section className="card" aria-label="Note">
          <div className="card-kind">Note</div>
          <div className="markdown">
            <Markdown>{display.markdown}</Markdown>
          </div>
        </section>
      );
  }
}
