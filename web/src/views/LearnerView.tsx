import { useCallback, useState } from "react";
import { LessonRoom } from "./LessonRoom";
import { LessonSetup, type LessonChoice } from "./LessonSetup";
import { LessonStartError } from "../lesson/transport";

export function LearnerView() {
  const [choice, setChoice] = useState<LessonChoice | null>(null);
  const [startError, setStartError] = useState<LessonStartError | Error | null>(null);
  const [attempt, setAttempt] = useState(0);

  const failed = useCallback((e: LessonStartError | Error) => {
    setStartError(e);
    setChoice(null);
  }, []);

  if (choice) {
    return <LessonRoom key={attempt} choice={choice} onFailedStart={failed} onLeave={() => setChoice(null)} />;
  }
  return (
    <>
      <div className="page-intro">
        <h1>Learn by talking it through</h1>
        <p>Pick a lesson and have a conversation with your tutor. Speak naturally, interrupt whenever you like, or type if you prefer.</p>
      </div>
      <LessonSetup
        error={startError}
        onStart={(c) => {
          setStartError(null);
          setAttempt((n) => n + 1);
          setChoice(c);
        }}
      />
    </>
  );
}

