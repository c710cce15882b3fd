//! Examples composed from the lesson's key points and content, for when
//! the worked examples are used up or none fits.

use std::collections::BTreeSet;

use lectern_tool::text::{Normalizer, words};
use lectern_tool::{ExampleCard, Subtopic};

/// A content sentence repeating this share of a key point's concepts (or
/// more) would give the answer away, so it is not used as the problem.
const GIVES_AWAY_AT_SHARE: f32 = 0.75;

/// An example built from one key point.
pub struct Composed {
    /// Index of the key point it teaches (kept so it is not used again).
    pub key_point: usize,
    /// What the learner sees.
    pub card: ExampleCard,
}

/// Composes an example of `concept` from the first best-fitting key point
/// not in `used`, with a content sentence that illustrates it as the
/// problem when there is one. With `must_fit`, only a key point sharing a
/// concept with `concept` will do.
pub fn compose_example(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    concept: &str,
    used: &[usize],
    must_fit: bool,
) -> Option<Composed> {
    let wanted = normalizer.concepts(concept);
    let (fit, index, point) = lesson
        .key_points
        .iter()
        .enumerate()
        .filter(|(index, _)| !used.contains(index))
        .map(|(index, point)| {
            let fit = normalizer.concepts(point).intersection(&wanted).count();
            (fit, index, point)
        })
        .rev()
        .max_by_key(|(fit, _, _)| *fit)?;
    if must_fit && fit == 0 {
        return None;
    }

    let point_concepts = normalizer.concepts(point);
    let statement = lower_first(point.trim().trim_end_matches('.'));
    let card = match illustrating_sentence(lesson, normalizer, &point_concepts) {
        Some(sentence) => ExampleCard {
            title: format!("An example of {concept}"),
            problem: format!("{sentence}\n\nWhat does this show about {concept}, and why?"),
            solution: format!("It shows that {statement}."),
        },
        None => ExampleCard {
            title: format!("An example of {concept}"),
            problem: format!(
                "A friend asks you about {} in \"{}\". What is the one fact about {concept} \
                 they need, and how would you check it is true?",
                subject(point, normalizer),
                lesson.title
            ),
            solution: format!("The fact is that {statement}. {}", lesson.summary.trim())
                .trim()
                .to_owned(),
        },
    };
    Some(Composed {
        key_point: index,
        card,
    })
}

/// The content sentence sharing the most concepts with a key point without
/// giving it away, if any shares one.
fn illustrating_sentence(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    point_concepts: &BTreeSet<String>,
) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for paragraph in lesson.content_paragraphs() {
        for sentence in sentences(paragraph) {
            let shared = normalizer
                .concepts(sentence)
                .intersection(point_concepts)
                .count();
            let gives_away = !point_concepts.is_empty()
                && shared as f32 / point_concepts.len() as f32 >= GIVES_AWAY_AT_SHARE;
            if shared > 0 && !gives_away && best.as_ref().is_none_or(|(b, _)| shared > *b) {
                best = Some((shared, sentence.to_owned()));
            }
        }
    }
    best.map(|(_, sentence)| sentence)
}

/// The sentences of a paragraph (split after `.`, `!` or `?` and a space).
fn sentences(paragraph: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = paragraph.as_bytes();
    for (i, c) in paragraph.char_indices() {
        let ends = matches!(c, '.' | '!' | '?')
            && bytes
                .get(i + 1)
                .is_none_or(|next| next.is_ascii_whitespace());
        if ends {
            let sentence = paragraph[start..=i].trim();
            if !sentence.is_empty() {
                out.push(sentence);
            }
            start = i + 1;
        }
    }
    let rest = paragraph[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The first concept word of a key point: what it is about.
fn subject(point: &str, normalizer: &Normalizer) -> String {
    words(point)
        .into_iter()
        .find(|word| normalizer.is_concept_word(word))
        .unwrap_or_else(|| "this".to_owned())
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // Keep acronyms ("DNA …") as written.
        Some(_) if chars.clone().next().is_some_and(char::is_uppercase) => text.to_owned(),
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::sample_subtopic;

    #[test]
    fn a_content_sentence_illustrates_without_giving_away() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let composed = compose_example(&lesson, &en, "stomata", &[], true).unwrap();
        assert_eq!(composed.key_point, 2);
        assert!(composed.card.problem.starts_with(
            "Plants take in carbon dioxide through stomata and water through their roots."
        ));
        assert_eq!(
            composed.card.solution,
            "It shows that carbon dioxide enters the leaf through stomata."
        );
    }

    #[test]
    fn used_key_points_and_unfitting_ones_are_skipped() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        assert!(compose_example(&lesson, &en, "volcanoes", &[], true).is_none());
        let any = compose_example(&lesson, &en, "volcanoes", &[0, 1], false).unwrap();
        assert_eq!(any.key_point, 2);
        let all: Vec<usize> = (0..lesson.key_points.len()).collect();
        assert!(compose_example(&lesson, &en, "light", &all, false).is_none());
    }

    #[test]
    fn sentences_split_on_end_marks_only() {
        assert_eq!(
            sentences("It is 3.5 m. Really? Yes"),
            vec!["It is 3.5 m.", "Really?", "Yes"]
        );
    }
}
