//! What this session asked, as kept in the state: how often each question of
//! the bank was asked, the question asked last, and the focus last asked
//! about with each question's match score, so the same focus again skips
//! the stemmer. Read and written on every call, so it stays a handful of
//! short numbers however long the lesson.
//!
//! The counts follow the order of the bank built from the lesson with the
//! stored fingerprint; when the lesson changes they are carried over to the
//! new bank by question id ([`Asked::carry_over`]).
//!
//! Layout (netstrings, see [`record`](crate::record)): the bank's
//! fingerprint (hex), the index of the question asked last (empty for
//! none), the counts (space-separated), the focus and its scores
//! (comma-separated; both empty for none).

use std::borrow::Cow;

use crate::bank::Banked;
use crate::record::{Reader, Writer, parse_number, parse_numbers, push_numbers};

/// Separates the counts.
const COUNT_SEPARATOR: u8 = b' ';
/// Separates the focus scores.
const SCORE_SEPARATOR: u8 = b',';

/// The questions asked in this session.
pub struct Asked<'a> {
    fingerprint: u64,
    counts: Vec<usize>,
    last: Option<usize>,
    /// The focus last asked about and its scores, as stored.
    focus: Cow<'a, str>,
    scores: Cow<'a, str>,
}

impl<'a> Asked<'a> {
    /// Nothing asked yet of the bank with `fingerprint` and `len` questions.
    pub fn fresh(fingerprint: u64, len: usize) -> Asked<'a> {
        Asked {
            fingerprint,
            counts: vec![0; len],
            last: None,
            focus: Cow::Borrowed(""),
            scores: Cow::Borrowed(""),
        }
    }

    /// The stored record if it belongs to the bank with `fingerprint` and
    /// `len` questions; `None` for anything else (nothing stored yet, another
    /// lesson's bank, an older plugin version's layout).
    pub fn parse(text: &'a str, fingerprint: u64, len: usize) -> Option<Asked<'a>> {
        Asked::parse_any(text)
            .filter(|asked| asked.fingerprint == fingerprint && asked.counts.len() == len)
    }

    /// The stored record, whatever bank it belongs to.
    fn parse_any(text: &'a str) -> Option<Asked<'a>> {
        let mut record = Reader::new(text);
        let fingerprint = u64::from_str_radix(record.text()?, 16).ok()?;
        let last = match record.text()? {
            "" => None,
            index => Some(parse_number(index)?),
        };
        let counts_text = record.text()?;
        let mut counts = Vec::with_capacity(counts_text.len() / 2 + 1);
        parse_numbers(counts_text, COUNT_SEPARATOR, &mut counts)?;
        let focus = record.text()?;
        let scores = record.text()?;
        if !record.is_done() || last.is_some_and(|i| i >= counts.len()) {
            return None;
        }
        Some(Asked {
            fingerprint,
            counts,
            last,
            focus: Cow::Borrowed(focus),
            scores: Cow::Borrowed(scores),
        })
    }

    /// The record kept for `old_bank` (the stored text `text`) carried over
    /// to `new_bank` (built from the lesson with `fingerprint`): counts and
    /// the last question follow their question's id, questions no longer in
    /// the lesson are forgotten and new ones start unasked. The focus scores
    /// were for the old questions, so they go.
    pub fn carry_over(
        text: &str,
        old_fingerprint: u64,
        old_bank: &[Banked<'_>],
        fingerprint: u64,
        new_bank: &[Banked<'_>],
    ) -> Asked<'a> {
        let mut asked = Asked::fresh(fingerprint, new_bank.len());
        let Some(old) = Asked::parse(text, old_fingerprint, old_bank.len()) else {
            return asked;
        };
        for (new_index, question) in new_bank.iter().enumerate() {
            if let Some(old_index) = old_bank.iter().position(|q| q.id == question.id) {
                asked.counts[new_index] = old.counts[old_index];
                if old.last == Some(old_index) {
                    asked.last = Some(new_index);
                }
            }
        }
        asked
    }

    /// How often question `index` of the bank was asked.
    pub fn times_asked(&self, index: usize) -> usize {
        self.counts.get(index).copied().unwrap_or(0)
    }

    /// The question asked last.
    pub fn last(&self) -> Option<usize> {
        self.last
    }

    /// How many questions were asked in all.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Records that question `index` was asked.
    pub fn push(&mut self, index: usize) {
        if let Some(count) = self.counts.get_mut(index) {
            *count = count.saturating_add(1);
            self.last = Some(index);
        }
    }

    /// The kept scores of the bank's questions for `focus`, when `focus` is
    /// the one kept.
    pub fn focus_scores(&self, focus: &str) -> Option<Vec<usize>> {
        if self.focus != focus || focus.is_empty() {
            return None;
        }
        let mut scores = Vec::with_capacity(self.counts.len());
        parse_numbers(&self.scores, SCORE_SEPARATOR, &mut scores)?;
        (scores.len() == self.counts.len()).then_some(scores)
    }

    /// Keeps `scores` (one per question of the bank) for `focus`.
    pub fn keep_focus(&mut self, focus: &str, scores: &[usize]) {
        let mut listed = String::with_capacity(3 * scores.len());
        push_numbers(&mut listed, scores, char::from(SCORE_SEPARATOR));
        self.focus = Cow::Owned(focus.to_owned());
        self.scores = Cow::Owned(listed);
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        let mut record = Writer::with_capacity(
            48 + 3 * self.counts.len() + self.focus.len() + self.scores.len(),
        );
        record.hex(self.fingerprint);
        match self.last {
            Some(index) => record.number(index),
            None => record.text(""),
        };
        record
            .numbers(&self.counts, char::from(COUNT_SEPARATOR))
            .text(&self.focus)
            .text(&self.scores);
        record.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank;
    use lectern_tool::testing::sample_subtopic;
    use lectern_tool::text::Normalizer;

    #[test]
    fn a_record_reads_back_only_for_its_bank() {
        let mut asked = Asked::fresh(0xabc, 4);
        asked.push(2);
        asked.push(0);
        asked.push(2);
        asked.keep_focus("green | leaves, 5:x", &[0, 12, 3, 4]);
        let text = asked.encode();
        let again = Asked::parse(&text, 0xabc, 4).unwrap();
        assert_eq!(
            (0..4).map(|i| again.times_asked(i)).collect::<Vec<_>>(),
            [1, 0, 2, 0]
        );
        assert_eq!(again.last(), Some(2));
        assert_eq!(again.total(), 3);
        assert_eq!(
            again.focus_scores("green | leaves, 5:x"),
            Some(vec![0, 12, 3, 4])
        );
        assert_eq!(again.focus_scores("green"), None);
        assert_eq!(again.encode(), text);
        assert!(Asked::parse(&text, 0xabd, 4).is_none());
        assert!(Asked::parse(&text, 0xabc, 5).is_none());
        for bad in ["", "[\"objective:a\"]", "3:abc,1:9,7:1 0 2 0,0:,0:,"] {
            assert!(Asked::parse(bad, 0xabc, 4).is_none(), "{bad}");
        }
        let fresh = Asked::fresh(0xabc, 2).encode();
        assert_eq!(Asked::parse(&fresh, 0xabc, 2).unwrap().last(), None);
    }

    #[test]
    fn counts_follow_their_questions_into_an_edited_lesson() {
        let en = Normalizer::for_locale("en");
        let lesson = sample_subtopic();
        let old_print = bank::fingerprint(&lesson, "en");
        let old_text = bank::build(&lesson, &en, old_print);
        let old_bank = bank::parse(&old_text, old_print).unwrap();
        let chlorophyll = old_bank
            .questions
            .iter()
            .position(|q| q.id == "objective:chlorophyll")
            .unwrap();
        let mut asked = Asked::fresh(old_print, old_bank.len());
        asked.push(chlorophyll);
        asked.push(0);
        asked.push(chlorophyll);
        asked.keep_focus("leaves", &vec![1; old_bank.len()]);
        let stored = asked.encode();

        // The first objective goes: every other question moves up one.
        let mut edited = lesson.clone();
        edited.objectives.remove(0);
        let print = bank::fingerprint(&edited, "en");
        let text = bank::build(&edited, &en, print);
        let new_bank = bank::parse(&text, print).unwrap();
        let moved = Asked::carry_over(
            &stored,
            old_print,
            &old_bank.questions,
            print,
            &new_bank.questions,
        );
        let now = new_bank
            .questions
            .iter()
            .position(|q| q.id == "objective:chlorophyll")
            .unwrap();
        assert_eq!(now, chlorophyll - 1);
        assert_eq!(moved.times_asked(now), 2);
        assert_eq!(moved.last(), Some(now));
        assert_eq!(moved.total(), 2, "the removed question's ask is forgotten");
        assert_eq!(moved.focus_scores("leaves"), None);
        // A record of some other bank carries nothing over.
        let unrelated = Asked::carry_over(
            &stored,
            old_print ^ 1,
            &old_bank.questions,
            print,
            &new_bank.questions,
        );
        assert_eq!(unrelated.total(), 0);
    }
}
