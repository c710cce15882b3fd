//! What a plugin call costs, against a floor measured in the same run.
//!
//! `cargo bench -p lectern-runtime --bench plugin_call`
//!
//! - floor: a fresh store, instantiation from the version's pre-linked instance
//!   and one `invoke` of the no-op component — nothing the host adds;
//! - full path: `PluginHost::call` of check-understanding's tools through a
//!   lesson's tool set — tool lookup, breaker, argument size/JSON/schema checks,
//!   limits (deadline, memory, fuel), the lesson/state/progress/log imports,
//!   output rules, state commit and the call record. The calls follow a lesson:
//!   `check_understanding` with a focus that changes from call to call (or
//!   none), then `grade_answer` with the question id it returned and one of a
//!   few answers (right, partly right, wrong), the evidence folded into the
//!   learner's mastery for the next call as a session does. That mix is the
//!   figure the targets are judged on; the same tool asked with one focus and
//!   never graded (an easier mix) is printed too, for comparison;
//! - full path on the no-op component, to separate the host's overhead from the
//!   tool's own work;
//! - full path on contract-io, a tool that makes a question tool's calls to the
//!   host (the subtopic, its state, the learner's mastery, a state write, a log
//!   line) and analyses nothing: what the contract's inputs and outputs cost
//!   before a tool does any work of its own. The room the ratio target leaves
//!   for that work is printed from it.
//!
//! The three are measured in interleaved rounds so machine noise hits them alike.
//! A breakdown follows: the sandboxed part of a call on each component, stage by
//! stage (instantiate, invoke with the tool's own work and imports, teardown of
//! the pool slot), and what the full path adds around it: per call, the wall
//! time of a full-path call less the stages timed inside that same call.
//! Targets: full/floor <= 1.5 at p50, full-path p99 < 150 µs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lectern_runtime::lesson::Subtopic;
use lectern_runtime::plugin::{
    CallRecord, HostConfig, Mastery, Outcome, PluginHost, StageTimes, ToolBinding, ToolCall,
    ToolSet,
};

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

#[path = "plugin_call/mix.rs"]
mod mix;
use mix::{ANSWERS, FOCUSES};

/// One lesson's calls of check-understanding: a question, then the grade of
/// the answer, with the learner's mastery kept as a session keeps it.
struct LessonCalls {
    session: String,
    lesson: Arc<Subtopic>,
    turn: usize,
    pending_question: Option<String>,
    /// Objective id -> (sum of scores, pieces of evidence).
    evidence: Vec<(String, f64, u32)>,
}

impl LessonCalls {
    fn new(session: String, lesson: Arc<Subtopic>) -> LessonCalls {
        LessonCalls {
            session,
            lesson,
            turn: 0,
            pending_question: None,
            evidence: Vec::new(),
        }
    }

    fn next(&mut self) -> ToolCall {
        let mut call = match &self.pending_question {
            Some(question_id) => {
                let answer = ANSWERS[self.turn % ANSWERS.len()];
                let arguments =
                    serde_json::json!({"question_id": question_id, "answer": answer}).to_string();
                ToolCall::new(
                    "grade_answer",
                    arguments,
                    &self.session,
                    self.lesson.clone(),
                )
            }
            None => {
                let arguments = match FOCUSES[self.turn % FOCUSES.len()] {
                    Some(focus) => serde_json::json!({"focus": focus}).to_string(),
                    None => "{}".to_owned(),
                };
                ToolCall::new(
                    "check_understanding",
                    arguments,
                    &self.session,
                    self.lesson.clone(),
                )
            }
        };
        call.mastery = self
            .evidence
            .iter()
            .map(|(objective_id, sum, count)| Mastery {
                objective_id: objective_id.clone(),
                score: (sum / f64::from(*count)) as f32,
                evidence_count: *count,
            })
            .collect();
        call
    }

    /// Takes in the record of the call [`LessonCalls::next`] gave.
    fn done(&mut self, record: &CallRecord) {
        assert_eq!(record.outcome, Outcome::Ok, "{record:?}");
        if record.tool == "check_understanding" {
            let content = &record.output.as_ref().expect("an output").content;
            let start = content.find("question_id \"").expect("a question id") + 13;
            let id = &content[start..];
            self.pending_question = Some(id[..id.find('"').expect("a closing quote")].to_owned());
        } else {
            self.pending_question = None;
            self.turn += 1;
            for e in &record.evidence {
                match self
                    .evidence
                    .iter_mut()
                    .find(|(id, _, _)| *id == e.objective_id)
                {
                    Some((_, sum, count)) => {
                        *sum += f64::from(e.score);
                        *count += 1;
                    }
                    None => self
                        .evidence
                        .push((e.objective_id.clone(), f64::from(e.score), 1)),
                }
            }
        }
    }
}

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

/// Fuel of a series of calls.
#[derive(Default)]
struct Fuel {
    total: u64,
    calls: u64,
}

impl Fuel {
    fn add(&mut self, fuel: Option<u64>) {
        if let Some(fuel) = fuel {
            self.total += fuel;
            self.calls += 1;
        }
    }

    fn mean(&self) -> String {
        self.total
            .checked_div(self.calls)
            .map_or_else(|| "off".to_owned(), |mean| mean.to_string())
    }
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
        lectern_plugin_artifacts::CONTRACT_IO,
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
            ToolBinding::active("contract-io"),
        ])
        .expect("tool set");
    let lesson = lesson();
    let fixed_call = |session: &str| {
        ToolCall::new(
            "check_understanding",
            r#"{"focus":"why leaves are green"}"#,
            session,
            lesson.clone(),
        )
    };
    let noop_call = |session: &str| ToolCall::new("noop", "{}", session, lesson.clone());
    let io_call = |session: &str| ToolCall::new("next_objective", "{}", session, lesson.clone());

    let mut floor = Series {
        name: "floor (noop: store + instantiate + invoke)",
        samples: Vec::new(),
    };
    let mut full = Series {
        name: "full path (check-understanding, lesson mix)",
        samples: Vec::new(),
    };
    let mut full_ask = Series {
        name: "  of which check_understanding",
        samples: Vec::new(),
    };
    let mut full_grade = Series {
        name: "  of which grade_answer",
        samples: Vec::new(),
    };
    let mut full_fixed = Series {
        name: "full path (ask, one focus, never graded)",
        samples: Vec::new(),
    };
    let mut full_noop = Series {
        name: "full path (noop)",
        samples: Vec::new(),
    };
    let mut full_io = Series {
        name: "full path (contract-io: the contract's I/O)",
        samples: Vec::new(),
    };

    for i in 0..WARM_UP_CALLS {
        host.raw_invoke(&noop, "noop", "{}")
            .await
            .expect("floor call");
        let mut warm = LessonCalls::new(format!("warm-{}", i % 8), lesson.clone());
        for _ in 0..2 {
            let r = host.call(&tools, warm.next()).await;
            warm.done(&r);
        }
        let r = host
            .call(&tools, fixed_call(&format!("warm-fixed-{}", i % 8)))
            .await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        let r = host.call(&tools, noop_call("warm")).await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        let r = host.call(&tools, io_call("warm")).await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    }
    host.state().end_session("warm");
    for i in 0..8 {
        host.state().end_session(&format!("warm-{i}"));
        host.state().end_session(&format!("warm-fixed-{i}"));
    }
    let (mut ask_fuel, mut grade_fuel, mut fixed_fuel) =
        (Fuel::default(), Fuel::default(), Fuel::default());
    for round in 0..ROUNDS {
        // A session per round: state grows within a lesson, as it would.
        let session = format!("bench-{round}");
        let fixed_session = format!("bench-fixed-{round}");
        for _ in 0..CALLS_PER_ROUND {
            let t = Instant::now();
            host.raw_invoke(&noop, "noop", "{}")
                .await
                .expect("floor call");
            floor.samples.push(t.elapsed());
        }
        let mut calls = LessonCalls::new(session.clone(), lesson.clone());
        for _ in 0..CALLS_PER_ROUND {
            let call = calls.next();
            let t = Instant::now();
            let r = host.call(&tools, call).await;
            let took = t.elapsed();
            full.samples.push(took);
            calls.done(&r);
            if r.tool == "check_understanding" {
                full_ask.samples.push(took);
                ask_fuel.add(r.fuel_used);
            } else {
                full_grade.samples.push(took);
                grade_fuel.add(r.fuel_used);
            }
        }
        // Calls are built before the clock starts, as in the lesson mix: building
        // one is the caller's work, not the host's.
        let fixed = || fixed_call(&fixed_session);
        time_calls(&host, &tools, fixed, &mut full_fixed, &mut fixed_fuel).await;
        let noop = || noop_call(&session);
        time_calls(&host, &tools, noop, &mut full_noop, &mut Fuel::default()).await;
        let io = || io_call(&session);
        time_calls(&host, &tools, io, &mut full_io, &mut Fuel::default()).await;
        host.state().end_session(&session);
        host.state().end_session(&fixed_session);
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
    for s in [
        &mut floor,
        &mut full,
        &mut full_ask,
        &mut full_grade,
        &mut full_fixed,
        &mut full_noop,
        &mut full_io,
    ] {
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
    println!(
        "  fuel per call: check_understanding {} (mean), grade_answer {} (mean), one-focus ask {} (mean)",
        ask_fuel.mean(),
        grade_fuel.mean(),
        fixed_fuel.mean()
    );
    let ratio = micros(rows[1].0) / micros(floor_p50);
    println!(
        "  full/floor at p50 (lesson mix): {ratio:.2} (target <= {TARGET_RATIO_P50}) {}",
        if ratio <= TARGET_RATIO_P50 {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "  full-path p99 (lesson mix): {:.1} µs (target < {} µs) {}",
        micros(rows[1].1),
        TARGET_FULL_P99.as_micros(),
        if rows[1].1 < TARGET_FULL_P99 {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!(
        "  one focus, never graded: full/floor at p50 {:.2}, p99 {:.1} µs",
        micros(rows[4].0) / micros(floor_p50),
        micros(rows[4].1)
    );
    println!(
        "  host overhead on the same component (full noop / floor) at p50: {:.2}",
        micros(rows[5].0) / micros(floor_p50)
    );
    // Every tool that reads its lesson and state pays contract-io's cost; what
    // the target leaves above it is all a tool's own work may take.
    let allowed = micros(floor_p50) * TARGET_RATIO_P50;
    let io = micros(rows[6].0);
    let room = if allowed >= io {
        format!("leaves {:.1} µs for a tool's own work", allowed - io)
    } else {
        format!(
            "leaves nothing for a tool's own work: contract-io alone is {:.1} µs past it",
            io - allowed
        )
    };
    println!(
        "  the contract's I/O alone (contract-io / floor) at p50: {:.2}; the {TARGET_RATIO_P50} target {room}; \
         check-understanding's own work adds {:.1} µs to it (lesson mix)",
        io / micros(floor_p50),
        micros(rows[1].0) - io
    );

    // Where the time goes: the sandboxed part of each call stage by stage, on a
    // session whose state is already warm (the stages commit nothing, so every
    // call does the same work).
    let session = "breakdown";
    let mut calls = LessonCalls::new(session.to_owned(), lesson.clone());
    for _ in 0..BREAKDOWN_WARM_CALLS {
        let r = host.call(&tools, calls.next()).await;
        calls.done(&r);
    }
    // Leave a question asked, so a grade of it can be staged too.
    if calls.pending_question.is_none() {
        let r = host.call(&tools, calls.next()).await;
        calls.done(&r);
    }
    let grade_call = calls.next();
    // The one-focus ask is staged with its focus already kept, as in its
    // series above.
    let r = host.call(&tools, fixed_call(session)).await;
    assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    for _ in 0..BREAKDOWN_WARM_CALLS {
        let r = host.call(&tools, io_call(session)).await;
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
    }
    let (check, _) = host
        .registry()
        .active("check-understanding")
        .expect("check-understanding active");
    let mut noop_stages = Vec::with_capacity(BREAKDOWN_CALLS);
    let mut check_stages = Vec::with_capacity(BREAKDOWN_CALLS);
    let mut grade_stages = Vec::with_capacity(BREAKDOWN_CALLS);
    let mut io_stages = Vec::with_capacity(BREAKDOWN_CALLS);
    let (io, _) = host
        .registry()
        .active("contract-io")
        .expect("contract-io active");
    for _ in 0..BREAKDOWN_CALLS {
        noop_stages.push(
            host.raw_stages(&noop, &noop_call(session))
                .await
                .expect("noop stages"),
        );
        check_stages.push(
            host.raw_stages(&check, &fixed_call(session))
                .await
                .expect("check_understanding stages"),
        );
        grade_stages.push(
            host.raw_stages(&check, &grade_call)
                .await
                .expect("grade_answer stages"),
        );
        io_stages.push(
            host.raw_stages(&io, &io_call(session))
                .await
                .expect("contract-io stages"),
        );
    }
    host.state().end_session(session);
    println!(
        "  breakdown (p50 per stage, {BREAKDOWN_CALLS} sandboxed calls each, warm session state):"
    );
    stage_row("noop", &noop_stages);
    stage_row("check_understanding", &check_stages);
    stage_row("grade_answer", &grade_stages);
    stage_row("contract-io", &io_stages);

    // The host's own work, call by call: the wall time of a full-path call less
    // the sandboxed stages of that same call (timed inside it), so both figures
    // come from one call and the difference cannot go below zero. The calls
    // follow a lesson, as in the rounds, with a no-op call after each.
    let session = "paired";
    let mut calls = LessonCalls::new(session.to_owned(), lesson.clone());
    let (mut noop_host, mut ask_host, mut grade_host) = (Vec::new(), Vec::new(), Vec::new());
    let (mut noop_in_call, mut ask_in_call, mut grade_in_call) =
        (Vec::new(), Vec::new(), Vec::new());
    for i in 0..BREAKDOWN_WARM_CALLS + 2 * BREAKDOWN_CALLS {
        let call = calls.next();
        let t = Instant::now();
        let (r, stages) = host.call_staged(&tools, call).await;
        let took = t.elapsed();
        calls.done(&r);
        let call = noop_call(session);
        let t = Instant::now();
        let (noop_r, noop_stages) = host.call_staged(&tools, call).await;
        let noop_took = t.elapsed();
        assert_eq!(noop_r.outcome, Outcome::Ok, "{noop_r:?}");
        if i < BREAKDOWN_WARM_CALLS {
            continue;
        }
        noop_host.push(took_outside(noop_took, &noop_stages));
        noop_in_call.push(noop_stages);
        if r.tool == "check_understanding" {
            ask_host.push(took_outside(took, &stages));
            ask_in_call.push(stages);
        } else {
            grade_host.push(took_outside(took, &stages));
            grade_in_call.push(stages);
        }
    }
    host.state().end_session(session);
    println!(
        "  the same stages inside full-path calls (p50, lesson mix; limits, imports and state as served):"
    );
    stage_row("noop", &noop_in_call);
    stage_row("check_understanding", &ask_in_call);
    stage_row("grade_answer", &grade_in_call);
    let p50_p99 = |all: &mut Vec<Duration>| {
        all.sort_unstable();
        format!(
            "p50 {:.1} µs, p99 {:.1} µs",
            micros(percentile(all, 0.5)),
            micros(percentile(all, 0.99))
        )
    };
    println!(
        "  host work around the sandbox, per call (full-path wall time less that call's own stages, lesson mix): \
         noop {}; check_understanding {}; grade_answer {}",
        p50_p99(&mut noop_host),
        p50_p99(&mut ask_host),
        p50_p99(&mut grade_host)
    );
}

/// Times [`CALLS_PER_ROUND`] full-path calls, each made by `make` before the
/// clock starts, into `series`, adding their fuel to `fuel`.
async fn time_calls(
    host: &PluginHost,
    tools: &ToolSet,
    make: impl Fn() -> ToolCall,
    series: &mut Series,
    fuel: &mut Fuel,
) {
    for _ in 0..CALLS_PER_ROUND {
        let call = make();
        let t = Instant::now();
        let r = host.call(tools, call).await;
        series.samples.push(t.elapsed());
        assert_eq!(r.outcome, Outcome::Ok, "{r:?}");
        fuel.add(r.fuel_used);
    }
}

/// Wall time of a call outside its sandboxed stages.
fn took_outside(took: Duration, stages: &StageTimes) -> Duration {
    took.saturating_sub(stages.instantiate + stages.invoke + stages.teardown)
}

/// Prints the p50 of each stage of `stages` and of their total.
fn stage_row(name: &str, stages: &[StageTimes]) {
    let p50 = |pick: &dyn Fn(&StageTimes) -> Duration| {
        let mut all: Vec<Duration> = stages.iter().map(pick).collect();
        all.sort_unstable();
        micros(percentile(&all, 0.5))
    };
    let instantiate = p50(&|s| s.instantiate);
    let invoke = p50(&|s| s.invoke);
    let teardown = p50(&|s| s.teardown);
    let total = p50(&|s| s.instantiate + s.invoke + s.teardown);
    let mut fuel = Fuel::default();
    for s in stages {
        fuel.add(s.fuel);
    }
    let fuel = fuel.mean();
    println!(
        "    {name:<20} instantiate {instantiate:>6.1} µs   invoke {invoke:>6.1} µs   teardown {teardown:>6.1} µs   total {total:>6.1} µs   fuel {fuel} (mean)"
    );
}
