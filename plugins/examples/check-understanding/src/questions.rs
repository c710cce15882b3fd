//! Questions built from the subtopic: one per objective and one per key
//! point, each with the statements a full answer would cover.

use lectern_tool::text::{Normalizer, stable_hash, words};
use lectern_tool::{Objective, Subtopic};

/// Words of a key point's subject phrase at most ("carbon dioxide").
const MAX_SUBJECT_WORDS: usize = 3;
/// Concepts an objective must add beyond its question to be an answer of its own.
const MIN_OWN_ANSWER_CONCEPTS: usize = 2;

/// One question the tool can ask.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Stable id: `objective:<objective id>` or `key-point:<index>`.
    pub id: String,
    /// What the question is about: the asked part of an objective ("Explain
    /// why …") or a key point's subject ("carbon dioxide").
    pub subject: String,
    /// The question as the learner hears or reads it.
    pub prompt: String,
    /// The objective an answer is evidence for.
    pub objective_id: Option<String>,
    /// Statements from the lesson (indexes for [`statement`]), each a full
    /// answer on its own; an answer is graded against the one it covers best.
    pub answers: Vec<usize>,
}

/// How many wordings a question has; [`word`] picks one.
pub const WORDINGS: usize = 3;

/// Statement `index` of the lesson: its objectives first, then its key
/// points. Answers are graded against these.
pub fn statement(lesson: &Subtopic, index: usize) -> Option<&str> {
    match lesson.objectives.get(index) {
        Some(objective) => Some(&objective.text),
        None => lesson
            .key_points
            .get(index - lesson.objectives.len())
            .map(String::as_str),
    }
}

/// Every statement of the lesson, in the order of [`statement`].
pub fn statements(lesson: &Subtopic) -> impl Iterator<Item = &str> {
    lesson
        .objectives
        .iter()
        .map(|objective| objective.text.as_str())
        .chain(lesson.key_points.iter().map(String::as_str))
}

/// Every question the subtopic supports. `times_asked(id)` says how often
/// a question was asked already in this session, which picks its wording so
/// a question coming round again is phrased differently.
#[cfg(test)]
pub fn all_questions(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    times_asked: impl Fn(&str) -> usize,
) -> Vec<Question> {
    worded_questions(lesson, normalizer, |id| variant(id, times_asked(id)))
}

/// Every question the subtopic supports, each in wording `wording(id)`
/// (taken modulo [`WORDINGS`]), each built on its own: what
/// [`questions_in_every_wording`] is checked against.
#[cfg(test)]
pub fn worded_questions(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    wording: impl Fn(&str) -> usize,
) -> Vec<Question> {
    let mut questions = Vec::new();
    for (index, objective) in lesson.objectives.iter().enumerate() {
        questions.extend(objective_question(
            lesson, normalizer, index, objective, &wording,
        ));
    }
    for (index, point) in lesson.key_points.iter().enumerate() {
        questions.extend(key_point_question(
            lesson, normalizer, index, point, &wording,
        ));
    }
    questions
}

/// The question with `id`, the same as the one [`all_questions`] lists
/// first with that id, built alone: what grading did before the bank kept
/// what it needs, and what the bank's grading is checked against.
#[cfg(test)]
pub fn question(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    id: &str,
    times_asked: impl Fn(&str) -> usize,
) -> Option<Question> {
    let wording = |id: &str| variant(id, times_asked(id));
    if let Some(objective_id) = id.strip_prefix("objective:") {
        lesson
            .objectives
            .iter()
            .enumerate()
            .filter(|(_, objective)| objective.id == objective_id)
            .find_map(|(index, objective)| {
                objective_question(lesson, normalizer, index, objective, &wording)
            })
    } else {
        let index: usize = id.strip_prefix("key-point:")?.parse().ok()?;
        // Only the id `key-point:{index}` itself, not `+1` or `01`.
        if id.len() != "key-point:".len() + crate::record::decimal_len(index) {
            return None;
        }
        let point = lesson.key_points.get(index)?;
        key_point_question(lesson, normalizer, index, point, &wording)
    }
}

#[cfg(test)]
fn objective_question(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    index: usize,
    objective: &Objective,
    wording: &impl Fn(&str) -> usize,
) -> Option<Question> {
    let unworded = unworded_objective_question(lesson, normalizer, index, objective)?;
    let variant = wording(&unworded.id);
    Some(unworded.worded(normalizer, variant))
}

/// What an objective's question is, whatever its wording.
struct UnwordedObjective<'l> {
    id: String,
    index: usize,
    asked_part: &'l str,
    objective_id: &'l str,
    own_concepts: std::rc::Rc<std::collections::BTreeSet<String>>,
    related: Vec<usize>,
}

fn unworded_objective_question<'l>(
    lesson: &'l Subtopic,
    normalizer: &Normalizer,
    index: usize,
    objective: &'l Objective,
) -> Option<UnwordedObjective<'l>> {
    let asked_part = objective
        .text
        .split([':', '('])
        .next()
        .unwrap_or_default()
        .trim()
        .trim_end_matches('.');
    if asked_part.is_empty() {
        return None;
    }
    let points_from = lesson.objectives.len();
    Some(UnwordedObjective {
        id: format!("objective:{}", objective.id),
        index,
        asked_part,
        objective_id: &objective.id,
        own_concepts: normalizer.shared_concepts(&objective.text),
        related: related_key_points(lesson, normalizer, &objective.text)
            .into_iter()
            .map(|point| points_from + point)
            .collect(),
    })
}

impl UnwordedObjective<'_> {
    /// The question in wording `variant`: its prompt, and its answers,
    /// which include the objective itself when it says more than the
    /// prompt asks.
    fn worded(&self, normalizer: &Normalizer, variant: usize) -> Question {
        let prompt = objective_prompt(self.asked_part, variant);
        let prompt_concepts = normalizer.shared_concepts(&prompt);
        let mut answers = Vec::with_capacity(self.related.len() + 1);
        if self.own_concepts.difference(&prompt_concepts).count() >= MIN_OWN_ANSWER_CONCEPTS {
            answers.push(self.index);
        }
        answers.extend_from_slice(&self.related);
        if answers.is_empty() {
            answers.push(self.index);
        }
        Question {
            id: self.id.clone(),
            subject: self.asked_part.to_owned(),
            prompt,
            objective_id: Some(self.objective_id.to_owned()),
            answers,
        }
    }
}

#[cfg(test)]
fn key_point_question(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    index: usize,
    point: &str,
    wording: &impl Fn(&str) -> usize,
) -> Option<Question> {
    let mut question = unworded_key_point_question(lesson, normalizer, index, point)?;
    question.prompt = key_point_prompt(&question.subject, wording(&question.id));
    Some(question)
}

/// A key point's question without its prompt, which is all that its
/// wording changes.
fn unworded_key_point_question(
    lesson: &Subtopic,
    normalizer: &Normalizer,
    index: usize,
    point: &str,
) -> Option<Question> {
    Some(Question {
        id: format!("key-point:{index}"),
        subject: subject_phrase(point, normalizer)?,
        prompt: String::new(),
        objective_id: lesson
            .objective_for(point, normalizer)
            .map(|o| o.id.clone()),
        answers: vec![lesson.objectives.len() + index],
    })
}

/// Every question the subtopic supports in each of its wordings: element
/// `w` is what [`worded_questions`] gives for wording `w`. What does not
/// depend on the wording is worked out once per question, not once per
/// wording.
pub fn questions_in_every_wording(
    lesson: &Subtopic,
    normalizer: &Normalizer,
) -> Vec<Vec<Question>> {
    let mut worded: Vec<Vec<Question>> = (0..WORDINGS).map(|_| Vec::new()).collect();
    for (index, objective) in lesson.objectives.iter().enumerate() {
        if let Some(unworded) = unworded_objective_question(lesson, normalizer, index, objective) {
            for (wording, questions) in worded.iter_mut().enumerate() {
                questions.push(unworded.worded(normalizer, wording));
            }
        }
    }
    for (index, point) in lesson.key_points.iter().enumerate() {
        if let Some(unworded) = unworded_key_point_question(lesson, normalizer, index, point) {
            for (wording, questions) in worded.iter_mut().enumerate() {
                let mut question = unworded.clone();
                question.prompt = key_point_prompt(&question.subject, wording);
                questions.push(question);
            }
        }
    }
    worded
}

/// The wording of question `id` about `subject` the `times_asked + 1`-th
/// time it is asked.
pub fn word(id: &str, subject: &str, times_asked: usize) -> String {
    let variant = variant(id, times_asked);
    if id.starts_with("objective:") {
        objective_prompt(subject, variant)
    } else {
        key_point_prompt(subject, variant)
    }
}

/// Which wording to use (modulo [`WORDINGS`]): the first time a fixed one
/// per question (so two questions in a row rarely share a shape), then the
/// next one each time.
pub fn variant(id: &str, times_asked: usize) -> usize {
    (stable_hash(id) as usize).wrapping_add(times_asked)
}

fn objective_prompt(objective: &str, variant: usize) -> String {
    // Pieces pushed rather than `format!` and a char-by-char collect: a
    // prompt is worded on every call.
    let (opening, closing) = match variant % WORDINGS {
        0 => ("Could you ", "?"),
        1 => ("In your own words: ", "."),
        _ => ("Let's check one thing: how would you ", "?"),
    };
    let mut prompt = String::with_capacity(opening.len() + objective.len() + 4);
    prompt.push_str(opening);
    let mut chars = objective.chars();
    if let Some(first) = chars.next() {
        prompt.extend(first.to_lowercase());
        prompt.push_str(chars.as_str());
    }
    prompt.push_str(closing);
    prompt
}

fn key_point_prompt(subject: &str, variant: usize) -> String {
    // Pieces pushed rather than `format!`, as for objectives.
    let (opening, closing) = match variant % WORDINGS {
        0 => ("What do you remember about ", "?"),
        1 => ("What can you tell me about ", " in this lesson?"),
        _ => ("How would you explain the role of ", "?"),
    };
    let mut prompt = String::with_capacity(opening.len() + subject.len() + closing.len());
    prompt.push_str(opening);
    prompt.push_str(subject);
    prompt.push_str(closing);
    prompt
}

/// The phrase a key point is about: its first run of concept words, ended
/// before what looks like its verb ("Carbon dioxide enters …" gives
/// "carbon dioxide"). Outside English only the first concept word is used.
fn subject_phrase(point: &str, normalizer: &Normalizer) -> Option<String> {
    let all = words(point);
    let start = all
        .iter()
        .position(|word| normalizer.is_concept_word(word))?;
    let english = normalizer.is_english();
    let mut subject = vec![all[start].clone()];
    for word in &all[start + 1..] {
        let looks_like_verb = word.ends_with('s')
            && !word.ends_with("ss")
            && !word.ends_with("is")
            && !word.ends_with("us");
        if !english
            || subject.len() == MAX_SUBJECT_WORDS
            || !normalizer.is_concept_word(word)
            || looks_like_verb
        {
            break;
        }
        subject.push(word.clone());
    }
    Some(subject.join(" "))
}

/// Key points (their indexes) sharing a concept with `text`, besides the
/// words of the subtopic's title (which every key point tends to share),
/// best first.
fn related_key_points(lesson: &Subtopic, normalizer: &Normalizer, text: &str) -> Vec<usize> {
    let title = normalizer.shared_concepts(&lesson.title);
    let of_text = normalizer.shared_concepts(text);
    let wanted: Vec<&String> = of_text
        .iter()
        .filter(|concept| !title.contains(*concept))
        .collect();
    let mut related: Vec<(usize, usize)> = lesson
        .key_points
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let concepts = normalizer.shared_concepts(point);
            let shared = wanted.iter().filter(|c| concepts.contains(**c)).count();
            (shared, index)
        })
        .filter(|(shared, _)| *shared > 0)
        .collect();
    related.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    related.into_iter().map(|(_, index)| index).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::sample_subtopic;

    #[test]
    fn every_wording_is_built_as_each_wording_alone() {
        let mut edged = sample_subtopic();
        edged.objectives.push(Objective {
            id: "stop".into(),
            text: "Explain why".into(),
        });
        edged.objectives.push(Objective {
            id: "empty".into(),
            text: ": nothing asked".into(),
        });
        edged.key_points.push("the and of".into());
        for lesson in [sample_subtopic(), edged] {
            for locale in ["en", "fr", "xx"] {
                let normalizer = Normalizer::for_locale(locale);
                let every = questions_in_every_wording(&lesson, &normalizer);
                assert_eq!(every.len(), WORDINGS);
                for (wording, questions) in every.iter().enumerate() {
                    assert_eq!(
                        *questions,
                        worded_questions(&lesson, &normalizer, |_| wording),
                        "{locale} {wording}"
                    );
                }
            }
        }
    }

    #[test]
    fn objectives_and_key_points_each_give_a_question() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let questions = all_questions(&lesson, &en, |_| 0);
        assert_eq!(
            questions.len(),
            lesson.objectives.len() + lesson.key_points.len()
        );
        let chlorophyll = questions
            .iter()
            .find(|q| q.id == "objective:chlorophyll")
            .unwrap();
        assert!(
            chlorophyll
                .prompt
                .contains("why chlorophyll makes leaves look green")
        );
        let answers: Vec<&str> = chlorophyll
            .answers
            .iter()
            .map(|i| statement(&lesson, *i).unwrap())
            .collect();
        assert_eq!(
            answers,
            ["Chlorophyll absorbs red and blue light and reflects green light."]
        );
    }

    #[test]
    fn the_answer_after_a_colon_stays_out_of_the_question() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let questions = all_questions(&lesson, &en, |_| 0);
        let inputs = questions
            .iter()
            .find(|q| q.id == "objective:inputs-outputs")
            .unwrap();
        assert!(!inputs.prompt.contains("glucose"), "{}", inputs.prompt);
        assert!(
            statement(&lesson, inputs.answers[0])
                .unwrap()
                .contains("glucose")
        );
    }

    #[test]
    fn subjects_stop_before_the_verb() {
        let en = Normalizer::for_locale("en");
        assert_eq!(
            subject_phrase("Carbon dioxide enters the leaf through stomata.", &en).unwrap(),
            "carbon dioxide"
        );
        assert_eq!(
            subject_phrase("Photosynthesis takes place in chloroplasts.", &en).unwrap(),
            "photosynthesis"
        );
        assert_eq!(subject_phrase("The and of.", &en), None);
    }

    #[test]
    fn key_points_link_to_the_closest_objective() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let questions = all_questions(&lesson, &en, |_| 0);
        let objective_of = |id: &str| {
            questions
                .iter()
                .find(|q| q.id == id)
                .unwrap()
                .objective_id
                .clone()
        };
        assert_eq!(objective_of("key-point:1").as_deref(), Some("chlorophyll"));
        assert_eq!(objective_of("key-point:4").as_deref(), Some("glucose-use"));
    }

    #[test]
    fn one_question_is_built_as_the_whole_list_builds_it() {
        let mut lesson = sample_subtopic();
        // An objective with nothing to ask comes before one of the same id.
        lesson.objectives.insert(
            0,
            lectern_tool::Objective {
                id: lesson.objectives[1].id.clone(),
                text: ": (nothing asked)".into(),
            },
        );
        let en = Normalizer::for_locale("en");
        let times_asked = |id: &str| id.len() % 3;
        let all = all_questions(&lesson, &en, times_asked);
        for expected in &all {
            let alone = question(&lesson, &en, &expected.id, times_asked).unwrap();
            let first = all.iter().find(|q| q.id == expected.id).unwrap();
            assert_eq!(&alone, first);
        }
        for missing in [
            "objective:nope",
            "key-point:99",
            "key-point:01",
            "key-point:+1",
            "key-point:",
            "other:1",
            "",
        ] {
            assert!(
                question(&lesson, &en, missing, times_asked).is_none(),
                "{missing}"
            );
        }
    }

    #[test]
    fn asking_again_changes_the_wording() {
        let lesson = sample_subtopic();
        let en = Normalizer::for_locale("en");
        let first = all_questions(&lesson, &en, |_| 0);
        let again = all_questions(&lesson, &en, |_| 1);
        for (a, b) in first.iter().zip(&again) {
            assert_eq!(a.id, b.id);
            assert_ne!(a.prompt, b.prompt);
            assert_eq!(word(&a.id, &a.subject, 1), b.prompt);
        }
    }
}
