//! The subtopic being taught, as a tool reads it.
//!
//! Mirrors the `lesson` interface of the contract. The JSON shape (serde) is
//! the same as a lesson fixture file for `lectern plugin call --lesson`, so
//! authors can load their test lessons from the same files.

use serde::{Deserialize, Serialize};

use crate::text::Normalizer;

/// A learning objective of the subtopic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// Stable id, used with [`Call::record_progress`](crate::Call::record_progress).
    pub id: String,
    /// What the learner should be able to do, e.g. "Explain why …".
    pub text: String,
}

/// A worked example written by the curriculum author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkedExample {
    /// Short title.
    pub title: String,
    /// The concept or objective this example illustrates.
    #[serde(default)]
    pub concept: String,
    /// The problem (markdown).
    pub problem: String,
    /// The worked solution (markdown).
    pub solution: String,
}

/// The whole subtopic as the author wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subtopic {
    /// Stable id.
    pub id: String,
    /// Id of the topic the subtopic belongs to.
    pub topic_id: String,
    /// Title of the topic the subtopic belongs to.
    #[serde(default)]
    pub topic_title: String,
    /// Title.
    pub title: String,
    /// One or two sentences.
    #[serde(default)]
    pub summary: String,
    /// The teaching content (markdown).
    #[serde(default)]
    pub content: String,
    /// Learning objectives.
    #[serde(default)]
    pub objectives: Vec<Objective>,
    /// Short statements the learner should retain.
    #[serde(default)]
    pub key_points: Vec<String>,
    /// Worked examples.
    #[serde(default)]
    pub examples: Vec<WorkedExample>,
    /// `beginner`, `intermediate` or `advanced`.
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_level() -> String {
    "beginner".to_owned()
}

impl Subtopic {
    /// The objective with this id, if the subtopic has it.
    pub fn objective(&self, id: &str) -> Option<&Objective> {
        self.objectives.iter().find(|objective| objective.id == id)
    }

    /// The objective `text` (a key point, an answer …) is most about: the
    /// one sharing the most concepts with it, not counting the words of the
    /// subtopic's title (which everything shares). On a tie the narrower
    /// objective, the shared concepts being a larger part of it, wins.
    /// `None` when no objective shares a concept.
    pub fn objective_for(&self, text: &str, normalizer: &Normalizer) -> Option<&Objective> {
        let title = normalizer.shared_concepts(&self.title);
        let concepts = normalizer.shared_concepts(text);
        let mut best: Option<(usize, f32, &Objective)> = None;
        for objective in &self.objectives {
            let own = normalizer.shared_concepts(&objective.text);
            let shared = own
                .iter()
                .filter(|c| concepts.contains(*c) && !title.contains(*c))
                .count();
            if shared == 0 {
                continue;
            }
            let part = shared as f32 / own.len() as f32;
            if best.is_none_or(|(s, p, _)| shared > s || (shared == s && part > p)) {
                best = Some((shared, part, objective));
            }
        }
        best.map(|(_, _, objective)| objective)
    }

    /// Content paragraphs (blank-line separated), without markdown headings,
    /// in the order the author wrote them.
    pub fn content_paragraphs(&self) -> Vec<&str> {
        self.content
            .split("\n\n")
            .map(str::trim)
            .filter(|paragraph| !paragraph.is_empty() && !paragraph.starts_with('#'))
            .collect()
    }
}

/// A learner's mastery of one objective, from the `progress` interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mastery {
    /// The objective.
    pub objective_id: String,
    /// 0.0 (no evidence of understanding) to 1.0 (mastered).
    pub score: f32,
    /// How many pieces of evidence the score rests on.
    pub evidence_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson() -> Subtopic {
        Subtopic {
            id: "s".into(),
            topic_id: "t".into(),
            topic_title: String::new(),
            title: "Plant light".into(),
            summary: String::new(),
            content: "# Heading\n\nFirst paragraph.\n\n  \n\nSecond one.".into(),
            objectives: vec![
                Objective {
                    id: "broad".into(),
                    text: "Name light, water, glucose, oxygen and starch.".into(),
                },
                Objective {
                    id: "narrow".into(),
                    text: "Explain glucose storage.".into(),
                },
            ],
            key_points: Vec::new(),
            examples: Vec::new(),
            level: "beginner".into(),
        }
    }

    #[test]
    fn the_narrower_objective_wins_a_tie_and_title_words_do_not_count() {
        let en = Normalizer::for_locale("en");
        let lesson = lesson();
        assert_eq!(
            lesson.objective_for("Glucose is made", &en).unwrap().id,
            "narrow"
        );
        assert_eq!(
            lesson.objective_for("oxygen and water", &en).unwrap().id,
            "broad"
        );
        assert!(lesson.objective_for("the plant needs light", &en).is_none());
    }

    #[test]
    fn paragraphs_skip_headings_and_blanks() {
        assert_eq!(
            lesson().content_paragraphs(),
            vec!["First paragraph.", "Second one."]
        );
    }
}
