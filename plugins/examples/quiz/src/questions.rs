//! Multiple-choice gap-fill questions made from the key points: a key term
//! is blanked out and the other choices are key terms of other key points.

use std::collections::BTreeSet;

use lectern_tool::Subtopic;
use lectern_tool::text::{Normalizer, stable_hash, words};
use serde::{Deserialize, Serialize};

/// Choices per question at most (the answer and up to three distractors).
pub const MAX_CHOICES: usize = 4;
/// What replaces the blanked term in the prompt.
const GAP: &str = "_____";

/// One question of a round, kept in the state between calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuizQuestion {
    /// The key point it was made from.
    pub key_point: usize,
    /// The gap-fill sentence.
    pub prompt: String,
    /// The choices, in the order shown.
    pub choices: Vec<String>,
    /// Index of the right choice.
    pub answer: usize,
    /// The objective a right or wrong answer is evidence for.
    pub objective_id: Option<String>,
}

/// The terms of each key point that can be blanked, most telling first:
/// words found in no other key point and not in the title come before
/// shared ones, longer before shorter.
pub fn key_terms(lesson: &Subtopic, normalizer: &Normalizer) -> Vec<Vec<String>> {
    let title = normalizer.concepts(&lesson.title);
    let stems: Vec<BTreeSet<String>> = lesson
        .key_points
        .iter()
        .map(|point| normalizer.concepts(point))
        .collect();
    lesson
        .key_points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let mut terms: Vec<(bool, usize, String)> = normalizer
                .concept_words(point)
                .into_iter()
                .filter(|word| !word.chars().all(|c| c.is_ascii_digit()))
                .filter(|word| word.chars().count() >= 3)
                .map(|word| {
                    let stem = normalizer.stem(&word);
                    let shared = title.contains(&stem)
                        || stems
                            .iter()
                            .enumerate()
                            .any(|(other, set)| other != index && set.contains(&stem));
                    (shared, word.chars().count(), word)
                })
                .collect();
            terms.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            terms.into_iter().map(|(_, _, word)| word).collect()
        })
        .collect()
}

/// Builds the question for key point `index`, blanking its `variant`-th
/// term (so later rounds ask about another word) with distractors taken
/// from the other key points' terms; `None` when the lesson offers no
/// distractor at all. `seed` orders the choices.
pub fn make_question(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    terms: &[Vec<String>],
    index: usize,
    variant: usize,
    seed: &str,
) -> Option<QuizQuestion> {
    let own = terms.get(index)?;
    if own.is_empty() {
        return None;
    }
    let term = &own[variant % own.len()];
    let point = &lesson.key_points[index];
    let prompt = blank_out(point, term)?;

    // Each other key point's most telling term first, then their second
    // ones: telling terms tend to be nouns like the blanked one.
    let point_stems = normalizer.concepts(point);
    let mut seen = BTreeSet::new();
    let mut distractors: Vec<(usize, &String)> = (0..2)
        .flat_map(|tier| {
            terms
                .iter()
                .enumerate()
                .filter(move |(other, _)| *other != index)
                .filter_map(move |(_, words)| words.get(tier).map(|word| (tier, word)))
        })
        .filter(|(_, word)| !point_stems.contains(&normalizer.stem(word)))
        .filter(|(_, word)| seen.insert(normalizer.stem(word)))
        .collect();
    if distractors.is_empty() {
        return None;
    }
    distractors.sort_by_key(|(tier, word)| (*tier, stable_hash(&format!("{seed}/{word}"))));
    distractors.truncate(MAX_CHOICES - 1);

    let mut choices: Vec<String> = distractors
        .into_iter()
        .map(|(_, word)| word.clone())
        .collect();
    choices.push(term.clone());
    choices.sort_by_key(|word| stable_hash(&format!("{seed}/order/{word}")));
    let answer = choices
        .iter()
        .position(|c| c == term)
        .expect("the term is a choice");
    Some(QuizQuestion {
        key_point: index,
        prompt: format!("Fill the gap: {prompt}"),
        choices,
        answer,
        objective_id: lesson
            .objective_for(point, normalizer)
            .map(|o| o.id.clone()),
    })
}

/// `text` with the first whole-word occurrence of `term` (any case)
/// replaced by a gap.
fn blank_out(text: &str, term: &str) -> Option<String> {
    let lower = text.to_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(term) {
        let start = from + found;
        let end = start + term.len();
        let before_ok = lower[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric());
        let after_ok = lower[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
        // Lowercasing can change byte lengths outside ASCII; only cut where
        // the original has the same boundaries.
        if before_ok && after_ok && text.is_char_boundary(start) && text.is_char_boundary(end) {
            return Some(format!("{}{GAP}{}", &text[..start], &text[end..]));
        }
        from = end;
    }
    None
}

/// The letter shown before choice `index` (A, B, …).
pub fn letter(index: usize) -> char {
    (b'A' + index as u8) as char
}

/// Which choice an answer means: its letter ("b", "B)", "option B") or its
/// text (any case, any inflection).
pub fn parse_choice(answer: &str, choices: &[String], normalizer: &Normalizer) -> Option<usize> {
    let trimmed = answer.trim();
    let tokens = words(trimmed);
    let letter_token = match tokens.as_slice() {
        [one] => Some(one.as_str()),
        [word, one] if matches!(word.as_str(), "option" | "answer" | "choice" | "letter") => {
            Some(one.as_str())
        }
        _ => None,
    };
    if let Some(token) = letter_token
        && token.len() == 1
    {
        let index = (token.as_bytes()[0].to_ascii_uppercase()).wrapping_sub(b'A') as usize;
        if index < choices.len() {
            return Some(index);
        }
    }
    let given = normalizer.concepts(trimmed);
    let matching: Vec<usize> = choices
        .iter()
        .enumerate()
        .filter(|(_, choice)| {
            let stems = normalizer.concepts(choice);
            !stems.is_empty() && stems.is_subset(&given)
        })
        .map(|(index, _)| index)
        .collect();
    // Naming two choices is no answer.
    match matching.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::sample_subtopic;

    #[test]
    fn telling_terms_come_first() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let terms = key_terms(&lesson, &en);
        assert_eq!(terms[0][0], "chloroplasts");
        assert_eq!(terms[2][0], "stomata");
        // "light" is in several key points, so it comes late.
        let light = terms[1].iter().position(|t| t == "light").unwrap();
        assert!(light > 0);
    }

    #[test]
    fn a_question_blanks_the_term_and_offers_other_key_terms() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let terms = key_terms(&lesson, &en);
        let q = make_question(&lesson, &en, &terms, 2, 0, "seed").unwrap();
        assert_eq!(
            q.prompt,
            "Fill the gap: Carbon dioxide enters the leaf through _____."
        );
        assert_eq!(q.choices[q.answer], "stomata");
        assert_eq!(q.choices.len(), MAX_CHOICES);
        for (i, choice) in q.choices.iter().enumerate() {
            if i != q.answer {
                assert!(
                    !lesson.key_points[2]
                        .to_lowercase()
                        .contains(choice.as_str())
                );
            }
        }
        let next_round = make_question(&lesson, &en, &terms, 2, 1, "seed").unwrap();
        assert_ne!(next_round.prompt, q.prompt);
    }

    #[test]
    fn blanking_needs_a_whole_word() {
        assert_eq!(
            blank_out("Cats eat; a cat sleeps.", "cat").unwrap(),
            "Cats eat; a _____ sleeps."
        );
        assert_eq!(blank_out("Concatenate", "cat"), None);
    }

    #[test]
    fn choices_are_read_from_letters_or_words() {
        let en = Normalizer::for_locale("en");
        let choices: Vec<String> = ["stomata", "starch", "chloroplasts"]
            .map(String::from)
            .to_vec();
        assert_eq!(parse_choice("b", &choices, &en), Some(1));
        assert_eq!(parse_choice(" C) ", &choices, &en), Some(2));
        assert_eq!(parse_choice("option A", &choices, &en), Some(0));
        assert_eq!(
            parse_choice("I think it's the chloroplast", &choices, &en),
            Some(2)
        );
        assert_eq!(parse_choice("starch or stomata", &choices, &en), None);
        assert_eq!(parse_choice("d", &choices, &en), None);
        assert_eq!(parse_choice("no idea", &choices, &en), None);
    }
}
