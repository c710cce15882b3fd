//! Arguments, the circuit breaker, and a host that stays healthy under abuse.

use std::time::Duration;

use lectern_runtime::plugin::{BreakerConfig, BreakerState, LimitOverrides, Outcome};

use crate::wat_plugin::{Behaviour, component};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_arguments_never_reach_the_plugin() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    crate::install_file(&host, lectern_plugin_artifacts::CHECK_UNDERSTANDING).await;
    for args in [
        r#"{"focus": 5}"#,
        r#"{"unknown": true}"#,
        "not json",
        "[1,2]",
    ] {
        let record = crate::run(
            &host,
            "check-understanding",
            "check_understanding",
            args,
            "s",
        )
        .await;
        assert_eq!(
            record.outcome,
            Outcome::InvalidArguments,
            "{args}: {record:?}"
        );
        assert_eq!(record.fuel_used, None, "the plugin was not run for {args}");
        let text = record.model_text();
        assert!(
            text.contains("invalid_arguments") && text.contains("check-understanding@"),
            "{text}"
        );
    }
    let big = format!(r#"{{"focus": "{}"}}"#, "x".repeat(20_000));
    let record = crate::run(
        &host,
        "check-understanding",
        "check_understanding",
        &big,
        "s",
    )
    .await;
    assert_eq!(record.outcome, Outcome::InvalidArguments);
    // Unknown tools and plugins are `unavailable`, with a sentence for the model.
    let record = crate::run(&host, "check-understanding", "no_such_tool", "{}", "s").await;
    assert_eq!(record.outcome, Outcome::Unavailable);
    let record = crate::run(&host, "no-such-plugin", "x", "{}", "s").await;
    assert_eq!(record.outcome, Outcome::Unavailable);
    assert!(record.error.unwrap().contains("unknown_plugin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circuit_breaker_opens_after_repeated_traps_and_recovers() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host_with(|c| {
        c.breaker = BreakerConfig {
            failure_threshold: 3,
            cooldown_ms: 200,
        }
    });
    host.install_and_activate(&component("flaky", "1.0.0", Behaviour::TrapOnNote, "0.1.0"))
        .await
        .unwrap();
    let crash = r#"{"note":"crash"}"#;
    for _ in 0..3 {
        assert_eq!(
            crate::run(&host, "flaky", "which_version", crash, "s")
                .await
                .outcome,
            Outcome::Trap
        );
    }
    let info = host.registry().get("flaky").unwrap();
    assert_eq!(info.versions[0].breaker, BreakerState::Open);
    // Open: even a good call is refused at once.
    let record = crate::run(&host, "flaky", "which_version", "{}", "s").await;
    assert_eq!(record.outcome, Outcome::Unavailable);
    assert!(
        record.error.as_deref().unwrap().contains("quarantined"),
        "{record:?}"
    );

    // Half-open after the cool-down: a failed trial re-opens it …
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        crate::run(&host, "flaky", "which_version", crash, "s")
            .await
            .outcome,
        Outcome::Trap
    );
    assert_eq!(
        crate::run(&host, "flaky", "which_version", "{}", "s")
            .await
            .outcome,
        Outcome::Unavailable
    );
    // … and a successful one closes it.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        crate::run(&host, "flaky", "which_version", "{}", "s")
            .await
            .outcome,
        Outcome::Ok
    );
    assert_eq!(
        crate::run(&host, "flaky", "which_version", "{}", "s")
            .await
            .outcome,
        Outcome::Ok
    );
    assert_eq!(
        host.registry().get("flaky").unwrap().versions[0].breaker,
        BreakerState::Closed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_plugin_deadline_override_applies() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    host.install_and_activate(&component("spinner", "1.0.0", Behaviour::Spin, "0.1.0"))
        .await
        .unwrap();
    host.registry()
        .set_limits(
            "spinner",
            LimitOverrides {
                call_deadline_ms: Some(30),
                ..Default::default()
            },
        )
        .unwrap();
    let record = crate::run(&host, "spinner", "which_version", "{}", "s").await;
    assert_eq!(record.outcome, Outcome::DeadlineExceeded);
    assert!(
        record.error.as_deref().unwrap().contains("30 ms"),
        "{record:?}"
    );
}
