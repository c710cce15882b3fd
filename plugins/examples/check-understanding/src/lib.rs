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

mod bank;
mod grading;
mod history;
mod questions;

use lectern_tool::text::{Normalizer, stable_hash};
use lectern_tool::{
    Call, Display, Manifest, QuestionCard, ScoreCard, TeachingTool, ToolError, ToolOutput, ToolSpec,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bank::Banked;
use crate::grading::grade;
use crate::history::History;
use crate::questions::{all_questions, word};

/// State key: the ids of the questions asked in this session, oldest first,
/// in the compact layout of [`history`].
const ASKED_KEY: &str = "asked";
/// State key: the focus last asked about, with the lesson fingerprint and
/// each question's match score, so the same focus again skips the stemmer.
const FOCUS_KEY: &str = "focus";
/// Separates the fingerprint, the scores and the focus in [`FOCUS_KEY`].
const FOCUS_SEPARATOR: char = '\t';
/// State key: the questions of this lesson, analysed once per session (and
/// again when the lesson changes): analysing the lesson's text is the
/// costly part of a call. Stored in the compact layout of [`bank`].
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
    let mut asked = read_asked(call);
    let locale = call.context().locale.clone();
    let fingerprint = bank::fingerprint(call.lesson(), &locale);
    // The normalizer (and its stemmer) is only made when the lesson or the
    // focus has to be analysed, which a warm call skips.
    let mut normalizer = None;
    let stored = call.state_text(BANK_KEY).unwrap_or_default();
    let built;
    let bank = match bank::parse(&stored, fingerprint) {
        Some(bank) => bank,
        None => {
            let normalizer = normalizer.get_or_insert_with(|| Normalizer::for_locale(&locale));
            let lesson = call.lesson().clone();
            built = bank::build(&lesson, normalizer, fingerprint);
            call.set_state_text(BANK_KEY, &built)?;
            bank::parse(&built, fingerprint).unwrap_or_default()
        }
    };
    if bank.is_empty() {
        return Err(ToolError::failed(format!(
            "the subtopic \"{}\" has no objectives or key points to ask about; explain the \
             topic instead",
            call.lesson().title
        )));
    }

    // Narrow to the questions that match the focus best, if any does.
    let focus = arguments
        .focus
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty());
    let mut focus_note = String::new();
    let mut pool: Vec<&Banked<'_>> = bank.iter().collect();
    if let Some(focus) = focus {
        let scores = focus_scores(call, &bank, &mut normalizer, &locale, focus, fingerprint)?;
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
    let weakness = |q: &Banked<'_>| -> f32 {
        match q.objective_id.as_deref() {
            None => MASTERED_AT_SCORE,
            Some(id) => mastery
                .iter()
                .find(|m| m.objective_id == id)
                .map_or(0.0, |m| m.score.min(MASTERED_AT_SCORE)),
        }
    };
    let last = asked.last();
    // The shuffle is `stable_hash("{session}/{asked}/{id}")`; the hash of the
    // shared prefix is taken once and continued over each id, which gives
    // the same value without formatting a string per candidate.
    let mut prefix = String::with_capacity(call.context().session_id.len() + 24);
    prefix.push_str(&call.context().session_id);
    prefix.push('/');
    history::push_number(&mut prefix, asked.len());
    prefix.push('/');
    let prefix_hash = stable_hash(&prefix);
    let chosen = pool
        .iter()
        .copied()
        .filter(|q| pool.len() == 1 || Some(q.id.as_ref()) != last)
        .map(|q| {
            let shuffle = continue_hash(prefix_hash, &q.id);
            ((asked.times_asked(&q.id), weakness(q), shuffle), q)
        })
        .min_by(|(a, _), (b, _)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)))
        .map(|(_, q)| q)
        .expect("the pool is never empty");
    let prompt = word(&chosen.id, &chosen.subject, asked.times_asked(&chosen.id));
    let chosen_id = chosen.id.to_string();
    let chosen_objective = chosen.objective_id.as_deref().map(str::to_owned);

    asked.push(&chosen_id, MAX_HISTORY_ENTRIES);
    call.set_state_text(ASKED_KEY, &asked.encode())?;
    lectern_tool::debug!(call, "asked {} ({} asked so far)", chosen_id, asked.len());

    // Built piece by piece: `format!` costs several times more in the guest,
    // and this runs on every call.
    let mut content = String::with_capacity(focus_note.len() + prompt.len() + 256);
    content.push_str(&focus_note);
    content.push_str("Ask the learner: \"");
    content.push_str(&prompt);
    content.push('"');
    if let Some(objective) = chosen_objective
        .as_deref()
        .and_then(|id| call.lesson().objective(id))
    {
        content.push_str(" It checks the objective \"");
        content.push_str(&objective.text);
        content.push_str("\".");
    }
    content.push_str(" When they answer, call grade_answer with question_id \"");
    content.push_str(&chosen_id);
    content.push_str("\" and their answer. Do not give the answer first.");
    Ok(
        ToolOutput::text(content).with_display(Display::Question(QuestionCard {
            prompt,
            choices: Vec::new(),
            objective_id: chosen_objective,
        })),
    )
}

/// The questions asked in this session; anything unreadable stored (an
/// older plugin version's layout, say) starts the history afresh.
fn read_asked(call: &mut Call<'_>) -> History {
    History::parse(&call.state_text(ASKED_KEY).unwrap_or_default())
}

/// How well each banked question matches the focus. The scores for the last
/// focus asked about are kept in the state with the lesson fingerprint, so
/// asking about the same thing again skips the stemmer.
fn focus_scores(
    call: &mut Call<'_>,
    bank: &[Banked<'_>],
    normalizer: &mut Option<Normalizer>,
    locale: &str,
    focus: &str,
    fingerprint: u64,
) -> Result<Vec<usize>, ToolError> {
    if let Some(stored) = call.state_text(FOCUS_KEY)
        && let Some((print, rest)) = stored.split_once(FOCUS_SEPARATOR)
        && u64::from_str_radix(print, 16) == Ok(fingerprint)
        && let Some((scores, stored_focus)) = rest.split_once(FOCUS_SEPARATOR)
        && stored_focus == focus
        && let Some(scores) = parse_scores(scores).filter(|s| s.len() == bank.len())
    {
        return Ok(scores);
    }
    let normalizer = normalizer.get_or_insert_with(|| Normalizer::for_locale(locale));
    let wanted = normalizer.concepts(focus);
    let scores: Vec<usize> = bank.iter().map(|b| b.focus_match(&wanted)).collect();
    let listed: Vec<String> = scores.iter().map(usize::to_string).collect();
    let kept = format!(
        "{fingerprint:x}{FOCUS_SEPARATOR}{}{FOCUS_SEPARATOR}{focus}",
        listed.join(",")
    );
    call.set_state_text(FOCUS_KEY, &kept)?;
    Ok(scores)
}

/// Comma-separated numbers, as [`focus_scores`] keeps them; `None` for
/// anything else. A byte loop: this runs on every call with a focus.
fn parse_scores(text: &str) -> Option<Vec<usize>> {
    let mut scores = Vec::with_capacity(text.len() / 2 + 1);
    let mut score: Option<usize> = None;
    for byte in text.bytes().chain(std::iter::once(b',')) {
        match byte {
            b'0'..=b'9' => {
                let digit = usize::from(byte - b'0');
                score = Some(score.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
            }
            b',' => scores.extend(score.take()),
            _ => return None,
        }
    }
    Some(scores)
}

/// [`stable_hash`] of `text` appended to a text whose hash is `hash`.
fn continue_hash(hash: u64, text: &str) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    text.bytes().fold(hash, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
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
    let asked = read_asked(call);
    // The wording the learner heard is the one from their last asking.
    let times_asked = |id: &str| asked.times_asked(id).saturating_sub(1);
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

fn trim_history<T>(history: &mut Vec<T>) {
    if history.len() > MAX_HISTORY_ENTRIES {
        history.drain(..history.len() - MAX_HISTORY_ENTRIES);
    }
}

#[cfg(test)]
mod tests;
