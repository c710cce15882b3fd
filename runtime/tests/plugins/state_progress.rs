//! Session state survives calls and versions; failed calls change nothing;
//! progress evidence is validated and returned.

use lectern_runtime::plugin::{LimitOverrides, Mastery, Outcome};

use crate::wat_plugin::append_custom_section;

fn question_id(content: &str) -> String {
    let start = content
        .find("question_id \"")
        .expect("the content names a question_id")
        + 13;
    content[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_survives_calls_and_versions_and_failed_calls_change_nothing() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let bytes = std::fs::read(lectern_plugin_artifacts::CHECK_UNDERSTANDING).unwrap();
    let first = host.install_and_activate(&bytes).await.unwrap();
    let plugin = "check-understanding";

    let r1 = crate::run(&host, plugin, "check_understanding", "{}", "state").await;
    assert_eq!(r1.outcome, Outcome::Ok, "{r1:?}");
    assert!(r1.state_changed);
    let after_first = host.state().snapshot("state", plugin);
    assert!(after_first.contains_key("asked"), "{after_first:?}");

    // A second build of the plugin (same code, different bytes) becomes active;
    // the session's state is still there and the plugin builds on it.
    let mut rebuilt = bytes.clone();
    append_custom_section(&mut rebuilt, "lectern-test:build", b"2");
    let second = host.install_and_activate(&rebuilt).await.unwrap();
    assert_ne!(first.digest, second.digest);
    let r2 = crate::run(&host, plugin, "check_understanding", "{}", "state").await;
    assert_eq!(r2.digest, second.digest);
    assert_ne!(
        question_id(&r1.output.unwrap().content),
        question_id(&r2.output.clone().unwrap().content)
    );
    let after_second = host.state().snapshot("state", plugin);
    assert_ne!(
        after_second, after_first,
        "the new build read and extended the state"
    );

    // A call that fails (here: an output over a tiny size limit) writes nothing,
    // even though the plugin wrote state before returning.
    host.registry()
        .set_limits(
            plugin,
            LimitOverrides {
                max_output_bytes: Some(10),
                ..Default::default()
            },
        )
        .unwrap();
    let failed = crate::run(&host, plugin, "check_understanding", "{}", "state").await;
    assert_eq!(failed.outcome, Outcome::InvalidOutput, "{failed:?}");
    assert!(!failed.state_changed);
    assert_eq!(host.state().snapshot("state", plugin), after_second);
    host.registry()
        .set_limits(plugin, LimitOverrides::default())
        .unwrap();

    // Other sessions do not see it; ending the session forgets it.
    assert!(host.state().snapshot("other", plugin).is_empty());
    host.state().end_session("state");
    assert!(host.state().snapshot("state", plugin).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_evidence_is_returned_with_mastery_from_the_snapshot() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    crate::install_file(&host, lectern_plugin_artifacts::CHECK_UNDERSTANDING).await;
    let plugin = "check-understanding";
    let asked = crate::run(
        &host,
        plugin,
        "check_understanding",
        r#"{"focus":"why leaves are green"}"#,
        "p",
    )
    .await;
    let qid = question_id(&asked.output.unwrap().content);

    let mut call = crate::call(
        "grade_answer",
        &serde_json::json!({"question_id": qid, "answer": "chlorophyll reflects green light"})
            .to_string(),
        "p",
    );
    call.mastery = vec![Mastery {
        objective_id: "chlorophyll".into(),
        score: 1.0,
        evidence_count: 3,
    }];
    let graded = host.call_plugin(plugin, None, "{}", call).await;
    assert_eq!(graded.outcome, Outcome::Ok, "{graded:?}");
    assert!(!graded.evidence.is_empty(), "{graded:?}");
    for e in &graded.evidence {
        assert!(
            crate::lesson()
                .objectives
                .iter()
                .any(|o| o.id == e.objective_id)
        );
        assert!((0.0..=1.0).contains(&e.score));
    }
    if graded.evidence[0].objective_id == "chlorophyll" {
        // 3 earlier pieces from the snapshot + this one.
        assert!(graded.output.unwrap().content.contains("over 4 piece"));
    }
    assert!(!graded.logs.is_empty() || graded.logs_dropped == 0);
}
