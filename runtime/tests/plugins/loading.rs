//! Loads that must be refused, with a clear message, changing nothing.

use lectern_runtime::plugin::{LoadErrorCode, PluginHost};

use crate::wat_plugin::{Behaviour, component};

/// Refuse `bytes` with `code` and leave the registry exactly as it was.
async fn refused(host: &PluginHost, bytes: &[u8], code: LoadErrorCode) -> String {
    let before = host.registry().list();
    let err = host.install(bytes).await.expect_err("the load is refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(
        host.registry().list(),
        before,
        "a refused load changes nothing"
    );
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_contract_versions_are_refused_before_instantiating() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    crate::install_file(&host, lectern_plugin_artifacts::NOOP).await;

    let msg = refused(
        &host,
        &component("future", "1.0.0", Behaviour::Answer, "0.2.0"),
        LoadErrorCode::UnsupportedContractVersion,
    )
    .await;
    assert!(
        msg.contains("0.2.0") && msg.contains("0.1.0"),
        "names both versions: {msg}"
    );

    let mut unversioned = component("future", "1.0.0", Behaviour::Answer, "0.1.0");
    // Strip the appended section: everything after the component's own bytes.
    let section_len = 2 + "lectern:contract-version".len() + 1 + "0.1.0".len();
    unversioned.truncate(unversioned.len() - section_len);
    let msg = refused(&host, &unversioned, LoadErrorCode::MissingContractVersion).await;
    assert!(msg.contains("lectern-tool SDK"), "{msg}");

    let msg = refused(&host, b"\0asm\x01\0\0\0", LoadErrorCode::NotAComponent).await;
    assert!(msg.contains("core WebAssembly module"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let bytes = std::fs::read(lectern_plugin_artifacts::GARBAGE).unwrap();
    let msg = refused(&host, &bytes, LoadErrorCode::NotAComponent).await;
    assert!(
        msg.contains("wasm32-wasip2"),
        "says how to build one: {msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installing_the_same_bytes_twice_changes_nothing() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let bytes = std::fs::read(lectern_plugin_artifacts::NOOP).unwrap();
    let first = host.install(&bytes).await.unwrap();
    assert!(first.newly_installed);
    assert_eq!(first.info.contract_version, "0.1.0");
    let again = host.install(&bytes).await.unwrap();
    assert!(!again.newly_installed);
    assert_eq!(first.digest, again.digest);
    assert_eq!(host.registry().list()[0].versions.len(), 1);
}

/// An upload validates the component, then keeps the version it validated:
/// compiled and described once. Loading the bytes a second time finds them
/// in the engine's compile cache and reports no compile time, which is what
/// an upload showed when it loaded the component twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validated_version_is_kept_without_loading_it_again() {
    let _shared = crate::exclusive().read().await;
    let host = crate::host();
    let bytes = component("kept", "1.0.0", Behaviour::Answer, "0.1.0");
    let version = host.load(&bytes).await.unwrap();
    assert!(host.registry().list().is_empty(), "a load keeps nothing");
    let compile_ms = version.compile_time().as_secs_f64() * 1000.0;
    assert!(compile_ms > 0.0, "a fresh engine compiles");

    let kept = host.keep(version.clone());
    assert!(kept.newly_installed);
    assert_eq!(kept.digest, version.digest());
    assert_eq!(kept.info.compile_ms, compile_ms);
    let listed = host.registry().get("kept").unwrap();
    assert_eq!(listed.versions.len(), 1);
    assert_eq!(listed.versions[0].compile_ms, compile_ms);
    assert!(!host.keep(version.clone()).newly_installed);

    let reloaded = host.install(&bytes).await.unwrap();
    assert!(!reloaded.newly_installed);
    assert_eq!(
        reloaded.info.compile_ms, 0.0,
        "served from the compile cache"
    );
    assert_eq!(host.registry().get("kept").unwrap().versions.len(), 1);

    // The kept version is the one that answers.
    host.registry().activate("kept", version.digest()).unwrap();
    let record = crate::run(&host, "kept", "which_version", "{}", "s1").await;
    assert_eq!(
        record.output.map(|o| o.content).as_deref(),
        Some("answered by kept 1.0.0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "another engine")]
async fn a_version_loaded_on_another_engine_is_not_kept() {
    let bytes = component("foreign", "1.0.0", Behaviour::Answer, "0.1.0");
    let version = crate::host().load(&bytes).await.unwrap();
    crate::host().keep(version);
}
