//! What a plugin call costs, against a floor measured in the same run.
//!
//! `cargo bench -p lectern-runtime --bench plugin_call`
//!
//! - floor: a fresh store, instantiation from the version's pre-linked instance
//!   and one `invoke` of the no-op component — nothing the host adds;
//! - full path: `PluginHost::call` of `check_understanding` through a lesson's
//!   tool set — tool lookup, breaker, argument size/JSON/schema checks, limits
//!   (deadline, memory, fuel), the lesson/state/progress/log imports, output
//!   rules, state commit and the call record;
//! - full path on the no-op component, to separate the host's overhead from the
//!   tool's own work.
//!
//! The three are measured in interleaved rounds so machine noise hits them alike.
//! A breakdown follows: the sandboxed part of a call on each component, stage by
//! stage (instantiate, invoke with the tool's own work and imports, teardown of
//! the pool slot), and what the full path adds around it.
//! Targets: full/floor <= 1.5 at p50, full-path p99 < 150 µs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{HostConfig, Outcome, PluginHost, StageTimes, ToolBinding, ToolCall};

/// Calls per round per measured path.
const CALLS_PER_ROUND: usize = 500;
/// Rounds (interleaved).
const ROUNDS: usize = 10;
/// Calls per path before measuring (pool slots, caches, allocator warm).
const WARM_UP_CALLS: usize = 500;
/// Calls per component for the stage breakdown.
const BREAKDOWN_CALLS: usize = 2_000;
/// Calls on the breakdown's session before it is measured: enough for its
/// state to reach the size it keeps in a long lesson, as in the rounds above.
const BREAKDOWN_WARM_CALLS: usize = 100;
/// Target ratio full/floor at p50.
const TARGET_RATIO_P50: f64 = 1.5;
/// Target full-path p99.
const TARGET_FULL_P99: Duration = Duration::from_micros(150);

fn lesson() -> Arc<Subtopic> {
    Arc::new(
        serde_json::from_value(serde_json::json!({
            "id": "photosynthesis-basics",
            "topic_id": "biology",
            "topic_title": "Biology",
            "title": "How plants make food",
            "summary": "Plants turn light, water and carbon dioxide into sugar and oxygen.",
            "content": "Photosynthesis happens in the chloroplasts. Chlorophyll absorbs red and blue light and reflects green, which is why leaves look green.",
            "objectives": [
                {"id": "inputs-outputs", "text": "Name the inputs and outputs of photosynthesis"},
                {"id": "chlorophyll", "text": "Explain why leaves are green"}
            ],
            "key_points": [
                "Photosynthesis needs light, water and carbon dioxide.",
                "It produces glucose and oxygen.",
                "Chlorophyll reflects green light, so leaves look green."
            ],
            "examples": [],
            "level": "beginner"
        }))
        .expect("valid lesson"),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

struct Series {
    name: &'static str,
    samples: Vec<Duration>,
}

impl Series {
    fn p(&mut self, p: f64) -> Duration {
        self.samples.sort_unstable();
        percentile(&self.samples, p)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    // The server's default meters fuel; fuel is optional, so the same figures
    // are printed with it off (deadlines then rest on epochs alone).
    runtime.block_on(run(true));
    runtime.block_on(run(false));
}

async fn run(metered: bool) {
    let mut config = HostConfig::default();
    config.engine.fuel = metered;
    let host = PluginHost::new(config).expect("plugin host");
    for path in [
        lectern_plugin_artifacts::NOOP,
        lectern_plugin_artifacts::CHECK_UNDERSTANDING,
    ] {
        let bytes = std::fs::read(path).expect("built plugin");
        host.install_and_activate(&bytes)
            .await
            .expect("plugin loads");
    }
    let (noop, _) = host.registry().active("noop").expect("noop active");
    let tools = host
        .tool_set(&[
            ToolBinding::active("check-understanding"),
            ToolBinding::active("noop"),
        ])
        .expect("tool set");
    let lesson = lesson();
    let full_call = |session: &str| {
        ToolCall::new(
            "check_understanding",
            r#"{"focus":"why leaves are green"}"#,
            session,
            lesson.clone(),
        )
    };
    let noop_call = |session: &str| ToolCall::new("noop", "{}", session, lesson.clone());

    let mut floor = Series {
        name: "floor (noop: store + instantiate + invoke)",
        samples: Vec::new(),
    };
    let mut full = Series {
        name: "full path (check_understanding)",
        samples: Vec::new(),
    };
    let mut full_noop = Series {
        name: "full path (noop)",
        samples: Vec::new(),
    };

    for i in 0..WARM_UP_CALLS {
        host.raw_invoke(&noop, "noop", "{}")
            .await
            .expect("floor call");
        let r = host
            .call(&tools, full_call(&format!("warm-{}", i % 8)))
            .await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        let r = host.call(&tools, noop_call("warm")).await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    }
    let mut fuel = 0;
    for round in 0..ROUNDS {
        // A session per round: state grows within a lesson, as it would.
        let session = format!("bench-{round}");
        for _ in 0..CALLS_PER_ROUND {
            let t = Instant::now();
            host.raw_invoke(&noop, "noop", "{}")
                .await
                .expect("floor call");
            floor.samples.push(t.elapsed());
        }
        for _ in 0..CALLS_PER_ROUND {
            let t = Instant::now();
            let r = host.call(&tools, full_call(&session)).await;
            full.samples.push(t.elapsed());
            assert_eq!(r.outcome, Outcome::Ok);
            fuel = r.fuel_used.unwrap_or(0);
        }
        for _ in 0..CALLS_PER_ROUND {
            let t = Instant::now();
            let r = host.call(&tools, noop_call(&session)).await;
            full_noop.samples.push(t.elapsed());
            assert_eq!(r.outcome, Outcome::Ok);
        }
        host.state().end_session(&session);
    }

    println!(
        "plugin_call, fuel metering {}: {} calls per path, {ROUNDS} interleaved rounds",
        if metered {
            "on (server default)"
        } else {
            "off"
        },
        ROUNDS * CALLS_PER_ROUND
    );
    let floor_p50 = floor.p(0.5);
    let mut rows = Vec::new();
    for s in [&mut floor, &mut full, &mut full_noop] {
        let (p50, p99) = (s.p(0.5), s.p(0.99));
        println!(
            "  {:<46} p50 {:>8.1} µs   p99 {:>8.1} µs   p50 ratio to floor {:>5.2}",
            s.name,
            micros(p50),
            micros(p99),
            micros(p50) / micros(floor_p50)
        );
        rows.push((p50, p99));
    }
    let ratio = micros(rows[1].0) / micros(floor_p50);
    println!("  check_understanding fuel per call: {fuel}");
    println!(
        "  full/floor at p50: {ratio:.2} (target <= {TARGET_RATIO_P50}) {}",
        if ratio <= TARGET_RATIO_P50 {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "  full-path p99: {:.1} µs (target < {} µs) {}",
        micros(rows[1].1),
        TARGET_FULL_P99.as_micros(),
        if rows[1].1 < TARGET_FULL_P99 {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "  host overhead on the same component (full noop / floor) at p50: {:.2}",
        micros(rows[2].0) / micros(floor_p50)
    );

    // Where the time goes: the sandboxed part of each call stage by stage, on a
    // session whose state is already warm (the stages commit nothing, so every
    // call does the same work). What the full path costs beyond these stages is
    // the host's own work around the sandbox.
    let session = "breakdown";
    for _ in 0..BREAKDOWN_WARM_CALLS {
        let r = host.call(&tools, full_call(session)).await;
        assert_eq!(r.outcome, Outcome::Ok);
    }
    let (check, _) = host
        .registry()
        .active("check-understanding")
        .expect("check-understanding active");
    let mut noop_stages = Vec::with_capacity(BREAKDOWN_CALLS);
    let mut check_stages = Vec::with_capacity(BREAKDOWN_CALLS);
    for _ in 0..BREAKDOWN_CALLS {
        noop_stages.push(
            host.raw_stages(&noop, &noop_call(session))
                .await
                .expect("noop stages"),
        );
        check_stages.push(
            host.raw_stages(&check, &full_call(session))
                .await
                .expect("check_understanding stages"),
        );
    }
    host.state().end_session(session);
    println!(
        "  breakdown (p50 per stage, {BREAKDOWN_CALLS} sandboxed calls each, warm session state):"
    );
    let noop_row = stage_row("noop", &noop_stages);
    let check_row = stage_row("check_understanding", &check_stages);
    println!(
        "  host work around the sandbox (full path p50 - stages total p50): noop {:.1} µs, check_understanding {:.1} µs",
        micros(rows[2].0) - noop_row,
        micros(rows[1].0) - check_row
    );
}

/// Prints the p50 of each stage of `stages`; returns the p50 of their total
/// in µs.
fn stage_row(name: &str, stages: &[StageTimes]) -> f64 {
    let p50 = |pick: &dyn Fn(&StageTimes) -> Duration| {
        let mut all: Vec<Duration> = stages.iter().map(pick).collect();
        all.sort_unstable();
        micros(percentile(&all, 0.5))
    };
    let instantiate = p50(&|s| s.instantiate);
    let invoke = p50(&|s| s.invoke);
    let teardown = p50(&|s| s.teardown);
    let total = p50(&|s| s.instantiate + s.invoke + s.teardown);
    let fuel = stages
        .first()
        .and_then(|s| s.fuel)
        .map_or_else(|| "off".to_owned(), |f| f.to_string());
    println!(
        "    {name:<20} instantiate {instantiate:>6.1} µs   invoke {invoke:>6.1} µs   teardown {teardown:>6.1} µs   total {total:>6.1} µs   fuel {fuel}"
    );
    total
}
