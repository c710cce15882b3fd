//! The question bank as kept in the state: a compact line-per-question text
//! rather than nested JSON, because every call runs in a fresh instance and
//! reads it back; parsing it borrows from the stored text and needs neither
//! the stemmer nor JSON objects.
//! Ids and subjects are stored [`escape`]d.
//!
//! Layout: the first line is the lesson fingerprint (hex); then one line per
//! question (lines end at `;`) with `|`-separated fields: id, objective id (empty for none),
//! subject, then its subject, main-answer and other-answer concept terms,
//! each list space-separated.

use std::borrow::Cow;
use std::collections::BTreeSet;

use lectern_tool::Subtopic;
use lectern_tool::text::Normalizer;

use crate::questions::all_questions;

/// Separates the fields of a question line. Neither separator needs
/// escaping in JSON, so the stored text reads back without copying twice.
const FIELD_SEPARATOR: char = '|';
/// Separates the lines.
const LINE_SEPARATOR: char = ';';
/// Separates the terms of a list.
const TERM_SEPARATOR: char = ' ';

/// One question of the bank, borrowed from its stored text.
pub struct Banked<'a> {
    pub id: Cow<'a, str>,
    pub subject: Cow<'a, str>,
    pub objective_id: Option<Cow<'a, str>>,
    /// The subject, main-answer and other-answer terms, still joined: only
    /// a focus not seen before needs them.
    terms: &'a str,
}

impl Banked<'_> {
    /// How well the question matches focus concepts: its subject counts
    /// most, then its main answer, then its other answers.
    pub fn focus_match(&self, focus: &BTreeSet<String>) -> usize {
        let hits = |terms: &str| {
            terms
                .split(TERM_SEPARATOR)
                .filter(|t| !t.is_empty() && focus.contains(*t))
                .count()
        };
        let mut lists = self.terms.split(FIELD_SEPARATOR);
        let mut next = || lists.next().unwrap_or_default();
        let (subject, main, other) = (next(), next(), next());
        4 * hits(subject) + 2 * hits(main) + hits(other)
    }
}

/// A stable fingerprint (FNV-1a) of what questions are built from: the
/// locale, title, objectives and key points, each field delimited so that
/// moving text between fields changes it. Hashes the lesson in place; no
/// text is copied.
pub fn fingerprint(lesson: &Subtopic, locale: &str) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET_BASIS;
    let mut feed = |text: &str| {
        for byte in text.as_bytes() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(PRIME);
        }
        hash = (hash ^ 0x1f).wrapping_mul(PRIME);
    };
    feed(locale);
    feed(&lesson.title);
    for objective in &lesson.objectives {
        feed(&objective.id);
        feed(&objective.text);
    }
    for point in &lesson.key_points {
        feed(point);
    }
    hash
}

/// Analyses the lesson (the costly part: stemming every statement) into the
/// stored text.
pub fn build(lesson: &Subtopic, normalizer: &Normalizer, fingerprint: u64) -> String {
    let mut text = format!("{fingerprint:x}");
    let terms = |set: BTreeSet<String>| set.into_iter().collect::<Vec<_>>().join(" ");
    for question in all_questions(lesson, normalizer, |_| 0) {
        let mut others = BTreeSet::new();
        for answer in question.answers.iter().skip(1) {
            others.extend(normalizer.concepts(answer));
        }
        let main = question
            .answers
            .first()
            .map(|a| normalizer.concepts(a))
            .unwrap_or_default();
        text.push(LINE_SEPARATOR);
        text.push_str(&escape(&question.id));
        for field in [
            escape(question.objective_id.as_deref().unwrap_or_default()),
            escape(&question.subject),
            Cow::Owned(terms(normalizer.concepts(&question.subject))),
            Cow::Owned(terms(main)),
            Cow::Owned(terms(others)),
        ] {
            text.push(FIELD_SEPARATOR);
            text.push_str(&field);
        }
    }
    text
}

/// `text` with the characters the stored layouts use as separators (and the
/// escape character itself) escaped, so any id or subject fits in a field.
/// Spaces stay: they separate only terms, which never hold one.
pub fn escape(text: &str) -> Cow<'_, str> {
    // Bytes, not chars: this runs on every stored id of every call.
    if !text.bytes().any(|b| matches!(b, b'\\' | b'|' | b';')) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '|' => escaped.push_str("\\p"),
            ';' => escaped.push_str("\\l"),
            other => escaped.push(other),
        }
    }
    Cow::Owned(escaped)
}

/// The text [`escape`] was given.
pub fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            plain.push(c);
            continue;
        }
        match chars.next() {
            Some('p') => plain.push('|'),
            Some('l') => plain.push(';'),
            Some(other) => plain.push(other),
            None => {}
        }
    }
    Cow::Owned(plain)
}

/// The questions of a stored bank built from the lesson with `fingerprint`;
/// `None` when it was built from another lesson or is unreadable.
///
/// One pass over the bytes: the bank is read on every call, and splitting it
/// line by line and field by field with the generic `split` costs several
/// times more guest instructions. Every separator is ASCII, so every cut
/// falls on a character boundary.
pub fn parse(text: &str, fingerprint: u64) -> Option<Vec<Banked<'_>>> {
    let bytes = text.as_bytes();
    let line_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|b| *b == LINE_SEPARATOR as u8)
            .map_or(bytes.len(), |at| from + at)
    };
    let header_end = line_end(0);
    let stored = u64::from_str_radix(&text[..header_end], 16).ok()?;
    if stored != fingerprint {
        return None;
    }
    let mut bank = Vec::new();
    let mut at = header_end;
    while at < bytes.len() {
        // `at` is on the separator before a question line.
        let start = at + 1;
        // Where the objective id, the subject and the terms start.
        let mut field_starts = [0usize; 3];
        let mut fields = 0;
        let mut escaped = false;
        let mut end = start;
        while end < bytes.len() && fields < 3 {
            match bytes[end] {
                b if b == FIELD_SEPARATOR as u8 => {
                    field_starts[fields] = end + 1;
                    fields += 1;
                }
                b if b == LINE_SEPARATOR as u8 => break,
                b'\\' => escaped = true,
                _ => {}
            }
            end += 1;
        }
        if fields < 3 {
            return None;
        }
        end = line_end(end);
        let field = |from: usize, to: usize| {
            let raw = &text[from..to];
            if escaped {
                unescape(raw)
            } else {
                Cow::Borrowed(raw)
            }
        };
        let [objective_start, subject_start, terms_start] = field_starts;
        let id = field(start, objective_start - 1);
        if id.is_empty() {
            return None;
        }
        let objective_id = field(objective_start, subject_start - 1);
        bank.push(Banked {
            id,
            objective_id: (!objective_id.is_empty()).then_some(objective_id),
            subject: field(subject_start, terms_start - 1),
            terms: &text[terms_start..end],
        });
        at = end;
    }
    Some(bank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::sample_subtopic;

    #[test]
    fn a_built_bank_reads_back_and_only_for_its_lesson() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let print = fingerprint(&lesson, "en");
        let text = build(&lesson, &en, print);
        let bank = parse(&text, print).unwrap();
        let questions = all_questions(&lesson, &en, |_| 0);
        assert_eq!(bank.len(), questions.len());
        for (banked, question) in bank.iter().zip(&questions) {
            assert_eq!(banked.id, question.id);
            assert_eq!(banked.subject, question.subject);
            assert_eq!(
                banked.objective_id.as_deref(),
                question.objective_id.as_deref()
            );
        }
        assert!(parse(&text, print ^ 1).is_none());
        assert!(parse("not a bank", print).is_none());
        assert_ne!(print, fingerprint(&lesson, "fr"));
    }

    #[test]
    fn separators_in_ids_and_subjects_survive() {
        let mut lesson = sample_subtopic();
        lesson.objectives[0].id = "odd|id with\\ spaces;and\nlines".into();
        lesson.objectives[0].text = "Explain|the leaf;\r\nshape".into();
        let en = Normalizer::for_locale("en");
        let print = fingerprint(&lesson, "en");
        let text = build(&lesson, &en, print);
        let bank = parse(&text, print).unwrap();
        assert_eq!(bank[0].id, format!("objective:{}", lesson.objectives[0].id));
        assert_eq!(
            bank[0].objective_id.as_deref(),
            Some(lesson.objectives[0].id.as_str())
        );
        assert_eq!(bank[0].subject, "Explain|the leaf;\r\nshape");
        assert_eq!(unescape(&escape("a\\b c|d;e")), "a\\b c|d;e");
    }
}
