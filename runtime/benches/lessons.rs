//! Lessons at scale, and the audio path alone.
//!
//! `cargo bench -p lectern-runtime --bench lessons`
//!
//! 1. The cost of one 20 ms frame through the audio path (48 kHz -> 24 kHz
//!    resampling + base64 encoding, and back), beside a memcpy of the same
//!    bytes measured in the same run.
//! 2. N simulated lessons over the real `ws` transport against the fake
//!    Realtime server, 20 ms frames streaming both ways in real time. Each
//!    frame carries a time stamp: learner frames are stamped by the simulated
//!    browser and read by the fake server; tutor frames are stamped by the
//!    fake and read by the browser. Printed: CPU per lesson (the whole
//!    process: Lectern, the fake server and the browsers, so an upper bound),
//!    p50/p99 latency per frame in both directions, and the largest N whose
//!    p99 stays under 5 ms in both.
//!
//! `LESSONS_BENCH_N=50,100,200` picks the lesson counts; `LESSONS_BENCH_SECS`
//! the measuring time per count.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use lectern_fake_realtime::signal;
use lectern_fake_realtime::{Action, FakeRealtime, Options, Pace, Rule, Script, Trigger};
use lectern_runtime::audio::{self, Downsampler, Upsampler};
use lectern_runtime::lesson::Level;
use lectern_runtime::plugin::{HostConfig, PluginHost};
use lectern_runtime::realtime::RealtimeConfig;
use lectern_runtime::session::{
    LessonConfig, LessonDeps, LessonMetrics, LessonSession, LessonSpec,
};
use lectern_runtime::store::{NewSubtopic, NewTopic, Store};
use lectern_runtime::transport::ws::WsTransport;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// The latency target per frame.
const P99_TARGET_MS: f64 = 5.0;
const FRAMES_FOR_AUDIO_PATH: usize = 20_000;

fn main() {
    audio_path();
    let counts: Vec<usize> = std::env::var("LESSONS_BENCH_N")
        .unwrap_or_else(|_| "50,100,200,300,400,500".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let secs: u64 = std::env::var("LESSONS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(lessons(counts, secs));
}

fn per_frame_ns(mut f: impl FnMut()) -> f64 {
    for _ in 0..500 {
        f();
    }
    let start = Instant::now();
    for _ in 0..FRAMES_FOR_AUDIO_PATH {
        f();
    }
    start.elapsed().as_nanos() as f64 / FRAMES_FOR_AUDIO_PATH as f64
}

fn audio_path() {
    let mic = audio::tone(48_000, 440.0, 8000.0, audio::SAMPLES_PER_FRAME_48K, 0);
    let mut down = Downsampler::new();
    let mut out24 = Vec::with_capacity(audio::SAMPLES_PER_FRAME_24K);
    let inbound = per_frame_ns(|| {
        out24.clear();
        down.process(black_box(&mic), &mut out24);
        black_box(audio::pcm16_to_base64(&out24));
    });
    let b64 = audio::pcm16_to_base64(&audio::tone(24_000, 440.0, 8000.0, 480, 0));
    let mut up = Upsampler::new();
    let mut out48 = Vec::with_capacity(audio::SAMPLES_PER_FRAME_48K);
    let outbound = per_frame_ns(|| {
        out48.clear();
        let pcm = audio::base64_to_pcm16(black_box(&b64)).unwrap();
        up.process(&pcm, &mut out48);
        black_box(&out48);
    });
    let src = vec![7u8; audio::SAMPLES_PER_FRAME_48K * 2];
    let mut dst = vec![0u8; src.len()];
    let floor = per_frame_ns(|| {
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
    });
    println!("audio path per 20 ms frame ({FRAMES_FOR_AUDIO_PATH} frames):");
    println!(
        "  in  (48k -> 24k resample + base64 encode): {:>8.0} ns  ({:.0}x memcpy, {:.3}% of the frame's 20 ms)",
        inbound,
        inbound / floor,
        inbound / 200_000.0
    );
    println!(
        "  out (base64 decode + 24k -> 48k resample): {:>8.0} ns  ({:.0}x memcpy, {:.3}% of the frame's 20 ms)",
        outbound,
        outbound / floor,
        outbound / 200_000.0
    );
    println!(
        "  memcpy floor of the same {} bytes:        {:>8.0} ns",
        src.len(),
        floor
    );
}

fn cpu_seconds() -> f64 {
    // utime + stime (fields 14, 15) in clock ticks of 1/100 s.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e6
}

async fn lessons(counts: Vec<usize>, secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    store
        .content()
        .create_topic(&NewTopic {
            id: "t".into(),
            title: "Bench".into(),
            description: String::new(),
            position: None,
        })
        .await
        .unwrap();
    store
        .content()
        .create_subtopic(&NewSubtopic {
            id: "s".into(),
            topic_id: "t".into(),
            title: "Bench".into(),
            summary: String::new(),
            level: Level::Beginner,
            content: String::new(),
            objectives: vec![],
            key_points: vec![],
            examples: vec![],
            position: None,
        })
        .await
        .unwrap();
    let host = PluginHost::new(HostConfig::default()).unwrap();
    let metrics = Arc::new(LessonMetrics::default());
    println!(
        "\nlessons over ws against the fake Realtime server, 20 ms frames both ways, {secs} s each:"
    );
    println!("      N   CPU/lesson   in p50    in p99   out p50   out p99   frames in/out");
    let mut best = None;
    for (round, &n) in counts.iter().enumerate() {
        let script = Script {
            pace: Pace::Realtime,
            rules: vec![Rule {
                on: Trigger::SessionUpdate,
                times: 0,
                actions: vec![Action::AudioResponse {
                    transcript: "A long explanation.".into(),
                    frames: 1_000_000,
                    drop_after_frames: None,
                    barge_in_after_frames: None,
                }],
            }],
        };
        let fake = FakeRealtime::start_with(
            script,
            Options {
                stamp_frames: true,
                ..Options::default()
            },
            0,
        )
        .await
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let deps = LessonDeps {
            host: host.clone(),
            store: store.clone(),
            metrics: metrics.clone(),
        };
        let config = LessonConfig {
            realtime: RealtimeConfig::for_local(fake.url()),
            idle_nudge_ms: 3_600_000,
            ..LessonConfig::default()
        };
        let server = tokio::spawn(async move {
            let mut runs = Vec::new();
            for i in 0..n {
                let (stream, _) = listener.accept().await.unwrap();
                let _ = stream.set_nodelay(true);
                let (deps, config) = (deps.clone(), config.clone());
                runs.push(tokio::spawn(async move {
                    let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
                    let spec = LessonSpec {
                        session_id: format!("bench-{round}-{i}"),
                        learner_id: "bench".into(),
                        subtopic_id: "s".into(),
                        room: "bench".into(),
                    };
                    LessonSession::run(deps, config, spec, WsTransport::from_tungstenite(ws)).await
                }));
            }
            runs
        });
        let measure_from = Instant::now() + Duration::from_secs(1);
        let stop_at = measure_from + Duration::from_secs(secs);
        let mut browsers = Vec::new();
        for _ in 0..n {
            browsers.push(tokio::spawn(browser(
                format!("ws://{addr}/ws"),
                measure_from,
                stop_at,
            )));
        }
        tokio::time::sleep_until(tokio::time::Instant::from_std(measure_from)).await;
        let _ = fake.take_input_latencies_ns();
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let mut out_lat = Vec::new();
        for b in browsers {
            out_lat.extend(b.await.unwrap());
        }
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let mut in_lat = fake.take_input_latencies_ns();
        for run in server.await.unwrap() {
            let _ = tokio::time::timeout(Duration::from_secs(10), run).await;
        }
        in_lat.sort_unstable();
        out_lat.sort_unstable();
        let (ip50, ip99) = (percentile(&in_lat, 0.5), percentile(&in_lat, 0.99));
        let (op50, op99) = (percentile(&out_lat, 0.5), percentile(&out_lat, 0.99));
        println!(
            "{n:>7}   {:>7.2}% core  {ip50:>6.2} ms {ip99:>6.2} ms {op50:>6.2} ms {op99:>6.2} ms   {}/{}",
            cpu / wall / n as f64 * 100.0,
            in_lat.len(),
            out_lat.len()
        );
        if ip99 < P99_TARGET_MS && op99 < P99_TARGET_MS {
            best = Some(n);
        }
    }
    match best {
        Some(n) => println!("largest N with p99 < {P99_TARGET_MS} ms both ways: {n}"),
        None => println!("no N tried kept p99 < {P99_TARGET_MS} ms both ways"),
    }
}

/// A browser: sends stamped 20 ms frames in real time until `stop_at`,
/// returns the latencies of stamped tutor frames received after `from`.
async fn browser(url: String, from: Instant, stop_at: Instant) -> Vec<u64> {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut sink, mut stream) = ws.split();
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(audio::FRAME_MS as u64));
        // One period of a 200 Hz tone fits a 20 ms frame exactly.
        let frame = audio::tone(24_000, 200.0, 3000.0, audio::SAMPLES_PER_FRAME_24K, 0);
        while Instant::now() < stop_at {
            tick.tick().await;
            let mut pcm = frame.clone();
            signal::stamp(&mut pcm);
            let mut bytes = Vec::with_capacity(960);
            audio::pcm16_to_le_bytes(&pcm, &mut bytes);
            if sink.send(Message::Binary(bytes.into())).await.is_err() {
                return;
            }
        }
        let _ = sink.send(Message::text(r#"{"type":"lesson.end"}"#)).await;
    });
    let mut lat = Vec::new();
    while let Some(Ok(m)) = stream.next().await {
        if let Message::Binary(b) = m {
            let now = Instant::now();
            if now < from || now > stop_at {
                continue;
            }
            let head: Vec<i16> = b
                .chunks_exact(2)
                .take(5)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            if let Some(sent) = signal::read_stamp(&head) {
                lat.push(signal::clock_ns().saturating_sub(sent));
            }
        }
    }
    let _ = sender.await;
    lat
}
