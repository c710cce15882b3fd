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
