//! The question bank as kept in the state: the lesson's questions, with
//! everything asking and grading them needs from the lesson's text already
//! analysed, once per session and lesson, because analysing the text
//! (stemming every statement) is by far the costliest part of a call.
//!
//! Layout (netstrings, see [`record`](crate::record)):
//! - the layout tag [`LAYOUT`], then the lesson fingerprint (hex);
//! - the vocabulary: every concept word of the lesson's statements (its
//!   objectives and key points) and its stem, `word stem|word stem|…`,
//!   sorted by word, so a learner's word the lesson uses needs no stemmer
//!   and is found by a binary search in the stored text itself;
//! - the number of statements, then per statement its concept terms in
//!   order, each stem once with the word first written for it, `stem word
//!   stem word …`;
//! - six fields per question: id, objective id (empty for none), subject;
//!   its subject, main-answer and other-answer concept terms for matching a
//!   focus (`|` between the three lists, a space between terms); then, for
//!   each of its [`WORDINGS`] (`|` between them), the statements a full
//!   answer is graded against (indexes, space-separated) and the concept
//!   terms of the question as worded (which an answer earns nothing for).
//!
//! A bank of the previous layout ([`SPACED_LAYOUT`]: spaces between the
//! vocabulary's pairs too) is still used as it is. Earlier versions kept
//! only the first four question fields after the fingerprint ([`parse_any`]
//! still reads that, so what was asked carries over); such a bank is
//! rebuilt before it is used.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use lectern_tool::Subtopic;
use lectern_tool::text::{Normalizer, for_each_word, words};

use crate::compare::{order, same};
use crate::questions::{WORDINGS, questions_in_every_wording, statement, statements, variant};
use crate::record::{Reader, Writer, parse_number};

/// The first field of a bank in this layout. Not a hex number, so an
/// earlier layout (whose first field is the fingerprint) is told apart.
const LAYOUT: &str = "v3";
/// The previous layout's tag: the same but for the vocabulary, written
/// `word stem word stem …`, which is read by splitting it whole.
const SPACED_LAYOUT: &str = "v2";
/// Separates lists within a field: a question's term lists, its wordings.
const LIST_SEPARATOR: char = '|';
/// Separates the terms (and words, and statement indexes) of a list. Words
/// never hold one: they are runs of letters and digits, lowercased.
const TERM_SEPARATOR: char = ' ';

/// A stored bank, borrowed from its text.
pub struct Bank<'a> {
    /// The fingerprint of the lesson it was built from.
    pub fingerprint: u64,
    /// The questions, in the order their ask counts are kept.
    pub questions: Vec<Banked<'a>>,
    /// Whether it holds what grading needs (an earlier layout does not).
    complete: bool,
    /// Whether the vocabulary is in the [`SPACED_LAYOUT`].
    spaced: bool,
    vocabulary: &'a str,
    statements: Vec<&'a str>,
}

/// Looks the lesson's words up in a bank's vocabulary.
enum Vocabulary<'a> {
    /// In the stored text (`word stem|word stem|…`), by a binary search.
    Stored(&'a str),
    /// The pairs of a vocabulary in the [`SPACED_LAYOUT`], split once.
    Split(Vec<(&'a str, &'a str)>),
}

impl<'a> Vocabulary<'a> {
    /// The stem kept for `word`, when the lesson uses it.
    fn stem(&self, word: &str) -> Option<&'a str> {
        match self {
            Vocabulary::Stored(text) => stored_stem(text, word),
            Vocabulary::Split(pairs) => pairs
                .binary_search_by(|(known, _)| order(known, word))
                .ok()
                .map(|at| pairs[at].1),
        }
    }
}

/// The stem of `word` in a vocabulary written `word stem|word stem|…`,
/// sorted by word: a binary search over the text's bytes, each probe
/// reading the pair around its middle byte. `None` when the word is not
/// there or the text is not such a list.
fn stored_stem<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let bytes = text.as_bytes();
    let pair_separator = LIST_SEPARATOR as u8;
    // `from..to` holds whole pairs: it starts a pair and ends at the
    // separator after one, or at the end.
    let (mut from, mut to) = (0, bytes.len());
    while from < to {
        let middle = from + (to - from) / 2;
        let mut start = middle;
        while start > from && bytes[start - 1] != pair_separator {
            start -= 1;
        }
        let end = find_byte(&bytes[..to], start, pair_separator);
        let space = find_byte(&bytes[..end], start, TERM_SEPARATOR as u8);
        // Every end is at a separator or an end of `text`.
        let known = text.get(start..space)?;
        match order(known, word) {
            std::cmp::Ordering::Equal => {
                return text.get(space + 1..end).filter(|stem| !stem.is_empty());
            }
            std::cmp::Ordering::Less => from = end + 1,
            std::cmp::Ordering::Greater => to = start.saturating_sub(1).max(from),
        }
    }
    None
}

/// One question of the bank, borrowed from its stored text.
pub struct Banked<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub objective_id: Option<&'a str>,
    /// The subject, main-answer and other-answer terms, still joined: only
    /// a focus not seen before needs them.
    terms: &'a str,
    /// Per wording, the statements an answer is graded against.
    answers: &'a str,
    /// Per wording, the concept terms of the question itself.
    asked: &'a str,
}

impl<'a> Banked<'a> {
    /// How well the question matches focus concepts: its subject counts
    /// most, then its main answer, then its other answers. One pass over the
    /// kept terms; only a term beginning as some focus term does is
    /// compared with them.
    pub fn focus_match(&self, focus: &[Cow<'_, str>]) -> usize {
        const WEIGHTS: [usize; 3] = [4, 2, 1];
        let mut initials = [0u64; 4];
        for term in focus {
            if let Some(&first) = term.as_bytes().first() {
                initials[usize::from(first >> 6)] |= 1 << (first & 63);
            }
        }
        let bytes = self.terms.as_bytes();
        let (list_separator, term_separator) = (LIST_SEPARATOR as u8, TERM_SEPARATOR as u8);
        let mut score = 0;
        let mut list_start = 0;
        for weight in WEIGHTS {
            if list_start > bytes.len() {
                break;
            }
            let list_end = find_byte(bytes, list_start, list_separator);
            let list = &bytes[..list_end];
            let mut at = list_start;
            while at < list_end {
                let end = find_byte(list, at, term_separator);
                let first = bytes[at];
                if end > at && initials[usize::from(first >> 6)] & (1 << (first & 63)) != 0 {
                    // Both ends are at a separator or an end: char boundaries.
                    let term = self.terms.get(at..end).unwrap_or_default();
                    if focus.iter().any(|f| same(f, term)) {
                        score += weight;
                    }
                }
                at = end + 1;
            }
            list_start = list_end + 1;
        }
        score
    }

    /// The statements (indexes, see [`statement`]) a full answer to the
    /// question in `wording` covers, in the order grading tries them.
    pub fn answers(&self, wording: usize) -> impl Iterator<Item = usize> + 'a {
        pieces(nth_list(self.answers, wording % WORDINGS), TERM_SEPARATOR).filter_map(parse_number)
    }

    /// The concept terms of the question in `wording`, space-separated.
    pub fn asked_terms(&self, wording: usize) -> &'a str {
        nth_list(self.asked, wording % WORDINGS)
    }
}

fn nth_list(lists: &str, n: usize) -> &str {
    pieces_keeping_empty(lists, LIST_SEPARATOR)
        .nth(n)
        .unwrap_or_default()
}

/// The non-empty pieces of `text` between `separator`s (an ASCII
/// character). A plain byte loop: the pieces are a few bytes long, and
/// this runs over every kept term on every call.
pub fn pieces(text: &str, separator: char) -> impl Iterator<Item = &str> {
    pieces_keeping_empty(text, separator).filter(|piece| !piece.is_empty())
}

/// The pieces of `text` between `separator`s (an ASCII character), empty
/// ones too, as `str::split` gives them.
fn pieces_keeping_empty(text: &str, separator: char) -> impl Iterator<Item = &str> {
    debug_assert!(separator.is_ascii());
    let separator = separator as u8;
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let start = at;
        at = find_byte(bytes, at, separator);
        // Both ends are at a separator or an end of `text`: an ASCII
        // character never falls inside another, so they are char
        // boundaries.
        let piece = text.get(start..at);
        if at == bytes.len() {
            done = true;
        } else {
            at += 1;
        }
        piece
    })
}

/// Calls `found` with the offset of every byte of `bytes` that is one of
/// `needles`, in order, until it returns `false`; whether it never did.
/// Eight bytes are tested at a step, as in [`find_byte`], with an exact test
/// per byte, so every match in a step is taken from one word.
fn each_byte(bytes: &[u8], needles: [u8; 2], mut found: impl FnMut(usize) -> bool) -> bool {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let patterns = needles.map(|needle| 0x0101_0101_0101_0101 * u64::from(needle));
    // The high bit of each byte that is zero in `diff`.
    let zeros = |diff: u64| !(((diff & LOWS) + LOWS) | diff | LOWS);
    let mut at = 0;
    while let Some(eight) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        let word = u64::from_le_bytes(word);
        let mut zeros = zeros(word ^ patterns[0]) | zeros(word ^ patterns[1]);
        while zeros != 0 {
            if !found(at + (zeros.trailing_zeros() / 8) as usize) {
                return false;
            }
            zeros &= zeros - 1;
        }
        at += 8;
    }
    for (offset, byte) in bytes[at..].iter().enumerate() {
        if needles.contains(byte) && !found(at + offset) {
            return false;
        }
    }
    true
}

/// The offset of the first `needle` in `bytes` from `from` on, or the
/// length of `bytes`. Eight bytes are tested at a step (the zero-byte test
/// on the word XORed with the needle), which costs a guest a fraction of a
/// byte-by-byte loop.
fn find_byte(bytes: &[u8], from: usize, needle: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut at = from;
    while let Some(eight) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        let diff = u64::from_le_bytes(word) ^ pattern;
        // The lowest flagged byte is the first zero byte of `diff`: a false
        // flag only ever follows a true one.
        let found = diff.wrapping_sub(ONES) & !diff & HIGHS;
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && bytes[at] != needle {
        at += 1;
    }
    at
}

impl<'a> Bank<'a> {
    /// Whether it was built from the lesson with `fingerprint`, in this
    /// layout.
    pub fn is_complete_for(&self, fingerprint: u64) -> bool {
        self.complete && self.fingerprint == fingerprint
    }

    /// The question with `id`.
    pub fn question(&self, id: &str) -> Option<&Banked<'a>> {
        self.questions.iter().find(|q| same(q.id, id))
    }

    /// The concept terms of statement `index`, in order, each stem with the
    /// word first written for it: `(stem, word)`.
    pub fn statement_terms(&self, index: usize) -> impl Iterator<Item = (&'a str, &'a str)> {
        let mut parts = pieces(
            self.statements.get(index).copied().unwrap_or_default(),
            TERM_SEPARATOR,
        );
        std::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
    }

    /// How to look a few words up in the vocabulary: in the stored text,
    /// unless it has to be split anyway.
    fn vocabulary(&self) -> Vocabulary<'a> {
        if self.spaced {
            Vocabulary::Split(self.spaced_pairs())
        } else {
            Vocabulary::Stored(self.vocabulary)
        }
    }

    /// How to look many words up in the vocabulary: split once, which
    /// costs less than a search in the text from a few words on.
    fn split_vocabulary(&self) -> Vocabulary<'a> {
        Vocabulary::Split(self.spaced_pairs())
    }

    /// The `(word, stem)` pairs of the vocabulary, in order: its words and
    /// stems taken in turn, whichever separator is between them (a space
    /// between a word and its stem, a space or `|` between pairs).
    fn spaced_pairs(&self) -> Vec<(&'a str, &'a str)> {
        let text = self.vocabulary;
        let mut pairs = Vec::with_capacity(64);
        let mut word = None;
        let mut start = 0;
        // Written as single spaces between the words and stems, which are
        // never empty; anything else ends the list where it goes wrong.
        let mut take = |end: usize| {
            // Both ends are at a separator or an end of `text`.
            let Some(token) = text.get(start..end).filter(|token| !token.is_empty()) else {
                return false;
            };
            match word.take() {
                None => word = Some(token),
                Some(word) => pairs.push((word, token)),
            }
            start = end + 1;
            true
        };
        let separators = [TERM_SEPARATOR as u8, LIST_SEPARATOR as u8];
        if !text.is_empty() && each_byte(text.as_bytes(), separators, &mut take) {
            take(text.len());
        }
        pairs
    }

    /// The concept terms of `text` (repeats kept), as
    /// [`Normalizer::terms`] gives them; the stems of words the lesson uses
    /// come from the vocabulary, so only other words run the stemmer.
    pub fn terms(&self, text: &str, normalizer: &Normalizer) -> Vec<Cow<'a, str>> {
        let vocabulary = self.vocabulary();
        let mut terms = Vec::with_capacity(16);
        for_each_word(text, |word| {
            if !normalizer.is_concept_word(word) {
                return;
            }
            match vocabulary.stem(word) {
                Some(stem) => terms.push(Cow::Borrowed(stem)),
                None => terms.push(Cow::Owned(normalizer.stem_once(word).into_owned())),
            }
        });
        terms
    }

    /// For each of the `wanted` terms, whether `text` has it among its
    /// concept terms ([`Bank::terms`]). Where a stem always begins as its
    /// word does ([`Normalizer::stems_keep_first_char`]), a word whose first
    /// byte begins no wanted term cannot give one, so it is passed over
    /// before anything else is done with it: most of an answer's words, and
    /// stemming is most of what the others cost.
    pub fn has_terms(&self, text: &str, normalizer: &Normalizer, wanted: &[&str]) -> Vec<bool> {
        let mut given = vec![false; wanted.len()];
        let mut initials = [u64::MAX; 4];
        if normalizer.stems_keep_first_char() {
            initials = [0; 4];
            for term in wanted {
                if let Some(&first) = term.as_bytes().first() {
                    initials[usize::from(first >> 6)] |= 1 << (first & 63);
                }
            }
        }
        let mut vocabulary = None;
        for_each_word(text, |word| {
            let Some(&first) = word.as_bytes().first() else {
                return;
            };
            if initials[usize::from(first >> 6)] & (1 << (first & 63)) == 0
                || !normalizer.is_concept_word(word)
            {
                return;
            }
            let vocabulary = vocabulary.get_or_insert_with(|| self.split_vocabulary());
            let stem = match vocabulary.stem(word) {
                Some(stem) => Cow::Borrowed(stem),
                None => normalizer.stem_once(word),
            };
            for (has, term) in given.iter_mut().zip(wanted) {
                *has |= same(term, &stem);
            }
        });
        given
    }

    /// How many questions it has.
    pub fn len(&self) -> usize {
        self.questions.len()
    }

    /// Whether it has no question.
    pub fn is_empty(&self) -> bool {
        self.questions.is_empty()
    }
}

impl<'a> std::ops::Index<usize> for Bank<'a> {
    type Output = Banked<'a>;

    fn index(&self, index: usize) -> &Banked<'a> {
        &self.questions[index]
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
    let mut record = Writer::with_capacity(4096);
    record.text(LAYOUT).hex(fingerprint);
    let mut field = String::with_capacity(512);
    let push_terms = |field: &mut String, terms: &mut dyn Iterator<Item = &str>| {
        for (n, term) in terms.enumerate() {
            if n > 0 {
                field.push(TERM_SEPARATOR);
            }
            field.push_str(term);
        }
    };

    let mut vocabulary = BTreeMap::new();
    for text in statements(lesson) {
        for word in words(text) {
            if normalizer.is_concept_word(&word) && !vocabulary.contains_key(&word) {
                let stem = normalizer.stem(&word);
                vocabulary.insert(word, stem);
            }
        }
    }
    for (n, (word, stem)) in vocabulary.iter().enumerate() {
        if n > 0 {
            field.push(LIST_SEPARATOR);
        }
        field.push_str(word);
        field.push(TERM_SEPARATOR);
        field.push_str(stem);
    }
    record.text(&field);

    record.number(lesson.objectives.len() + lesson.key_points.len());
    for text in statements(lesson) {
        field.clear();
        let written = normalizer.concept_words(text);
        let stems: Vec<String> = written.iter().map(|word| normalizer.stem(word)).collect();
        push_terms(
            &mut field,
            &mut stems
                .iter()
                .zip(&written)
                .flat_map(|(stem, word)| [stem.as_str(), word.as_str()]),
        );
        record.text(&field);
    }

    let worded = questions_in_every_wording(lesson, normalizer);
    let concepts = |index: usize| {
        statement(lesson, index)
            .map(|text| normalizer.shared_concepts(text))
            .unwrap_or_default()
    };
    for (at, question) in worded[0].iter().enumerate() {
        // Matching a focus uses the answers of the question's first wording.
        let first = &worded[variant(&question.id, 0) % WORDINGS][at];
        debug_assert_eq!(first.id, question.id);
        let main = first
            .answers
            .first()
            .map(|i| concepts(*i))
            .unwrap_or_default();
        let other_sets: Vec<_> = first.answers.iter().skip(1).map(|i| concepts(*i)).collect();
        let others: BTreeSet<&str> = other_sets
            .iter()
            .flat_map(|set| set.iter().map(String::as_str))
            .collect();
        field.clear();
        push_terms(
            &mut field,
            &mut normalizer
                .shared_concepts(&question.subject)
                .iter()
                .map(String::as_str),
        );
        field.push(LIST_SEPARATOR);
        push_terms(&mut field, &mut main.iter().map(String::as_str));
        field.push(LIST_SEPARATOR);
        push_terms(&mut field, &mut others.iter().copied());
        record
            .text(&question.id)
            .text(question.objective_id.as_deref().unwrap_or_default())
            .text(&question.subject)
            .text(&field);

        let mut answers = String::new();
        let mut asked = String::new();
        for (wording, questions) in worded.iter().enumerate() {
            let worded = &questions[at];
            debug_assert_eq!(worded.id, question.id);
            if wording > 0 {
                answers.push(LIST_SEPARATOR);
                asked.push(LIST_SEPARATOR);
            }
            let mut indexes = String::new();
            for (n, index) in worded.answers.iter().enumerate() {
                if n > 0 {
                    indexes.push(TERM_SEPARATOR);
                }
                crate::record::push_number(&mut indexes, *index);
            }
            answers.push_str(&indexes);
            push_terms(
                &mut asked,
                &mut normalizer
                    .shared_concepts(&worded.prompt)
                    .iter()
                    .map(String::as_str),
            );
        }
        record.text(&answers).text(&asked);
    }
    record.finish()
}

/// The stored bank if it was built from the lesson with `fingerprint` in
/// this layout; `None` when it was built from another lesson or by an
/// earlier version, or is unreadable.
pub fn parse(text: &str, fingerprint: u64) -> Option<Bank<'_>> {
    parse_any(text).filter(|bank| bank.is_complete_for(fingerprint))
}

/// The stored bank, whatever lesson it was built from and in this layout or
/// the earlier one (enough to carry what was asked over); `None` when it
/// is unreadable.
pub fn parse_any(text: &str) -> Option<Bank<'_>> {
    let mut record = Reader::new(text);
    let first = record.text()?;
    let spaced = first == SPACED_LAYOUT;
    let complete = spaced || first == LAYOUT;
    let fingerprint =
        u64::from_str_radix(if complete { record.text()? } else { first }, 16).ok()?;
    let mut bank = Bank {
        fingerprint,
        questions: Vec::with_capacity(16),
        complete,
        spaced,
        vocabulary: "",
        statements: Vec::new(),
    };
    if complete {
        bank.vocabulary = record.text()?;
        let count = parse_number(record.text()?)?;
        // Every statement takes at least three bytes (`0:,`).
        if count > text.len() / 3 {
            return None;
        }
        bank.statements.reserve(count);
        for _ in 0..count {
            bank.statements.push(record.text()?);
        }
    }
    while !record.is_done() {
        let id = record.text().filter(|id| !id.is_empty())?;
        let objective_id = record.text()?;
        let subject = record.text()?;
        let terms = record.text()?;
        let (answers, asked) = if complete {
            (record.text()?, record.text()?)
        } else {
            ("", "")
        };
        bank.questions.push(Banked {
            id,
            objective_id: (!objective_id.is_empty()).then_some(objective_id),
            subject,
            terms,
            answers,
            asked,
        });
    }
    Some(bank)
}

/// `text` (a bank in this layout) in the layout earlier versions kept: the
/// fingerprint, then the first four fields of each question.
#[cfg(test)]
pub fn earlier_layout(text: &str) -> String {
    let bank = parse_any(text).expect("a bank");
    assert!(bank.complete);
    let mut record = Writer::with_capacity(text.len());
    record.hex(bank.fingerprint);
    for question in &bank.questions {
        record
            .text(question.id)
            .text(question.objective_id.unwrap_or_default())
            .text(question.subject)
            .text(question.terms);
    }
    record.finish()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::questions::all_questions;
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
        for (banked, question) in bank.questions.iter().zip(&questions) {
            assert_eq!(banked.id, question.id);
            assert_eq!(banked.subject, question.subject);
            assert_eq!(banked.objective_id, question.objective_id.as_deref());
        }
        assert!(parse(&text, print ^ 1).is_none());
        assert_eq!(parse_any(&text).unwrap().fingerprint, print);
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
    fn bytes_are_found_where_they_are() {
        let text = b"abcdefgh ijklmnop|qrstuvwx yz\x80\xff  |";
        for from in 0..=text.len() {
            for needle in [b' ', b'|', b'a', b'z', 0x80, 0xff, 0x00, 0x7f] {
                let expected = text[from..]
                    .iter()
                    .position(|b| *b == needle)
                    .map_or(text.len(), |at| from + at);
                assert_eq!(find_byte(text, from, needle), expected, "{from} {needle}");
            }
        }
    }

    #[test]
    fn every_byte_is_found_where_it_is() {
        let text = b"abcdefgh ijklmnop|qrstuvwx yz\x80\xff  |        a";
        let bytes = [b' ', b'|', b'a', b'z', 0x80, 0xff, 0x00, 0x7f];
        let mut pairs: Vec<[u8; 2]> = bytes.iter().map(|b| [*b, *b]).collect();
        pairs.extend([[b' ', b'|'], [b'|', b' '], [0x80, b'a'], [0x00, 0xff]]);
        for end in 0..=text.len() {
            for needles in &pairs {
                let expected: Vec<usize> =
                    (0..end).filter(|at| needles.contains(&text[*at])).collect();
                let mut seen = Vec::new();
                assert!(each_byte(&text[..end], *needles, |at| {
                    seen.push(at);
                    true
                }));
                assert_eq!(seen, expected, "{end} {needles:?}");
                if let Some(first) = expected.first() {
                    let mut stopped = Vec::new();
                    assert!(!each_byte(&text[..end], *needles, |at| {
                        stopped.push(at);
                        false
                    }));
                    assert_eq!(stopped, [*first]);
                }
            }
        }
    }

    /// `text` (a bank in this layout) in the previous one: the same but
    /// for spaces between the vocabulary's pairs.
    pub fn spaced_layout(text: &str) -> String {
        let bank = parse_any(text).expect("a bank");
        assert!(bank.complete && !bank.spaced);
        let mut record = Reader::new(text);
        let mut spaced = Writer::with_capacity(text.len());
        assert_eq!(record.text(), Some(LAYOUT));
        spaced.text(SPACED_LAYOUT);
        spaced.text(record.text().unwrap());
        spaced.text(&record.text().unwrap().replace(LIST_SEPARATOR, " "));
        while !record.is_done() {
            spaced.text(record.text().unwrap());
        }
        spaced.finish()
    }

    #[test]
    fn the_vocabulary_is_looked_up_in_either_layout() {
        let mut lesson = sample_subtopic();
        lesson
            .key_points
            .push("Zebras, aardvarks and 42 yaks eat grass; é-words too: élan".into());
        let en = Normalizer::for_locale("en");
        let print = fingerprint(&lesson, "en");
        let text = build(&lesson, &en, print);
        let spaced = spaced_layout(&text);
        let stored = parse(&text, print).unwrap();
        let split = parse(&spaced, print).unwrap();
        assert!(split.spaced && !stored.spaced);
        let pairs: Vec<(&str, &str)> = stored
            .vocabulary
            .split(LIST_SEPARATOR)
            .map(|pair| pair.split_once(' ').unwrap())
            .collect();
        assert!(pairs.len() > 10);
        assert_eq!(split.spaced_pairs(), pairs);
        let mut asked: Vec<String> = vec!["".into(), "a".into(), "zzz".into(), "0".into()];
        for (word, _) in &pairs {
            asked.push(word.to_string());
            asked.push(format!("{word}s"));
            asked.push(word[..word.len() - 1].to_owned());
        }
        for word in &asked {
            let expected = pairs.iter().find(|(known, _)| known == word).map(|p| p.1);
            assert_eq!(stored.vocabulary().stem(word), expected, "{word}");
            assert_eq!(stored.split_vocabulary().stem(word), expected, "{word}");
            assert_eq!(split.vocabulary().stem(word), expected, "{word}");
            assert_eq!(split.split_vocabulary().stem(word), expected, "{word}");
        }
        let Vocabulary::Split(split_pairs) = stored.split_vocabulary() else {
            panic!("split");
        };
        assert_eq!(split_pairs, pairs);
        for answer in [
            "Chlorophyll absorbs red and blue light and reflects the green",
            "zebras and aardvarks, élan, 42 yaks",
        ] {
            let from_split: Vec<String> = split
                .terms(answer, &en)
                .into_iter()
                .map(Cow::into_owned)
                .collect();
            let from_stored: Vec<String> = stored
                .terms(answer, &en)
                .into_iter()
                .map(Cow::into_owned)
                .collect();
            assert_eq!(from_stored, from_split);
            assert_eq!(from_stored, en.terms(answer));
        }
    }

    #[test]
    fn a_damaged_vocabulary_finds_nothing_wrong() {
        for text in ["", "|", "a", "a b|", "|a b", "a b||c d", "ab", "b a|a b"] {
            for word in ["", "a", "b", "c", "ab"] {
                let stem = stored_stem(text, word);
                assert!(
                    stem.is_none_or(|stem| !stem.is_empty()),
                    "{text:?} {word:?}"
                );
            }
        }
        assert_eq!(stored_stem("a b|c d", "c"), Some("d"));
        assert_eq!(stored_stem("a b|c d", "a"), Some("b"));
        assert_eq!(stored_stem("a b|c d", "b"), None);
    }

    #[test]
    fn spaced_pairs_split_as_written() {
        for (vocabulary, pairs) in [
            ("", vec![]),
            ("a b", vec![("a", "b")]),
            ("a b c", vec![("a", "b")]),
            ("a  b", vec![]),
            ("a b  c d", vec![("a", "b")]),
            (
                "abcdefghij klmnopqrstuv w x",
                vec![("abcdefghij", "klmnopqrstuv"), ("w", "x")],
            ),
        ] {
            let bank = Bank {
                fingerprint: 0,
                questions: Vec::new(),
                complete: true,
                spaced: true,
                vocabulary,
                statements: Vec::new(),
            };
            assert_eq!(bank.spaced_pairs(), pairs, "{vocabulary:?}");
        }
    }

    #[test]
    fn pieces_split_as_str_split_does() {
        for text in [
            "",
            " ",
            "a",
            "a b",
            " a  b ",
            "||",
            "a|b|",
            "é|ü ß|",
            "chlorophyl reflect|green light leav look",
            "abcdefgh ijklmnopq  rstuvwxyz0123456789|",
        ] {
            for separator in [' ', '|'] {
                let split: Vec<&str> = text.split(separator).collect();
                let kept: Vec<&str> = pieces_keeping_empty(text, separator).collect();
                assert_eq!(kept, split, "{text:?}");
                let non_empty: Vec<&str> = split.into_iter().filter(|p| !p.is_empty()).collect();
                assert_eq!(pieces(text, separator).collect::<Vec<_>>(), non_empty);
            }
        }
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
