//! Grading a learner's answer against the statements a full answer covers.

use lectern_tool::text::{Normalizer, coverage};

use crate::questions::Question;

/// Share of the expected concepts at or above which an answer counts as right.
pub const RIGHT_AT_SHARE: f32 = 0.75;
/// Share at or above which an answer counts as partly right.
pub const PARTLY_RIGHT_AT_SHARE: f32 = 0.4;

/// How an answer compares with the lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    /// Share of the expected concepts the answer covered, 0.0 to 1.0.
    pub share: f32,
    /// Concepts covered, as the lesson writes them.
    pub found: Vec<String>,
    /// Concepts missed, as the lesson writes them.
    pub missed: Vec<String>,
    /// The lesson statement the answer was closest to.
    pub statement: String,
}

impl Grade {
    /// `right`, `partly right` or `not yet right`.
    pub fn verdict(&self) -> &'static str {
        if self.share >= RIGHT_AT_SHARE {
            "right"
        } else if self.share >= PARTLY_RIGHT_AT_SHARE {
            "partly right"
        } else {
            "not yet right"
        }
    }
}

/// Grades `answer` against the statement of `question` it covers best. The
/// words of the question itself earn nothing: repeating the question is not
/// an answer.
pub fn grade(question: &Question, answer: &str, normalizer: &Normalizer) -> Grade {
    let given = normalizer.concepts(answer);
    let asked = normalizer.concepts(&question.prompt);
    let mut best: Option<Grade> = None;
    for statement in &question.answers {
        let all = normalizer.concepts(statement);
        let beyond_question: std::collections::BTreeSet<String> =
            all.difference(&asked).cloned().collect();
        let expected = if beyond_question.is_empty() {
            all
        } else {
            beyond_question
        };
        let result = coverage(&expected, &given);
        if best.as_ref().is_some_and(|b| b.share >= result.share) {
            continue;
        }
        let written = |stems: &[String]| -> Vec<String> {
            normalizer
                .concept_words(statement)
                .into_iter()
                .filter(|word| stems.contains(&normalizer.stem(word)))
                .collect()
        };
        best = Some(Grade {
            share: result.share,
            found: written(&result.found),
            missed: written(&result.missing),
            statement: statement.clone(),
        });
    }
    best.unwrap_or(Grade {
        share: 0.0,
        found: Vec::new(),
        missed: Vec::new(),
        statement: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question() -> Question {
        Question {
            id: "objective:chlorophyll".into(),
            subject: "Explain why chlorophyll makes leaves look green".into(),
            prompt: "Could you explain why chlorophyll makes leaves look green?".into(),
            objective_id: Some("chlorophyll".into()),
            answers: vec![
                "Chlorophyll absorbs red and blue light and reflects green light.".into(),
            ],
        }
    }

    #[test]
    fn a_full_answer_in_other_inflections_is_right() {
        let en = Normalizer::for_locale("en");
        let grade = grade(
            &question(),
            "Because it is absorbing the red and blue lights and reflecting the green",
            &en,
        );
        assert_eq!(grade.verdict(), "right");
        assert!(grade.missed.is_empty(), "{:?}", grade.missed);
    }

    #[test]
    fn a_partial_answer_names_what_is_missing() {
        let en = Normalizer::for_locale("en");
        let grade = grade(&question(), "it reflects green light", &en);
        assert_eq!(grade.verdict(), "partly right");
        assert_eq!(grade.missed, vec!["absorbs", "red", "blue"]);
        assert_eq!(grade.found, vec!["light", "reflects"]);
    }

    #[test]
    fn repeating_the_question_earns_nothing() {
        let en = Normalizer::for_locale("en");
        let grade = grade(&question(), "chlorophyll makes leaves look green", &en);
        assert_eq!(grade.share, 0.0);
        assert_eq!(grade.verdict(), "not yet right");
    }

    #[test]
    fn the_best_matching_statement_is_used() {
        let en = Normalizer::for_locale("en");
        let mut q = question();
        q.answers.push("Glucose is stored as starch.".into());
        let grade = grade(&q, "the glucose gets stored as starch", &en);
        assert_eq!(grade.statement, "Glucose is stored as starch.");
        assert_eq!(grade.verdict(), "right");
    }
}
