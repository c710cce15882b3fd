//! `POST /api/token` throughput and latency against a floor measured in the same run.
//!
//! Run: `LECTERN_SKIP_WEB_BUILD=1 cargo bench -p lectern-api --bench token`.
//!
//! The server is what `lectern serve` runs: the full middleware stack (rate
//! limit off) behind the production tracing subscriber (`serve::init_tracing`,
//! so every request's span is built as operators' servers build it), on a
//! runtime built as `main` builds it (multi-threaded, one worker per CPU,
//! unpinned). The floor is a handler on that same stack returning a fixed
//! small JSON without reading the body. The load comes from a *separate
//! process* (this binary again, selected by [`TARGET_ENV`]): one
//! single-threaded runtime that sends and reads, plus a pacing thread that
//! sleeps between due times. Both routes get identical requests over
//! keep-alive HTTP/1.1 connections.
//!
//! The generator shares the machine's CPUs with the server. It is kept light
//! (it never spins) so that the server's workers can use whichever CPU is
//! free: when a kernel thread holds one CPU for milliseconds, the other
//! worker carries on, as it does in production. With
//! [`PLACEMENT_ENV`]`=pinned` the server instead gets [`PINNED_SERVER_THREADS`]
//! worker pinned to CPU 0 and the generator the other CPUs
//! (`sched_setaffinity`); every kernel thread the scheduler puts on CPU 0
//! then stalls the whole server, which is not how it is run.
//!
//! Each of [`TRIALS`] trials measures, in order:
//! 1. peak throughput of the floor and of the token route (closed loop,
//!    [`PEAK_CONNECTIONS`] connections), with the CPU time the server and the
//!    generator used, so a generator-bound peak is visible;
//! 2. the token route open-loop at half of that trial's token peak, requests
//!    due on a fixed schedule and sent on whichever of [`OPEN_CONNECTIONS`]
//!    connections is idle; latency counts from each request's *intended* send
//!    time, so queueing (server or generator) is never hidden, and the
//!    generator's own lateness is printed beside it;
//! 3. the floor at that same offered rate: the tail this machine's scheduler
//!    adds to any request, beside which the token route's tail is read.
//!
//! Every phase also prints how long the server's threads (and the
//! generator's) were runnable but waiting for a CPU (`schedstat`): the part of
//! a tail that is the machine's, not the server's code.
//!
//! Every trial is printed, then the spread over trials; targets are judged on
//! the median and the count of trials meeting them is shown.
//!
//! **Instructions per request** (for judging a change while the machine is
//! busy, when wall-clock figures are noise): run the bench binary under
//! Callgrind with [`INSTRUCTIONS_ENV`] set to a request count, e.g.
//! `LECTERN_TOKEN_BENCH_INSTRUCTIONS=2000 valgrind --tool=callgrind
//! target/release/deps/token-<hash>`. The generator then sends that many
//! requests to each route one after another on one connection, zeroing the
//! server's counters before and reading them after (`callgrind_control`), and
//! prints the server's user-space instructions per request of each route; the
//! profile of each route is dumped as `callgrind.out.<pid>.<n>`. No timed
//! figures are printed in this mode.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use http_body_util::{BodyExt, Full};
use lectern_api::config::{Config, LogFormat, Secret};
use lectern_api::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Environment variable carrying the server address to the generator process.
const TARGET_ENV: &str = "LECTERN_TOKEN_BENCH_TARGET";
/// `pinned`: the server on CPU 0, the generator on the others; anything
/// else or unset: both unpinned, the server on one worker per CPU (production).
const PLACEMENT_ENV: &str = "LECTERN_TOKEN_BENCH_PLACEMENT";
/// Worker threads of the server's runtime when pinned: one leaves the other
/// CPUs to the generator.
const PINNED_SERVER_THREADS: usize = 1;
/// Overrides the server's worker count (unpinned: one per CPU, as `lectern serve`).
const SERVER_THREADS_ENV: &str = "LECTERN_TOKEN_BENCH_SERVER_THREADS";
/// Request count of the instruction-counting mode (the server under Callgrind).
const INSTRUCTIONS_ENV: &str = "LECTERN_TOKEN_BENCH_INSTRUCTIONS";
/// Requests sent to a route before its instructions are counted.
const INSTRUCTIONS_WARMUP: usize = 200;
/// CPUs (`first-end`, end exclusive) the generator pins itself to; empty: unpinned.
const GENERATOR_CPUS_ENV: &str = "LECTERN_TOKEN_BENCH_GENERATOR_CPUS";
/// Trials, each measuring every phase.
const TRIALS: usize = 5;
/// Keep-alive connections of the closed-loop peak phases.
const PEAK_CONNECTIONS: usize = 8;
/// Keep-alive connections available to the open-loop phases: enough that
/// requests never wait in the generator for a free connection (at 25k req/s
/// and 2 ms in flight, 50 are busy), as each learner's browser has its own.
const OPEN_CONNECTIONS: usize = 256;
/// Warm-up before each peak phase.
const WARMUP: Duration = Duration::from_millis(500);
/// Length of each peak phase.
const PEAK_PHASE: Duration = Duration::from_secs(2);
/// Length of each paced phase.
const PACED_PHASE: Duration = Duration::from_secs(4);
/// Upper bound on requests per phase (memory for latencies stays bounded).
const MAX_REQUESTS_PER_PHASE: usize = 400_000;
/// Linux reports process CPU time in these ticks per second (`USER_HZ`).
const CLOCK_TICKS_PER_SEC: f64 = 100.0;
/// Targets from the issue.
const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 5.0;

const FLOOR_PATH: &str = "/bench/floor";
const TOKEN_PATH: &str = "/api/token";
const TOKEN_BODY: &str = r#"{"room_name":"bench-room","participant_identity":"bench-learner","room_config":{"agents":[{"metadata":"{\"subtopic_id\":\"adding-fractions\"}"}]}}"#;

/// The floor: a fixed small JSON.
#[utoipa::path(post, path = "/bench/floor", responses((status = 201)))]
async fn floor() -> impl IntoResponse {
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"ok":true}"#,
    )
}

fn main() {
    match std::env::var(TARGET_ENV) {
        Ok(address) => generate_load(address.parse().expect("server address")),
        Err(_) => serve_and_measure(),
    }
}

// ---------------------------------------------------------------- server side

/// Starts the server, runs the generator process against it, and stops.
fn serve_and_measure() {
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let mut config = Config {
        data_dir: data_dir.path().to_owned(),
        livekit_url: Some("wss://livekit.bench".into()),
        livekit_api_key: Some("APIbench".into()),
        livekit_api_secret: Some(Secret::new("bench-secret-with-enough-entropy-0123")),
        rate_limit_per_min: 0,
        ..Config::default()
    };
    if std::env::var_os(INSTRUCTIONS_ENV).is_some() {
        // Valgrind cannot reserve the address space of a full plugin instance
        // pool; no plugin runs in a token or floor request, so the smallest
        // pool changes nothing that is counted.
        config.plugin_max_instances = 1;
    }
    // What `lectern serve` logs with by default; `RUST_LOG` filters as there.
    lectern_api::serve::init_tracing(LogFormat::Text);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned =
        std::env::var(PLACEMENT_ENV).is_ok_and(|v| v == "pinned") && cpus > PINNED_SERVER_THREADS;
    let threads_override = std::env::var(SERVER_THREADS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    let server_threads =
        threads_override.unwrap_or(if pinned { PINNED_SERVER_THREADS } else { cpus });
    let pinned = pinned && cpus > server_threads;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // Unset, the worker count is tokio's default, as for `Runtime::new()` in `main`.
    if pinned || threads_override.is_some() {
        builder.worker_threads(server_threads);
    }
    let runtime = builder
        .on_thread_start(move || {
            // Threads the runtime's threads start (the database's) inherit this.
            if pinned {
                pin_to_cpus(0..server_threads);
            }
        })
        .enable_all()
        .build()
        .expect("server runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let address = runtime.block_on(async {
        let state = AppState::new(config).await.expect("state");
        let extra: OpenApiRouter<AppState> = OpenApiRouter::new().routes(routes!(floor));
        let router = lectern_api::app::router_with(state, extra);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let stop = stop.clone();
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .expect("serve");
        });
        address
    });

    let profile = if cfg!(debug_assertions) {
        "debug assertions on (not an optimised build: figures are not representative)"
    } else {
        "optimised"
    };
    let placement = match server_threads {
        _ if !pinned => {
            "server and generator unpinned, sharing every CPU (as in production, where \
                         the server has the CPUs to itself)"
                .to_owned()
        }
        1 => "pinned: server on CPU 0, generator on the others".to_owned(),
        n => format!(
            "pinned: server on CPUs 0-{}, generator on the others",
            n - 1
        ),
    };
    println!("token endpoint benchmark");
    println!(
        "  build {profile}; {cpus} CPUs; server: {server_threads} worker thread(s), full middleware, production \
         tracing subscriber, rate limit off; load: separate process, 1 runtime thread + 1 pacing thread, \
         keep-alive HTTP/1.1 on loopback; {placement}"
    );
    let status = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(TARGET_ENV, address.to_string())
        .env(
            GENERATOR_CPUS_ENV,
            if pinned {
                format!("{server_threads}-{cpus}")
            } else {
                String::new()
            },
        )
        .status()
        .expect("start the load generator");
    stop.store(true, Ordering::Relaxed);
    drop(runtime);
    assert!(status.success(), "the load generator failed: {status}");
}

// ------------------------------------------------------------- generator side

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Where the load goes; the `Host` header is built once, not per request.
#[derive(Clone, Copy)]
struct Target {
    address: SocketAddr,
    host: &'static HeaderValue,
}

/// What one phase measured.
struct Phase {
    elapsed: Duration,
    /// From intended send to full response (paced) or from send (closed loop).
    latencies: Vec<Duration>,
    /// From actual send to full response.
    service: Vec<Duration>,
    /// From intended send to actual send: the generator's own lateness
    /// (paced phases only).
    lateness: Vec<Duration>,
    cpu: CpuUse,
}

impl Phase {
    fn requests(&self) -> usize {
        self.latencies.len()
    }

    fn throughput(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    fn finish(mut self) -> Self {
        self.latencies.sort_unstable();
        self.service.sort_unstable();
        self.lateness.sort_unstable();
        self
    }
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1e3
}

/// CPU seconds used so far by process `pid` (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / CLOCK_TICKS_PER_SEC,
        _ => f64::NAN,
    }
}

/// Time the threads of process `pid` have spent runnable but waiting for a
/// CPU, in seconds: the sum over its threads of `schedstat`'s second field
/// (nanoseconds on the run queue). Threads that exited since are not counted.
fn run_queue_wait_seconds(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return f64::NAN;
    };
    let mut nanos = 0u64;
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        nanos += stat
            .split_whitespace()
            .nth(1)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0);
    }
    nanos as f64 / 1e9
}

/// What the server and the generator used of the machine during one phase.
struct CpuUse {
    /// CPU time, as fractions of a core.
    server: f64,
    generator: f64,
    /// Time runnable but not running, summed over threads, in milliseconds.
    server_wait_ms: f64,
    generator_wait_ms: f64,
}

/// Measures [`CpuUse`] from its start to its stop.
struct CpuMeter {
    server_pid: u32,
    started: Instant,
    server: f64,
    generator: f64,
    server_wait: f64,
    generator_wait: f64,
}

impl CpuMeter {
    fn start() -> Self {
        let server_pid = std::os::unix::process::parent_id();
        let own = std::process::id();
        Self {
            server_pid,
            started: Instant::now(),
            server: cpu_seconds(server_pid),
            generator: cpu_seconds(own),
            server_wait: run_queue_wait_seconds(server_pid),
            generator_wait: run_queue_wait_seconds(own),
        }
    }

    fn stop(self) -> CpuUse {
        let wall = self.started.elapsed().as_secs_f64();
        let own = std::process::id();
        CpuUse {
            server: (cpu_seconds(self.server_pid) - self.server) / wall,
            generator: (cpu_seconds(own) - self.generator) / wall,
            server_wait_ms: (run_queue_wait_seconds(self.server_pid) - self.server_wait) * 1e3,
            generator_wait_ms: (run_queue_wait_seconds(own) - self.generator_wait) * 1e3,
        }
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CPU: server {:>3.0}%, generator {:>3.0}%; waiting for a CPU: server {:.1} ms, generator {:.1} ms",
            self.server * 100.0,
            self.generator * 100.0,
            self.server_wait_ms,
            self.generator_wait_ms,
        )
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

async fn connect(target: Target) -> Sender {
    let stream = tokio::net::TcpStream::connect(target.address)
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    sender
}

async fn connections(target: Target, n: usize) -> Vec<Sender> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(connect(target).await);
    }
    out
}

/// Sends one request on `sender` and reads the whole response; returns the
/// connection and when the request was sent.
async fn one_request(mut sender: Sender, target: Target, path: &'static str) -> (Sender, Instant) {
    sender.ready().await.expect("connection ready");
    let request = hyper::Request::post(path)
        .header(header::HOST, target.host.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(TOKEN_BODY.as_bytes())))
        .expect("request");
    let sent = Instant::now();
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    response.into_body().collect().await.expect("body");
    (sender, sent)
}

/// As many requests as `PEAK_CONNECTIONS` connections can push for `length`.
async fn closed_loop(
    target: Target,
    path: &'static str,
    senders: Vec<Sender>,
    length: Duration,
) -> (Vec<Sender>, Phase) {
    let meter = CpuMeter::start();
    let started = Instant::now();
    let mut in_flight: FuturesUnordered<_> = senders
        .into_iter()
        .map(|s| one_request(s, target, path))
        .collect();
    let mut latencies = Vec::new();
    let mut idle = Vec::new();
    while let Some((sender, sent)) = in_flight.next().await {
        latencies.push(sent.elapsed());
        if started.elapsed() < length && latencies.len() < MAX_REQUESTS_PER_PHASE {
            in_flight.push(one_request(sender, target, path));
        } else {
            idle.push(sender);
        }
    }
    let elapsed = started.elapsed();
    let cpu = meter.stop();
    let phase = Phase {
        elapsed,
        service: latencies.clone(),
        latencies,
        lateness: Vec::new(),
        cpu,
    };
    (idle, phase.finish())
}

async fn peak(target: Target, path: &'static str) -> Phase {
    let senders = connections(target, PEAK_CONNECTIONS).await;
    let (senders, _) = closed_loop(target, path, senders, WARMUP).await;
    closed_loop(target, path, senders, PEAK_PHASE).await.1
}

/// `rate` requests per second for `PACED_PHASE`, each sent at its due time on
/// an idle connection (or as soon as one frees up); latency counts from the
/// due time.
async fn paced(target: Target, path: &'static str, rate: f64) -> Phase {
    let mut idle = connections(target, OPEN_CONNECTIONS).await;
    // One round on every connection so none pays its first-use cost in the phase.
    let mut warm: FuturesUnordered<_> = idle
        .drain(..)
        .map(|s| one_request(s, target, path))
        .collect();
    while let Some((sender, _)) = warm.next().await {
        idle.push(sender);
    }

    let total = ((rate * PACED_PHASE.as_secs_f64()) as usize).min(MAX_REQUESTS_PER_PHASE);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let meter = CpuMeter::start();
    let start = Instant::now();
    let due = move |i: usize| start + interval.mul_f64(i as f64);
    // The schedule is kept by a thread that sleeps until each due time and
    // hands over every request then due. Tokio's timer ticks in whole
    // milliseconds (a timer-paced sender is up to a millisecond late, in
    // bursts, and that lateness would be charged to the server); a thread
    // sleep is precise to tens of microseconds, and unlike polling the clock
    // it leaves the CPUs to the server, with which the generator shares them.
    let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let pacer = std::thread::Builder::new()
        .name("bench-pacer".into())
        .spawn(move || {
            for i in 0..total {
                let at = due(i);
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                if due_tx.send(at).is_err() {
                    return;
                }
            }
        })
        .expect("start the pacing thread");
    let mut latencies = Vec::with_capacity(total);
    let mut service = Vec::with_capacity(total);
    let mut lateness = Vec::with_capacity(total);
    // Requests due while every connection was busy, oldest first.
    let mut waiting = std::collections::VecDeque::new();
    let mut in_flight = FuturesUnordered::new();
    let send = move |sender: Sender, scheduled: Instant| async move {
        let (sender, sent) = one_request(sender, target, path).await;
        (sender, scheduled, sent)
    };
    let mut schedule_open = true;
    loop {
        tokio::select! {
            biased;
            Some((sender, scheduled, sent)) = in_flight.next(), if !in_flight.is_empty() => {
                let done = Instant::now();
                latencies.push(done.duration_since(scheduled));
                service.push(done.duration_since(sent));
                lateness.push(sent.duration_since(scheduled));
                match waiting.pop_front() {
                    Some(next) => in_flight.push(send(sender, next)),
                    None => idle.push(sender),
                }
            }
            scheduled = due_rx.recv(), if schedule_open => match scheduled {
                Some(scheduled) => match idle.pop() {
                    Some(sender) => in_flight.push(send(sender, scheduled)),
                    None => waiting.push_back(scheduled),
                },
                None => schedule_open = false,
            },
            else => break,
        }
    }
    pacer.join().expect("pacing thread");
    let elapsed = start.elapsed();
    let cpu = meter.stop();
    Phase {
        elapsed,
        latencies,
        service,
        lateness,
        cpu,
    }
    .finish()
}

/// One trial's figures.
struct Trial {
    ratio: f64,
    token_p99: f64,
    floor_p99: f64,
}

fn print_peak(label: &str, phase: &Phase) {
    println!(
        "    {label:<26} {:>8.0} req/s   p50 {:>6.3} ms   p99 {:>6.3} ms   ({} requests; {})",
        phase.throughput(),
        percentile_ms(&phase.latencies, 0.50),
        percentile_ms(&phase.latencies, 0.99),
        phase.requests(),
        phase.cpu,
    );
}

fn print_paced(label: &str, rate: f64, phase: &Phase) {
    println!(
        "    {label:<26} {rate:>8.0} req/s offered, {:.0} served   p50 {:>6.3} ms   p99 {:>6.3} ms   max {:>7.3} ms   \
         (from intended send; from actual send p99 {:.3} ms; sent late by p99 {:.3} ms, max {:.3} ms; {} requests; {})",
        phase.throughput(),
        percentile_ms(&phase.latencies, 0.50),
        percentile_ms(&phase.latencies, 0.99),
        percentile_ms(&phase.latencies, 1.0),
        percentile_ms(&phase.service, 0.99),
        percentile_ms(&phase.lateness, 0.99),
        percentile_ms(&phase.lateness, 1.0),
        phase.requests(),
        phase.cpu,
    );
}

async fn trial(target: Target, n: usize) -> Trial {
    println!("  trial {n}/{TRIALS} (load average {})", load_average());
    let floor = peak(target, FLOOR_PATH).await;
    let token = peak(target, TOKEN_PATH).await;
    let ratio = token.throughput() / floor.throughput();
    print_peak("floor (fixed JSON), peak", &floor);
    print_peak("POST /api/token, peak", &token);
    println!("    ratio token/floor          {ratio:.3}");
    let half = token.throughput() / 2.0;
    let token_paced = paced(target, TOKEN_PATH, half).await;
    print_paced("POST /api/token, half peak", half, &token_paced);
    let floor_paced = paced(target, FLOOR_PATH, half).await;
    print_paced("floor, same rate", half, &floor_paced);
    Trial {
        ratio,
        token_p99: percentile_ms(&token_paced.latencies, 0.99),
        floor_p99: percentile_ms(&floor_paced.latencies, 0.99),
    }
}

fn spread(values: impl Iterator<Item = f64>) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// Restricts the calling thread (and threads it starts later) to `cpus`.
fn pin_to_cpus(cpus: std::ops::Range<usize>) {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    for cpu in cpus {
        set.set(cpu).expect("CPU index within the set");
    }
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).expect("sched_setaffinity");
}

fn generate_load(address: SocketAddr) {
    if let Some((first, end)) = std::env::var(GENERATOR_CPUS_ENV).ok().and_then(|v| {
        let (a, b) = v.split_once('-')?;
        Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
    }) {
        pin_to_cpus(first..end);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("generator runtime");
    let host = HeaderValue::from_str(&address.to_string()).expect("host header");
    let target = Target {
        address,
        host: Box::leak(Box::new(host)),
    };
    if let Some(n) = std::env::var(INSTRUCTIONS_ENV)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        runtime.block_on(count_instructions(target, n));
        return;
    }
    runtime.block_on(async {
        let mut trials = Vec::new();
        for n in 1..=TRIALS {
            trials.push(trial(target, n).await);
        }
        let (lo, ratio, hi) = spread(trials.iter().map(|t| t.ratio));
        let ratio_met = trials.iter().filter(|t| t.ratio >= TARGET_RATIO).count();
        println!(
            "  over {TRIALS} trials: ratio token/floor min {lo:.3} median {ratio:.3} max {hi:.3}   \
             (target >= {TARGET_RATIO}: {} on the median; met in {ratio_met}/{TRIALS} trials)",
            if ratio >= TARGET_RATIO { "met" } else { "NOT met" }
        );
        let (lo, p99, hi) = spread(trials.iter().map(|t| t.token_p99));
        let p99_met = trials
            .iter()
            .filter(|t| t.token_p99 < TARGET_P99_MS)
            .count();
        println!(
            "  over {TRIALS} trials: token p99 at half peak min {lo:.3} median {p99:.3} max {hi:.3} ms   \
             (target < {TARGET_P99_MS} ms: {} on the median; met in {p99_met}/{TRIALS} trials)",
            if p99 < TARGET_P99_MS { "met" } else { "NOT met" }
        );
        let (lo, p99, hi) = spread(trials.iter().map(|t| t.floor_p99));
        println!(
            "  over {TRIALS} trials: floor p99 at the same rate min {lo:.3} median {p99:.3} max {hi:.3} ms   \
             (the tail this machine adds to any request; load average now {})",
            load_average()
        );
    });
}

// ------------------------------------------------------ instruction counting

/// Runs `callgrind_control` with `args` against the server (this process's
/// parent) and returns what it printed.
fn callgrind_control(args: &[&str]) -> String {
    let server = std::os::unix::process::parent_id().to_string();
    let output = std::process::Command::new("callgrind_control")
        .args(args)
        .arg(&server)
        .output()
        .expect("run callgrind_control (is the server running under valgrind --tool=callgrind?)");
    assert!(
        output.status.success(),
        "callgrind_control {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The server's instructions counted since the last zeroing, over all its threads.
fn server_instructions() -> u64 {
    // Lines of the form `   Th 1  25,459,030`.
    let text = callgrind_control(&["-e", "Ir"]);
    let total: u64 = text
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Th "))
        .filter_map(|rest| rest.split_whitespace().nth(1))
        .filter_map(|count| count.replace(',', "").parse::<u64>().ok())
        .sum();
    assert!(total > 0, "no instruction counts in: {text}");
    total
}

/// Server instructions per request of each route, `n` sequential requests each.
async fn count_instructions(target: Target, n: usize) {
    println!(
        "  instructions per request (server user space, all threads; {n} sequential requests per route on one connection)"
    );
    let mut per_request = Vec::new();
    for (label, path) in [("floor", FLOOR_PATH), ("token", TOKEN_PATH)] {
        let mut sender = connect(target).await;
        for _ in 0..INSTRUCTIONS_WARMUP {
            sender = one_request(sender, target, path).await.0;
        }
        callgrind_control(&["--zero"]);
        for _ in 0..n {
            sender = one_request(sender, target, path).await.0;
        }
        let instructions = server_instructions();
        callgrind_control(&[&format!("--dump={label}")]);
        let each = instructions as f64 / n as f64;
        println!("    {label:<6} {each:>10.0} instructions/request");
        per_request.push(each);
    }
    println!(
        "    token - floor {:>10.0}   token/floor {:.3}",
        per_request[1] - per_request[0],
        per_request[1] / per_request[0]
    );
}
