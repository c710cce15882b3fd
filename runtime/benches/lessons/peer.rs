//! The other process: the fake Realtime server and the learners' browsers.
//!
//! On a 2-core machine every cycle the peer spends is taken from the process
//! being measured, so the peer is kept lean: all its sockets are served by
//! one thread (a `current_thread` runtime) — no wake-ups between worker
//! threads, no work stealing, no contended locks — and each browser is a
//! single task that owns its WebSocket whole (no split halves, no second
//! task). What each side sends, and when, is unchanged.
//!
//! Every stamped frame the peer receives is timed twice: by the kernel's
//! receive time of the read that completed it (`SO_TIMESTAMPNS`, see
//! `lectern_fake_realtime::rx_time`), which this thread's queueing cannot
//! delay, and when the peer's own code got to it ("peer saw"), which also
//! counts the time the frame waited while this one thread served the
//! other sockets.

use super::*;
use lectern_fake_realtime::rx_time::RxTimedStream;
use tokio::net::TcpStream;

/// Read buffer of a simulated browser's socket.
const BROWSER_READ_BUFFER_BYTES: usize = 2_048;

fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Runs the peer on a thread of its own with a single-threaded runtime; the
/// caller's runtime only waits for it.
pub async fn run() {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("peer".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(peer());
            let _ = done_tx.send(());
        })
        .unwrap();
    let _ = done_rx.await;
}

async fn peer() {
    let n: usize = std::env::var("LESSONS_BENCH_PEER_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let secs: u64 = std::env::var("LESSONS_BENCH_PEER_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
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
    say(&format!("fake {}", fake.url()));
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let Ok(Some(line)) = stdin.next_line().await else {
        return;
    };
    let Some(url) = line.strip_prefix("lectern ") else {
        say("error: expected the lesson URL");
        return;
    };
    let start = tokio::sync::watch::Sender::new(None::<(Instant, Instant)>);
    let (streaming_tx, mut streaming) = tokio::sync::mpsc::unbounded_channel();
    let mut browsers = Vec::new();
    for _ in 0..n {
        browsers.push(tokio::spawn(browser(
            url.to_string(),
            start.subscribe(),
            streaming_tx.clone(),
        )));
    }
    drop(streaming_tx);
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    for i in 0..n {
        match tokio::time::timeout_at(deadline, streaming.recv()).await {
            Ok(Some(())) => {}
            _ => {
                say(&format!("error: only {i} of {n} lessons streamed"));
                return;
            }
        }
    }
    tokio::time::sleep(WARM_UP).await;
    let measure_from = Instant::now();
    let stop_at = measure_from + Duration::from_secs(secs);
    let _ = fake.take_input_latencies();
    let cpu0 = cpu_seconds();
    start.send_replace(Some((measure_from, stop_at)));
    say("measure");
    tokio::time::sleep_until(tokio::time::Instant::from_std(stop_at)).await;
    let cpu = cpu_seconds() - cpu0;
    let input = fake.take_input_latencies();
    say("stop");
    let mut out = Timings::default();
    for b in browsers {
        if let Ok(t) = b.await {
            out.kernel_rx.extend(t.kernel_rx);
            out.seen.extend(t.seen);
            out.without_kernel_rx += t.without_kernel_rx;
            out.bytes += t.bytes;
        }
    }
    let (mut in_rx, mut in_seen) = (input.kernel_rx_ns, input.seen_ns);
    for l in [&mut in_rx, &mut in_seen, &mut out.kernel_rx, &mut out.seen] {
        l.sort_unstable();
    }
    // The order `PeerReport::parse` reads.
    say(&format!(
        "result {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
        percentile(&in_rx, 0.5),
        percentile(&in_rx, 0.99),
        percentile(&out.kernel_rx, 0.5),
        percentile(&out.kernel_rx, 0.99),
        percentile(&in_seen, 0.5),
        percentile(&in_seen, 0.99),
        percentile(&out.seen, 0.5),
        percentile(&out.seen, 0.99),
        in_rx.len(),
        out.kernel_rx.len(),
        input.without_kernel_rx,
        out.without_kernel_rx,
        cpu,
        out.bytes as f64 / out.kernel_rx.len().max(1) as f64
    ));
}

/// What one browser timed: latencies (ns from the stamp) of the stamped
/// tutor frames received in the window.
#[derive(Default)]
struct Timings {
    /// To the kernel's receive time of the read that completed the frame.
    kernel_rx: Vec<u64>,
    /// To when the browser's code got the frame.
    seen: Vec<u64>,
    /// Frames whose read had no kernel time (timed by `seen` instead).
    without_kernel_rx: usize,
    /// Bytes of the frames timed.
    bytes: u64,
}

/// Opens the browser's WebSocket to `url` (`ws://host:port/path`) over a
/// socket whose reads record their kernel receive time.
async fn connect(
    url: &str,
    config: WebSocketConfig,
) -> Option<tokio_tungstenite::WebSocketStream<RxTimedStream>> {
    let host = url.strip_prefix("ws://")?.split('/').next()?;
    let tcp = TcpStream::connect(host).await.ok()?;
    // Nagle off, as browsers do for WebSockets: small frames go out at once.
    tcp.set_nodelay(true).ok()?;
    let stream = RxTimedStream::new(tcp).ok()?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .ok()?;
    Some(ws)
}

/// A browser: streams stamped 20 ms frames in real time; once the window
/// is set, times the stamped tutor frames received in it, and ends the
/// lesson at its end.
async fn browser(
    url: String,
    mut window: tokio::sync::watch::Receiver<Option<(Instant, Instant)>>,
    streaming: tokio::sync::mpsc::UnboundedSender<()>,
) -> Timings {
    // The library zeroes its read buffer's free space before every read,
    // and it reads twice per message (the second read finds nothing): a
    // buffer just over one tutor frame (~1 KB) keeps that small.
    let config = WebSocketConfig::default().read_buffer_size(BROWSER_READ_BUFFER_BYTES);
    let mut timings = Timings::default();
    let Some(mut ws) = connect(&url, config).await else {
        return timings;
    };
    let rx_clock = ws.get_ref().clock();
    let mut tick = tokio::time::interval(Duration::from_millis(audio::FRAME_MS as u64));
    // One period of a 200 Hz tone fits a 20 ms frame exactly. Its bytes are
    // built once; each frame only writes its stamp in.
    let frame = audio::tone(24_000, 200.0, 3000.0, audio::SAMPLES_PER_FRAME_24K, 0);
    let mut frame_bytes = Vec::with_capacity(frame.len() * 2);
    audio::pcm16_to_le_bytes(&frame, &mut frame_bytes);
    let mut announced = false;
    let mut sending = true;
    // The measuring window, once set (it is set once and never changes).
    let mut measured: Option<(Instant, Instant)> = None;
    loop {
        tokio::select! {
            _ = tick.tick(), if sending => {
                if measured.is_none() {
                    measured = *window.borrow_and_update();
                }
                if let Some((_, stop_at)) = measured
                    && Instant::now() >= stop_at
                {
                    sending = false;
                    if ws.send(Message::text(r#"{"type":"lesson.end"}"#)).await.is_err() {
                        break;
                    }
                    continue;
                }
                let mut head = [0i16; 5];
                let mut bytes = frame_bytes.clone();
                // Stamped last thing before the frame is written.
                signal::stamp(&mut head);
                for (b, s) in bytes.chunks_exact_mut(2).zip(head) {
                    b.copy_from_slice(&s.to_le_bytes());
                }
                // The socket takes the frame at once unless Lectern stops
                // reading; a browser's send queue would hold it meanwhile.
                if ws.send(Message::Binary(bytes.into())).await.is_err() {
                    sending = false;
                }
            }
            m = ws.next() => {
                let b = match m {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => break,
                };
                let now_ns = signal::clock_ns();
                // No read happened since the one that completed this frame:
                // the library returns a message as soon as it has it whole.
                let received_ns = rx_clock.last_ns();
                if !announced {
                    announced = true;
                    let _ = streaming.send(());
                }
                if measured.is_none() {
                    measured = *window.borrow_and_update();
                }
                let Some((from, stop_at)) = measured else {
                    continue;
                };
                let now = Instant::now();
                if now < from || now > stop_at {
                    continue;
                }
                let mut head = [0i16; 5];
                for (s, c) in head.iter_mut().zip(b.chunks_exact(2)) {
                    *s = i16::from_le_bytes([c[0], c[1]]);
                }
                if let Some(sent) = signal::read_stamp(&head) {
                    if received_ns.is_none() {
                        timings.without_kernel_rx += 1;
                    }
                    timings
                        .kernel_rx
                        .push(received_ns.unwrap_or(now_ns).saturating_sub(sent));
                    timings.seen.push(now_ns.saturating_sub(sent));
                    timings.bytes += b.len() as u64;
                }
            }
        }
    }
    timings
}
