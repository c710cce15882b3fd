//! The connection task: one WebSocket run inside a reconnect loop.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt;
use futures::stream::SplitStream;
use lectern_outbox::Outbox;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::config::RealtimeConfig;
use super::error::RealtimeError;
use super::history::History;
use super::protocol::{AudioDeltaView, ClientEvent, ServerEvent, event_type};
use crate::transport::trace;

/// Server events buffered for the owner before the socket read waits.
pub const EVENT_CHANNEL_CAPACITY: usize = 1024;
/// How long `close` waits for the socket to close cleanly.
pub const CLOSE_TIMEOUT_MS: u64 = 1_000;
/// Read buffer of the Realtime socket: one audio delta (~1.45 KB) per read.
/// The library zeroes this much before every read, even one that finds
/// nothing, so a larger buffer costs a memset per frame and buys nothing;
/// larger events take a few reads.
const READ_BUFFER_BYTES: usize = 2_048;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the owner of a [`RealtimeClient`] receives.
// Server events are the hot path (50 audio deltas a second per lesson);
// boxing them would allocate for each to shrink the rare variants.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum RealtimeEvent {
    /// A server event, in arrival order.
    Server(ServerEvent),
    /// The connection dropped; a reconnect is scheduled.
    Reconnecting {
        /// 1-based attempt number.
        attempt: u32,
        /// Delay before the attempt.
        delay_ms: u64,
        /// Why the previous connection ended.
        error: RealtimeError,
    },
    /// A new connection is up and the conversation was replayed.
    Reconnected {
        /// Items replayed.
        replayed_items: usize,
        /// A response was cut off by the drop (or requested while down): the
        /// owner should ask for a new one.
        response_interrupted: bool,
    },
    /// The client gave up; no more events follow.
    Failed(RealtimeError),
}

enum Command {
    Send(Box<ClientEvent>),
    Close,
}

/// The socket audio appends are written to.
enum Link {
    /// Not connected (yet, or while reconnecting): audio is dropped, as it
    /// cannot be replayed.
    Down,
    Up(Arc<Outbox<Message>>),
    /// The connection task ended.
    Ended,
}

impl Link {
    /// Writes an append straight into the socket, in the caller's task.
    fn append(&self, text: impl FnOnce() -> String) -> Result<(), RealtimeError> {
        match self {
            // A write that fails ends the connection's run, which reconnects.
            Link::Up(out) => {
                let _ = out.send(Message::text(text()));
                Ok(())
            }
            Link::Down => Ok(()),
            Link::Ended => Err(RealtimeError::Closed),
        }
    }
}

/// Appends learner audio to a Realtime connection from another task (the
/// transport's reader): microphone frames go into the socket from there,
/// with no hop through the session or the connection task. Sends fail once
/// the connection is closed.
#[derive(Clone)]
pub struct AudioSink {
    /// Keeps the connection open while the sink lives.
    _commands: mpsc::UnboundedSender<Command>,
    link: Arc<Mutex<Link>>,
}

impl AudioSink {
    /// Appends learner audio (PCM16 mono, 24 kHz).
    pub fn append(&self, pcm: &[i16]) -> Result<(), RealtimeError> {
        self.link
            .lock()
            .expect("link lock")
            .append(|| append_event(pcm))
    }

    /// Appends learner audio given as PCM16 little-endian bytes (an even count).
    pub fn append_le_bytes(&self, bytes: &[u8]) -> Result<(), RealtimeError> {
        self.link
            .lock()
            .expect("link lock")
            .append(|| append_event_le(bytes))
    }
}

impl std::fmt::Debug for AudioSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AudioSink")
    }
}

/// Plays tutor audio from the connection task, skipping the hop through
/// the owner for each 20 ms frame (see [`RealtimeClient::play_audio_directly`]).
pub trait DirectAudio: Send + Sync {
    /// Plays `delta` (base64 PCM16) of `item_id` now and returns true, or
    /// returns false and the delta goes to the owner as an event, in order.
    fn try_play(&self, item_id: &str, delta: &str) -> bool;
}

type DirectSlot = Arc<OnceLock<Arc<dyn DirectAudio>>>;

/// Handle on a Realtime connection. Dropping it closes the connection
/// (once no [`AudioSink`] of it is left).
pub struct RealtimeClient {
    commands: mpsc::UnboundedSender<Command>,
    history: Arc<Mutex<History>>,
    link: Arc<Mutex<Link>>,
    direct: DirectSlot,
    task: JoinHandle<()>,
}

impl RealtimeClient {
    /// Connects (retrying retryable failures with backoff) and returns the
    /// handle and its event stream. Fails at once on fatal errors.
    pub async fn connect(
        config: RealtimeConfig,
    ) -> Result<(Self, mpsc::Receiver<RealtimeEvent>), RealtimeError> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let history = Arc::new(Mutex::new(History::default()));
        let link = Arc::new(Mutex::new(Link::Down));
        let direct = DirectSlot::default();
        let (ready_tx, ready_rx) = oneshot::channel();
        let task = tokio::spawn(run(
            config,
            command_rx,
            events,
            history.clone(),
            link.clone(),
            direct.clone(),
            ready_tx,
        ));
        match ready_rx.await {
            Ok(Ok(())) => Ok((
                RealtimeClient {
                    commands,
                    history,
                    link,
                    direct,
                    task,
                },
                event_rx,
            )),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RealtimeError::Closed),
        }
    }

    /// Sends a client event (queued while reconnecting; items and the session
    /// configuration are kept for replay).
    pub fn send(&self, event: ClientEvent) -> Result<(), RealtimeError> {
        self.history
            .lock()
            .expect("history lock")
            .on_client_event(&event);
        self.commands
            .send(Command::Send(Box::new(event)))
            .map_err(|_| RealtimeError::Closed)
    }

    /// From now on, every `response.output_audio.delta` is first offered
    /// to `direct`, in the connection task; only those it declines reach
    /// the event stream. Set once; a second call is ignored.
    pub fn play_audio_directly(&self, direct: Arc<dyn DirectAudio>) {
        let _ = self.direct.set(direct);
    }

    /// A handle that appends learner audio from another task.
    pub fn audio_sink(&self) -> AudioSink {
        AudioSink {
            _commands: self.commands.clone(),
            link: self.link.clone(),
        }
    }

    /// Appends learner audio (PCM16 mono, 24 kHz).
    pub fn append_audio(&self, pcm: &[i16]) -> Result<(), RealtimeError> {
        self.link
            .lock()
            .expect("link lock")
            .append(|| append_event(pcm))
    }

    /// Cuts a tutor reply at what the learner heard: sends
    /// `conversation.item.truncate` when `audio_end_ms > 0` and keeps `heard`
    /// as the reply's text for replay.
    pub fn truncate(
        &self,
        item_id: &str,
        audio_end_ms: u32,
        heard: &str,
    ) -> Result<(), RealtimeError> {
        self.history
            .lock()
            .expect("history lock")
            .set_heard(item_id, heard);
        if audio_end_ms == 0 {
            return Ok(());
        }
        self.commands
            .send(Command::Send(Box::new(
                ClientEvent::ConversationItemTruncate {
                    item_id: item_id.to_string(),
                    content_index: 0,
                    audio_end_ms,
                },
            )))
            .map_err(|_| RealtimeError::Closed)
    }

    /// Items that a reconnect would replay.
    pub fn history_len(&self) -> usize {
        self.history.lock().expect("history lock").len()
    }

    /// Closes the connection and waits for the task to end.
    pub async fn close(mut self) {
        self.shutdown().await;
    }

    /// Closes the connection in place; later sends fail with `Closed`.
    pub async fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Close);
        let _ = tokio::time::timeout(Duration::from_millis(CLOSE_TIMEOUT_MS), &mut self.task).await;
    }
}

enum RunEnd {
    /// The owner closed the client.
    Closed,
    Fatal(RealtimeError),
    Dropped {
        error: RealtimeError,
        response_in_flight: bool,
    },
}

/// Marks the link ended however the connection task ends.
struct EndLink(Arc<Mutex<Link>>);

impl Drop for EndLink {
    fn drop(&mut self) {
        *self.0.lock().expect("link lock") = Link::Ended;
    }
}

async fn run(
    config: RealtimeConfig,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<RealtimeEvent>,
    history: Arc<Mutex<History>>,
    link: Arc<Mutex<Link>>,
    direct: DirectSlot,
    ready: oneshot::Sender<Result<(), RealtimeError>>,
) {
    let _end = EndLink(link.clone());
    let mut ready = Some(ready);
    let mut failures: u32 = 0;
    let mut interrupted = false;
    loop {
        let error = match open(&config).await {
            Ok(ws) => {
                failures = 0;
                let (sink, mut stream) = ws.split();
                let out = Outbox::new(sink, |e: tungstenite::Error| e.to_string());
                let writer = out.run();
                tokio::pin!(writer);
                // The replay goes first; audio joins once the link is up.
                let replay = if ready.is_none() {
                    let replay = history.lock().expect("history lock").replay();
                    let ok = replay.iter().all(|ev| out.send(to_message(ev)).is_ok());
                    Some((replay.len().saturating_sub(1), ok))
                } else {
                    None
                };
                *link.lock().expect("link lock") = Link::Up(out.clone());
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                } else if let Some((replayed_items, true)) = replay {
                    tracing::info!(replayed_items, "realtime reconnected");
                    if events
                        .send(RealtimeEvent::Reconnected {
                            replayed_items,
                            response_interrupted: std::mem::take(&mut interrupted),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                let end = pump(
                    &mut stream,
                    &out,
                    writer.as_mut(),
                    &mut commands,
                    &events,
                    &history,
                    &direct,
                )
                .await;
                *link.lock().expect("link lock") = Link::Down;
                match end {
                    RunEnd::Closed => return,
                    RunEnd::Fatal(e) => {
                        let _ = events.send(RealtimeEvent::Failed(e)).await;
                        return;
                    }
                    RunEnd::Dropped {
                        error,
                        response_in_flight,
                    } => {
                        interrupted |= response_in_flight;
                        error
                    }
                }
            }
            Err(e) if !e.is_retryable() => {
                match ready.take() {
                    Some(r) => {
                        let _ = r.send(Err(e));
                    }
                    None => {
                        let _ = events.send(RealtimeEvent::Failed(e)).await;
                    }
                }
                return;
            }
            Err(e) => e,
        };
        failures += 1;
        if failures > config.reconnect_max_attempts {
            let e = RealtimeError::GaveUp {
                attempts: failures - 1,
                last: error.to_string(),
            };
            match ready.take() {
                Some(r) => {
                    let _ = r.send(Err(e));
                }
                None => {
                    let _ = events.send(RealtimeEvent::Failed(e)).await;
                }
            }
            return;
        }
        let delay_ms = config.backoff_ms(failures);
        tracing::warn!(attempt = failures, delay_ms, error = %error, "realtime connection lost");
        if ready.is_none()
            && events
                .send(RealtimeEvent::Reconnecting {
                    attempt: failures,
                    delay_ms,
                    error,
                })
                .await
                .is_err()
        {
            return;
        }
        // While down, history is already kept by `send`; audio cannot be
        // replayed and is dropped; a requested response is asked for again
        // by the owner after the reconnect.
        let sleep = tokio::time::sleep(Duration::from_millis(delay_ms));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Close) => return,
                    Some(Command::Send(ev)) if matches!(*ev, ClientEvent::ResponseCreate { .. }) => interrupted = true,
                    Some(_) => {}
                },
            }
        }
    }
}

/// Closes the socket (flushing what is queued) within [`CLOSE_TIMEOUT_MS`].
async fn close_socket(
    out: &Outbox<Message>,
    writer: Pin<&mut impl Future<Output = Result<(), String>>>,
) {
    out.close(None);
    let _ = tokio::time::timeout(Duration::from_millis(CLOSE_TIMEOUT_MS), writer).await;
}

async fn pump(
    stream: &mut SplitStream<Socket>,
    out: &Outbox<Message>,
    mut writer: Pin<&mut impl Future<Output = Result<(), String>>>,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    events: &mpsc::Sender<RealtimeEvent>,
    history: &Mutex<History>,
    direct: &OnceLock<Arc<dyn DirectAudio>>,
) -> RunEnd {
    let mut response_in_flight = false;
    let dropped = |error: RealtimeError, response_in_flight: bool| RunEnd::Dropped {
        error,
        response_in_flight,
    };
    loop {
        // In this order, and only as far as needed: while server events are
        // waiting, each turn of the loop reads one without polling the
        // commands or the writer (which a random order would, for every
        // 20 ms audio delta). Commands still go out within a read: the
        // socket's reads yield to them once drained or out of budget.
        tokio::select! {
            biased;
            msg = stream.next() => {
                let read_ns = trace::on().then(trace::clock_ns);
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map(|f| (f.code, f.reason.to_string()))
                            .unwrap_or((CloseCode::Abnormal, String::new()));
                        let detail = format!("closed by server: {code} {reason}");
                        if code == CloseCode::Policy {
                            return RunEnd::Fatal(RealtimeError::InvalidRequest(detail));
                        }
                        return dropped(RealtimeError::Network(detail), response_in_flight);
                    }
                    Some(Ok(Message::Ping(_))) => {
                        // tungstenite queues the pong; flushing sends it.
                        out.flush();
                        continue;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        return dropped(RealtimeError::Network(e.to_string()), response_in_flight);
                    }
                    None => {
                        return dropped(
                            RealtimeError::Network("connection ended".into()),
                            response_in_flight,
                        );
                    }
                };
                // Audio played straight from here is read in place: no copy
                // of its ~1.3 KB of base64 into an event nobody receives.
                let delta = direct
                    .get()
                    .and_then(|d| Some((d, AudioDeltaView::parse(text.as_str())?)));
                let parsed = match delta {
                    Some((d, view)) => {
                        let stamp = read_ns.and_then(|_| trace::stamp_base64(view.delta()));
                        if let Some(at) = read_ns {
                            trace::record_at(trace::Stage::OutRead, stamp, at);
                        }
                        if d.try_play(view.item_id(), view.delta()) {
                            trace::record(trace::Stage::OutWritten, stamp);
                            if let Some(at) = read_ns {
                                trace::record_inside(true, at);
                            }
                            continue;
                        }
                        Ok(view.into_event())
                    }
                    None => ServerEvent::parse(text.as_str()),
                };
                let event = match parsed {
                    Ok(ServerEvent::Unknown) => {
                        tracing::debug!(kind = ?event_type(text.as_str()), "unhandled realtime event");
                        continue;
                    }
                    Ok(ev) => ev,
                    Err(e) => {
                        tracing::warn!(kind = ?event_type(text.as_str()), error = %e, "malformed realtime event ignored");
                        continue;
                    }
                };
                match &event {
                    ServerEvent::ResponseCreated { .. } => response_in_flight = true,
                    ServerEvent::ResponseDone { .. } => response_in_flight = false,
                    _ => {}
                }
                // Audio is never replayed: no need to take the lock for it.
                if !matches!(event, ServerEvent::ResponseOutputAudioDelta { .. }) {
                    history.lock().expect("history lock").on_server_event(&event);
                }
                let fatal = match &event {
                    ServerEvent::Error { error } => RealtimeError::from_error_event(
                        &error.kind,
                        error.code.as_deref(),
                        &error.message,
                    ),
                    _ => None,
                };
                if events.send(RealtimeEvent::Server(event)).await.is_err() {
                    close_socket(out, writer.as_mut()).await;
                    return RunEnd::Closed;
                }
                match fatal {
                    Some(e) if e.is_retryable() => return dropped(e, response_in_flight),
                    Some(e) => {
                        close_socket(out, writer.as_mut()).await;
                        return RunEnd::Fatal(e);
                    }
                    None => {}
                }
            }
            cmd = commands.recv() => {
                let ev = match cmd {
                    None | Some(Command::Close) => {
                        close_socket(out, writer.as_mut()).await;
                        return RunEnd::Closed;
                    }
                    Some(Command::Send(ev)) => ev,
                };
                if let Err(e) = out.send(to_message(&ev)) {
                    return dropped(RealtimeError::Network(e), response_in_flight);
                }
            }
            end = writer.as_mut() => {
                let detail = end.err().unwrap_or_else(|| "connection ended".into());
                return dropped(RealtimeError::Network(detail), response_in_flight);
            }
        }
    }
}

/// `input_audio_buffer.append` text for `pcm`, built in one allocation: this
/// runs 50 times a second per lesson.
pub fn append_event(pcm: &[i16]) -> String {
    let mut text = String::with_capacity(
        APPEND_HEAD.len() + (pcm.len() * 2).div_ceil(3) * 4 + APPEND_TAIL.len(),
    );
    text.push_str(APPEND_HEAD);
    // Little-endian bytes a chunk at a time, on the stack; chunks of a
    // multiple of 3 bytes keep the base64 of the pieces equal to the whole's.
    let mut buf = [0u8; 960];
    let mut pending = 0;
    let encode = |buf: &[u8], text: &mut String| {
        base64::engine::general_purpose::STANDARD.encode_string(buf, text);
    };
    for &s in pcm {
        buf[pending..pending + 2].copy_from_slice(&s.to_le_bytes());
        pending += 2;
        if pending == buf.len() {
            encode(&buf, &mut text);
            pending = 0;
        }
    }
    if pending > 0 {
        encode(&buf[..pending], &mut text);
    }
    text.push_str(APPEND_TAIL);
    text
}

/// `input_audio_buffer.append` text for PCM16 little-endian `bytes`.
pub fn append_event_le(bytes: &[u8]) -> String {
    let mut text =
        String::with_capacity(APPEND_HEAD.len() + bytes.len().div_ceil(3) * 4 + APPEND_TAIL.len());
    text.push_str(APPEND_HEAD);
    base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut text);
    text.push_str(APPEND_TAIL);
    text
}

const APPEND_HEAD: &str = r#"{"type":"input_audio_buffer.append","audio":""#;
const APPEND_TAIL: &str = r#""}"#;

fn to_message(ev: &ClientEvent) -> Message {
    Message::text(serde_json::to_string(ev).expect("client events always serialise"))
}

async fn open(config: &RealtimeConfig) -> Result<Socket, RealtimeError> {
    let endpoint = config.endpoint();
    let mut request = endpoint
        .as_str()
        .into_client_request()
        .map_err(|e| RealtimeError::InvalidRequest(format!("bad Realtime URL: {e}")))?;
    if let Some(key) = &config.api_key {
        let value = format!("Bearer {key}")
            .parse()
            .map_err(|_| RealtimeError::Auth("the API key is not a valid header value".into()))?;
        request
            .headers_mut()
            .insert(tungstenite::http::header::AUTHORIZATION, value);
    }
    let connector = if endpoint.starts_with("wss:") {
        Some(Connector::Rustls(crate::tls::client_config()))
    } else {
        None
    };
    // The library's default read buffer (128 KiB) is zeroed on every read;
    // events are a few KB at most (audio deltas ~1.4 KB) and larger ones
    // grow the buffer as needed.
    let socket = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(socket), true, connector);
    match tokio::time::timeout(Duration::from_millis(config.connect_timeout_ms), connecting).await {
        Err(_) => Err(RealtimeError::Network(format!(
            "no answer within {} ms",
            config.connect_timeout_ms
        ))),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err(RealtimeError::from_http_status(
                response.status().as_u16(),
                &body,
            ))
        }
        Ok(Err(tungstenite::Error::Url(e))) => Err(RealtimeError::InvalidRequest(format!(
            "bad Realtime URL: {e}"
        ))),
        Ok(Err(e)) => Err(RealtimeError::Network(e.to_string())),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    #[test]
    fn append_events_carry_the_base64_of_the_little_endian_audio() {
        for len in [0usize, 1, 2, 479, 480, 481, 1000] {
            let pcm: Vec<i16> = (0..len).map(|i| (i as i16).wrapping_mul(-307)).collect();
            let text = append_event(&pcm);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["type"], "input_audio_buffer.append");
            let mut bytes = Vec::new();
            for s in &pcm {
                bytes.extend_from_slice(&s.to_le_bytes());
            }
            assert_eq!(
                v["audio"],
                base64::engine::general_purpose::STANDARD.encode(&bytes),
                "{len} samples"
            );
            assert_eq!(append_event_le(&bytes), text);
        }
    }
}
