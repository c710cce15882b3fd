//! Every example plugin loads and does real work from the lesson.

use lectern_runtime::plugin::{Display, Outcome};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_loads_and_answers_from_the_lesson() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    for (name, path) in lectern_plugin_artifacts::EXAMPLES {
        let installed = crate::install_file(&host, path).await;
        assert_eq!(&installed.manifest.name, name);
        assert!(!installed.manifest.tools.is_empty());
    }
    let cases: &[(&str, &str, &str)] = &[
        (
            "check-understanding",
            "check_understanding",
            r#"{"focus":"why leaves are green"}"#,
        ),
        (
            "provide-example",
            "provide_example",
            r#"{"concept":"chlorophyll"}"#,
        ),
        ("quiz", "start_quiz", r#"{"questions":3}"#),
        (
            "summarize-key-points",
            "summarize_key_points",
            r#"{"focus":"all"}"#,
        ),
    ];
    for (plugin, tool, args) in cases {
        let record = crate::run(&host, plugin, tool, args, "examples").await;
        assert_eq!(record.outcome, Outcome::Ok, "{plugin}/{tool}: {record:?}");
        let output = record.output.as_ref().unwrap();
        assert!(!output.content.is_empty());
        assert!(record.fuel_used.unwrap() > 0);
        assert_eq!(record.model_text(), output.content);
        println!(
            "{plugin}/{tool}: {} µs, fuel {:?}: {}",
            record.duration_us, record.fuel_used, output.content
        );
    }
    // Output depends on the lesson: the example comes from the lesson's examples.
    let record = crate::run(
        &host,
        "provide-example",
        "provide_example",
        r#"{"concept":"autumn leaves"}"#,
        "e2",
    )
    .await;
    let text = serde_json::to_string(&record.output).unwrap();
    assert!(
        text.contains("chlorophyll") || text.contains("light"),
        "{text}"
    );
    // The quiz answers on a card with choices; answering it scores.
    let record = crate::run(&host, "quiz", "start_quiz", r#"{"questions":2}"#, "quiz").await;
    let Some(Display::Question { choices, .. }) =
        record.output.as_ref().and_then(|o| o.display.clone())
    else {
        panic!("the quiz shows a question card: {record:?}");
    };
    assert!(!choices.is_empty());
    let record = crate::run(
        &host,
        "quiz",
        "answer_quiz",
        &serde_json::json!({"answer": choices[0]}).to_string(),
        "quiz",
    )
    .await;
    assert_eq!(record.outcome, Outcome::Ok, "{record:?}");
}

/// The JavaScript and Python tools load, describe themselves and answer from the
/// lesson like the Rust examples, each in a host of its own (the language twins
/// share a plugin name).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_javascript_and_python_tool_loads_and_answers_from_the_lesson() {
    let _shared = crate::exclusive().read().await;
    for tool in crate::scripted::all() {
        let host = crate::scripted_host();
        let installed = crate::install_file(&host, tool.path).await;
        assert_eq!(installed.manifest.name, tool.plugin, "{}", tool.artifact);
        assert_eq!(installed.info.contract_version, "0.1.0");
        let names: Vec<&str> = installed
            .manifest
            .tools
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert!(
            names.contains(&tool.first.0) && names.contains(&tool.follow_up.0),
            "{}: {names:?}",
            tool.artifact
        );
        // Nothing but the contract: no WASI, so no files, clock or network.
        assert!(
            installed
                .info
                .imports
                .iter()
                .all(|i| i.starts_with("lectern:tool/")),
            "{}: {:?}",
            tool.artifact,
            installed.info.imports
        );

        let (name, args) = tool.first;
        let record =
            crate::run_fractions(&host, tool.plugin, name, args, crate::scripted::SESSION).await;
        assert_eq!(record.outcome, Outcome::Ok, "{}: {record:?}", tool.artifact);
        let output = record.output.as_ref().unwrap();
        assert!(!output.content.is_empty());
        assert_eq!(record.model_text(), output.content);
        assert!(record.fuel_used.unwrap() > 0);
        let text = serde_json::to_string(output).unwrap();
        assert!(
            text.contains(tool.from_lesson),
            "{}: {text} lacks {:?}",
            tool.artifact,
            tool.from_lesson
        );
        println!(
            "{}: {name}: {} µs, fuel {:?}: {}",
            tool.artifact, record.duration_us, record.fuel_used, output.content
        );
    }
}
