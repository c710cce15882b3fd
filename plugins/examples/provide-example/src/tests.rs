//! The plugin driven through the SDK's fake host, call by call.

use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};
use lectern_tool::{Display, ExampleCard, TeachingTool, ToolError, ToolOutput};
use serde_json::json;

use super::ProvideExample;

fn card(output: &ToolOutput) -> ExampleCard {
    match &output.display {
        Some(Display::Example(card)) => card.clone(),
        other => panic!("expected an example card, got {other:?}"),
    }
}

fn ask(env: &mut FakeEnv, concept: &str) -> ToolOutput {
    env.invoke::<ProvideExample>("provide_example", json!({ "concept": concept }))
        .unwrap()
}

#[test]
fn manifest_is_valid() {
    check_manifest(&ProvideExample::manifest()).unwrap();
}

#[test]
fn the_example_fits_the_concept_asked() {
    let mut env = FakeEnv::new(sample_subtopic());
    assert_eq!(
        card(&ask(&mut env, "green leaves")).title,
        "Why leaves are green"
    );

    let mut env = FakeEnv::new(sample_subtopic());
    let output = ask(&mut env, "what happens without light");
    assert_eq!(card(&output).title, "A plant in a dark cupboard");
    assert!(output.content.contains("1 more worked example(s) remain"));
}

#[test]
fn examples_never_repeat_in_a_session() {
    let lesson = sample_subtopic();
    let available = lesson.examples.len() + lesson.key_points.len();
    let mut env = FakeEnv::new(lesson);
    let mut seen = Vec::new();
    for _ in 0..available {
        let example = card(&ask(&mut env, "chlorophyll"));
        assert!(
            !seen.contains(&(example.problem.clone(), example.solution.clone())),
            "repeated {example:?}"
        );
        seen.push((example.problem, example.solution));
    }
    // Everything has been given: the model is told to improvise, no card.
    let done = ask(&mut env, "chlorophyll");
    assert!(done.display.is_none());
    assert!(
        done.content.contains("2 worked, 5 composed"),
        "{}",
        done.content
    );
}

#[test]
fn composes_from_key_points_when_the_fitting_examples_are_used() {
    let mut env = FakeEnv::new(sample_subtopic());
    assert_eq!(
        card(&ask(&mut env, "chlorophyll")).title,
        "Why leaves are green"
    );
    // The other worked example does not fit chlorophyll; a key point does.
    let composed = ask(&mut env, "chlorophyll");
    assert!(
        composed
            .content
            .contains("composed from the lesson's key points")
    );
    assert!(
        card(&composed)
            .solution
            .contains("chlorophyll absorbs red and blue light")
    );
    assert_eq!(env.state_json("composed_from").unwrap(), json!([1]));
    assert_eq!(
        env.state_json("used_examples").unwrap(),
        json!(["Why leaves are green"])
    );
}

#[test]
fn a_lesson_without_worked_examples_still_gets_examples() {
    let mut lesson = sample_subtopic();
    lesson.examples.clear();
    let mut env = FakeEnv::new(lesson);
    let output = ask(&mut env, "stomata");
    assert!(card(&output).problem.contains("through stomata"));
}

#[test]
fn an_empty_concept_is_refused_and_changes_nothing() {
    let mut env = FakeEnv::new(sample_subtopic());
    let error = env
        .invoke::<ProvideExample>("provide_example", json!({"concept": "  "}))
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(_)));
    let error = env
        .invoke::<ProvideExample>("provide_example", json!({}))
        .unwrap_err();
    assert!(matches!(error, ToolError::InvalidArguments(_)));
    assert!(env.state().is_empty());
}
