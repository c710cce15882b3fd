//! Hot swap under load: calls never fail and never mix versions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lectern_runtime::plugin::{Outcome, ToolBinding};

use crate::wat_plugin::{Behaviour, component};

/// Activations in the swap test.
const SWAPS: usize = 200;
/// Tasks calling the plugin while it is swapped.
const CALLERS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_swap_200_times_under_load_never_fails_or_mixes() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let v1 = host
        .install(&component("versioned", "1.0.0", Behaviour::Answer, "0.1.0"))
        .await
        .unwrap();
    let v2 = host
        .install(&component("versioned", "2.0.0", Behaviour::Answer, "0.1.0"))
        .await
        .unwrap();
    assert_ne!(v1.digest, v2.digest);
    host.registry().activate("versioned", &v1.digest).unwrap();
    let tools = Arc::new(host.tool_set(&[ToolBinding::active("versioned")]).unwrap());

    let stop = Arc::new(AtomicBool::new(false));
    let per_version = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let mut callers = Vec::new();
    for i in 0..CALLERS {
        let (host, tools, stop, per_version) = (
            host.clone(),
            tools.clone(),
            stop.clone(),
            per_version.clone(),
        );
        let (d1, d2) = (v1.digest.clone(), v2.digest.clone());
        callers.push(tokio::spawn(async move {
            let mut calls = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let record = host
                    .call(
                        &tools,
                        crate::call("which_version", "{}", &format!("swap-{i}")),
                    )
                    .await;
                assert_eq!(record.outcome, Outcome::Ok, "{record:?}");
                let content = &record.output.as_ref().unwrap().content;
                // Version, digest and answer all come from the same build.
                let slot = match record.version.as_str() {
                    "1.0.0" => {
                        assert_eq!(record.digest, d1);
                        0
                    }
                    "2.0.0" => {
                        assert_eq!(record.digest, d2);
                        1
                    }
                    other => panic!("unexpected version {other}"),
                };
                assert_eq!(
                    content,
                    &format!("answered by versioned {}", record.version)
                );
                per_version[slot].fetch_add(1, Ordering::Relaxed);
                calls += 1;
            }
            calls
        }));
    }
    for i in 0..SWAPS {
        let digest = if i % 2 == 0 { &v2.digest } else { &v1.digest };
        host.registry().activate("versioned", digest).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for caller in callers {
        total += caller
            .await
            .expect("no caller panicked: zero failed or mixed calls");
    }
    let (a, b) = (
        per_version[0].load(Ordering::Relaxed),
        per_version[1].load(Ordering::Relaxed),
    );
    println!("{total} calls during {SWAPS} swaps: {a} on 1.0.0, {b} on 2.0.0");
    assert!(a > 0 && b > 0, "both versions served calls ({a}, {b})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_and_disable() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let v1 = host
        .install_and_activate(&component("versioned", "1.0.0", Behaviour::Answer, "0.1.0"))
        .await
        .unwrap();
    let v2 = host
        .install_and_activate(&component("versioned", "2.0.0", Behaviour::Answer, "0.1.0"))
        .await
        .unwrap();
    let mut events = host.registry().subscribe();
    let record = crate::run(&host, "versioned", "which_version", "{}", "s").await;
    assert_eq!(record.version, "2.0.0");

    let back = host.registry().rollback("versioned").unwrap();
    assert_eq!(back.digest(), v1.digest);
    let record = crate::run(&host, "versioned", "which_version", "{}", "s").await;
    assert_eq!(record.version, "1.0.0");
    // Any kept version can be activated by digest (or by its unique version number).
    host.registry().activate("versioned", "2.0.0").unwrap();
    assert_eq!(
        host.registry().get("versioned").unwrap().active.as_deref(),
        Some(v2.digest.as_str())
    );

    host.registry().disable("versioned").unwrap();
    let record = crate::run(&host, "versioned", "which_version", "{}", "s").await;
    assert_eq!(record.outcome, Outcome::Unavailable);
    assert!(record.model_text().contains("unavailable"));
    assert!(host.tool_set(&[ToolBinding::active("versioned")]).is_err());
    host.registry().enable("versioned").unwrap();
    assert_eq!(
        crate::run(&host, "versioned", "which_version", "{}", "s")
            .await
            .outcome,
        Outcome::Ok
    );

    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(
            serde_json::to_value(&event).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(seen, ["activated", "activated", "disabled", "enabled"]);

    // Summaries list both versions with their manifests.
    let listed = host.registry().list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].versions.len(), 2);
    assert_eq!(
        listed[0].versions[0].manifest.tools[0].name,
        "which_version"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_name_clashes_are_refused() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    host.install_and_activate(&component("first", "1.0.0", Behaviour::Answer, "0.1.0"))
        .await
        .unwrap();
    host.install_and_activate(&component("second", "1.0.0", Behaviour::Answer, "0.1.0"))
        .await
        .unwrap();
    let err = host
        .tool_set(&[ToolBinding::active("first"), ToolBinding::active("second")])
        .unwrap_err();
    assert_eq!(err.code(), "tool_name_clash");
    assert!(err.to_string().contains("which_version"), "{err}");
    let tools = host.tool_set(&[ToolBinding::active("first")]).unwrap();
    let specs = tools.realtime_tools();
    assert_eq!(specs[0]["type"], "function");
    assert_eq!(specs[0]["name"], "which_version");
    assert_eq!(specs[0]["parameters"]["type"], "object");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_directory_loads_new_builds() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("versioned.wasm"),
        component("versioned", "1.0.0", Behaviour::Answer, "0.1.0"),
    )
    .unwrap();
    let mut events = host.registry().subscribe();
    let _watch = host.watch_dir(dir.path()).await.unwrap();
    assert_eq!(
        crate::run(&host, "versioned", "which_version", "{}", "s")
            .await
            .version,
        "1.0.0"
    );

    std::fs::write(dir.path().join("broken.wasm"), b"not a component").unwrap();
    std::fs::write(
        dir.path().join("versioned.wasm"),
        component("versioned", "1.1.0", Behaviour::Answer, "0.1.0"),
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let (mut activated, mut failed) = (false, false);
    while !(activated && failed) {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the watcher reacts within 10 s")
            .unwrap();
        match event {
            lectern_runtime::plugin::RegistryEvent::Activated { version, .. }
                if version == "1.1.0" =>
            {
                activated = true
            }
            lectern_runtime::plugin::RegistryEvent::LoadFailed { source, error } => {
                assert!(source.ends_with("broken.wasm"));
                assert!(error.starts_with("not_a_component"), "{error}");
                failed = true;
            }
            _ => {}
        }
    }
    assert_eq!(
        crate::run(&host, "versioned", "which_version", "{}", "s")
            .await
            .version,
        "1.1.0"
    );
}
