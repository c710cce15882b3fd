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

/// The JavaScript and Python tools keep their state through the host like the
/// Rust ones: it carries from call to call, progress evidence is checked against
/// the lesson and returned, a failed call writes nothing although the tool wrote
/// state before failing, and sessions are kept apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_and_python_state_and_progress_go_through_the_host() {
    let _shared = crate::exclusive().read().await;
    let session = crate::scripted::SESSION;
    for tool in crate::scripted::all() {
        let what = tool.artifact;
        let host = crate::scripted_host();
        crate::install_file(&host, tool.path).await;
        let plugin = tool.plugin;

        let (name, args) = tool.first;
        let first = crate::run_fractions(&host, plugin, name, args, session).await;
        assert_eq!(first.outcome, Outcome::Ok, "{what}: {first:?}");
        assert!(first.state_changed, "{what}");
        assert!(first.evidence.is_empty(), "{what}: {first:?}");
        let after_first = host.state().snapshot(session, plugin);
        assert!(
            after_first.contains_key(tool.state_key),
            "{what}: {after_first:?}"
        );

        // The follow-up grades what the first call left in the state.
        let (name, args) = tool.follow_up;
        let graded = crate::run_fractions(&host, plugin, name, args, session).await;
        assert_eq!(graded.outcome, Outcome::Ok, "{what}: {graded:?}");
        assert!(graded.state_changed, "{what}");
        let after_follow_up = host.state().snapshot(session, plugin);
        assert_ne!(after_follow_up, after_first, "{what}");
        assert!(
            graded
                .evidence
                .iter()
                .any(|e| e.objective_id == tool.objective && e.score > 0.5),
            "{what}: a right answer is evidence for {}: {:?}",
            tool.objective,
            graded.evidence
        );
        for e in &graded.evidence {
            assert!(
                crate::fractions()
                    .objectives
                    .iter()
                    .any(|o| o.id == e.objective_id),
                "{what}: {e:?}"
            );
            assert!((0.0..=1.0).contains(&e.score), "{what}: {e:?}");
        }

        // A call that fails after writing state (its output is over a tiny size
        // limit) changes nothing and records nothing.
        host.registry()
            .set_limits(
                plugin,
                LimitOverrides {
                    max_output_bytes: Some(10),
                    ..Default::default()
                },
            )
            .unwrap();
        let (name, args) = tool.first;
        let failed = crate::run_fractions(&host, plugin, name, args, session).await;
        assert_eq!(failed.outcome, Outcome::InvalidOutput, "{what}: {failed:?}");
        assert!(!failed.state_changed, "{what}");
        assert!(failed.evidence.is_empty(), "{what}");
        assert_eq!(
            host.state().snapshot(session, plugin),
            after_follow_up,
            "{what}"
        );
        host.registry()
            .set_limits(plugin, LimitOverrides::default())
            .unwrap();

        assert!(host.state().snapshot("other", plugin).is_empty(), "{what}");
        host.state().end_session(session);
        assert!(host.state().snapshot(session, plugin).is_empty(), "{what}");
    }
}
