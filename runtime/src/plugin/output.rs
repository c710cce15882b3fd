//! A tool's result as the host passes it on, and the rules that make a result
//! `invalid_output` instead of `ok`.
//!
//! The rules protect the model and the learner's screen, not the plugin's style:
//! - `content` must say something (not empty or blank);
//! - no text may carry control characters other than newline, carriage return and
//!   tab (terminal escapes, NULs and other junk that no lesson needs);
//! - content plus display must fit in `max_output_bytes`;
//! - a question has a prompt and at most [`MAX_CHOICES`] distinct, non-empty choices,
//!   and its objective (if any) is one of the subtopic's;
//! - a score has `total` between 1 and [`MAX_SCORE_TOTAL`] and `correct <= total`;
//! - an example has a title, problem and solution; key points are 1 to
//!   [`MAX_KEY_POINTS`] non-empty lines; markdown is not blank.

use serde::{Deserialize, Serialize};

use super::bindings::types as wit;
use crate::lesson::Subtopic;

/// Most choices a question card may show.
pub const MAX_CHOICES: usize = 8;
/// Most key points a card may show.
pub const MAX_KEY_POINTS: usize = 20;
/// Largest `total` on a score card (a practice round, not an exam).
pub const MAX_SCORE_TOTAL: u32 = 100;

/// A successful call's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// What the model reads.
    pub content: String,
    /// What the learner sees, if anything.
    pub display: Option<Display>,
}

/// What the learner's screen shows; serialised with a `type` tag, e.g.
/// `{"type":"question","prompt":…,"choices":[…],"objective_id":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Display {
    /// Free-form markdown.
    Markdown {
        /// The markdown text.
        text: String,
    },
    /// A question with optional choices.
    Question {
        /// The question.
        prompt: String,
        /// Choices; empty for an open answer.
        choices: Vec<String>,
        /// The objective it checks.
        objective_id: Option<String>,
    },
    /// A worked example.
    Example {
        /// Title.
        title: String,
        /// Problem (markdown).
        problem: String,
        /// Solution (markdown).
        solution: String,
    },
    /// A score after a practice round.
    Score {
        /// Title.
        title: String,
        /// Correct answers.
        correct: u32,
        /// Questions asked.
        total: u32,
        /// Feedback (markdown).
        feedback: String,
    },
    /// A list of short points.
    KeyPoints {
        /// The points.
        points: Vec<String>,
    },
}

/// Why an output was refused.
#[derive(Debug)]
pub(crate) struct OutputRejected {
    pub(crate) message: String,
    pub(crate) too_large: bool,
}

fn reject(message: impl Into<String>) -> OutputRejected {
    OutputRejected {
        message: message.into(),
        too_large: false,
    }
}

fn printable(field: &str, text: &str) -> Result<(), OutputRejected> {
    match first_control(text) {
        Some(c) => Err(reject(format!(
            "{field} contains the control character U+{:04X}; return plain text or markdown",
            c as u32
        ))),
        None => Ok(()),
    }
}

/// The first control character (Unicode `Cc`) other than newline, carriage
/// return and tab. `Cc` is U+0000..=U+001F, U+007F and U+0080..=U+009F, the
/// last encoded in UTF-8 as 0xC2 then 0x80..=0x9F (0xC2 is only ever a lead
/// byte), so the bytes are scanned without decoding every character.
///
/// Every output of every call goes through here, and almost all of it is
/// clean: a branch-free pass over each chunk (which the compiler vectorises)
/// only flags the chunks holding a byte that may start a control character,
/// and only those are looked at byte by byte.
fn first_control(text: &str) -> Option<char> {
    const CHUNK: usize = 32;
    let bytes = text.as_bytes();
    let mut start = 0;
    for chunk in bytes.chunks(CHUNK) {
        if chunk.iter().fold(false, |any, &b| any | may_be_control(b)) {
            let found = chunk.iter().enumerate().position(|(i, &b)| match b {
                b'\n' | b'\r' | b'\t' => false,
                0x00..=0x1f | 0x7f => true,
                0xc2 => bytes.get(start + i + 1).is_some_and(|next| *next <= 0x9f),
                _ => false,
            });
            if let Some(at) = found {
                return text[start + at..].chars().next();
            }
        }
        start += chunk.len();
    }
    None
}

/// Whether `b` is, or may start, a control character that is not allowed.
fn may_be_control(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\r' && b != b'\t') | (b == 0x7f) | (b == 0xc2)
}

fn filled(field: &str, text: &str) -> Result<(), OutputRejected> {
    if text.trim().is_empty() {
        return Err(reject(format!("{field} is empty")));
    }
    printable(field, text)
}

/// Check a raw output against the rules and convert it.
pub(crate) fn check(
    raw: wit::ToolOutput,
    lesson: &Subtopic,
    max_output_bytes: usize,
) -> Result<ToolOutput, OutputRejected> {
    let display_bytes = raw.display.as_ref().map_or(0, display_len);
    let total = raw.content.len() + display_bytes;
    if total > max_output_bytes {
        return Err(OutputRejected {
            message: format!(
                "the output is {total} bytes, more than the {max_output_bytes} allowed; \
                 return a shorter content and display"
            ),
            too_large: true,
        });
    }
    filled("content", &raw.content)?;
    let display = raw.display.map(|d| check_display(d, lesson)).transpose()?;
    Ok(ToolOutput {
        content: raw.content,
        display,
    })
}

fn display_len(d: &wit::Display) -> usize {
    match d {
        wit::Display::Markdown(t) => t.len(),
        wit::Display::Question(q) => {
            q.prompt.len()
                + q.choices.iter().map(String::len).sum::<usize>()
                + q.objective_id.as_ref().map_or(0, String::len)
        }
        wit::Display::Example(e) => e.title.len() + e.problem.len() + e.solution.len(),
        wit::Display::Score(s) => s.title.len() + s.feedback.len() + 8,
        wit::Display::KeyPoints(p) => p.iter().map(String::len).sum(),
    }
}

fn check_display(d: wit::Display, lesson: &Subtopic) -> Result<Display, OutputRejected> {
    Ok(match d {
        wit::Display::Markdown(text) => {
            filled("display markdown", &text)?;
            Display::Markdown { text }
        }
        wit::Display::Question(q) => {
            filled("question prompt", &q.prompt)?;
            if q.choices.len() > MAX_CHOICES {
                return Err(reject(format!(
                    "the question has {} choices; show at most {MAX_CHOICES}",
                    q.choices.len()
                )));
            }
            for (i, c) in q.choices.iter().enumerate() {
                filled("a question choice", c)?;
                if q.choices[..i].contains(c) {
                    return Err(reject(format!("the choice `{c}` appears twice")));
                }
            }
            if let Some(id) = &q.objective_id
                && !lesson.objectives.iter().any(|o| &o.id == id)
            {
                return Err(reject(format!(
                    "the question names objective `{id}`, which this subtopic does not have"
                )));
            }
            Display::Question {
                prompt: q.prompt,
                choices: q.choices,
                objective_id: q.objective_id,
            }
        }
        wit::Display::Example(e) => {
            filled("example title", &e.title)?;
            filled("example problem", &e.problem)?;
            filled("example solution", &e.solution)?;
            Display::Example {
                title: e.title,
                problem: e.problem,
                solution: e.solution,
            }
        }
        wit::Display::Score(s) => {
            if s.total == 0 || s.total > MAX_SCORE_TOTAL {
                return Err(reject(format!(
                    "a score needs a total between 1 and {MAX_SCORE_TOTAL}, not {}",
                    s.total
                )));
            }
            if s.correct > s.total {
                return Err(reject(format!(
                    "the score says {} correct out of {}",
                    s.correct, s.total
                )));
            }
            filled("score title", &s.title)?;
            printable("score feedback", &s.feedback)?;
            Display::Score {
                title: s.title,
                correct: s.correct,
                total: s.total,
                feedback: s.feedback,
            }
        }
        wit::Display::KeyPoints(points) => {
            if points.is_empty() || points.len() > MAX_KEY_POINTS {
                return Err(reject(format!(
                    "key points need 1 to {MAX_KEY_POINTS} entries, not {}",
                    points.len()
                )));
            }
            for p in &points {
                filled("a key point", p)?;
            }
            Display::KeyPoints { points }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Subtopic {
        serde_json::from_value(serde_json::json!({
            "id": "s", "topic_id": "t", "title": "T",
            "objectives": [{"id": "o1", "text": "x"}]
        }))
        .unwrap()
    }

    fn out(content: &str, display: Option<wit::Display>) -> wit::ToolOutput {
        wit::ToolOutput {
            content: content.into(),
            display,
        }
    }

    #[test]
    fn control_characters_found_by_bytes_as_by_chars() {
        let mut text = String::new();
        for c in (0u32..0x800)
            .filter_map(char::from_u32)
            .chain(['\u{2028}', '😀'])
        {
            // Before, across and after a chunk boundary of the fast pass.
            for pad in [0, 30, 31, 32, 40] {
                text.clear();
                text.push_str(&"a\n".repeat(pad / 2));
                text.push_str(&"a".repeat(pad % 2));
                text.push(c);
                text.push('b');
                let by_chars = text
                    .chars()
                    .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
                assert_eq!(first_control(&text), by_chars, "U+{:04X}", c as u32);
            }
        }
    }

    #[test]
    fn rules() {
        let l = lesson();
        assert!(check(out("fine", None), &l, 100).is_ok());
        assert!(check(out("  ", None), &l, 100).is_err());
        assert!(check(out("bell\u{7}", None), &l, 100).is_err());
        assert!(check(out("del\u{7f}", None), &l, 100).is_err());
        assert!(check(out("csi\u{9b}", None), &l, 100).is_err());
        assert!(check(out("nbsp\u{a0} é ü\tok\r\n", None), &l, 100).is_ok());
        assert!(
            check(out(&"x".repeat(101), None), &l, 100)
                .unwrap_err()
                .too_large
        );
        let score = |correct, total| {
            wit::Display::Score(wit::ScoreCard {
                title: "t".into(),
                correct,
                total,
                feedback: String::new(),
            })
        };
        assert!(check(out("c", Some(score(3, 2))), &l, 100).is_err());
        assert!(check(out("c", Some(score(2, 3))), &l, 100).is_ok());
        let q = |n: usize, obj: Option<&str>| {
            wit::Display::Question(wit::QuestionCard {
                prompt: "p".into(),
                choices: (0..n).map(|i| i.to_string()).collect(),
                objective_id: obj.map(Into::into),
            })
        };
        assert!(check(out("c", Some(q(9, None))), &l, 1000).is_err());
        assert!(check(out("c", Some(q(4, Some("o1")))), &l, 1000).is_ok());
        assert!(check(out("c", Some(q(4, Some("zz")))), &l, 1000).is_err());
    }
}
