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
