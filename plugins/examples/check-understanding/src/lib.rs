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

mod asked;
mod bank;
mod compare;
mod grading;
mod questions;
mod record;

use lectern_tool::text::{Normalizer, stable_hash};
use lectern_tool::{
    Call, Display, LogLevel, Manifest, QuestionCard, ScoreCard, TeachingTool, ToolError,
    ToolOutput, ToolSpec,
};
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::json;

use crate::asked::Asked;
use crate::bank::Banked;
use crate::compare::{order, same};
use crate::grading::grade_text;
use crate::questions::{statement, variant, word};
use crate::record::{Reader, Writer, parse_number, push_number};

/// State key: how often each question was asked in this session, the last
/// one and the focus last asked about, in the layout of [`asked`].
const ASKED_KEY: &str = "asked";
/// State key: the questions of this lesson, analysed once per session (and
/// again when the lesson changes): analysing the lesson's text is the
/// costly part of a call. In the layout of [`bank`].
const BANK_KEY: &str = "bank";
/// State key: the grades given in this session, oldest first.
const GRADES_KEY: &str = "grades";
/// At most this many grades are kept, so the state stays far below the
/// host's cap however long the lesson.
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

/// One graded answer as an earlier version kept it (JSON), still read so a
/// lesson going on across an upgrade keeps its attempt counts.
#[derive(Deserialize)]
struct JsonGradeRecord {
    question_id: String,
    share: f32,
}

/// A kept grade: the question and the share of it answered, in thousandths.
type GradeEntry<'a> = (Cow<'a, str>, usize);

/// The first field of `grades` in the current layout; earlier layouts
/// start with a question id or are JSON.
const GRADES_LAYOUT: &str = "g2";

/// The grades kept in the state, oldest first, in the layout of
/// [`write_grades`], the netstrings without counts or the JSON list of
/// earlier versions; `None` when the text is none of them.
fn read_grades(text: &str) -> Option<Vec<GradeEntry<'_>>> {
    if text.starts_with('[') {
        let json: Vec<JsonGradeRecord> = serde_json::from_str(text).ok()?;
        return Some(
            json.into_iter()
                .map(|g| (Cow::Owned(g.question_id), thousandths(g.share)))
                .collect(),
        );
    }
    let mut record = Reader::new(text);
    let mut grades = Vec::with_capacity(MAX_HISTORY_ENTRIES + 1);
    let mut rest = record.clone();
    if rest.text() == Some(GRADES_LAYOUT) {
        rest.text()?;
        record = rest;
    }
    while !record.is_done() {
        let id = record.text()?;
        let share = parse_number(record.text()?)?;
        grades.push((Cow::Borrowed(id), share));
    }
    Some(grades)
}

/// How many of the kept grades are of each question, sorted by id.
type GradeCounts<'a> = Vec<(&'a str, usize)>;

/// The stored form of `grades`: netstrings, the layout tag, then how many
/// grades each question has (one field, itself netstrings: id, count,
/// sorted by id), then the question id and the share in thousandths for
/// each grade (see [`record`]). The counts spare a grade reading every
/// kept one to number its attempt.
fn write_grades(grades: &[GradeEntry<'_>]) -> String {
    let mut counts: GradeCounts<'_> = Vec::new();
    for (id, _) in grades {
        count_grade(&mut counts, id, 1);
    }
    let mut entries = Writer::with_capacity(grades.iter().map(|(id, _)| id.len() + 12).sum());
    for (id, share) in grades {
        entries.text(id).number(*share);
    }
    grades_text(&counts, &entries.finish(), "")
}

/// Adds `change` (1 or -1) to the count of `id`; a count reaching 0 goes.
fn count_grade<'a>(counts: &mut GradeCounts<'a>, id: &'a str, change: isize) {
    match counts.binary_search_by(|(kept, _)| order(kept, id)) {
        Ok(at) => {
            counts[at].1 = counts[at].1.saturating_add_signed(change);
            if counts[at].1 == 0 {
                counts.remove(at);
            }
        }
        Err(at) if change > 0 => counts.insert(at, (id, 1)),
        Err(_) => {}
    }
}

/// The stored form from the counts and the entries' netstrings (`kept`,
/// then `added`: one copy of the kept entries, which are most of it).
fn grades_text(counts: &GradeCounts<'_>, kept: &str, added: &str) -> String {
    let mut listed = Writer::with_capacity(counts.len() * 32);
    for (id, count) in counts {
        listed.text(id).number(*count);
    }
    let listed = listed.finish();
    let mut text = Writer::with_capacity(listed.len() + kept.len() + added.len() + 16);
    text.text(GRADES_LAYOUT).text(&listed);
    let mut text = text.finish();
    text.push_str(kept);
    text.push_str(added);
    text
}

fn thousandths(share: f32) -> usize {
    (share.clamp(0.0, 1.0) * 1000.0).round() as usize
}

fn ask(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: AskArguments = call.arguments()?;
    let locale = call.context().locale.clone();
    let fingerprint = bank::fingerprint(call.lesson(), &locale);
    // The normalizer (and its stemmer) is only made when the lesson or the
    // focus has to be analysed, which a warm call skips.
    let mut normalizer = None;
    let stored_bank = call.state_text(BANK_KEY).unwrap_or_default();
    let stored_asked = call.state_text(ASKED_KEY).unwrap_or_default();
    let built;
    let (bank, mut asked) = match bank::parse(&stored_bank, fingerprint) {
        Some(bank) => {
            let asked = Asked::parse(&stored_asked, fingerprint, bank.len())
                .unwrap_or_else(|| Asked::fresh(fingerprint, bank.len()));
            (bank, asked)
        }
        None => {
            let normalizer = normalizer.get_or_insert_with(|| Normalizer::for_locale(&locale));
            built = bank::build(call.lesson(), normalizer, fingerprint);
            call.set_state_text(BANK_KEY, &built)?;
            let bank = bank::parse(&built, fingerprint).expect("a built bank reads back");
            // A damaged bank of the same lesson keeps what was asked; an
            // edited lesson keeps it for the questions it still has.
            let asked = match (
                Asked::parse(&stored_asked, fingerprint, bank.len()),
                bank::parse_any(&stored_bank),
            ) {
                (Some(asked), _) => asked,
                (None, Some(old_bank)) => Asked::carry_over(
                    &stored_asked,
                    old_bank.fingerprint,
                    &old_bank.questions,
                    fingerprint,
                    &bank.questions,
                ),
                (None, None) => Asked::fresh(fingerprint, bank.len()),
            };
            (bank, asked)
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
    let mut focus_scores = None;
    if let Some(focus) = focus {
        let scores = match asked.focus_scores(focus) {
            Some(scores) => scores,
            None => {
                let normalizer = normalizer.get_or_insert_with(|| Normalizer::for_locale(&locale));
                let wanted = bank.terms(focus, normalizer);
                let scores: Vec<usize> = bank
                    .questions
                    .iter()
                    .map(|b| b.focus_match(&wanted))
                    .collect();
                asked.keep_focus(focus, &scores);
                scores
            }
        };
        let best = scores.iter().copied().max().unwrap_or(0);
        if best == 0 {
            focus_note.push_str("Nothing in this subtopic matches \"");
            focus_note.push_str(focus);
            focus_note.push_str("\", so this question is about something else. ");
        } else {
            focus_scores = Some((scores, best));
        }
    }
    let in_pool = |index: usize| {
        focus_scores
            .as_ref()
            .is_none_or(|(scores, best)| scores[index] == *best)
    };
    let pool_size = (0..bank.len()).filter(|i| in_pool(*i)).count();

    // Least asked first, then the weakest objective, then a per-session
    // shuffle; never the question just asked when there is another.
    let mastery = call.mastery();
    // Mastery counts up to "mastered"; an objective without evidence is 0,
    // a question linked to no objective ranks with the mastered ones.
    let weakness = |q: &Banked<'_>| -> f32 {
        match q.objective_id {
            None => MASTERED_AT_SCORE,
            Some(id) => mastery
                .iter()
                .find(|m| same(&m.objective_id, id))
                .map_or(0.0, |m| m.score.min(MASTERED_AT_SCORE)),
        }
    };
    let last = asked.last();
    // The shuffle is `stable_hash("{session}/{asked}/{id}")`; the hash of the
    // shared prefix is taken once, piece by piece, and continued over each
    // id, which gives the same value without formatting a string.
    let mut asked_digits = String::with_capacity(20);
    push_number(&mut asked_digits, asked.total());
    let prefix_hash = [call.context().session_id.as_str(), "/", &asked_digits, "/"]
        .into_iter()
        .fold(stable_hash(""), continue_hash);
    let chosen = (0..bank.len())
        .filter(|i| in_pool(*i) && (pool_size == 1 || Some(*i) != last))
        .map(|i| {
            let q = &bank[i];
            let shuffle = continue_hash(prefix_hash, q.id);
            ((asked.times_asked(i), weakness(q), shuffle), i)
        })
        .min_by(|(a, _), (b, _)| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)))
        .map(|(_, i)| i)
        .expect("the pool is never empty");
    let question = &bank[chosen];
    let prompt = word(question.id, question.subject, asked.times_asked(chosen));

    asked.push(chosen);
    call.set_state_text(ASKED_KEY, &asked.encode())?;
    let mut line = String::with_capacity(question.id.len() + 32);
    line.push_str("asked ");
    line.push_str(question.id);
    line.push_str(" (");
    push_number(&mut line, asked.total());
    line.push_str(" asked so far)");
    call.log(LogLevel::Debug, &line);

    // Built piece by piece: `format!` costs several times more in the guest,
    // and this runs on every call.
    let objective = question
        .objective_id
        .and_then(|id| call.lesson().objective(id));
    let mut content = String::with_capacity(
        focus_note.len() + prompt.len() + objective.map_or(0, |o| o.text.len()) + 192,
    );
    content.push_str(&focus_note);
    content.push_str("Ask the learner: \"");
    content.push_str(&prompt);
    content.push('"');
    if let Some(objective) = objective {
        content.push_str(" It checks the objective \"");
        content.push_str(&objective.text);
        content.push_str("\".");
    }
    content.push_str(" When they answer, call grade_answer with question_id \"");
    content.push_str(question.id);
    content.push_str("\" and their answer. Do not give the answer first.");
    Ok(
        ToolOutput::text(content).with_display(Display::Question(QuestionCard {
            prompt,
            choices: Vec::new(),
            objective_id: question.objective_id.map(str::to_owned),
        })),
    )
}

/// How often question `id` had been asked before it was asked last: picks
/// the wording the learner heard. 0 when the state does not say.
fn times_heard(kept: &bank::Bank<'_>, stored_asked: &str, id: &str) -> usize {
    // The counts follow the kept bank, whatever lesson or layout it was
    // built in.
    let Some(asked) = Asked::parse(stored_asked, kept.fingerprint, kept.len()) else {
        return 0;
    };
    kept.questions
        .iter()
        .position(|q| same(q.id, id))
        .map_or(0, |index| asked.times_asked(index).saturating_sub(1))
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
    let answer = arguments.answer.trim();
    // No longer in characters than in bytes: most answers need no count.
    let answer = match answer.len() > MAX_ANSWER_CHARS {
        true => match answer.char_indices().nth(MAX_ANSWER_CHARS) {
            Some((cut, _)) => &answer[..cut],
            None => answer,
        },
        false => answer,
    };
    if answer.is_empty() {
        return Err(ToolError::invalid_arguments(
            "the answer is empty; let the learner answer first, then pass their words",
        ));
    }
    let locale = call.context().locale.clone();
    let normalizer = Normalizer::for_locale(&locale);
    let fingerprint = bank::fingerprint(call.lesson(), &locale);
    let stored_bank = call.state_text(BANK_KEY).unwrap_or_default();
    let stored_asked = call.state_text(ASKED_KEY).unwrap_or_default();
    let kept = bank::parse_any(&stored_bank);
    let heard = kept.as_ref().map_or(0, |kept| {
        times_heard(kept, &stored_asked, &arguments.question_id)
    });
    // The bank the question was asked from holds the analysis grading
    // needs; without one for this lesson (none kept yet, an earlier
    // version's, an edited lesson) it is built here.
    let mut built = String::new();
    let bank = match kept.filter(|kept| kept.is_complete_for(fingerprint)) {
        Some(bank) => bank,
        None => {
            built = bank::build(call.lesson(), &normalizer, fingerprint);
            bank::parse(&built, fingerprint).expect("a built bank reads back")
        }
    };
    let Some(question) = bank.question(&arguments.question_id) else {
        return Err(ToolError::invalid_arguments(format!(
            "there is no question \"{}\" in this subtopic; call check_understanding and \
             use the question_id it returns",
            arguments.question_id
        )));
    };
    // Kept for the next calls, unless the kept bank is another lesson's:
    // the next question carries what was asked over to the new one.
    if !built.is_empty()
        && bank::parse_any(&stored_bank).is_none_or(|stored| stored.fingerprint == fingerprint)
    {
        call.set_state_text(BANK_KEY, &built)?;
    }
    let wording = variant(question.id, heard);
    let prompt = word(question.id, question.subject, heard);
    let grade = grade_text(&bank, question, wording, answer, &normalizer);
    let statement = grade
        .statement
        .and_then(|index| statement(call.lesson(), index))
        .unwrap_or_default()
        .to_owned();

    let stored_grades = call.state_text(GRADES_KEY).unwrap_or_default();
    let share = thousandths(grade.share);
    let (attempt, grades) = match add_grade(&stored_grades, question.id, share) {
        Some(added) => added,
        None => {
            call.log(
                LogLevel::Warn,
                "starting `grades` afresh: the stored grades could not be read",
            );
            (1, write_grades(&[(Cow::Borrowed(question.id), share)]))
        }
    };
    call.set_state_text(GRADES_KEY, &grades)?;

    // The texts are built piece by piece: `format!` costs several times
    // more in the guest.
    let verdict = grade.verdict();
    let mut progress_note = String::new();
    if let Some(objective_id) = question.objective_id {
        let mut note = String::with_capacity(128);
        note.push_str(question.id);
        note.push_str(" (attempt ");
        push_number(&mut note, attempt);
        note.push_str("): ");
        note.push_str(verdict);
        note.push_str("; covered ");
        push_list(&mut note, &grade.found, ", ", "nothing");
        note.push_str("; missed ");
        push_list(&mut note, &grade.missed, ", ", "nothing");
        call.record_progress(objective_id, grade.share, &note)?;
        if let Some(mastery) = call
            .mastery()
            .into_iter()
            .find(|m| same(&m.objective_id, objective_id))
        {
            progress_note.push_str(" Mastery of \"");
            progress_note.push_str(objective_id);
            progress_note.push_str("\" is now ");
            push_hundredths(&mut progress_note, mastery.score);
            progress_note.push_str(" over ");
            push_number(&mut progress_note, mastery.evidence_count as usize);
            progress_note.push_str(" piece(s) of evidence.");
        }
    }

    let total = grade.found.len() + grade.missed.len();
    let correct = grade.found.len();
    let mut content = String::with_capacity(256 + statement.len() + progress_note.len());
    content.push_str("The answer is ");
    content.push_str(verdict);
    content.push_str(" (attempt ");
    push_number(&mut content, attempt);
    content.push_str(", ");
    push_number(&mut content, correct);
    content.push_str(" of ");
    push_number(&mut content, total);
    content.push_str(" key ideas). Covered: ");
    push_list(&mut content, &grade.found, ", ", "nothing");
    content.push_str(". Missed: ");
    push_list(&mut content, &grade.missed, ", ", "nothing");
    content.push_str(". The lesson says: \"");
    content.push_str(&statement);
    content.push('"');
    content.push_str(&progress_note);

    let mut feedback = String::with_capacity(128 + statement.len());
    if grade.missed.is_empty() {
        feedback.push_str("Well done: you covered every key idea. ");
        feedback.push_str(&statement);
    } else if grade.found.is_empty() {
        feedback.push_str("Not yet. Think about: **");
        push_list(&mut feedback, &grade.missed, "**, **", "");
        feedback.push_str("**.");
    } else {
        feedback.push_str("You mentioned **");
        push_list(&mut feedback, &grade.found, "**, **", "");
        feedback.push_str("**. Also think about: **");
        push_list(&mut feedback, &grade.missed, "**, **", "");
        feedback.push_str("**.");
    }
    let mut title = String::with_capacity(7 + prompt.len());
    title.push_str("Check: ");
    title.push_str(&prompt);
    Ok(
        ToolOutput::text(content).with_display(Display::Score(ScoreCard {
            title,
            correct: correct as u32,
            total: total as u32,
            feedback,
        })),
    )
}

/// Appends `words` with `separator` between them, or `none` when there is
/// none.
fn push_list(text: &mut String, words: &[&str], separator: &str, none: &str) {
    if words.is_empty() {
        text.push_str(none);
    }
    for (at, word) in words.iter().enumerate() {
        if at > 0 {
            text.push_str(separator);
        }
        text.push_str(word);
    }
}

/// Appends `value` with two decimals, as `format!("{value:.2}")` writes it
/// (ties to even on the exact binary value).
fn push_hundredths(text: &mut String, value: f32) {
    // An `f32` times 100 is exact in an `f64` (24 + 7 bits of mantissa), so
    // rounding it rounds the exact value.
    let hundredths = (f64::from(value) * 100.0).round_ties_even();
    if !(0.0..1e15).contains(&hundredths) {
        text.push_str(&format!("{value:.2}"));
        return;
    }
    let hundredths = hundredths as usize;
    push_number(text, hundredths / 100);
    text.push('.');
    let cents = hundredths % 100;
    text.push(char::from(b'0' + (cents / 10) as u8));
    text.push(char::from(b'0' + (cents % 10) as u8));
}

/// The attempt number of a grade of question `id` with `share` and the
/// stored `grades` with it added (the oldest going past the last
/// [`MAX_HISTORY_ENTRIES`]); `None` when the stored text is unreadable.
/// In the current layout only the counts and the oldest grade are read:
/// the others are carried over as they are.
fn add_grade(stored: &str, id: &str, share: usize) -> Option<(usize, String)> {
    let mut record = Reader::new(stored);
    if stored.is_empty() || record.text() != Some(GRADES_LAYOUT) {
        let mut grades = read_grades(stored)?;
        let attempt = 1 + grades.iter().filter(|(kept, _)| kept == id).count();
        grades.push((Cow::Borrowed(id), share));
        trim_history(&mut grades);
        return Some((attempt, write_grades(&grades)));
    }
    let listed = record.text()?;
    let entries = &stored[stored.len() - record.rest_len()..];
    let mut counts: GradeCounts<'_> = Vec::with_capacity(16);
    let mut pairs = Reader::new(listed);
    while !pairs.is_done() {
        let kept = pairs.text()?;
        let count = parse_number(pairs.text()?)?;
        if count == 0
            || counts
                .last()
                .is_some_and(|(last, _)| order(last, kept).is_ge())
        {
            return None;
        }
        counts.push((kept, count));
    }
    let total: usize = counts.iter().map(|(_, count)| count).sum();
    let attempt = 1 + counts
        .iter()
        .find(|(kept, _)| same(kept, id))
        .map_or(0, |(_, count)| *count);
    let mut from = 0;
    if total + 1 > MAX_HISTORY_ENTRIES {
        let mut oldest = Reader::new(entries);
        let dropped = oldest.text()?;
        parse_number(oldest.text()?)?;
        count_grade(&mut counts, dropped, -1);
        from = entries.len() - oldest.rest_len();
    }
    count_grade(&mut counts, id, 1);
    let mut added = Writer::with_capacity(id.len() + 16);
    added.text(id).number(share);
    Some((
        attempt,
        grades_text(&counts, &entries[from..], &added.finish()),
    ))
}

fn trim_history<T>(history: &mut Vec<T>) {
    if history.len() > MAX_HISTORY_ENTRIES {
        history.drain(..history.len() - MAX_HISTORY_ENTRIES);
    }
}

#[cfg(test)]
mod tests;
