//! `POST /api/token` throughput and latency against a floor measured in the same run.
//!
//! The server runs the full middleware stack on a real loopback listener; the
//! floor is a handler on that same stack that returns a fixed small JSON without
//! reading the body. Both get identical requests over keep-alive HTTP/1.1
//! connections from an in-process load generator on its own runtime thread.
//!
//! Phases, each bounded in time and request count:
//! 1. peak (closed loop, `CONNECTIONS` connections) for the floor and the token route;
//! 2. the token route open-loop at half its peak rate; latency is measured from
//!    each request's *scheduled* send time, so queueing delay is not hidden.
//!
//! Run: `cargo bench -p lectern-api --bench token --profile dev` (dependencies
//! at opt-level 1 as set in the workspace, this crate at 0) or without
//! `--profile dev` for a release build (slow to compile: wasmtime).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use http_body_util::{BodyExt, Full};
use lectern_api::config::{Config, Secret};
use lectern_api::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Concurrent keep-alive connections of the load generator.
const CONNECTIONS: usize = 8;
/// Warm-up before each measured phase.
const WARMUP_MS: u64 = 500;
/// Length of each measured phase.
const PHASE_MS: u64 = 3_000;
/// Upper bound on requests per phase (memory for latencies stays bounded).
const MAX_REQUESTS_PER_PHASE: usize = 400_000;
/// Timer lateness attributed to the load generator rather than the server.
const TIMER_SLACK_MS: u64 = 2;
/// Targets from the issue.
const TARGET_RATIO: f64 = 0.5;
const TARGET_P99_MS: f64 = 5.0;

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

struct Phase {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile_ms(&mut self, p: f64) -> f64 {
        self.latencies.sort_unstable();
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index].as_secs_f64() * 1e3
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(address: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(address)
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

async fn one_request(sender: &mut Sender, address: SocketAddr, path: &str) {
    sender.ready().await.expect("connection ready");
    let request = hyper::Request::post(path)
        .header(header::HOST, address.to_string())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from_static(TOKEN_BODY.as_bytes())))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::CREATED, "{path}");
    response.into_body().collect().await.expect("body");
}

/// As many requests as the connections can push, for `PHASE_MS`.
async fn closed_loop(address: SocketAddr, path: &'static str) -> Phase {
    let mut senders = Vec::new();
    for _ in 0..CONNECTIONS {
        senders.push(connect(address).await);
    }
    let run = |mut sender: Sender, duration: Duration, record: bool| async move {
        let mut latencies = Vec::new();
        let started = Instant::now();
        while started.elapsed() < duration && latencies.len() < MAX_REQUESTS_PER_PHASE / CONNECTIONS
        {
            let t = Instant::now();
            one_request(&mut sender, address, path).await;
            if record {
                latencies.push(t.elapsed());
            }
        }
        (sender, latencies)
    };
    // Warm up.
    let warm: Vec<_> = senders
        .into_iter()
        .map(|s| tokio::spawn(run(s, Duration::from_millis(WARMUP_MS), false)))
        .collect();
    let mut senders = Vec::new();
    for handle in warm {
        senders.push(handle.await.expect("warm-up").0);
    }
    let started = Instant::now();
    let handles: Vec<_> = senders
        .into_iter()
        .map(|s| tokio::spawn(run(s, Duration::from_millis(PHASE_MS), true)))
        .collect();
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.expect("phase").1);
    }
    Phase {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

/// `rate` requests per second spread over the connections, for `PHASE_MS`;
/// latency counts from each request's scheduled time.
async fn open_loop(address: SocketAddr, path: &'static str, rate: f64) -> Phase {
    let per_connection = rate / CONNECTIONS as f64;
    let interval = Duration::from_secs_f64(1.0 / per_connection);
    let total = ((rate * PHASE_MS as f64 / 1e3) as usize).min(MAX_REQUESTS_PER_PHASE);
    let per_connection_count = total / CONNECTIONS;
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..CONNECTIONS {
        let mut sender = connect(address).await;
        // Stagger the connections across one interval.
        let offset = interval.mul_f64(c as f64 / CONNECTIONS as f64);
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_connection_count);
            let first = Instant::now() + offset;
            for i in 0..per_connection_count {
                let scheduled = first + interval.mul_f64(i as f64);
                tokio::time::sleep_until(scheduled.into()).await;
                // tokio's timer wakes up to a millisecond late: that lag is the
                // generator's, not the server's. Lateness beyond it means the
                // generator fell behind (queueing), which does count.
                let woke = Instant::now();
                let start =
                    if woke.duration_since(scheduled) <= Duration::from_millis(TIMER_SLACK_MS) {
                        woke
                    } else {
                        scheduled
                    };
                one_request(&mut sender, address, path).await;
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for handle in handles {
        latencies.extend(handle.await.expect("phase"));
    }
    Phase {
        requests: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
    }
}

fn main() {
    let profile = if cfg!(debug_assertions) {
        "dev (lectern-api opt-level 0, dependencies opt-level 1)"
    } else {
        "optimised"
    };
    // The database is created but unused by the token route; keep it out of the tree.
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let config = Config {
        data_dir: data_dir.path().to_owned(),
        livekit_url: Some("wss://livekit.bench".into()),
        livekit_api_key: Some("APIbench".into()),
        livekit_api_secret: Some(Secret::new("bench-secret-with-enough-entropy-0123")),
        rate_limit_per_min: 0,
        ..Config::default()
    };

    // The server gets its own one-thread runtime; the load generator another.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let address = server_runtime.block_on(async {
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

    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    client.block_on(async {
        let mut floor = closed_loop(address, "/bench/floor").await;
        let mut token = closed_loop(address, "/api/token").await;
        let ratio = token.throughput() / floor.throughput();
        let half_rate = token.throughput() / 2.0;
        let mut half = open_loop(address, "/api/token", half_rate).await;

        println!("token endpoint benchmark (profile: {profile}; loopback, {CONNECTIONS} keep-alive connections, server on 1 worker thread)");
        println!(
            "  floor  (fixed JSON)   {:>9.0} req/s   p50 {:>6.3} ms   p99 {:>6.3} ms   ({} requests)",
            floor.throughput(),
            floor.percentile_ms(0.50),
            floor.percentile_ms(0.99),
            floor.requests
        );
        println!(
            "  POST /api/token       {:>9.0} req/s   p50 {:>6.3} ms   p99 {:>6.3} ms   ({} requests)",
            token.throughput(),
            token.percentile_ms(0.50),
            token.percentile_ms(0.99),
            token.requests
        );
        println!(
            "  ratio token/floor     {ratio:.3}   (target >= {TARGET_RATIO}: {})",
            if ratio >= TARGET_RATIO { "met" } else { "NOT met" }
        );
        let p99 = half.percentile_ms(0.99);
        println!(
            "  token at half peak    {:>9.0} req/s offered, {:.0} served   p50 {:>6.3} ms   p99 {:>6.3} ms   (target p99 < {TARGET_P99_MS} ms: {})",
            half_rate,
            half.throughput(),
            half.percentile_ms(0.50),
            p99,
            if p99 < TARGET_P99_MS { "met" } else { "NOT met" }
        );
    });
    stop.store(true, Ordering::Relaxed);
    drop(server_runtime);
}
