//! Grading a learner's answer against the statements a full answer covers,
//! from the analysis the question bank keeps.

use lectern_tool::text::Normalizer;

use crate::bank::{Bank, Banked, pieces};
use crate::compare::same;

/// Share of the expected concepts at or above which an answer counts as right.
pub const RIGHT_AT_SHARE: f32 = 0.75;
/// Share at or above which an answer counts as partly right.
pub const PARTLY_RIGHT_AT_SHARE: f32 = 0.4;

/// How an answer compares with the lesson.
#[derive(Debug, Clone, PartialEq)]
pub struct Grade<'a> {
    /// Share of the expected concepts the answer covered, 0.0 to 1.0.
    pub share: f32,
    /// Concepts covered, as the lesson writes them.
    pub found: Vec<&'a str>,
    /// Concepts missed, as the lesson writes them.
    pub missed: Vec<&'a str>,
    /// The lesson statement the answer was closest to (see
    /// [`statement`](crate::questions::statement)).
    pub statement: Option<usize>,
}

impl Grade<'_> {
    /// `right`, `partly right` or `not yet right`.
    pub fn verdict(&self) -> &'static str {
        verdict(self.share)
    }
}

fn verdict(share: f32) -> &'static str {
    if share >= RIGHT_AT_SHARE {
        "right"
    } else if share >= PARTLY_RIGHT_AT_SHARE {
        "partly right"
    } else {
        "not yet right"
    }
}

/// Grades the learner's `answer` to `question`, asked in `wording`. Only the
/// terms of the statements it is graded against are looked for in it.
pub fn grade_text<'a>(
    bank: &Bank<'a>,
    question: &Banked<'a>,
    wording: usize,
    answer: &str,
    normalizer: &Normalizer,
) -> Grade<'a> {
    // Every term of the statements graded against, in order, each
    // statement's from where the previous one's end: what the answer and
    // the question are compared with once, term by term, so grading itself
    // only reads flags.
    let mut terms: Vec<(&'a str, &'a str)> = Vec::with_capacity(32);
    let mut statements: Vec<(usize, usize)> = Vec::with_capacity(4);
    for index in question.answers(wording) {
        terms.extend(bank.statement_terms(index));
        statements.push((index, terms.len()));
    }
    let wanted: Vec<&str> = terms.iter().map(|(stem, _)| *stem).collect();
    let given = bank.has_terms(answer, normalizer, &wanted);
    let asked: Vec<&str> = pieces(question.asked_terms(wording), ' ').collect();
    let flags: Vec<(bool, bool)> = wanted
        .iter()
        .zip(given)
        .map(|(stem, given)| (given, asked.iter().any(|term| same(term, stem))))
        .collect();
    grade(&terms, &statements, &flags)
}

/// Grades an answer against the statement it covers best: `terms` are the
/// statements' terms `(stem, word)` one after the other, `statements` each
/// statement's index and the end of its terms, `flags` per term whether the
/// answer gives it and whether the question itself asks it. The terms of
/// the question earn nothing (repeating the question is not an answer),
/// unless a statement has no other.
fn grade<'a>(
    terms: &[(&'a str, &'a str)],
    statements: &[(usize, usize)],
    flags: &[(bool, bool)],
) -> Grade<'a> {
    let mut best: Option<Grade<'a>> = None;
    let mut from = 0;
    for &(index, end) in statements {
        let (terms, flags) = (&terms[from..end], &flags[from..end]);
        from = end;
        let beyond_question = flags.iter().any(|(_, asked)| !asked);
        let expected = |asked: bool| !beyond_question || !asked;
        let (mut expected_count, mut found_count) = (0usize, 0usize);
        for &(given, asked) in flags {
            if expected(asked) {
                expected_count += 1;
                found_count += usize::from(given);
            }
        }
        let share = if expected_count == 0 {
            0.0
        } else {
            found_count as f32 / expected_count as f32
        };
        if best.as_ref().is_some_and(|b| b.share >= share) {
            continue;
        }
        let mut grade = Grade {
            share,
            found: Vec::with_capacity(found_count),
            missed: Vec::with_capacity(expected_count - found_count),
            statement: Some(index),
        };
        for ((_, word), &(given, asked)) in terms.iter().zip(flags) {
            if expected(asked) {
                if given {
                    grade.found.push(word);
                } else {
                    grade.missed.push(word);
                }
            }
        }
        best = Some(grade);
    }
    best.unwrap_or(Grade {
        share: 0.0,
        found: Vec::new(),
        missed: Vec::new(),
        statement: None,
    })
}

/// Grading as it was done before the bank kept the analysis: the question
/// built from the lesson, every statement stemmed on the spot. What the
/// bank's grading is checked against.
#[cfg(test)]
pub mod reference {
    use lectern_tool::Subtopic;
    use lectern_tool::text::{Normalizer, coverage};

    use crate::questions::{Question, statement};

    /// [`Grade`](super::Grade) with owned texts.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Grade {
        pub share: f32,
        pub found: Vec<String>,
        pub missed: Vec<String>,
        pub statement: String,
    }

    pub fn grade(
        lesson: &Subtopic,
        question: &Question,
        answer: &str,
        normalizer: &Normalizer,
    ) -> Grade {
        let given = normalizer.concepts(answer);
        let asked = normalizer.concepts(&question.prompt);
        let mut best: Option<Grade> = None;
        for statement in question
            .answers
            .iter()
            .map(|i| statement(lesson, *i).unwrap())
        {
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
                statement: statement.to_owned(),
            });
        }
        best.unwrap_or(Grade {
            share: 0.0,
            found: Vec::new(),
            missed: Vec::new(),
            statement: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank;
    use crate::questions::{WORDINGS, all_questions, question, statement, variant};
    use lectern_tool::testing::sample_subtopic;
    use lectern_tool::text::Normalizer;
    use lectern_tool::{Objective, Subtopic};

    /// The sample lesson with the chlorophyll objective and its key point
    /// as these tests need them.
    fn lesson() -> Subtopic {
        sample_subtopic()
    }

    /// Grades `answer` to question `id` asked `times_heard` times before,
    /// through the bank, with the texts owned.
    fn graded(
        lesson: &Subtopic,
        locale: &str,
        id: &str,
        times_heard: usize,
        answer: &str,
    ) -> reference::Grade {
        let normalizer = Normalizer::for_locale(locale);
        let print = bank::fingerprint(lesson, locale);
        let text = bank::build(lesson, &normalizer, print);
        let bank = bank::parse(&text, print).unwrap();
        let question = bank.question(id).unwrap();
        let wording = variant(id, times_heard);
        let grade = grade_text(&bank, question, wording, answer, &normalizer);
        reference::Grade {
            share: grade.share,
            found: grade.found.iter().map(|w| w.to_string()).collect(),
            missed: grade.missed.iter().map(|w| w.to_string()).collect(),
            statement: grade
                .statement
                .and_then(|i| statement(lesson, i))
                .unwrap_or_default()
                .to_owned(),
        }
    }

    #[test]
    fn a_full_answer_in_other_inflections_is_right() {
        let grade = graded(
            &lesson(),
            "en",
            "objective:chlorophyll",
            0,
            "Because it is absorbing the red and blue lights and reflecting the green",
        );
        assert_eq!(verdict(grade.share), "right");
        assert!(grade.missed.is_empty(), "{:?}", grade.missed);
    }

    #[test]
    fn a_partial_answer_names_what_is_missing() {
        let grade = graded(
            &lesson(),
            "en",
            "objective:chlorophyll",
            0,
            "it reflects green light",
        );
        assert_eq!(verdict(grade.share), "partly right");
        assert_eq!(grade.missed, vec!["absorbs", "red", "blue"]);
        assert_eq!(grade.found, vec!["light", "reflects"]);
    }

    #[test]
    fn repeating_the_question_earns_nothing() {
        let lesson = lesson();
        for times_heard in 0..WORDINGS {
            let grade = graded(
                &lesson,
                "en",
                "objective:chlorophyll",
                times_heard,
                "chlorophyll makes leaves look green",
            );
            assert_eq!(grade.share, 0.0);
            assert_eq!(verdict(grade.share), "not yet right");
        }
    }

    #[test]
    fn the_best_matching_statement_is_used() {
        let mut lesson = lesson();
        lesson.objectives.push(Objective {
            id: "starch".into(),
            text: "Explain what happens to glucose: it is stored as starch".into(),
        });
        lesson
            .key_points
            .push("Glucose is stored as starch.".into());
        let grade = graded(
            &lesson,
            "en",
            "objective:starch",
            0,
            "the glucose gets stored as starch",
        );
        assert_eq!(verdict(grade.share), "right");
        assert!(grade.statement.contains("starch"), "{}", grade.statement);
    }

    /// Answers from silent to complete, in the words of the lesson and in
    /// others, for every question in every wording and a few locales: the
    /// bank grades each exactly as stemming everything on the spot does.
    #[test]
    fn the_bank_grades_as_the_analysis_on_the_spot_does() {
        let mut lessons = vec![lesson()];
        let mut edged = lesson();
        edged.objectives.push(Objective {
            id: "words".into(),
            text: "Check in your own words the role of light: explain, tell, remember".into(),
        });
        edged.objectives.push(Objective {
            id: "stop".into(),
            text: "Explain why".into(),
        });
        edged
            .key_points
            .push("Stomata let carbon dioxide in; the lesson's role: 42 openings.".into());
        lessons.push(edged);
        let answers = [
            "x",
            "It reflects the green light",
            "Chlorophyll absorbs red and blue light but reflects green",
            "plants need light, water and carbon dioxide to make glucose and oxygen",
            "Because it is absorbing the red and blue lights and reflecting the green",
            "the stomata let the carbon dioxide into the leaves; 42 openings",
            "in my own words, I'd check the role and explain, tell, remember",
            "Les plantes absorbent la lumière rouge et bleue",
            "reflecting, reflections and reflective absorption: leafy greenery lighting oxygenated",
            "Yellow leaves dying early; skies, ies and sses; 42 lights",
        ];
        for lesson in &lessons {
            for locale in ["en-US", "fr", "nl", "xx"] {
                let normalizer = Normalizer::for_locale(locale);
                for question_id in all_questions(lesson, &normalizer, |_| 0)
                    .iter()
                    .map(|q| &q.id)
                {
                    for times_heard in 0..4 {
                        let asked =
                            question(lesson, &normalizer, question_id, |_| times_heard).unwrap();
                        for answer in answers {
                            let expected = reference::grade(lesson, &asked, answer, &normalizer);
                            let got = graded(lesson, locale, question_id, times_heard, answer);
                            assert_eq!(
                                got, expected,
                                "{locale} {question_id} {times_heard} {answer}"
                            );
                        }
                    }
                }
            }
        }
    }
}
