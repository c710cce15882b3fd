//! The plugin driven through the SDK's fake host, call by call.

use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};
use lectern_tool::{Display, TeachingTool, ToolError, ToolOutput};
use serde_json::json;

use super::SummarizeKeyPoints;

fn points(output: &ToolOutput) -> Vec<String> {
    match &output.display {
        Some(Display::KeyPoints(points)) => points.clone(),
        other => panic!("expected key points, got {other:?}"),
    }
}

fn summarize(env: &mut FakeEnv, arguments: serde_json::Value) -> ToolOutput {
    env.invoke::<SummarizeKeyPoints>("summarize_key_points", arguments)
        .unwrap()
}

#[test]
fn manifest_is_valid() {
    check_manifest(&SummarizeKeyPoints::manifest()).unwrap();
}

#[test]
fn all_key_points_in_lesson_order() {
    let lesson = sample_subtopic();
    let mut env = FakeEnv::new(lesson.clone());
    let output = summarize(&mut env, json!({"focus": "all"}));
    assert_eq!(points(&output), lesson.key_points);
    assert!(
        output
            .content
            .contains("1. Photosynthesis takes place in chloroplasts.")
    );
}

#[test]
fn not_mastered_keeps_to_weak_objectives() {
    let mut env = FakeEnv::new(sample_subtopic())
        .with_mastery("inputs-outputs", 0.9, 3)
        .with_mastery("glucose-use", 1.0, 2)
        .with_mastery("chlorophyll", 0.2, 1);
    let output = summarize(&mut env, json!({"focus": "not_mastered"}));
    assert_eq!(
        points(&output),
        vec!["Chlorophyll absorbs red and blue light and reflects green light."]
    );
    assert!(
        output.content.contains("chlorophyll 0.20"),
        "{}",
        output.content
    );
}

#[test]
fn objectives_without_a_key_point_are_named() {
    let mut lesson = sample_subtopic();
    lesson.objectives.push(lectern_tool::Objective {
        id: "seasons".into(),
        text: "Explain why trees drop their leaves in autumn.".into(),
    });
    let mut env = FakeEnv::new(lesson)
        .with_mastery("inputs-outputs", 0.9, 3)
        .with_mastery("glucose-use", 1.0, 2)
        .with_mastery("chlorophyll", 0.9, 1);
    let output = summarize(&mut env, json!({"focus": "not_mastered"}));
    assert_eq!(
        points(&output),
        vec!["Still to master: Explain why trees drop their leaves in autumn."]
    );
}

#[test]
fn when_everything_is_mastered_it_says_so_and_recaps() {
    let mut env = FakeEnv::new(sample_subtopic())
        .with_mastery("inputs-outputs", 0.9, 3)
        .with_mastery("glucose-use", 1.0, 2)
        .with_mastery("chlorophyll", 0.85, 2);
    let output = summarize(&mut env, json!({"focus": "not_mastered", "max_points": 2}));
    assert!(output.content.contains("every objective is mastered"));
    assert_eq!(points(&output).len(), 2);
}

#[test]
fn repeated_summaries_rotate_through_points_not_shown() {
    let lesson = sample_subtopic();
    let mut env = FakeEnv::new(lesson.clone());
    let first = points(&summarize(
        &mut env,
        json!({"focus": "all", "max_points": 3}),
    ));
    assert_eq!(first, lesson.key_points[..3]);
    let second = summarize(&mut env, json!({"focus": "all", "max_points": 3}));
    // The two never shown, then the first of those shown once; in lesson order.
    assert_eq!(
        points(&second),
        vec![
            lesson.key_points[0].clone(),
            lesson.key_points[3].clone(),
            lesson.key_points[4].clone()
        ]
    );
    assert_eq!(env.state_json("shown").unwrap(), json!([2, 1, 1, 1, 1]));
    assert!(second.content.contains("2 more point(s) were left out"));
}

#[test]
fn bad_arguments_are_refused_and_change_nothing() {
    let mut env = FakeEnv::new(sample_subtopic());
    for arguments in [
        json!({"focus": "some"}),
        json!({"focus": "all", "max_points": 0}),
        json!({}),
    ] {
        let error = env
            .invoke::<SummarizeKeyPoints>("summarize_key_points", arguments)
            .unwrap_err();
        assert!(matches!(error, ToolError::InvalidArguments(_)));
    }
    assert!(env.state().is_empty());
}
