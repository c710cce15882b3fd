//! `lectern plugin new|check|call`, run as the built binary on every example and
//! adversarial plugin.

use std::path::Path;
use std::process::{Command, Output};

use lectern_plugin_artifacts::{ADVERSARIAL, EXAMPLES};

fn lectern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lectern"))
        .args(args)
        .output()
        .expect("the lectern binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Arguments that make each example tool do real work.
fn example_call(plugin: &str) -> (&'static str, &'static str) {
    match plugin {
        "check-understanding" => ("check_understanding", r#"{"focus":"why leaves are green"}"#),
        "provide-example" => ("provide_example", r#"{"concept":"autumn leaves"}"#),
        "quiz" => ("start_quiz", r#"{"questions":3}"#),
        "summarize-key-points" => ("summarize_key_points", r#"{"focus":"all"}"#),
        other => panic!("no call case for example {other}: add one"),
    }
}

#[test]
fn check_and_call_every_example() {
    for (name, path) in EXAMPLES {
        let out = lectern(&["plugin", "check", path]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "check {name}: {stdout}{}",
            text(&out.stderr)
        );
        for expected in [
            "contract version  lectern:tool@0.1.0",
            "compile time",
            "size",
            "tools (",
            "\"type\": \"object\"",
        ] {
            assert!(
                stdout.contains(expected),
                "check {name} prints {expected}: {stdout}"
            );
        }

        let (tool, args) = example_call(name);
        let out = lectern(&["plugin", "call", path, tool, args]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "call {name}: {stdout}{}",
            text(&out.stderr)
        );
        for expected in [
            "outcome    ok",
            "wall time",
            "fuel used",
            "output",
            "display",
        ] {
            assert!(
                stdout.contains(expected),
                "call {name} prints {expected}: {stdout}"
            );
        }
    }
}

#[test]
fn call_uses_the_lesson_fixture_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let lesson = dir.path().join("lesson.json");
    std::fs::write(
        &lesson,
        serde_json::json!({
            "id": "fractions", "topic_id": "maths", "title": "Adding fractions",
            "summary": "Add fractions by finding a common denominator.",
            "objectives": [{"id": "common-denominator", "text": "Find a common denominator"}],
            "key_points": ["Fractions need a common denominator before adding.",
                           "Add the numerators, keep the denominator."],
        })
        .to_string(),
    )
    .unwrap();
    let state = dir.path().join("state.json");
    let path = lectern_plugin_artifacts::SUMMARIZE_KEY_POINTS;
    let lesson_arg = lesson.to_str().unwrap();
    let state_arg = state.to_str().unwrap();
    let out = lectern(&[
        "plugin",
        "call",
        path,
        "summarize_key_points",
        r#"{"focus":"all"}"#,
        "--lesson",
        lesson_arg,
        "--state",
        state_arg,
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("denominator"),
        "the output comes from the fixture: {stdout}"
    );

    let check = lectern_plugin_artifacts::CHECK_UNDERSTANDING;
    let out = lectern(&[
        "plugin",
        "call",
        check,
        "check_understanding",
        "{}",
        "--lesson",
        lesson_arg,
        "--state",
        state_arg,
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let kept: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(
        kept.get("asked").is_some(),
        "the state file holds what the tool stored: {kept}"
    );

    let out = lectern(&[
        "plugin",
        "call",
        check,
        "check_understanding",
        "{}",
        "--lesson",
        "/nonexistent.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[lesson_unreadable]"));
    let out = lectern(&[
        "plugin",
        "call",
        check,
        "check_understanding",
        r#"{"focus": 5}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error[invalid_arguments]"),
        "{}",
        text(&out.stderr)
    );
}

/// The tool each adversarial plugin is called with.
fn adversarial_tool(plugin: &str) -> &'static str {
    match plugin {
        "spin-loop" => "spin",
        "memory-hog" => "hog",
        "trap" => "panic",
        "deep-recursion" => "recurse",
        "oversized-output" => "flood",
        "invalid-output" => "invalid",
        "forbidden-import" => "connect",
        "wrong-contract" => "echo_title",
        "broken-schema" => "broken",
        "garbage" => "anything",
        other => panic!("no case for adversarial plugin {other}: add one"),
    }
}

#[test]
fn every_adversarial_plugin_fails_with_a_clear_error() {
    for (name, path) in ADVERSARIAL {
        let expected_code = match *name {
            "spin-loop" => "deadline_exceeded",
            "memory-hog" => "memory_limit",
            "trap" | "deep-recursion" => "trap",
            "oversized-output" | "invalid-output" => "invalid_output",
            "forbidden-import" => "forbidden_import",
            "wrong-contract" => "unsupported_contract_version",
            "broken-schema" => "invalid_schema",
            "garbage" => "not_a_component",
            other => panic!("no expectation for {other}"),
        };
        let tool = adversarial_tool(name);
        for args in [
            vec!["plugin", "check", path],
            vec!["plugin", "call", path, tool, "{}"],
        ] {
            let out = lectern(&args);
            let stderr = text(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{args:?}: {}{stderr}",
                text(&out.stdout)
            );
            assert!(
                stderr.contains(&format!("error[{expected_code}]")),
                "{args:?} names the problem ({expected_code}): {stderr}"
            );
            // One clear sentence, not a backtrace.
            assert!(stderr.lines().count() <= 3, "{args:?}: {stderr}");
        }
    }
}

#[test]
fn new_scaffolds_a_project_that_builds_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = lectern(&[
        "plugin",
        "new",
        "flash-recap",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let project = dir.path().join("flash-recap");
    for file in ["Cargo.toml", "src/lib.rs", "README.md"] {
        assert!(project.join(file).is_file(), "{file} created");
    }
    let again = lectern(&[
        "plugin",
        "new",
        "flash-recap",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    let bad = lectern(&[
        "plugin",
        "new",
        "Flash_Recap",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(text(&bad.stderr).contains("error[invalid_name]"));

    // It builds first time, its tests pass, and the component passes check/call.
    let target = dir.path().join("target");
    let cargo = |args: &[&str]| {
        let out = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(&project)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo {args:?}: {}",
            text(&out.stderr)
        );
    };
    cargo(&["build", "--target", "wasm32-wasip2", "--release"]);
    cargo(&["test"]);
    let wasm = target.join("wasm32-wasip2/release/flash_recap.wasm");
    assert!(Path::new(&wasm).is_file());
    let wasm = wasm.to_str().unwrap();
    let out = lectern(&["plugin", "check", wasm]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = lectern(&["plugin", "call", wasm, "flash_recap", r#"{"count":2}"#]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Photosynthesis"),
        "recaps the sample lesson's key points: {stdout}"
    );
}
