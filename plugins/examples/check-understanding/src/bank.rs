//! The question bank as kept in the state: the lesson's questions with the
//! concept terms of each, analysed once per session and lesson, because
//! analysing the lesson's text (stemming every statement) is by far the
//! costliest part of a call.
//!
//! Layout (netstrings, see [`record`](crate::record)): the lesson
//! fingerprint (hex), then four fields per question: id, objective id (empty
//! for none), subject, and its subject, main-answer and other-answer concept
//! terms as one field (`|` between the three lists, a space between terms).

use std::collections::BTreeSet;

use lectern_tool::Subtopic;
use lectern_tool::text::Normalizer;

use crate::questions::all_questions;
use crate::record::{Reader, Writer};

/// Separates the three term lists of a question.
const LIST_SEPARATOR: char = '|';
/// Separates the terms of a list.
const TERM_SEPARATOR: char = ' ';

/// One question of the bank, borrowed from its stored text.
pub struct Banked<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub objective_id: Option<&'a str>,
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
        let mut lists = self.terms.split(LIST_SEPARATOR);
        let mut next = || lists.next().unwrap_or_default();
        let (subject, main, other) = (next(), next(), next());
        4 * hits(subject) + 2 * hits(main) + hits(other)
    }
}

/// A stable fingerprint of what questions are built from: the locale,
/// title, objectives and key points, each field's length mixed in so that
/// moving text between fields changes it. Runs on every call, so it hashes
/// eight bytes at a step (FxHash's mixing, then a final avalanche) rather
/// than byte by byte; it only has to notice an edited lesson, not resist an
/// adversary.
pub fn fingerprint(lesson: &Subtopic, locale: &str) -> u64 {
    let mut hash = Fingerprint(0x9e37_79b9_7f4a_7c15);
    hash.field(locale);
    hash.field(&lesson.title);
    hash.mix(lesson.objectives.len() as u64);
    for objective in &lesson.objectives {
        hash.field(&objective.id);
        hash.field(&objective.text);
    }
    for point in &lesson.key_points {
        hash.field(point);
    }
    hash.finish()
}

struct Fingerprint(u64);

impl Fingerprint {
    fn mix(&mut self, word: u64) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }

    fn field(&mut self, text: &str) {
        let bytes = text.as_bytes();
        self.mix(bytes.len() as u64);
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(word);
            self.mix(u64::from_le_bytes(eight));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut eight = [0u8; 8];
            eight[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(eight));
        }
    }

    fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Analyses the lesson (the costly part: stemming every statement) into the
/// stored text.
pub fn build(lesson: &Subtopic, normalizer: &Normalizer, fingerprint: u64) -> String {
    let mut record = Writer::with_capacity(1024);
    record.hex(fingerprint);
    let mut terms = String::new();
    let push_terms = |terms: &mut String, set: BTreeSet<String>| {
        for (n, term) in set.iter().enumerate() {
            if n > 0 {
                terms.push(TERM_SEPARATOR);
            }
            terms.push_str(term);
        }
    };
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
        terms.clear();
        push_terms(&mut terms, normalizer.concepts(&question.subject));
        terms.push(LIST_SEPARATOR);
        push_terms(&mut terms, main);
        terms.push(LIST_SEPARATOR);
        push_terms(&mut terms, others);
        record
            .text(&question.id)
            .text(question.objective_id.as_deref().unwrap_or_default())
            .text(&question.subject)
            .text(&terms);
    }
    record.finish()
}

/// The questions of a stored bank built from the lesson with `fingerprint`;
/// `None` when it was built from another lesson or is unreadable.
pub fn parse(text: &str, fingerprint: u64) -> Option<Vec<Banked<'_>>> {
    parse_any(text).and_then(|(stored, bank)| (stored == fingerprint).then_some(bank))
}

/// The fingerprint and questions of a stored bank, whatever lesson it was
/// built from; `None` when it is unreadable.
pub fn parse_any(text: &str) -> Option<(u64, Vec<Banked<'_>>)> {
    let mut record = Reader::new(text);
    let fingerprint = u64::from_str_radix(record.text()?, 16).ok()?;
    let mut bank = Vec::with_capacity(16);
    while !record.is_done() {
        let id = record.text().filter(|id| !id.is_empty())?;
        let objective_id = record.text()?;
        bank.push(Banked {
            id,
            objective_id: (!objective_id.is_empty()).then_some(objective_id),
            subject: record.text()?,
            terms: record.text()?,
        });
    }
    Some((fingerprint, bank))
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
            assert_eq!(banked.objective_id, question.objective_id.as_deref());
        }
        assert!(parse(&text, print ^ 1).is_none());
        assert_eq!(parse_any(&text).unwrap().0, print);
        assert!(parse("not a bank", print).is_none());
        assert!(parse(&text[..text.len() - 1], print).is_none());
        assert_ne!(print, fingerprint(&lesson, "fr"));
    }

    #[test]
    fn every_change_to_what_questions_are_built_from_changes_the_fingerprint() {
        let lesson = sample_subtopic();
        let print = fingerprint(&lesson, "en");
        assert_eq!(print, fingerprint(&lesson.clone(), "en"));
        let mut changes: Vec<Subtopic> = Vec::new();
        let mut edited = lesson.clone();
        edited.title.push('!');
        changes.push(edited);
        let mut edited = lesson.clone();
        edited.objectives[1].text.push_str(" again");
        changes.push(edited);
        let mut edited = lesson.clone();
        edited.objectives[0].id = "other".into();
        changes.push(edited);
        let mut edited = lesson.clone();
        edited.key_points.pop();
        changes.push(edited);
        // Text moved from one field to the next.
        let mut edited = lesson.clone();
        let moved = edited.key_points[0].pop().unwrap();
        edited.key_points[1].insert(0, moved);
        changes.push(edited);
        // The last objective turned into the first key point.
        let mut edited = lesson.clone();
        let objective = edited.objectives.pop().unwrap();
        edited.key_points.insert(0, objective.text);
        changes.push(edited);
        for edited in &changes {
            assert_ne!(fingerprint(edited, "en"), print);
        }
        // What questions are not built from leaves it as it is.
        let mut unrelated = lesson.clone();
        unrelated.content.push_str(" More.");
        assert_eq!(fingerprint(&unrelated, "en"), print);
    }

    #[test]
    fn separators_in_ids_and_subjects_survive() {
        let mut lesson = sample_subtopic();
        lesson.objectives[0].id = "odd|id with\\ spaces;and,lines:\n".into();
        lesson.objectives[0].text = "Explain|the leaf;\r\nshape, 3:4".into();
        let en = Normalizer::for_locale("en");
        let print = fingerprint(&lesson, "en");
        let text = build(&lesson, &en, print);
        let bank = parse(&text, print).unwrap();
        assert_eq!(bank[0].id, format!("objective:{}", lesson.objectives[0].id));
        assert_eq!(bank[0].objective_id, Some(lesson.objectives[0].id.as_str()));
        assert_eq!(bank[0].subject, "Explain|the leaf;\r\nshape, 3");
    }
}
