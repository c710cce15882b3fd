//! The plugin driven through the SDK's fake host, call by call.

use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};
use lectern_tool::{Display, QuestionCard, ScoreCard, TeachingTool, ToolError, ToolOutput};
use serde_json::json;

use super::Quiz;

fn question(output: &ToolOutput) -> QuestionCard {
    match &output.display {
        Some(Display::Question(card)) => card.clone(),
        other => panic!("expected a question card, got {other:?}"),
    }
}

fn score(output: &ToolOutput) -> ScoreCard {
    match &output.display {
        Some(Display::Score(card)) => card.clone(),
        other => panic!("expected a score card, got {other:?}"),
    }
}

/// The right choice for a card, found from the lesson like a learner who
/// knows it would: the choice that completes the gap into a key point.
fn right_choice(card: &QuestionCard) -> String {
    let lesson = sample_subtopic();
    let gap = card.prompt.split("Fill the gap: ").nth(1).unwrap();
    card.choices
        .iter()
        .find(|choice| {
            let filled = gap.replace("_____", choice);
            lesson
                .key_points
                .iter()
                .any(|p| p.to_lowercase() == filled.to_lowercase())
        })
        .unwrap()
        .clone()
}

fn wrong_choice(card: &QuestionCard) -> String {
    let right = right_choice(card);
    card.choices.iter().find(|c| **c != right).unwrap().clone()
}

#[test]
fn manifest_is_valid() {
    check_manifest(&Quiz::manifest()).unwrap();
}

#[test]
fn a_round_is_scored_and_recorded() {
    let mut env = FakeEnv::new(sample_subtopic());
    let started = env
        .invoke::<Quiz>("start_quiz", json!({"questions": 3}))
        .unwrap();
    assert!(started.content.contains("3 questions"));
    let first = question(&started);
    assert!(first.prompt.starts_with("(1/3) Fill the gap: "));
    assert_eq!(first.choices.len(), 4);

    // Right by letter, wrong by text, right by text.
    let letter = (b'A'
        + first
            .choices
            .iter()
            .position(|c| *c == right_choice(&first))
            .unwrap() as u8) as char;
    let second = env
        .invoke::<Quiz>("answer_quiz", json!({"answer": letter.to_string()}))
        .unwrap();
    assert!(second.content.starts_with("Right"), "{}", second.content);
    let second_card = question(&second);
    assert!(second_card.prompt.starts_with("(2/3)"));
    let third = env
        .invoke::<Quiz>("answer_quiz", json!({"answer": wrong_choice(&second_card)}))
        .unwrap();
    assert!(third.content.starts_with("Not quite"), "{}", third.content);
    let third_card = question(&third);
    let done = env
        .invoke::<Quiz>(
            "answer_quiz",
            json!({"answer": format!("it's {}", right_choice(&third_card))}),
        )
        .unwrap();
    let card = score(&done);
    assert_eq!((card.correct, card.total), (2, 3));
    assert!(
        card.feedback
            .contains(&format!("**{}**", right_choice(&second_card)))
    );
    assert!(done.content.contains("Round 1 finished: 2/3 right"));

    // Evidence for every answer whose key point maps to an objective.
    assert!(!env.evidence().is_empty());
    assert!(
        env.evidence()
            .iter()
            .all(|e| e.score == 0.0 || e.score == 1.0)
    );
    assert!(env.state_json("round").is_none());
    assert_eq!(env.state_json("scores").unwrap(), json!([[2, 3]]));

    // No round any more.
    let error = env
        .invoke::<Quiz>("answer_quiz", json!({"answer": "A"}))
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(m) if m.contains("start_quiz")));
}

#[test]
fn later_rounds_cover_other_key_points_and_compare_scores() {
    let mut env = FakeEnv::new(sample_subtopic());
    let mut asked = Vec::new();
    for round in 0..2 {
        let mut output = env
            .invoke::<Quiz>("start_quiz", json!({"questions": 2}))
            .unwrap();
        for _ in 0..2 {
            let card = question(&output);
            asked.push(card.prompt.split(") ").nth(1).unwrap().to_owned());
            output = env
                .invoke::<Quiz>("answer_quiz", json!({"answer": right_choice(&card)}))
                .unwrap();
        }
        if round == 1 {
            assert!(output.content.contains("The previous round scored 2/2"));
        }
    }
    let mut distinct = asked.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{asked:#?}");
    let quizzed: Vec<u64> = serde_json::from_value(env.state_json("quizzed").unwrap()).unwrap();
    assert_eq!(quizzed.iter().sum::<u64>(), 4);
    assert!(quizzed.iter().all(|&n| n <= 1), "{quizzed:?}");
}

#[test]
fn an_unclear_answer_is_refused_and_changes_nothing() {
    let mut env = FakeEnv::new(sample_subtopic());
    env.invoke::<Quiz>("start_quiz", json!({"questions": 2}))
        .unwrap();
    let before = env.state().clone();
    let error = env
        .invoke::<Quiz>("answer_quiz", json!({"answer": "no idea"}))
        .unwrap_err();
    assert!(
        matches!(&error, ToolError::InvalidArguments(m) if m.contains("A) ")),
        "{error}"
    );
    assert_eq!(env.state(), &before);
    assert!(env.evidence().is_empty());
}

#[test]
fn restarting_abandons_the_round_and_bad_sizes_are_refused() {
    let mut env = FakeEnv::new(sample_subtopic());
    env.invoke::<Quiz>("start_quiz", json!({"questions": 2}))
        .unwrap();
    let again = env
        .invoke::<Quiz>("start_quiz", json!({"questions": 2}))
        .unwrap();
    assert!(
        again
            .content
            .contains("round 1 (0 of 2 answered) was abandoned"),
        "{}",
        again.content
    );
    assert!(again.content.contains("Practice round 2"));
    let error = env
        .invoke::<Quiz>("start_quiz", json!({"questions": 9}))
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(_)));
}

#[test]
fn a_lesson_with_one_key_point_cannot_make_a_quiz() {
    let mut lesson = sample_subtopic();
    lesson.key_points.truncate(1);
    let mut env = FakeEnv::new(lesson);
    let error = env
        .invoke::<Quiz>("start_quiz", json!({"questions": 2}))
        .unwrap_err();
    assert!(matches!(error, ToolError::Failed(m) if m.contains("too few key points")));
    assert!(env.state().is_empty());
}
