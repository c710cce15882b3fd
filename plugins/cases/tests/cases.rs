//! The case files the repository ships load, bad files are refused with the right
//! code, and `check` accepts a matching call and reports every mismatch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lectern_plugin_cases::{CaseFileErrorCode, Evidence, Observed, check, load, parse};
use serde_json::{Value, json};

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn every_shipped_case_file_loads() {
    let mut found = 0;
    for folder in ["js", "python", "templates"] {
        for entry in std::fs::read_dir(plugins_dir().join(folder)).unwrap() {
            let file = entry.unwrap().path().join("cases.json");
            if !file.exists() {
                continue;
            }
            let loaded = load(&file).unwrap_or_else(|e| panic!("{e}"));
            assert!(!loaded.cases.is_empty(), "{}", file.display());
            for case in &loaded.cases {
                assert!(case.lesson.get("id").is_some());
                for step in &case.steps {
                    serde_json::from_str::<Value>(&step.arguments).unwrap();
                }
            }
            found += 1;
        }
    }
    assert!(
        found >= 6,
        "expected the example, bench and template case files, found {found}"
    );
}

fn here() -> PathBuf {
    plugins_dir().join("cases").join("cases.json")
}

fn parse_err(text: &str) -> (CaseFileErrorCode, String) {
    let e = parse(&here(), text).unwrap_err();
    (e.code, e.message)
}

const LESSON: &str =
    r#"{"id": "s", "topic_id": "t", "title": "T", "objectives": [{"id": "o", "text": "x"}]}"#;

#[test]
fn defaults_and_lessons_resolve() {
    let text = format!(
        r#"{{"format": 1, "lessons": {{"l": {LESSON}, "file": {{"path": "lessons/adding-fractions.json"}}}},
            "defaults": {{"lesson": "l", "context": {{"learner_id": "me", "config": {{"a": 1}}}}, "budget": {{"wall_ms": 9}}}},
            "cases": [
              {{"name": "one", "tool": "t", "state": {{"k": "v", "j": {{"x": 1}}}}}},
              {{"name": "two", "lesson": "file", "context": {{"locale": "fr-FR"}},
                "steps": [{{"tool": "a", "arguments": {{"x": 1}}}}, {{"name": "second", "tool": "b", "budget": {{"fuel": 5}}}}]}}
            ]}}"#
    );
    let loaded = parse(&here(), &text).unwrap();
    let one = &loaded.cases[0];
    assert_eq!(one.context.learner_id, "me");
    assert_eq!(one.context.session_id, "test-session");
    assert_eq!(one.context.config, r#"{"a":1}"#);
    assert_eq!(one.state["k"], "v");
    assert_eq!(one.state["j"], r#"{"x":1}"#);
    assert_eq!(one.steps[0].name, "t");
    assert_eq!(one.steps[0].arguments, "{}");
    assert_eq!(one.steps[0].budget.wall_ms, Some(9));
    let two = &loaded.cases[1];
    assert_eq!(two.lesson["id"], "adding-fractions");
    assert_eq!(two.context.locale, "fr-FR");
    assert_eq!(two.context.learner_id, "me");
    assert_eq!(two.steps[0].name, "step 1 (a)");
    assert_eq!(two.steps[0].arguments, r#"{"x":1}"#);
    assert_eq!(two.steps[1].name, "second");
    assert_eq!(two.steps[1].budget.fuel, Some(5));
    assert_eq!(two.steps[1].budget.wall_ms, None);
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let case = |body: &str| {
        format!(r#"{{"format": 1, "defaults": {{"lesson": {LESSON}}}, "cases": [{body}]}}"#)
    };
    let cases = [
        (
            case(r#"{"name": "a", "tool": "t", "colour": 1}"#),
            CaseFileErrorCode::Malformed,
            "colour",
        ),
        (
            case(r#"{"name": "a", "tool": "t"}, {"name": "a", "tool": "t"}"#),
            CaseFileErrorCode::Invalid,
            "two cases are named `a`",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "lesson": "nope"}"#),
            CaseFileErrorCode::Invalid,
            "lesson `nope`",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "steps": [{"tool": "t"}]}"#),
            CaseFileErrorCode::Invalid,
            "both `tool` and `steps`",
        ),
        (
            case(r#"{"name": "a"}"#),
            CaseFileErrorCode::Invalid,
            "neither",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "expect": {"outcome": "fine"}}"#),
            CaseFileErrorCode::Invalid,
            "outcome `fine`",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "expect": {"content": {"matches": "("}}}"#),
            CaseFileErrorCode::Invalid,
            "regular expression",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "expect": {"content": {"json": {"card": 1}}}}"#),
            CaseFileErrorCode::Invalid,
            "`/card`",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "lesson": {"id": "x"}}"#),
            CaseFileErrorCode::Invalid,
            "topic_id",
        ),
        (
            case(r#"{"name": "a", "tool": "t", "lesson": {"path": "missing.json"}}"#),
            CaseFileErrorCode::Unreadable,
            "missing.json",
        ),
        (
            r#"{"format": 2, "cases": []}"#.to_string(),
            CaseFileErrorCode::Invalid,
            "format 2",
        ),
        (
            "not json".to_string(),
            CaseFileErrorCode::Malformed,
            "cases.schema.json",
        ),
    ];
    for (text, code, needle) in cases {
        let (got, message) = parse_err(&text);
        assert_eq!(got, code, "{message}");
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
}

fn flash_card_step() -> lectern_plugin_cases::Step {
    let file = load(&plugins_dir().join("js/flash-cards/cases.json")).unwrap();
    file.cases
        .into_iter()
        .find(|c| c.name.starts_with("a right spoken answer"))
        .unwrap()
        .steps
        .remove(1)
}

struct Call {
    outcome: &'static str,
    content: String,
    display: Value,
    before: BTreeMap<String, String>,
    after: BTreeMap<String, String>,
    evidence: Vec<Evidence>,
    wall_ms: f64,
    fuel: Option<u64>,
}

fn good_call() -> Call {
    let deck = json!({"format": 1, "clock": 1, "reviews": 1, "correct": 1, "current": null,
        "cards": {"kp-b6602b59": {"box": 2, "due": 3, "reviews": 1, "correct": 1}}});
    Call {
        outcome: "ok",
        content: json!({"card_id": "kp-b6602b59", "correct": true, "grade": "good", "expected": "denominator",
            "box": 2, "comes_back_after_cards": 2, "reviewed": 1, "right": 1.0}).to_string(),
        display: json!({"type": "markdown", "text": "**Correct!**\n\nThe answer: **denominator**\n\n… Box 2 of 5 …"}),
        before: BTreeMap::from([("deck".into(), r#"{"current":"kp-b6602b59"}"#.into())]),
        after: BTreeMap::from([("deck".into(), deck.to_string())]),
        evidence: vec![Evidence { objective_id: "add-like".into(), score: 0.8, note: "flash card …: good".into() }],
        wall_ms: 12.0,
        fuel: Some(40_000_000),
    }
}

fn run(step: &lectern_plugin_cases::Step, call: &Call) -> Vec<String> {
    let observed = Observed {
        outcome: call.outcome,
        error: None,
        content: Some(&call.content),
        display: Some(&call.display),
        state_before: &call.before,
        state_after: &call.after,
        evidence: &call.evidence,
        logs: &[],
        wall_ms: call.wall_ms,
        fuel: call.fuel,
    };
    check(step, &observed).into_iter().map(|m| m.0).collect()
}

#[test]
fn a_matching_call_passes() {
    assert_eq!(run(&flash_card_step(), &good_call()), Vec::<String>::new());
}

#[test]
fn each_difference_is_reported() {
    let step = flash_card_step();
    let mut call = good_call();
    call.content = call.content.replace("\"box\":2", "\"box\":3");
    call.display = json!({"type": "markdown", "text": "Not quite."});
    call.evidence[0].score = 0.5;
    call.wall_ms = 900.0;
    call.fuel = Some(999_000_000);
    let misses = run(&step, &call);
    for needle in [
        "`/box` is 3, expected 2",
        "does not contain \"**Correct!**\"",
        "no evidence for `add-like`",
        "over the budget of 250 ms",
        "over the budget of 120000000",
    ] {
        assert!(
            misses.iter().any(|m| m.contains(needle)),
            "{needle:?} not in {misses:#?}"
        );
    }

    let mut call = good_call();
    call.outcome = "trap";
    call.fuel = None;
    call.evidence.clear();
    let misses = run(&step, &call);
    assert!(
        misses.iter().any(|m| m.contains("outcome is `trap`")),
        "{misses:#?}"
    );
    assert!(
        misses.iter().any(|m| m.contains("not metered")),
        "{misses:#?}"
    );
    assert!(
        misses
            .iter()
            .any(|m| m.contains("0 piece(s) of evidence recorded, expected 1")),
        "{misses:#?}"
    );
}

#[test]
fn state_expectations() {
    let file = load(&plugins_dir().join("js/flash-cards/cases.json")).unwrap();
    let step = file
        .cases
        .iter()
        .find(|c| c.name.starts_with("grading before"))
        .unwrap()
        .steps[0]
        .clone();
    let before = BTreeMap::from([("deck".to_string(), "{}".to_string())]);
    let mut after = before.clone();
    let observed = |after: &BTreeMap<String, String>| {
        check(
            &step,
            &Observed {
                outcome: "invalid_arguments",
                error: Some("no flash card is waiting for a grade; call next_flash_card first"),
                content: None,
                display: None,
                state_before: &before,
                state_after: after,
                evidence: &[],
                logs: &[],
                wall_ms: 1.0,
                fuel: Some(1),
            },
        )
    };
    assert!(observed(&after).is_empty(), "{:?}", observed(&after));
    after.insert("deck".into(), "{\"x\":1}".into());
    assert!(
        observed(&after)
            .iter()
            .any(|m| m.0.contains("state changed"))
    );
}
