//! `quiz`: a short multiple-choice practice round built from the
//! subtopic's key points, scored as the learner answers.
//!
//! - `start_quiz` makes a round of gap-fill questions (a key term blanked
//!   out, the other choices being key terms of other key points), asking
//!   first about the key points quizzed least in this session, and shows the
//!   first question;
//! - `answer_quiz` takes the learner's choice, records it as progress for
//!   the question's objective, and shows the next question or, after the
//!   last, a score card naming what to review.

mod questions;

use lectern_tool::text::{Normalizer, stable_hash};
use lectern_tool::{
    Call, Display, Manifest, QuestionCard, ScoreCard, Subtopic, TeachingTool, ToolError,
    ToolOutput, ToolSpec,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::questions::{QuizQuestion, key_terms, letter, make_question, parse_choice};

/// State key: the round in progress.
const ROUND_KEY: &str = "round";
/// State key: how often each key point was quizzed (index = key point).
const QUIZZED_KEY: &str = "quizzed";
/// State key: how many rounds were started in this session.
const STARTED_KEY: &str = "rounds_started";
/// State key: the scores of finished rounds, oldest first.
const SCORES_KEY: &str = "scores";
/// Fewest and most questions in a round.
const MIN_QUESTIONS: usize = 2;
const MAX_QUESTIONS: usize = 5;
/// Finished rounds remembered, at most.
const MAX_SCORES_KEPT: usize = 32;

/// The plugin.
pub struct Quiz;

impl TeachingTool for Quiz {
    fn manifest() -> Manifest {
        lectern_tool::manifest!(
            "A short multiple-choice practice round built from the lesson's key points, with a score."
        )
        .tool(ToolSpec::new(
            "start_quiz",
            "Start a short multiple-choice practice round on the current subtopic. Use it when \
             the learner wants to practise or after a section is covered. Read each question \
             and its lettered choices to the learner, then pass their choice to answer_quiz. \
             Starting a new round abandons an unfinished one.",
            json!({
                "type": "object",
                "properties": {
                    "questions": {
                        "type": "integer",
                        "description": "How many questions the round has; 3 suits most \
                                        learners.",
                        "minimum": MIN_QUESTIONS,
                        "maximum": MAX_QUESTIONS
                    }
                },
                "required": ["questions"],
                "additionalProperties": false
            }),
        ))
        .tool(ToolSpec::new(
            "answer_quiz",
            "Give the learner's answer to the current question of the practice round started \
             with start_quiz. Returns whether it was right and the next question, or the \
             final score after the last one.",
            json!({
                "type": "object",
                "properties": {
                    "answer": {
                        "type": "string",
                        "description": "The learner's choice: its letter (A, B, C or D) or the \
                                        words of the choice.",
                        "minLength": 1,
                        "maxLength": 200
                    }
                },
                "required": ["answer"],
                "additionalProperties": false
            }),
        ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "start_quiz" => start_quiz(call),
            "answer_quiz" => answer_quiz(call),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(Quiz);

#[derive(Deserialize)]
struct StartArguments {
    questions: usize,
}

#[derive(Deserialize)]
struct AnswerArguments {
    answer: String,
}

/// A round in progress.
#[derive(Serialize, Deserialize)]
struct Round {
    /// 1 for the session's first round.
    number: usize,
    questions: Vec<QuizQuestion>,
    /// Index of the question awaiting an answer.
    current: usize,
    correct: u32,
    /// Prompts answered wrongly, with the right choice.
    missed: Vec<(String, String)>,
}

fn start_quiz(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: StartArguments = call.arguments()?;
    if !(MIN_QUESTIONS..=MAX_QUESTIONS).contains(&arguments.questions) {
        return Err(ToolError::invalid_arguments(format!(
            "a round has {MIN_QUESTIONS} to {MAX_QUESTIONS} questions, not {}",
            arguments.questions
        )));
    }
    let normalizer = Normalizer::for_locale(&call.context().locale);
    let lesson: Subtopic = call.lesson().clone();
    let mut quizzed: Vec<u32> = call.state_or_default(QUIZZED_KEY);
    quizzed.resize(lesson.key_points.len(), 0);
    let abandoned: Option<Round> = call.state(ROUND_KEY).unwrap_or_default();
    let number = call.state_or_default::<usize>(STARTED_KEY) + 1;
    let session = call.context().session_id.clone();

    // Least quizzed key points first, in an order fixed per session and round.
    let terms = key_terms(&lesson, &normalizer);
    let mut order: Vec<usize> = (0..lesson.key_points.len()).collect();
    order.sort_by_key(|&index| {
        (
            quizzed[index],
            stable_hash(&format!("{session}/{number}/{index}")),
        )
    });
    let questions: Vec<QuizQuestion> = order
        .into_iter()
        .filter_map(|index| {
            let seed = format!("{session}/{number}/{index}");
            make_question(
                &lesson,
                &normalizer,
                &terms,
                index,
                quizzed[index] as usize,
                &seed,
            )
        })
        .take(arguments.questions)
        .collect();
    if questions.len() < MIN_QUESTIONS {
        return Err(ToolError::failed(format!(
            "\"{}\" has too few key points to build a quiz (at least {MIN_QUESTIONS} with \
             distinct key terms are needed); use check_understanding instead",
            lesson.title
        )));
    }
    for question in &questions {
        quizzed[question.key_point] += 1;
    }
    call.set_state(QUIZZED_KEY, &quizzed)?;
    call.set_state(STARTED_KEY, &number)?;

    let round = Round {
        number,
        questions,
        current: 0,
        correct: 0,
        missed: Vec::new(),
    };
    call.set_state(ROUND_KEY, &round)?;
    lectern_tool::info!(
        call,
        "round {number} started with {} questions",
        round.questions.len()
    );

    let abandoned_note = match abandoned {
        Some(old) => format!(
            "The unfinished round {} ({} of {} answered) was abandoned. ",
            old.number,
            old.current,
            old.questions.len()
        ),
        None => String::new(),
    };
    let first = &round.questions[0];
    let content = format!(
        "{abandoned_note}Practice round {number} on \"{}\": {} questions. Question 1: {}",
        lesson.title,
        round.questions.len(),
        read_out(first)
    );
    Ok(ToolOutput::text(content).with_display(question_card(first, 1, round.questions.len())))
}

fn answer_quiz(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: AnswerArguments = call.arguments()?;
    let Some(mut round) = call.state::<Round>(ROUND_KEY)? else {
        return Err(ToolError::invalid_arguments(
            "no practice round is running; call start_quiz first",
        ));
    };
    let normalizer = Normalizer::for_locale(&call.context().locale);
    let Some(question) = round.questions.get(round.current).cloned() else {
        call.delete_state(ROUND_KEY);
        return Err(ToolError::failed(
            "the practice round was finished or damaged; call start_quiz for a new one",
        ));
    };
    let Some(choice) = parse_choice(&arguments.answer, &question.choices, &normalizer) else {
        return Err(ToolError::invalid_arguments(format!(
            "\"{}\" is not one of the choices {}; ask the learner to pick one",
            arguments.answer.trim(),
            lettered(&question.choices)
        )));
    };

    let right = choice == question.answer;
    let right_choice = &question.choices[question.answer];
    if right {
        round.correct += 1;
    } else {
        round
            .missed
            .push((question.prompt.clone(), right_choice.clone()));
    }
    if let Some(objective) = &question.objective_id {
        let note = format!(
            "quiz round {}: \"{}\" answered \"{}\" ({})",
            round.number,
            question.prompt,
            question.choices[choice],
            if right { "right" } else { "wrong" }
        );
        call.record_progress(objective, if right { 1.0 } else { 0.0 }, &note)?;
    }
    let verdict = if right {
        format!("Right: \"{right_choice}\".")
    } else {
        format!(
            "Not quite: the learner chose \"{}\", the answer is \"{right_choice}\".",
            question.choices[choice]
        )
    };

    round.current += 1;
    let total = round.questions.len();
    if round.current < total {
        let next = &round.questions[round.current];
        let content = format!(
            "{verdict} Score so far {}/{}. Question {}: {}",
            round.correct,
            round.current,
            round.current + 1,
            read_out(next)
        );
        let display = question_card(next, round.current + 1, total);
        call.set_state(ROUND_KEY, &round)?;
        return Ok(ToolOutput::text(content).with_display(display));
    }

    // The round is over: keep the score, compare with the last round.
    let mut scores: Vec<(u32, u32)> = call.state_or_default(SCORES_KEY);
    let previous = scores.last().copied();
    scores.push((round.correct, total as u32));
    if scores.len() > MAX_SCORES_KEPT {
        scores.remove(0);
    }
    call.set_state(SCORES_KEY, &scores)?;
    call.delete_state(ROUND_KEY);

    let comparison = match previous {
        Some((c, t)) => format!(" The previous round scored {c}/{t}."),
        None => String::new(),
    };
    let review = if round.missed.is_empty() {
        "Every answer was right.".to_owned()
    } else {
        let items: Vec<String> = round
            .missed
            .iter()
            .map(|(prompt, answer)| {
                format!(
                    "- {} → **{answer}**",
                    prompt.trim_start_matches("Fill the gap: ")
                )
            })
            .collect();
        format!("To review:\n{}", items.join("\n"))
    };
    let content = format!(
        "{verdict} Round {} finished: {}/{total} right.{comparison} {}",
        round.number,
        round.correct,
        review.replace('\n', " ")
    );
    let lesson_title = call.lesson().title.clone();
    Ok(
        ToolOutput::text(content).with_display(Display::Score(ScoreCard {
            title: format!("Practice round {}: {lesson_title}", round.number),
            correct: round.correct,
            total: total as u32,
            feedback: review,
        })),
    )
}

fn lettered(choices: &[String]) -> String {
    choices
        .iter()
        .enumerate()
        .map(|(index, choice)| format!("{}) {choice}", letter(index)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_out(question: &QuizQuestion) -> String {
    format!(
        "{} Choices: {}.",
        question.prompt,
        lettered(&question.choices)
    )
}

fn question_card(question: &QuizQuestion, number: usize, total: usize) -> Display {
    Display::Question(QuestionCard {
        prompt: format!("({number}/{total}) {}", question.prompt),
        choices: question.choices.clone(),
        objective_id: question.objective_id.clone(),
    })
}

#[cfg(test)]
mod tests;
