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

/// A plugin folder holding `cases.json` (with `extra` merged into the file).
fn case_dir(cases: serde_json::Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cases.json"), cases.to_string()).unwrap();
    dir
}

const LESSON: &str = r#"{"id": "fractions", "topic_id": "maths", "title": "Adding fractions",
    "objectives": [{"id": "add", "text": "Add two fractions"}],
    "key_points": ["Find a common denominator.", "Add the numerators."]}"#;

fn noop_cases(expect: serde_json::Value, budget: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "format": 1,
        "plugin": "noop",
        "component": lectern_plugin_artifacts::NOOP,
        "lessons": {"fractions": serde_json::from_str::<serde_json::Value>(LESSON).unwrap()},
        "defaults": {"lesson": "fractions", "budget": budget},
        "cases": [
            {"name": "the tool answers ok", "tool": "noop", "arguments": {},
             "expect": expect},
            {"name": "bad arguments are refused before the tool runs",
             "state": {"kept": "yes"},
             "tool": "noop", "arguments": {"surprise": 1},
             "expect": {"outcome": "invalid_arguments", "state": {"unchanged": true}}}
        ]
    })
}

#[test]
fn test_passes_a_matching_case_file_and_prints_cost() {
    let dir = case_dir(noop_cases(
        serde_json::json!({"outcome": "ok", "content": {"equals": "ok"}, "display": {"type": "none"},
                           "state": {"unchanged": true}, "progress": {"count": 0}}),
        serde_json::json!({"wall_ms": 250, "fuel": 5_000_000}),
    ));
    let out = lectern(&["plugin", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    for expected in [
        "testing noop 0.1.0",
        "PASS  the tool answers ok",
        "PASS  bad arguments are refused before the tool runs",
        "(budget 250 ms), fuel ",
        "(budget 5,000,000)",
        "2 case(s), 2 call(s): 2 case(s) passed, 0 failed",
        "most fuel",
    ] {
        assert!(stdout.contains(expected), "prints {expected:?}: {stdout}");
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");

    // The case file itself may be given instead of its folder.
    let file = dir.path().join("cases.json");
    let out = lectern(&["plugin", "test", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn test_fails_on_a_wrong_expectation_and_says_what_differed() {
    let dir = case_dir(noop_cases(
        serde_json::json!({"content": {"equals": "not ok"}, "display": {"type": "markdown"}}),
        serde_json::json!({"wall_ms": 250}),
    ));
    let out = lectern(&["plugin", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for expected in [
        "FAIL  the tool answers ok",
        r#"- content is "ok", expected "not ok""#,
        "- display is `none`, expected `markdown`",
        "PASS  bad arguments are refused",
        "2 case(s), 2 call(s): 1 case(s) passed, 1 failed",
    ] {
        assert!(stdout.contains(expected), "prints {expected:?}: {stdout}");
    }
    assert!(
        stderr.contains("error[cases_failed]: 1 of 2 case(s) failed: `the tool answers ok`"),
        "{stderr}"
    );
}

#[test]
fn test_fails_a_call_over_its_budget() {
    // One unit of fuel: no real call fits, so the budget check must trip.
    let dir = case_dir(noop_cases(
        serde_json::json!({"outcome": "ok"}),
        serde_json::json!({"fuel": 1}),
    ));
    let out = lectern(&["plugin", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("FAIL  the tool answers ok"), "{stdout}");
    assert!(stdout.contains("fuel, over the budget of 1"), "{stdout}");
    assert!(stdout.contains("call(s) over budget"), "{stdout}");
}

#[test]
fn test_runs_faulty_plugins_in_the_sandbox() {
    // A case may expect a fault: the host contains it and the case passes.
    let mut cases = noop_cases(
        serde_json::json!({"outcome": "trap", "error": {"contains": ["panics on purpose"]}}),
        serde_json::json!({"wall_ms": 250}),
    );
    cases["plugin"] = "trap".into();
    cases["component"] = lectern_plugin_artifacts::TRAP.into();
    cases["cases"][0]["tool"] = "panic".into();
    cases["cases"][1]["tool"] = "panic".into();
    let dir = case_dir(cases);
    let out = lectern(&["plugin", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("PASS  the tool answers ok"), "{stdout}");
}

#[test]
fn test_explains_a_missing_component_a_bad_file_and_a_wrong_plugin() {
    // JavaScript / Python layout, not built yet.
    let dir = case_dir(serde_json::json!({
        "format": 1, "lessons": {}, "defaults": {"lesson": serde_json::from_str::<serde_json::Value>(LESSON).unwrap()},
        "cases": [{"name": "a", "tool": "t"}]
    }));
    std::fs::write(
        dir.path().join("build.sh"),
        "#!/usr/bin/env bash\nNAME=\"my-tool\"\n",
    )
    .unwrap();
    let out = lectern(&["plugin", "test", dir.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[not_built]"), "{stderr}");
    assert!(stderr.contains("target/my-tool.wasm"), "{stderr}");
    assert!(stderr.contains("./build.sh"), "{stderr}");

    // Rust layout, not built yet.
    std::fs::remove_file(dir.path().join("build.sh")).unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"my-tool\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lectern"))
        .args(["plugin", "test"])
        .current_dir(dir.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("target/wasm32-wasip2/release/my_tool.wasm"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cargo build --target wasm32-wasip2 --release"),
        "{stderr}"
    );

    // Nothing says where the component is.
    std::fs::remove_file(dir.path().join("Cargo.toml")).unwrap();
    let out = lectern(&["plugin", "test", dir.path().to_str().unwrap()]);
    assert!(
        text(&out.stderr).contains("error[no_component]"),
        "{}",
        text(&out.stderr)
    );

    // --component that does not exist.
    let out = lectern(&[
        "plugin",
        "test",
        dir.path().to_str().unwrap(),
        "--component",
        "/nonexistent.wasm",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[file_unreadable]"));

    // A malformed case file: an unknown field.
    let bad = case_dir(serde_json::json!({
        "format": 1, "cases": [{"name": "a", "tool": "noop", "expectations": {}}]
    }));
    let out = lectern(&["plugin", "test", bad.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[case_file_malformed]"), "{stderr}");
    assert!(stderr.contains("expectations"), "{stderr}");

    // Not JSON at all.
    std::fs::write(bad.path().join("cases.json"), "{ this is not json").unwrap();
    let out = lectern(&["plugin", "test", bad.path().to_str().unwrap()]);
    assert!(text(&out.stderr).contains("error[case_file_malformed]"));

    // A lesson that is not a subtopic (a level that does not exist).
    let mut cases = noop_cases(serde_json::json!({}), serde_json::json!({}));
    cases["lessons"]["fractions"]["level"] = "wizard".into();
    let wrong_lesson = case_dir(cases);
    let out = lectern(&["plugin", "test", wrong_lesson.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("error[case_file_invalid]"), "{stderr}");

    // No case file.
    let empty = tempfile::tempdir().unwrap();
    let out = lectern(&["plugin", "test", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error[no_cases]"));

    // The component is another plugin than the file is for.
    let mut cases = noop_cases(serde_json::json!({}), serde_json::json!({}));
    cases["plugin"] = "flash-cards".into();
    let wrong = case_dir(cases);
    let out = lectern(&["plugin", "test", wrong.path().to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[plugin_mismatch]"), "{stderr}");
}

/// The JavaScript and Python examples pass the cases they ship, run from their
/// own folders against the components the build made from them.
#[test]
fn test_passes_every_script_built_plugins_own_cases() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    assert!(
        !lectern_plugin_artifacts::SCRIPTED.is_empty(),
        "the JavaScript and Python examples are built"
    );
    for (name, component) in lectern_plugin_artifacts::SCRIPTED {
        let (folder, dir_name) = name.split_once('-').unwrap();
        let dir = plugins.join(folder).join(dir_name);
        let out = lectern(&[
            "plugin",
            "test",
            dir.to_str().unwrap(),
            "--component",
            component,
        ]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("0 failed"), "{name}: {stdout}");
    }
}
