//! `check-understanding`: asks the learner a question built from the
//! subtopic's objectives and key points, then grades the answer against
//! them and records the result as progress.
//!
//! Two tools:
//! - `check_understanding` picks the question asked least in this session
//!   (the learner's weakest objective first, an optional focus narrowing the
//!   choice) and shows it as a question card;
//! - `grade_answer` grades an answer to it by the concepts it covers, names
//!   what was missed, records evidence for the question's objective and
//!   shows a score card.

mod grading;
mod questions;

use std::collections::BTreeSet;

use lectern_tool::text::{Normalizer, stable_hash};
use lectern_tool::{
    Call, Display, Manifest, QuestionCard, ScoreCard, Subtopic, TeachingTool, ToolError,
    ToolOutput, ToolSpec,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::grading::grade;
use crate::questions::{all_questions, word};

/// State key: the ids of the questions asked in this session, oldest first.
const ASKED_KEY: &str = "asked";
/// State key: the questions of this lesson, analysed once per session (and
/// again when the lesson changes): analysing the lesson's text is the
/// costly part of a call.
const BANK_KEY: &str = "bank";
/// State key: the grades given in this session, oldest first.
const GRADES_KEY: &str = "grades";
/// At most this many entries are kept per history list, so the state stays
/// far below the host's cap however long the lesson.
const MAX_HISTORY_ENTRIES: usize = 64;
/// Longest answer graded, in characters; longer ones are cut (a spoken
/// answer is a few sentences).
const MAX_ANSWER_CHARS: usize = 2_000;
/// Mastery below this counts as "still to learn" when choosing a question.
const MASTERED_AT_SCORE: f32 = 0.8;

/// The plugin.
pub struct CheckUnderstanding;

impl TeachingTool for CheckUnderstanding {
    fn manifest() -> Manifest {
        lectern_tool::manifest!(
            "Asks questions built from the lesson's objectives and key points and grades the answers."
        )
        .tool(ToolSpec::new(
            "check_understanding",
            "Get one open question that checks whether the learner understood the current \
             subtopic. Use it after explaining something, or when the learner says they \
             understand. Ask the returned question in your own voice, wait for the answer, \
             then call grade_answer with the returned question_id. Never give the answer \
             before the learner has tried.",
            json!({
                "type": "object",
                "properties": {
                    "focus": {
                        "type": "string",
                        "description": "Optional: the concept just discussed, in a few words \
                                        (e.g. \"why leaves are green\"). Leave it out to let the \
                                        tool pick what the learner has shown least.",
                        "maxLength": 200
                    }
                },
                "required": [],
                "additionalProperties": false
            }),
        ))
        .tool(ToolSpec::new(
            "grade_answer",
            "Grade the learner's answer to a question from check_understanding. Returns what \
             they got right, what they missed and their mastery so far; the result is \
             recorded in their progress. Then tell the learner kindly what was right and \
             give a hint about what was missed.",
            json!({
                "type": "object",
                "properties": {
                    "question_id": {
                        "type": "string",
                        "description": "The question_id check_understanding returned for the \
                                        question the learner answered.",
                        "minLength": 1
                    },
                    "answer": {
                        "type": "string",
                        "description": "The learner's answer, as close to their own words as \
                                        possible.",
                        "minLength": 1
                    }
                },
                "required": ["question_id", "answer"],
                "additionalProperties": false
            }),
        ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "check_understanding" => ask(call),
            "grade_answer" => grade_answer(call),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(CheckUnderstanding);

#[derive(Deserialize)]
struct AskArguments {
    #[serde(default)]
    focus: Option<String>,
}

#[derive(Deserialize)]
struct GradeArguments {
    question_id: String,
    answer: String,
}

/// One graded answer, kept in the state.
#[derive(Serialize, Deserialize)]
struct GradeRecord {
    question_id: String,
    share: f32,
}

fn ask(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: AskArguments = call.arguments()?;
    let normalizer = Normalizer::for_locale(&call.context().locale);
    let asked: Vec<String> = call.state_or_default(ASKED_KEY);
    let times_asked = |id: &str| asked.iter().filter(|a| a.as_str() == id).count();
    let lesson = call.lesson().clone();
    let bank = question_bank(call, &lesson, &normalizer)?;
    if bank.is_empty() {
        return Err(ToolError::failed(format!(
            "the subtopic \"{}\" has no objectives or key points to ask about; explain the \
             topic instead",
            lesson.title
        )));
    }

    // Narrow to the questions that match the focus best, if any does.
    let focus = arguments
        .focus
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty());
    let mut focus_note = String::new();
    let mut pool: Vec<&Banked> = bank.iter().collect();
    if let Some(focus) = focus {
        let wanted = normalizer.concepts(focus);
        let scores: Vec<usize> = bank.iter().map(|b| b.focus_match(&wanted)).collect();
        let best = scores.iter().copied().max().unwrap_or(0);
        if best == 0 {
            focus_note = format!(
                "Nothing in this subtopic matches \"{focus}\", so this question is about \
                 something else. "
            );
        } else {
            pool = bank
                .iter()
                .zip(&scores)
                .filter(|(_, score)| **score == best)
                .map(|(b, _)| b)
                .collect();
        }
    }

    // Least asked first, then the weakest objective, then a per-session
    // shuffle; never the question just asked when there is another.
    let mastery = call.mastery();
    // Mastery counts up to "mastered"; an objective without evidence is 0,
    // a question linked to no objective ranks with the mastered ones.
    let weakness = |q: &Banked| -> f32 {
        match &q.objective_id {
            None => MASTERED_AT_SCORE,
            Some(id) => mastery
                .iter()
                .find(|m| &m.objective_id == id)
                .map_or(0.0, |m| m.score.min(MASTERED_AT_SCORE)),
        }
    };
    let last = asked.last().map(String::as_str);
    let session = call.context().session_id.clone();
    let chosen = pool
        .iter()
        .copied()
        .filter(|q| pool.len() == 1 || Some(q.id.as_str()) != last)
        .min_by(|a, b| {
            times_asked(&a.id)
                .cmp(&times_asked(&b.id))
                .then(weakness(a).total_cmp(&weakness(b)))
                .then_with(|| {
                    let key =
                        |q: &Banked| stable_hash(&format!("{session}/{}/{}", asked.len(), q.id));
                    key(a).cmp(&key(b))
                })
        })
        .expect("the pool is never empty");
    let prompt = word(&chosen.id, &chosen.subject, times_asked(&chosen.id));

    let mut asked = asked.clone();
    asked.push(chosen.id.clone());
    trim_history(&mut asked);
    call.set_state(ASKED_KEY, &asked)?;
    lectern_tool::debug!(call, "asked {} ({} asked so far)", chosen.id, asked.len());

    let objective = chosen
        .objective_id
        .as_ref()
        .and_then(|id| lesson.objective(id))
        .map(|o| format!(" It checks the objective \"{}\".", o.text))
        .unwrap_or_default();
    let content = format!(
        "{focus_note}Ask the learner: \"{}\"{objective} When they answer, call grade_answer \
         with question_id \"{}\" and their answer. Do not give the answer first.",
        prompt, chosen.id
    );
    Ok(
        ToolOutput::text(content).with_display(Display::Question(QuestionCard {
            prompt,
            choices: Vec::new(),
            objective_id: chosen.objective_id.clone(),
        })),
    )
}

fn grade_answer(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: GradeArguments = call.arguments()?;
    let answer: String = arguments
        .answer
        .trim()
        .chars()
        .take(MAX_ANSWER_CHARS)
        .collect();
    if answer.is_empty() {
        return Err(ToolError::invalid_arguments(
            "the answer is empty; let the learner answer first, then pass their words",
        ));
    }
    let normalizer = Normalizer::for_locale(&call.context().locale);
    let asked: Vec<String> = call.state_or_default(ASKED_KEY);
    let times_asked = |id: &str| {
        // The wording the learner heard is the one from their last asking.
        asked
            .iter()
            .filter(|a| a.as_str() == id)
            .count()
            .saturating_sub(1)
    };
    let lesson = call.lesson().clone();
    let question = all_questions(&lesson, &normalizer, times_asked)
        .into_iter()
        .find(|q| q.id == arguments.question_id)
        .ok_or_else(|| {
            ToolError::invalid_arguments(format!(
                "there is no question \"{}\" in this subtopic; call check_understanding and \
                 use the question_id it returns",
                arguments.question_id
            ))
        })?;

    let grade = grade(&question, &answer, &normalizer);
    let mut grades: Vec<GradeRecord> = call.state_or_default(GRADES_KEY);
    let attempt = 1 + grades
        .iter()
        .filter(|g| g.question_id == question.id)
        .count();
    grades.push(GradeRecord {
        question_id: question.id.clone(),
        share: grade.share,
    });
    trim_history(&mut grades);
    call.set_state(GRADES_KEY, &grades)?;

    let list = |words: &[String]| {
        if words.is_empty() {
            "nothing".to_owned()
        } else {
            words.join(", ")
        }
    };
    let mut progress_note = String::new();
    if let Some(objective_id) = &question.objective_id {
        let note = format!(
            "{} (attempt {attempt}): {}; covered {}; missed {}",
            question.id,
            grade.verdict(),
            list(&grade.found),
            list(&grade.missed)
        );
        call.record_progress(objective_id, grade.share, &note)?;
        if let Some(mastery) = call
            .mastery()
            .into_iter()
            .find(|m| &m.objective_id == objective_id)
        {
            progress_note = format!(
                " Mastery of \"{objective_id}\" is now {:.2} over {} piece(s) of evidence.",
                mastery.score, mastery.evidence_count
            );
        }
    }

    let total = (grade.found.len() + grade.missed.len()) as u32;
    let correct = grade.found.len() as u32;
    let content = format!(
        "The answer is {} (attempt {attempt}, {correct} of {total} key ideas). Covered: {}. \
         Missed: {}. The lesson says: \"{}\"{progress_note}",
        grade.verdict(),
        list(&grade.found),
        list(&grade.missed),
        grade.statement
    );
    let feedback = if grade.missed.is_empty() {
        format!("Well done: you covered every key idea. {}", grade.statement)
    } else if grade.found.is_empty() {
        format!("Not yet. Think about: **{}**.", grade.missed.join("**, **"))
    } else {
        format!(
            "You mentioned **{}**. Also think about: **{}**.",
            grade.found.join("**, **"),
            grade.missed.join("**, **")
        )
    };
    Ok(
        ToolOutput::text(content).with_display(Display::Score(ScoreCard {
            title: format!("Check: {}", question.prompt),
            correct,
            total,
            feedback,
        })),
    )
}

/// What choosing a question needs, kept in the state so later calls skip
/// analysing the lesson: its id, subject and objective, and the concept
/// terms focus matching compares.
#[derive(Serialize, Deserialize)]
struct Banked {
    id: String,
    subject: String,
    objective_id: Option<String>,
    subject_terms: Vec<String>,
    main_answer_terms: Vec<String>,
    other_answer_terms: Vec<String>,
}

impl Banked {
    /// How well the question matches focus concepts: its subject counts
    /// most, then its main answer, then its other answers.
    fn focus_match(&self, focus: &BTreeSet<String>) -> usize {
        let hits = |terms: &[String]| terms.iter().filter(|t| focus.contains(*t)).count();
        4 * hits(&self.subject_terms)
            + 2 * hits(&self.main_answer_terms)
            + hits(&self.other_answer_terms)
    }
}

/// The question bank in the state, as stored.
#[derive(Serialize, Deserialize)]
struct Bank {
    /// Fingerprint of the lesson text and locale the bank was built from.
    fingerprint: u64,
    questions: Vec<Banked>,
}

/// The lesson's questions: from the state when built from this very lesson
/// and locale, otherwise built now and stored.
fn question_bank(
    call: &mut Call<'_>,
    lesson: &Subtopic,
    normalizer: &Normalizer,
) -> Result<Vec<Banked>, ToolError> {
    let fingerprint = fingerprint(lesson, &call.context().locale);
    if let Some(bank) = call.state_or_default::<Option<Bank>>(BANK_KEY)
        && bank.fingerprint == fingerprint
    {
        return Ok(bank.questions);
    }
    let terms = |text: &str| normalizer.concepts(text).into_iter().collect::<Vec<_>>();
    let questions: Vec<Banked> = all_questions(lesson, normalizer, |_| 0)
        .into_iter()
        .map(|question| {
            let mut others = BTreeSet::new();
            for answer in question.answers.iter().skip(1) {
                others.extend(normalizer.concepts(answer));
            }
            Banked {
                subject_terms: terms(&question.subject),
                main_answer_terms: question
                    .answers
                    .first()
                    .map(|a| terms(a))
                    .unwrap_or_default(),
                other_answer_terms: others.into_iter().collect(),
                id: question.id,
                subject: question.subject,
                objective_id: question.objective_id,
            }
        })
        .collect();
    let bank = Bank {
        fingerprint,
        questions,
    };
    call.set_state(BANK_KEY, &bank)?;
    Ok(bank.questions)
}

/// A stable fingerprint of what questions are built from.
fn fingerprint(lesson: &Subtopic, locale: &str) -> u64 {
    let mut text = format!("{locale}\u{1f}{}\u{1f}", lesson.title);
    for objective in &lesson.objectives {
        text.push_str(&objective.id);
        text.push('\u{1f}');
        text.push_str(&objective.text);
        text.push('\u{1f}');
    }
    for point in &lesson.key_points {
        text.push_str(point);
        text.push('\u{1f}');
    }
    stable_hash(&text)
}

fn trim_history<T>(history: &mut Vec<T>) {
    if history.len() > MAX_HISTORY_ENTRIES {
        history.drain(..history.len() - MAX_HISTORY_ENTRIES);
    }
}

#[cfg(test)]
mod tests;
