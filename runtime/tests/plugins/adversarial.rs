//! Every adversarial plugin yields its named outcome, and the host survives:
//! a good call right after each one works. `foreach_adversarial!` makes a
//! plugin without a test here a compile error.

use std::time::{Duration, Instant};

use lectern_runtime::plugin::{
    BreakerConfig, LimitHit, LimitOverrides, LoadErrorCode, Outcome, PluginHost,
};

macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}
lectern_plugin_artifacts::foreach_adversarial!(assert_test_exists);

/// Deadline used for the deadline tests: short, so the tests are quick, and
/// long enough that the plugin is really running when it passes.
const TEST_DEADLINE_MS: u64 = 100;
/// How late the deadline outcome may arrive (issue 2's acceptance figure).
const DEADLINE_TOLERANCE_MS: u64 = 20;

/// Limits for the memory hog: a small memory ceiling so it is reached quickly,
/// and a generous deadline so a loaded machine cannot turn it into a timeout.
fn hog_limits() -> LimitOverrides {
    LimitOverrides {
        memory_bytes: Some(16 << 20),
        call_deadline_ms: Some(5_000),
        ..Default::default()
    }
}

/// The host is healthy: a good plugin still answers.
async fn host_survives(host: &PluginHost) {
    if host.registry().get("noop").is_err() {
        crate::install_file(host, lectern_plugin_artifacts::NOOP).await;
    }
    let record = crate::run(host, "noop", "noop", "{}", "after").await;
    assert_eq!(record.outcome, Outcome::Ok, "the host survived: {record:?}");
}

/// Install `path` and call `tool` with `args`, expecting `outcome`.
async fn hostile_call(
    path: &str,
    tool: &str,
    args: &str,
    outcome: Outcome,
    limits: LimitOverrides,
) -> lectern_runtime::plugin::CallRecord {
    let host = crate::host();
    let installed = crate::install_file(&host, path).await;
    host.registry()
        .set_limits(&installed.manifest.name, limits)
        .unwrap();
    let record = crate::run(&host, &installed.manifest.name, tool, args, "hostile").await;
    assert_eq!(record.outcome, outcome, "{record:?}");
    assert!(
        record
            .error
            .as_deref()
            .unwrap()
            .contains(&installed.manifest.name),
        "errors name the plugin"
    );
    assert!(
        record.model_text().contains(outcome.as_str()),
        "the model reads what happened"
    );
    assert!(record.evidence.is_empty() && !record.state_changed);
    host_survives(&host).await;
    record
}

/// Refuse the component at `path` with `code`, changing nothing.
async fn refused_load(path: &str, code: LoadErrorCode) -> String {
    let host = crate::host();
    crate::install_file(&host, lectern_plugin_artifacts::NOOP).await;
    let before = host.registry().list();
    let bytes = std::fs::read(path).unwrap();
    let err = host.install(&bytes).await.expect_err("refused");
    assert_eq!(err.code, code, "{err}");
    assert_eq!(
        host.registry().list(),
        before,
        "a refused load changes nothing"
    );
    host_survives(&host).await;
    err.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_loop() {
    // Timing: nothing else runs meanwhile.
    let _alone = crate::exclusive().write().await;
    let host = crate::host_with(|c| {
        c.limits.call_deadline_ms = TEST_DEADLINE_MS;
        c.breaker = BreakerConfig {
            failure_threshold: 100,
            ..Default::default()
        };
    });
    crate::install_file(&host, lectern_plugin_artifacts::SPIN_LOOP).await;
    let bound = Duration::from_millis(TEST_DEADLINE_MS + DEADLINE_TOLERANCE_MS);
    for _ in 0..5 {
        let started = Instant::now();
        let record = crate::run(&host, "spin-loop", "spin", "{}", "hostile").await;
        let took = started.elapsed();
        assert_eq!(record.outcome, Outcome::DeadlineExceeded, "{record:?}");
        assert!(record.limits_hit.contains(&LimitHit::Deadline));
        assert!(
            took >= Duration::from_millis(TEST_DEADLINE_MS),
            "not before the deadline: {took:?}"
        );
        assert!(
            took <= bound,
            "deadline outcome within deadline + 20 ms: took {took:?}"
        );
        println!("spin-loop stopped after {took:?} (deadline {TEST_DEADLINE_MS} ms)");
    }
    host_survives(&host).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hog() {
    let _shared = crate::exclusive().read().await;
    let record = hostile_call(
        lectern_plugin_artifacts::MEMORY_HOG,
        "hog",
        "{}",
        Outcome::MemoryLimit,
        hog_limits(),
    )
    .await;
    assert!(record.limits_hit.contains(&LimitHit::Memory));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap() {
    let _shared = crate::exclusive().read().await;
    let record = hostile_call(
        lectern_plugin_artifacts::TRAP,
        "panic",
        "{}",
        Outcome::Trap,
        LimitOverrides::default(),
    )
    .await;
    // The panic message written to stderr reaches the author.
    assert!(
        record.error.as_deref().unwrap().contains("panicked"),
        "{record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion() {
    let _shared = crate::exclusive().read().await;
    hostile_call(
        lectern_plugin_artifacts::DEEP_RECURSION,
        "recurse",
        "{}",
        Outcome::Trap,
        LimitOverrides::default(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_output() {
    let _shared = crate::exclusive().read().await;
    let record = hostile_call(
        lectern_plugin_artifacts::OVERSIZED_OUTPUT,
        "flood",
        "{}",
        Outcome::InvalidOutput,
        LimitOverrides::default(),
    )
    .await;
    assert!(
        record.limits_hit.contains(&LimitHit::OutputBytes),
        "{record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_output() {
    let _shared = crate::exclusive().read().await;
    let record = hostile_call(
        lectern_plugin_artifacts::INVALID_OUTPUT,
        "invalid",
        "{}",
        Outcome::InvalidOutput,
        LimitOverrides::default(),
    )
    .await;
    assert!(
        record
            .error
            .as_deref()
            .unwrap()
            .contains("content is empty"),
        "{record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_import() {
    let _shared = crate::exclusive().read().await;
    let msg = refused_load(
        lectern_plugin_artifacts::FORBIDDEN_IMPORT,
        LoadErrorCode::ForbiddenImport,
    )
    .await;
    assert!(msg.contains("wasi:sockets/"), "names the interface: {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_contract() {
    let _shared = crate::exclusive().read().await;
    let msg = refused_load(
        lectern_plugin_artifacts::WRONG_CONTRACT,
        LoadErrorCode::UnsupportedContractVersion,
    )
    .await;
    assert!(
        msg.contains("9.0.0") && msg.contains("0.1.0"),
        "names both versions: {msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_schema() {
    let _shared = crate::exclusive().read().await;
    let msg = refused_load(
        lectern_plugin_artifacts::BROKEN_SCHEMA,
        LoadErrorCode::InvalidSchema,
    )
    .await;
    assert!(msg.contains("`broken`"), "names the tool: {msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage() {
    let _shared = crate::exclusive().read().await;
    let msg = refused_load(
        lectern_plugin_artifacts::GARBAGE,
        LoadErrorCode::NotAComponent,
    )
    .await;
    assert!(msg.contains("not WebAssembly"), "{msg}");
}

/// Host memory may grow by at most this much over 1,000 mixed calls after
/// warm-up. Warm state (pool slots' resident pages, allocator arenas that grew
/// for the 8 MiB oversized outputs, lazily built caches) is reached during the
/// warm-up; what remains is a leak. 24 MiB over 1,000 calls would be a leak of
/// 24 KiB per call — far more than any record or state the calls produce, and
/// far less than one memory-hog call (64 MiB) kept alive.
const MAX_RSS_GROWTH_BYTES: u64 = 24 << 20;
/// Calls before the first measurement.
const WARM_UP_CALLS: usize = 160;
/// Calls measured.
const MEASURED_CALLS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_mixed_calls_leave_no_memory_growth() {
    let _alone = crate::exclusive().write().await;
    let host = crate::host_with(|c| {
        // Every hostile call must really run, not be refused by the breaker.
        c.breaker = BreakerConfig {
            failure_threshold: u32::MAX,
            ..Default::default()
        };
    });
    for path in [
        lectern_plugin_artifacts::CHECK_UNDERSTANDING,
        lectern_plugin_artifacts::NOOP,
        lectern_plugin_artifacts::TRAP,
        lectern_plugin_artifacts::MEMORY_HOG,
        lectern_plugin_artifacts::OVERSIZED_OUTPUT,
        lectern_plugin_artifacts::INVALID_OUTPUT,
        lectern_plugin_artifacts::DEEP_RECURSION,
        lectern_plugin_artifacts::SPIN_LOOP,
    ] {
        crate::install_file(&host, path).await;
    }
    host.registry()
        .set_limits("memory-hog", hog_limits())
        .unwrap();
    // The spinning plugin gets a short deadline so 1,000 calls stay quick.
    let spin = LimitOverrides {
        call_deadline_ms: Some(20),
        ..Default::default()
    };
    host.registry().set_limits("spin-loop", spin).unwrap();
    let mix: [(&str, &str, &str, Outcome); 8] = [
        (
            "check-understanding",
            "check_understanding",
            "{}",
            Outcome::Ok,
        ),
        ("noop", "noop", "{}", Outcome::Ok),
        ("trap", "panic", "{}", Outcome::Trap),
        ("memory-hog", "hog", "{}", Outcome::MemoryLimit),
        ("oversized-output", "flood", "{}", Outcome::InvalidOutput),
        ("invalid-output", "invalid", "{}", Outcome::InvalidOutput),
        ("deep-recursion", "recurse", "{}", Outcome::Trap),
        ("spin-loop", "spin", "{}", Outcome::DeadlineExceeded),
    ];
    let run_calls = async |count: usize, offset: usize| {
        for i in 0..count {
            let (plugin, tool, args, outcome) = mix[(offset + i) % mix.len()];
            // Sessions come and go, as lessons do.
            let session = format!("lesson-{}", (offset + i) / 40);
            let record = crate::run(&host, plugin, tool, args, &session).await;
            assert_eq!(record.outcome, outcome, "{plugin}: {record:?}");
            if (offset + i) % 40 == 39 {
                host.state().end_session(&session);
            }
        }
    };
    run_calls(WARM_UP_CALLS, 0).await;
    let before = crate::rss_bytes();
    run_calls(MEASURED_CALLS, WARM_UP_CALLS).await;
    let after = crate::rss_bytes();
    let growth = after.saturating_sub(before);
    println!(
        "RSS after warm-up {} MiB, after {MEASURED_CALLS} mixed calls {} MiB, growth {} KiB (bound {} MiB)",
        before >> 20,
        after >> 20,
        growth >> 10,
        MAX_RSS_GROWTH_BYTES >> 20
    );
    assert!(
        growth <= MAX_RSS_GROWTH_BYTES,
        "host memory grew by {growth} bytes"
    );
    host_survives(&host).await;
}
