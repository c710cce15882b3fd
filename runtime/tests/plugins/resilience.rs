//! Arguments, the circuit breaker, and a host that stays healthy under abuse.

use std::time::Duration;

use lectern_runtime::plugin::{BreakerConfig, BreakerState, LimitHit, LimitOverrides, Outcome};

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

/// The JavaScript and Python tools run under the same sandbox as the Rust ones:
/// arguments are checked before they run, fuel and memory limits stop them with
/// the named outcome and change nothing, and repeated faults quarantine them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_and_python_tools_get_the_same_checks_and_limits() {
    let _shared = crate::exclusive().read().await;
    let session = crate::scripted::SESSION;
    for tool in crate::scripted::all() {
        let what = tool.artifact;
        let host = crate::host_with(|c| {
            crate::use_compile_cache(c);
            c.limits.call_deadline_ms = 30_000;
            c.breaker = BreakerConfig {
                failure_threshold: 3,
                cooldown_ms: 60_000,
            };
        });
        crate::install_file(&host, tool.path).await;
        let plugin = tool.plugin;
        let (name, good_args) = tool.first;

        for args in [tool.bad_arguments, "not json", "[1,2]"] {
            let record = crate::run_fractions(&host, plugin, name, args, session).await;
            assert_eq!(
                record.outcome,
                Outcome::InvalidArguments,
                "{what} {args}: {record:?}"
            );
            assert_eq!(record.fuel_used, None, "{what}: not run for {args}");
            assert!(record.model_text().contains(plugin), "{what}");
        }
        let big = format!(r#"{{"answer": "{}"}}"#, "x".repeat(20_000));
        let record = crate::run_fractions(&host, plugin, name, &big, session).await;
        assert_eq!(record.outcome, Outcome::InvalidArguments, "{what}");

        let ok = crate::run_fractions(&host, plugin, name, good_args, session).await;
        assert_eq!(ok.outcome, Outcome::Ok, "{what}: {ok:?}");
        let state = host.state().snapshot(session, plugin);

        // A fuel budget far below what one call needs.
        host.registry()
            .set_limits(
                plugin,
                LimitOverrides {
                    fuel: Some(ok.fuel_used.unwrap() / 100),
                    ..Default::default()
                },
            )
            .unwrap();
        let record = crate::run_fractions(&host, plugin, name, good_args, session).await;
        assert_eq!(
            record.outcome,
            Outcome::DeadlineExceeded,
            "{what}: {record:?}"
        );
        assert!(record.limits_hit.contains(&LimitHit::Fuel), "{what}");
        assert!(!record.state_changed, "{what}");

        // A memory ceiling below what the language runtime starts with.
        host.registry()
            .set_limits(
                plugin,
                LimitOverrides {
                    memory_bytes: Some(1 << 20),
                    ..Default::default()
                },
            )
            .unwrap();
        let record = crate::run_fractions(&host, plugin, name, good_args, session).await;
        assert_eq!(record.outcome, Outcome::MemoryLimit, "{what}: {record:?}");
        assert!(record.limits_hit.contains(&LimitHit::Memory), "{what}");
        assert_eq!(host.state().snapshot(session, plugin), state, "{what}");

        // Three faults in a row: quarantined, even for a good call.
        let record = crate::run_fractions(&host, plugin, name, good_args, session).await;
        assert_eq!(record.outcome, Outcome::MemoryLimit, "{what}: {record:?}");
        assert_eq!(
            host.registry().get(plugin).unwrap().versions[0].breaker,
            BreakerState::Open,
            "{what}"
        );
        host.registry()
            .set_limits(plugin, LimitOverrides::default())
            .unwrap();
        let record = crate::run_fractions(&host, plugin, name, good_args, session).await;
        assert_eq!(record.outcome, Outcome::Unavailable, "{what}: {record:?}");
        assert!(
            record.error.as_deref().unwrap().contains("quarantined"),
            "{what}: {record:?}"
        );
    }
}
