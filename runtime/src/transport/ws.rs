//! The `ws` transport: the browser talks to Lectern over one WebSocket.
//!
//! Binary frames carry PCM16 little-endian mono 24 kHz audio both ways; text
//! frames carry one JSON event each (see `docs/ws-protocol.md`). The transport
//! works over any stream/sink of [`WsFrame`]s so the HTTP server (axum) and
//! tests (tokio-tungstenite) can both hand it their socket.
//!
//! Playout happens in the browser, which alone knows what the learner heard:
//! on `audio.clear` it stops at once and answers `playout.position` with the
//! milliseconds played of the item. Should that answer not come in time, the
//! wall-clock time since the item's first frame (capped by what was sent)
//! stands in for it.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Sink, SinkExt, Stream, StreamExt};
use lectern_outbox::Outbox;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::trace;
use super::{AudioPlayer, ErrorBody, LearnerInput, LessonEvent, Transport, TransportError};
use crate::audio::{self, Framer, SAMPLES_PER_FRAME_24K};
use crate::realtime::AudioSink;

/// Largest binary message accepted from the browser (1 s of audio).
pub const MAX_AUDIO_MESSAGE_BYTES: usize = 48_000;
/// Largest text message accepted from the browser.
pub const MAX_TEXT_MESSAGE_BYTES: usize = 8_192;
/// Longest typed learner message, in characters.
pub const MAX_TEXT_INPUT_CHARS: usize = 2_000;
/// Learner inputs queued for the session before the socket read waits
/// (5 s of 20 ms frames).
pub const INPUT_QUEUE_FRAMES: usize = 256;
/// How long `interrupt` waits for the browser's `playout.position`.
pub const INTERRUPT_REPORT_TIMEOUT_MS: u64 = 300;
/// How long `close` waits for queued frames to go out.
pub const CLOSE_FLUSH_TIMEOUT_MS: u64 = 1_000;
/// Read buffer of a lesson socket. Frames are ~1 KB; the WebSocket
/// library zeroes its read buffer before every read (its default, 128 KiB,
/// at hundreds of lessons costs more than everything else on the audio
/// path), so it holds one frame and little more.
pub const READ_BUFFER_BYTES: usize = 2_048;

/// WebSocket settings for a lesson socket served with tokio-tungstenite.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(MAX_AUDIO_MESSAGE_BYTES.max(MAX_TEXT_MESSAGE_BYTES)))
}

/// One WebSocket message, independent of the WebSocket library.
#[derive(Debug, Clone, PartialEq)]
pub enum WsFrame {
    /// A text message (one JSON event).
    Text(String),
    /// A binary message (PCM16 audio).
    Binary(Bytes),
    /// The peer is closing.
    Close,
    /// Ping, pong or anything else the transport ignores.
    Other,
}

/// A JSON event from the browser.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum ClientMessage {
    #[serde(rename = "text.input")]
    TextInput { text: String },
    #[serde(rename = "playout.position")]
    PlayoutPosition { item_id: String, played_ms: f64 },
    #[serde(rename = "input.mute")]
    Mute { muted: bool },
    #[serde(rename = "lesson.end")]
    End,
}

#[derive(Default)]
struct Reports {
    /// Latest `playout.position`: item, ms, sequence number.
    last: Option<(String, u32, u64)>,
    seq: u64,
}

struct Shared {
    reports: Mutex<Reports>,
    changed: Notify,
    /// Where microphone frames go once the session asked for it.
    audio_sink: OnceLock<AudioSink>,
}

/// The tutor's current item, for clamping and the fallback estimate.
struct Playing {
    item_id: String,
    sent_samples: usize,
    first_sent: Instant,
    cleared: bool,
}

/// A lesson's WebSocket to the browser.
pub struct WsTransport {
    input: mpsc::Receiver<LearnerInput>,
    out: Arc<Outbox<WsFrame>>,
    shared: Arc<Shared>,
    /// Shared with the [`AudioPlayer`]; frames are written into the socket
    /// under its lock, so none slips in after an `audio.clear`.
    playing: Arc<Mutex<Option<Playing>>>,
    reader: JoinHandle<()>,
    writer: Option<JoinHandle<()>>,
}

impl Drop for WsTransport {
    fn drop(&mut self) {
        self.reader.abort();
        // The writer closes the socket and ends.
        self.out.close(None);
    }
}

impl WsTransport {
    /// Takes over a socket of [`WsFrame`]s.
    pub fn new<S, E>(socket: S) -> Self
    where
        S: Stream<Item = Result<WsFrame, E>> + Sink<WsFrame> + Send + 'static,
        E: Send + 'static,
    {
        let (sink, mut stream) = socket.split();
        // Frames are written by whichever task produces them (the session
        // for tutor audio and events, the reader for error replies); the
        // writer task only finishes what the socket could not take at once.
        let out = Outbox::new(sink, |_| "the learner's connection failed".to_string());
        let (input_tx, input) = mpsc::channel(INPUT_QUEUE_FRAMES);
        let shared = Arc::new(Shared {
            reports: Mutex::new(Reports::default()),
            changed: Notify::new(),
            audio_sink: OnceLock::new(),
        });
        let writer = tokio::spawn({
            let out = out.clone();
            async move {
                let _ = out.run().await;
            }
        });
        let reader_shared = shared.clone();
        let errors = out.clone();
        let reader = tokio::spawn(async move {
            let mut framer = Framer::new(SAMPLES_PER_FRAME_24K);
            while let Some(Ok(frame)) = stream.next().await {
                let fault = match frame {
                    WsFrame::Binary(bytes) => {
                        let read_ns = trace::on().then(trace::clock_ns);
                        let stamp = read_ns.and_then(|_| trace::stamp_le(&bytes));
                        if let Some(at) = read_ns {
                            trace::record_at(trace::Stage::InRead, stamp, at);
                        }
                        let r = on_audio(
                            &bytes,
                            &mut framer,
                            &input_tx,
                            reader_shared.audio_sink.get(),
                        )
                        .await;
                        trace::record(trace::Stage::InWritten, stamp);
                        if let Some(at) = read_ns {
                            trace::record_inside(false, at);
                        }
                        r
                    }
                    WsFrame::Text(text) => on_text(&text, &input_tx, &reader_shared).await,
                    WsFrame::Close => break,
                    WsFrame::Other => Ok(()),
                };
                match fault {
                    Ok(()) => {}
                    Err(None) => break,
                    Err(Some(error)) => {
                        tracing::debug!(code = %error.code, "bad message from the browser");
                        let _ = errors.send(text_frame(&LessonEvent::Error { error }));
                    }
                }
            }
        });
        WsTransport {
            input,
            out,
            shared,
            playing: Arc::new(Mutex::new(None)),
            reader,
            writer: Some(writer),
        }
    }

    /// Takes over a tokio-tungstenite server or client socket.
    pub fn from_tungstenite<T>(ws: WebSocketStream<T>) -> Self
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let socket = ws
            .map(|m| m.map(frame_from_tungstenite))
            .with(|f: WsFrame| {
                futures::future::ready(Ok::<_, tokio_tungstenite::tungstenite::Error>(
                    frame_to_tungstenite(f),
                ))
            });
        WsTransport::new(socket)
    }
}

/// tokio-tungstenite message -> [`WsFrame`].
pub fn frame_from_tungstenite(m: Message) -> WsFrame {
    match m {
        Message::Text(t) => WsFrame::Text(t.as_str().to_owned()),
        Message::Binary(b) => WsFrame::Binary(b),
        Message::Close(_) => WsFrame::Close,
        _ => WsFrame::Other,
    }
}

/// [`WsFrame`] -> tokio-tungstenite message.
pub fn frame_to_tungstenite(f: WsFrame) -> Message {
    match f {
        WsFrame::Text(t) => Message::text(t),
        WsFrame::Binary(b) => Message::Binary(b),
        WsFrame::Close => Message::Close(None),
        WsFrame::Other => Message::Pong(Bytes::new()),
    }
}

fn text_frame(event: &LessonEvent) -> WsFrame {
    WsFrame::Text(serde_json::to_string(event).expect("lesson events always serialise"))
}

fn bad(code: &str, message: &str) -> Option<ErrorBody> {
    Some(ErrorBody {
        code: code.into(),
        message: message.into(),
    })
}

/// `Err(None)`: the session is gone; `Err(Some(e))`: tell the browser.
async fn on_audio(
    bytes: &[u8],
    framer: &mut Framer,
    input: &mpsc::Sender<LearnerInput>,
    sink: Option<&AudioSink>,
) -> Result<(), Option<ErrorBody>> {
    if bytes.len() > MAX_AUDIO_MESSAGE_BYTES {
        return Err(bad(
            "audio_too_large",
            "An audio message was larger than 1 s of audio and was dropped; send 20 ms frames.",
        ));
    }
    if let Some(sink) = sink
        && bytes.len() == SAMPLES_PER_FRAME_24K * 2
        && framer.pending() == 0
    {
        // Whole 20 ms frames, the usual case: the browser's bytes are what
        // the Realtime API wants (PCM16 little-endian), only base64 encoded.
        // A closed Realtime connection ends the lesson through the session;
        // until then frames are dropped, as while reconnecting.
        let _ = sink.append_le_bytes(bytes);
        return Ok(());
    }
    let pcm =
        audio::le_bytes_to_pcm16(bytes).map_err(|e| bad("audio_odd_length", &e.to_string()))?;
    if let Some(sink) = sink {
        framer.push(&pcm, |f| {
            let _ = sink.append(f);
        });
        return Ok(());
    }
    if pcm.len() == SAMPLES_PER_FRAME_24K && framer.pending() == 0 {
        // The usual case: the browser sends whole 20 ms frames.
        return input.send(LearnerInput::Audio(pcm)).await.map_err(|_| None);
    }
    let mut frames = Vec::new();
    framer.push(&pcm, |f| frames.push(f.to_vec()));
    for f in frames {
        input.send(LearnerInput::Audio(f)).await.map_err(|_| None)?;
    }
    Ok(())
}

async fn on_text(
    text: &str,
    input: &mpsc::Sender<LearnerInput>,
    shared: &Shared,
) -> Result<(), Option<ErrorBody>> {
    if text.len() > MAX_TEXT_MESSAGE_BYTES {
        return Err(bad(
            "event_too_large",
            "A text message was larger than 8 KiB and was ignored.",
        ));
    }
    let msg: ClientMessage = serde_json::from_str(text).map_err(|e| {
        bad(
            "bad_event",
            &format!("A text message was not a known lesson event and was ignored ({e}); see docs/ws-protocol.md."),
        )
    })?;
    let event = match msg {
        ClientMessage::TextInput { text } => {
            let text = text.trim().to_string();
            if text.is_empty() {
                return Err(bad("text_empty", "An empty text message was ignored."));
            }
            if text.chars().count() > MAX_TEXT_INPUT_CHARS {
                return Err(bad(
                    "text_too_long",
                    "A text message was longer than 2000 characters and was ignored; shorten it.",
                ));
            }
            LearnerInput::Text(text)
        }
        ClientMessage::PlayoutPosition { item_id, played_ms } => {
            if !played_ms.is_finite() || played_ms < 0.0 {
                return Err(bad(
                    "bad_playout_position",
                    "played_ms must be a non-negative number of milliseconds.",
                ));
            }
            let mut reports = shared.reports.lock().expect("reports lock");
            reports.seq += 1;
            let seq = reports.seq;
            reports.last = Some((item_id, played_ms.min(u32::MAX as f64) as u32, seq));
            drop(reports);
            shared.changed.notify_waiters();
            return Ok(());
        }
        ClientMessage::Mute { muted } => LearnerInput::Mute(muted),
        ClientMessage::End => LearnerInput::End,
    };
    input.send(event).await.map_err(|_| None)
}

impl WsTransport {
    /// Writes tutor audio of `item_id`, announcing a new item with
    /// `audio.start`; audio of an interrupted item is dropped.
    fn play_frame(&mut self, item_id: &str, bytes: Bytes) -> Result<(), TransportError> {
        let mut playing = self.playing.lock().expect("playing lock");
        if playing.as_ref().is_none_or(|p| p.item_id != item_id) {
            *playing = Some(Playing {
                item_id: item_id.to_string(),
                sent_samples: 0,
                first_sent: Instant::now(),
                cleared: false,
            });
            self.out
                .send(text_frame(&LessonEvent::AudioStart {
                    item_id: item_id.to_string(),
                }))
                .map_err(|_| TransportError::Closed)?;
        }
        let p = playing.as_mut().expect("set above");
        // Interrupted: late audio of this item is never played.
        if p.cleared {
            return Ok(());
        }
        p.sent_samples += bytes.len() / 2;
        self.out
            .send(WsFrame::Binary(bytes))
            .map_err(|_| TransportError::Closed)
    }
}

impl Transport for WsTransport {
    async fn recv(&mut self) -> Option<LearnerInput> {
        self.input.recv().await
    }

    fn play(&mut self, item_id: &str, pcm: &[i16]) -> Result<(), TransportError> {
        let mut bytes = Vec::with_capacity(pcm.len() * 2);
        audio::pcm16_to_le_bytes(pcm, &mut bytes);
        self.play_frame(item_id, Bytes::from(bytes))
    }

    fn play_le_bytes(&mut self, item_id: &str, bytes: Bytes) -> Result<(), TransportError> {
        self.play_frame(item_id, bytes)
    }

    fn audio_player(&mut self) -> Option<AudioPlayer> {
        let (playing, out) = (self.playing.clone(), self.out.clone());
        Some(Arc::new(move |item_id: &str, bytes: Bytes| {
            let mut playing = playing.lock().expect("playing lock");
            if let Some(p) = playing.as_mut()
                && p.item_id == item_id
                && !p.cleared
            {
                p.sent_samples += bytes.len() / 2;
                // A closed socket ends the lesson through the reader.
                let _ = out.send(WsFrame::Binary(bytes));
            }
        }))
    }

    fn forward_audio(&mut self, sink: AudioSink) -> bool {
        // Set once per lesson; a second call keeps the first sink.
        let _ = self.shared.audio_sink.set(sink);
        true
    }

    fn audio_done(&mut self, item_id: &str) -> Result<(), TransportError> {
        self.send(LessonEvent::AudioDone {
            item_id: item_id.to_string(),
        })
    }

    async fn interrupt(&mut self, item_id: &str) -> Option<u32> {
        let (sent_ms, first_sent) = match self.playing.lock().expect("playing lock").as_mut() {
            Some(p) if p.item_id == item_id => {
                p.cleared = true;
                (audio::ms_of_24k(p.sent_samples) as u32, p.first_sent)
            }
            _ => return None,
        };
        let since = self.shared.reports.lock().expect("reports lock").seq;
        if self
            .send(LessonEvent::AudioClear {
                item_id: item_id.to_string(),
            })
            .is_err()
        {
            return None;
        }
        let wait = async {
            loop {
                let notified = self.shared.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if let Some((id, ms, seq)) = &self.shared.reports.lock().expect("reports lock").last
                    && id == item_id
                    && *seq > since
                {
                    return *ms;
                }
                notified.await;
            }
        };
        let played =
            match tokio::time::timeout(Duration::from_millis(INTERRUPT_REPORT_TIMEOUT_MS), wait)
                .await
            {
                Ok(ms) => ms,
                Err(_) => {
                    tracing::debug!(item_id, "no playout.position after audio.clear; estimating");
                    first_sent.elapsed().as_millis().min(u32::MAX as u128) as u32
                }
            };
        Some(played.min(sent_ms))
    }

    fn send(&mut self, event: LessonEvent) -> Result<(), TransportError> {
        self.out
            .send(text_frame(&event))
            .map_err(|_| TransportError::Closed)
    }

    async fn close(&mut self) {
        self.out.close(Some(WsFrame::Close));
        if let Some(writer) = self.writer.take() {
            let _ =
                tokio::time::timeout(Duration::from_millis(CLOSE_FLUSH_TIMEOUT_MS), writer).await;
        }
        self.reader.abort();
    }
}
