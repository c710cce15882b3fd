//! The relay floor: what any relay between a browser and the Realtime API
//! must do per lesson, on the stack Lectern is built on (tokio and
//! tokio-tungstenite, the same socket settings), with nothing else.
//!
//! Per lesson it accepts the browser's WebSocket, opens one to the
//! Realtime server and sends the one event the server needs before it
//! speaks (`session.update`, pre-built). Then, in one task owning both
//! sockets (Lectern also writes each frame from the task that read it):
//! every binary frame from the browser goes out as an
//! `input_audio_buffer.append` of its base64 (byte for byte the text
//! Lectern writes: Lectern's `ws` audio is 24 kHz PCM16 already, so it does
//! not resample it either), and every `response.output_audio.delta` comes
//! back to the browser as one binary frame of its decoded bytes (as
//! Lectern's does). No session, plugins, store or events: the messages on
//! the wire, their sizes and their counts are those of a Lectern lesson.

use super::*;
use base64::Engine as _;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Bytes;

/// The Realtime client's read buffer (see the realtime client).
const REALTIME_READ_BUFFER_BYTES: usize = 2_048;
const SESSION_UPDATE: &str = r#"{"type":"session.update","session":{"type":"realtime"}}"#;
const APPEND_HEAD: &str = r#"{"type":"input_audio_buffer.append","audio":""#;
const APPEND_TAIL: &str = r#""}"#;
const DELTA_TYPE: &str = r#"{"type":"response.output_audio.delta""#;
const DELTA_FIELD: &str = r#""delta":""#;

/// How the floor's lesson is driven.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tasks {
    /// One task owns both sockets whole (the floor proper).
    One,
    /// Two tasks, one per direction, over split halves of both sockets, as
    /// a Lectern lesson is driven (its transport's reader and its Realtime
    /// connection task): for measuring what that arrangement itself costs.
    Two,
}

impl Tasks {
    /// `LESSONS_BENCH_FLOOR_TASKS=2` picks [`Tasks::Two`].
    pub fn from_env() -> Tasks {
        match std::env::var("LESSONS_BENCH_FLOOR_TASKS").as_deref() {
            Ok("2") => Tasks::Two,
            _ => Tasks::One,
        }
    }
}

/// Relays one lesson until the browser ends it or either side goes.
pub async fn lesson(stream: TcpStream, realtime_url: String, tasks: Tasks) {
    let Ok(mut browser) =
        tokio_tungstenite::accept_async_with_config(stream, Some(ws::socket_config())).await
    else {
        return;
    };
    let config = WebSocketConfig::default().read_buffer_size(REALTIME_READ_BUFFER_BYTES);
    let Ok((mut realtime, _)) =
        tokio_tungstenite::connect_async_with_config(realtime_url, Some(config), true).await
    else {
        return;
    };
    if realtime.send(Message::text(SESSION_UPDATE)).await.is_err() {
        return;
    }
    if tasks == Tasks::Two {
        return two_tasks(browser, realtime).await;
    }
    loop {
        tokio::select! {
            m = browser.next() => match m {
                Some(Ok(Message::Binary(pcm))) => {
                    if realtime.send(Message::text(append(&pcm))).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Text(t))) if is_lesson_end(t.as_str()) => {
                    close(&mut browser, &mut realtime).await;
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            m = realtime.next() => match m {
                Some(Ok(Message::Text(t))) => {
                    let Some(frame) = tutor_frame(t.as_str()) else {
                        continue;
                    };
                    if browser.send(frame).await.is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
        }
    }
    close(&mut browser, &mut realtime).await;
}

/// The same relay with each direction in its own task over split sockets.
async fn two_tasks(
    browser: WebSocketStream<TcpStream>,
    realtime: WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) {
    let (mut browser_tx, mut browser_rx) = browser.split();
    let (mut realtime_tx, mut realtime_rx) = realtime.split();
    let out = tokio::spawn(async move {
        while let Some(Ok(m)) = realtime_rx.next().await {
            let Message::Text(t) = m else { continue };
            let Some(frame) = tutor_frame(t.as_str()) else {
                continue;
            };
            if browser_tx.send(frame).await.is_err() {
                break;
            }
        }
        let _ = browser_tx.close().await;
    });
    while let Some(Ok(m)) = browser_rx.next().await {
        let event = match m {
            Message::Binary(pcm) => Message::text(append(&pcm)),
            Message::Text(t) if is_lesson_end(t.as_str()) => break,
            _ => continue,
        };
        if realtime_tx.send(event).await.is_err() {
            break;
        }
    }
    let _ = realtime_tx.close().await;
    let _ = out.await;
}

/// Whether a text frame from the browser ends the lesson.
fn is_lesson_end(text: &str) -> bool {
    text.contains(r#""lesson.end""#)
}

/// The browser's binary frame for a Realtime server event: the PCM of an
/// audio delta; `None` for any other event or an undecodable delta.
fn tutor_frame(text: &str) -> Option<Message> {
    let delta = audio_delta(text)?;
    let mut pcm = Vec::with_capacity(delta.len() / 4 * 3);
    base64::engine::general_purpose::STANDARD
        .decode_vec(delta, &mut pcm)
        .ok()?;
    Some(Message::Binary(Bytes::from(pcm)))
}

/// The `input_audio_buffer.append` of PCM16 little-endian `pcm`.
fn append(pcm: &[u8]) -> String {
    let mut text =
        String::with_capacity(APPEND_HEAD.len() + pcm.len().div_ceil(3) * 4 + APPEND_TAIL.len());
    text.push_str(APPEND_HEAD);
    base64::engine::general_purpose::STANDARD.encode_string(pcm, &mut text);
    text.push_str(APPEND_TAIL);
    text
}

/// Panics unless the relay writes to the Realtime server exactly the text
/// Lectern writes for the same frame (so the floor carries the same bytes;
/// the peer checks the other direction by counting what browsers receive).
pub fn check_same_messages() {
    let frame = audio::tone(24_000, 200.0, 3000.0, audio::SAMPLES_PER_FRAME_24K, 0);
    let mut bytes = Vec::new();
    audio::pcm16_to_le_bytes(&frame, &mut bytes);
    assert_eq!(
        append(&bytes),
        lectern_runtime::realtime::client::append_event_le(&bytes),
        "the relay floor's appends must be Lectern's"
    );
}

/// The base64 audio of a `response.output_audio.delta`, if `text` is one.
fn audio_delta(text: &str) -> Option<&str> {
    if !text.starts_with(DELTA_TYPE) {
        return None;
    }
    let at = text.find(DELTA_FIELD)? + DELTA_FIELD.len();
    let rest = &text[at..];
    Some(&rest[..rest.find('"')?])
}

async fn close(
    browser: &mut WebSocketStream<TcpStream>,
    realtime: &mut WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
) {
    let _ = browser.close(None).await;
    let _ = realtime.close(None).await;
}
