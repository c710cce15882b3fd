//! A stand-in for the OpenAI Realtime API (GA protocol) for tests.
//!
//! It listens on a local port, speaks the GA server events (same names and
//! fields), follows a [`Script`] of rules ("on this client event, do these
//! things") and records every event the client sent, so tests assert on the
//! exact client events. It can cut the connection mid-response, answer
//! truncation (refusing an `audio_end_ms` beyond the audio it sent, as the
//! real API does), send errors and rate limits.
//!
//! The client side under test is Lectern's production Realtime client; this
//! crate deliberately shares no protocol types with it.
#![deny(missing_docs)]

mod connection;
pub mod rx_time;
pub mod script;
pub mod signal;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use script::{Action, Pace, Rule, Script, Trigger};

/// How the fake behaves beyond its script.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Refuse connections (HTTP 401) whose bearer token is not this.
    pub require_key: Option<String>,
    /// Write a time stamp into each audio delta and read the stamps of
    /// appended learner audio (benchmarks measure latency with them). Each
    /// stamp read is timed twice: by the kernel's receive time of the read
    /// that completed its append (accepted sockets then read through
    /// [`rx_time::RxTimedStream`]), and when the fake's code got to it.
    pub stamp_frames: bool,
    /// Keep `input_audio_buffer.append` events in the record (their audio is
    /// always replaced by its byte count).
    pub record_audio: bool,
}

/// Latencies of stamped learner frames (see [`Options::stamp_frames`]), in ns
/// from the stamp.
#[derive(Debug, Clone, Default)]
pub struct InputLatencies {
    /// To the kernel's receive time of the read that completed the append
    /// carrying the frame (see [`rx_time`]): what the fake's own scheduling
    /// does not touch.
    pub kernel_rx_ns: Vec<u64>,
    /// To when the fake's code read the stamp: also counts the time the
    /// append waited in the socket for the fake.
    pub seen_ns: Vec<u64>,
    /// Frames whose read carried no kernel receive time; their entry in
    /// `kernel_rx_ns` is the (later) time the fake read them instead.
    pub without_kernel_rx: usize,
}

/// One client event as the fake received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// 0-based connection number.
    pub connection: usize,
    /// The event; for `input_audio_buffer.append`, `audio` is replaced by
    /// `audio_bytes`.
    pub event: Value,
}

pub(crate) struct Shared {
    pub(crate) rules: Mutex<Vec<(Rule, u32)>>,
    pub(crate) pace: Pace,
    pub(crate) options: Options,
    pub(crate) recorded: Mutex<Vec<Recorded>>,
    pub(crate) changed: Notify,
    pub(crate) connections: AtomicUsize,
    pub(crate) auth: Mutex<Vec<Option<String>>>,
    pub(crate) uris: Arc<Mutex<Vec<String>>>,
    pub(crate) input_latency: Mutex<InputLatencies>,
    pub(crate) audio_appends: AtomicUsize,
}

impl Shared {
    /// The actions of the first rule for `trigger` with uses left.
    pub(crate) fn fire(&self, trigger: &Trigger) -> Option<Vec<Action>> {
        let mut rules = self.rules.lock().expect("rules lock");
        for (rule, used) in rules.iter_mut() {
            if &rule.on == trigger && (rule.times == 0 || *used < rule.times) {
                *used += 1;
                return Some(rule.actions.clone());
            }
        }
        None
    }

    pub(crate) fn record(&self, connection: usize, event: Value) {
        self.recorded
            .lock()
            .expect("record lock")
            .push(Recorded { connection, event });
        self.changed.notify_waiters();
    }
}

/// A running fake server. Dropping it stops accepting connections.
pub struct FakeRealtime {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for FakeRealtime {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeRealtime {
    /// Starts on a free local port.
    pub async fn start(script: Script) -> anyhow::Result<Self> {
        Self::start_with(script, Options::default(), 0).await
    }

    /// Starts with options on `port` (0 for a free one).
    pub async fn start_with(script: Script, options: Options, port: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            rules: Mutex::new(script.rules.into_iter().map(|r| (r, 0)).collect()),
            pace: script.pace,
            options,
            recorded: Mutex::new(Vec::new()),
            changed: Notify::new(),
            connections: AtomicUsize::new(0),
            auth: Mutex::new(Vec::new()),
            uris: Arc::default(),
            input_latency: Mutex::default(),
            audio_appends: AtomicUsize::new(0),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let id = accept_shared.connections.fetch_add(1, Ordering::SeqCst);
                if !accept_shared.options.stamp_frames {
                    tokio::spawn(connection::serve(stream, accept_shared.clone(), id, None));
                    continue;
                }
                match rx_time::RxTimedStream::new(stream) {
                    Ok(stream) => {
                        let clock = stream.clock();
                        tokio::spawn(connection::serve(
                            stream,
                            accept_shared.clone(),
                            id,
                            Some(clock),
                        ));
                    }
                    Err(e) => tracing::warn!("connection {id} refused: no receive times: {e}"),
                }
            }
        });
        Ok(FakeRealtime { addr, shared, task })
    }

    /// The URL to point a Realtime client at.
    pub fn url(&self) -> String {
        format!("ws://{}/v1/realtime", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a rule after the existing ones.
    pub fn add_rule(&self, rule: Rule) {
        self.shared
            .rules
            .lock()
            .expect("rules lock")
            .push((rule, 0));
    }

    /// Connections accepted so far (including refused ones).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The `Authorization` header of each connection, in order.
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.shared.auth.lock().expect("auth lock").clone()
    }

    /// The request URI (path and query, e.g. `/v1/realtime?model=…`) of each
    /// connection's handshake, in order.
    pub fn request_uris(&self) -> Vec<String> {
        self.shared.uris.lock().expect("uri lock").clone()
    }

    /// Everything recorded so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().expect("record lock").clone()
    }

    /// Recorded events other than audio appends, in order.
    pub fn client_events(&self) -> Vec<Value> {
        self.recorded()
            .into_iter()
            .map(|r| r.event)
            .filter(|e| e["type"] != "input_audio_buffer.append")
            .collect()
    }

    /// Recorded events of one type.
    pub fn events_of(&self, kind: &str) -> Vec<Value> {
        self.recorded()
            .into_iter()
            .map(|r| r.event)
            .filter(|e| e["type"] == kind)
            .collect()
    }

    /// `input_audio_buffer.append` events received (recorded or not).
    pub fn audio_appends(&self) -> usize {
        self.shared.audio_appends.load(Ordering::SeqCst)
    }

    /// Latencies of stamped learner frames, taken and cleared.
    pub fn take_input_latencies(&self) -> InputLatencies {
        std::mem::take(&mut *self.shared.input_latency.lock().expect("latency lock"))
    }

    /// Waits until at least `count` events of type `kind` were received.
    pub async fn wait_for(
        &self,
        kind: &str,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Value>> {
        self.wait_until(timeout, |events| {
            let found: Vec<Value> = events
                .iter()
                .filter(|r| r.event["type"] == kind)
                .map(|r| r.event.clone())
                .collect();
            (found.len() >= count).then_some(found)
        })
        .await
        .map_err(|e| anyhow::anyhow!("waiting for {count} x {kind}: {e}"))
    }

    /// Waits until `check` returns `Some` on the record.
    pub async fn wait_until<T>(
        &self,
        timeout: Duration,
        mut check: impl FnMut(&[Recorded]) -> Option<T>,
    ) -> anyhow::Result<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let rec = self.shared.recorded.lock().expect("record lock");
                if let Some(v) = check(&rec) {
                    return Ok(v);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let kinds: Vec<String> = self
                    .client_events()
                    .iter()
                    .map(|e| e["type"].as_str().unwrap_or("?").to_string())
                    .collect();
                anyhow::bail!("timed out; client sent {kinds:?}");
            }
        }
    }
}
