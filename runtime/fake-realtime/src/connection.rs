//! One client connection: answers client events like the real API does and
//! runs fired rules' actions one list at a time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt;
use lectern_outbox::Outbox;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::rx_time::RxClock;
use crate::script::{Action, Pace};
use crate::signal;
use crate::{Shared, Trigger as T};

const FRAME_MS: u64 = 20;
/// How every audio delta starts, up to its event id.
const DELTA_HEAD: &str = r#"{"type":"response.output_audio.delta","event_id":""#;

/// Ends the connection, after what was emitted before.
enum End {
    Close(u16),
    Drop,
}

#[derive(Default)]
struct ConnState {
    active_response: Option<String>,
    /// Milliseconds of audio sent per assistant item.
    audio_ms: HashMap<String, u64>,
    session: Value,
}

struct Conn {
    id: usize,
    shared: Arc<Shared>,
    /// Events are written straight into the socket by whichever task emits
    /// them (hundreds of simulated lessons stream audio through the fake).
    out: Arc<Outbox<Message>>,
    end: mpsc::UnboundedSender<End>,
    state: Mutex<ConnState>,
    cancel: AtomicBool,
    counter: AtomicU64,
    /// Kernel receive times of the socket's reads, when stamps are timed.
    rx: Option<RxClock>,
}

impl Conn {
    fn next_id(&self, prefix: &str) -> String {
        let mut id = String::new();
        self.push_next_id(prefix, &mut id);
        id
    }

    /// [`Conn::next_id`] written onto `out`.
    fn push_next_id(&self, prefix: &str, out: &mut String) {
        use std::fmt::Write as _;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let _ = write!(out, "{prefix}_{}_{n}", self.id);
    }

    /// Sends an already serialised server event. False once the socket is gone.
    fn emit_text(&self, text: String) -> bool {
        self.out.send(Message::text(text)).is_ok()
    }

    /// Sends a server event (adds `event_id`). False once the socket is gone.
    fn emit(&self, mut event: Value) -> bool {
        event["event_id"] = Value::String(self.next_id("event"));
        self.emit_text(event.to_string())
    }

    fn error(&self, kind: &str, code: &str, message: &str) {
        self.emit(json!({"type": "error", "error": {
            "type": kind, "code": code, "message": message, "param": null, "event_id": null}}));
    }
}

pub(crate) async fn serve<S>(stream: S, shared: Arc<Shared>, id: usize, rx: Option<RxClock>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let auth: Arc<Mutex<Option<String>>> = Arc::default();
    let seen = auth.clone();
    let required = shared.options.require_key.clone();
    let uris = shared.uris.clone();
    // The handshake callback's signature is tungstenite's; its error is large by design.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        *seen.lock().expect("auth lock") = header.clone();
        uris.lock().expect("uri lock").push(req.uri().to_string());
        if let Some(key) = required
            && header.as_deref() != Some(format!("Bearer {key}").as_str())
        {
            let mut refusal = ErrorResponse::new(Some(
                r#"{"error":{"type":"invalid_request_error","code":"invalid_api_key","message":"Incorrect API key provided."}}"#.into(),
            ));
            *refusal.status_mut() = StatusCode::UNAUTHORIZED;
            return Err(refusal);
        }
        Ok(resp)
    };
    // A small read buffer: the library zeroes the buffer's free space before
    // every read (twice per message: the second read finds nothing), which
    // its default (128 KiB) makes dominate when hundreds of connections
    // stream audio. An audio append (~1.4 KB) still arrives in one read;
    // larger events take a few.
    let config = WebSocketConfig::default().read_buffer_size(2_048);
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await;
    shared
        .auth
        .lock()
        .expect("auth lock")
        .push(auth.lock().expect("auth lock").clone());
    let Ok(ws) = ws else { return };
    let (sink, mut source) = ws.split();
    let out = Outbox::new(sink, |e: tokio_tungstenite::tungstenite::Error| {
        e.to_string()
    });
    let (end_tx, mut end_rx) = mpsc::unbounded_channel();
    let conn = Arc::new(Conn {
        id,
        shared: shared.clone(),
        out: out.clone(),
        end: end_tx,
        state: Mutex::new(ConnState {
            session: json!({"type": "realtime", "object": "realtime.session",
                "id": format!("sess_{id}"), "model": "gpt-realtime",
                "output_modalities": ["audio"], "instructions": "", "tools": [], "tool_choice": "auto"}),
            ..ConnState::default()
        }),
        cancel: AtomicBool::new(false),
        counter: AtomicU64::new(0),
        rx,
    });
    let writer = out.run();
    tokio::pin!(writer);
    let (actions_tx, actions_rx) = mpsc::unbounded_channel::<Vec<Action>>();
    let actor = tokio::spawn(run_actions(conn.clone(), actions_rx));
    let session = conn.state.lock().expect("state lock").session.clone();
    conn.emit(json!({"type": "session.created", "session": session}));
    if let Some(actions) = shared.fire(&T::Connected) {
        let _ = actions_tx.send(actions);
    }
    loop {
        tokio::select! {
            _ = writer.as_mut() => break,
            end = end_rx.recv() => {
                if let Some(End::Close(code)) = end {
                    out.close(Some(Message::Close(Some(CloseFrame {
                        code: code.into(), reason: "closed by script".into() }))));
                    let _ = tokio::time::timeout(Duration::from_secs(1), writer.as_mut()).await;
                }
                break;
            }
            msg = source.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    if let Some(actions) = on_client_event(&conn, t.as_str()) {
                        let _ = actions_tx.send(actions);
                    }
                }
                Some(Ok(Message::Ping(_))) => out.flush(),
                Some(Ok(Message::Pong(_) | Message::Binary(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
        }
    }
    actor.abort();
}

/// How Lectern (and most clients) write an audio append.
const APPEND_HEAD: &str = r#"{"type":"input_audio_buffer.append","audio":""#;

/// Answers one client event; returns the actions of a fired rule.
fn on_client_event(conn: &Conn, text: &str) -> Option<Vec<Action>> {
    let shared = &conn.shared;
    // Appends arrive 50 times a second per connection; when they are not
    // recorded, only the stamp is read (benchmarks run hundreds at once).
    if !shared.options.record_audio
        && let Some(audio) = text
            .strip_prefix(APPEND_HEAD)
            .and_then(|rest| rest.strip_suffix("\"}"))
        && !audio.contains('"')
    {
        shared.audio_appends.fetch_add(1, Ordering::Relaxed);
        if shared.options.stamp_frames {
            read_stamp_of(conn, audio);
        }
        return shared.fire(&T::Audio);
    }
    on_event(conn, text)
}

/// Records the latencies of a stamped frame, given its base64.
fn read_stamp_of(conn: &Conn, b64: &str) {
    let Some(sent) = signal::read_stamp_base64(b64) else {
        return;
    };
    let seen = signal::clock_ns();
    // No read happened since the one that completed this event: the event
    // is handled as soon as the library returns it.
    let received = conn.rx.as_ref().and_then(RxClock::last_ns);
    let mut latency = conn.shared.input_latency.lock().expect("latency lock");
    latency.seen_ns.push(seen.saturating_sub(sent));
    if received.is_none() {
        latency.without_kernel_rx += 1;
    }
    latency
        .kernel_rx_ns
        .push(received.unwrap_or(seen).saturating_sub(sent));
}

fn on_event(conn: &Conn, text: &str) -> Option<Vec<Action>> {
    let Ok(mut event) = serde_json::from_str::<Value>(text) else {
        conn.error(
            "invalid_request_error",
            "invalid_json",
            "The event is not valid JSON.",
        );
        return None;
    };
    let kind = event["type"].as_str().unwrap_or_default().to_string();
    let shared = &conn.shared;
    if kind == "input_audio_buffer.append" {
        shared.audio_appends.fetch_add(1, Ordering::Relaxed);
        let audio = event["audio"].as_str().unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(audio)
            .unwrap_or_default();
        if shared.options.stamp_frames {
            read_stamp_of(conn, audio);
        }
        event["audio_bytes"] = json!(bytes.len());
        event.as_object_mut().map(|o| o.remove("audio"));
        if shared.options.record_audio {
            shared.record(conn.id, event);
        }
        return shared.fire(&T::Audio);
    }
    shared.record(conn.id, event.clone());
    match kind.as_str() {
        "session.update" => {
            let session = {
                let mut st = conn.state.lock().expect("state lock");
                if let (Some(cur), Some(new)) =
                    (st.session.as_object_mut(), event["session"].as_object())
                {
                    for (k, v) in new {
                        cur.insert(k.clone(), v.clone());
                    }
                }
                st.session.clone()
            };
            conn.emit(json!({"type": "session.updated", "session": session}));
            shared.fire(&T::SessionUpdate)
        }
        "input_audio_buffer.commit" => {
            let item_id = conn.next_id("item");
            conn.emit(json!({"type": "input_audio_buffer.committed",
                "previous_item_id": null, "item_id": item_id}));
            shared.fire(&T::Commit)
        }
        "input_audio_buffer.clear" => {
            conn.emit(json!({"type": "input_audio_buffer.cleared"}));
            None
        }
        "conversation.item.create" => {
            let mut item = event["item"].clone();
            if !item.is_object() {
                conn.error(
                    "invalid_request_error",
                    "missing_required_parameter",
                    "Missing required parameter: 'item'.",
                );
                return None;
            }
            item["id"] = json!(conn.next_id("item"));
            item["object"] = json!("realtime.item");
            item["status"] = json!("completed");
            conn.emit(
                json!({"type": "conversation.item.added", "previous_item_id": null, "item": item}),
            );
            conn.emit(
                json!({"type": "conversation.item.done", "previous_item_id": null, "item": item}),
            );
            match (item["type"].as_str(), item["role"].as_str()) {
                (Some("function_call_output"), _) => shared.fire(&T::FunctionCallOutput),
                (Some("message"), Some("user")) => shared.fire(&T::UserMessage),
                _ => None,
            }
        }
        "conversation.item.truncate" => {
            let item_id = event["item_id"].as_str().unwrap_or_default().to_string();
            let end = event["audio_end_ms"].as_u64();
            let sent = conn
                .state
                .lock()
                .expect("state lock")
                .audio_ms
                .get(&item_id)
                .copied();
            match (sent, end) {
                (None, _) => conn.error(
                    "invalid_request_error",
                    "item_not_found",
                    &format!("Item with item_id '{item_id}' not found."),
                ),
                (_, None) => conn.error(
                    "invalid_request_error",
                    "invalid_value",
                    "audio_end_ms must be an integer.",
                ),
                (Some(sent), Some(end)) if end > sent => conn.error(
                    "invalid_request_error",
                    "invalid_value",
                    &format!("audio_end_ms {end} is greater than the audio duration {sent}."),
                ),
                (Some(_), Some(end)) => {
                    conn.emit(
                        json!({"type": "conversation.item.truncated", "item_id": item_id,
                        "content_index": event["content_index"], "audio_end_ms": end}),
                    );
                    return shared.fire(&T::Truncate);
                }
            }
            None
        }
        "response.create" => {
            let active = conn
                .state
                .lock()
                .expect("state lock")
                .active_response
                .clone();
            if let Some(id) = active {
                conn.error(
                    "invalid_request_error",
                    "conversation_already_has_active_response",
                    &format!("Conversation already has an active response in progress: {id}."),
                );
                return None;
            }
            shared.fire(&T::ResponseCreate)
        }
        "response.cancel" => {
            if conn
                .state
                .lock()
                .expect("state lock")
                .active_response
                .is_some()
            {
                conn.cancel.store(true, Ordering::SeqCst);
            } else {
                conn.error(
                    "invalid_request_error",
                    "response_cancel_not_active",
                    "Cancellation failed: no active response found.",
                );
            }
            None
        }
        other => {
            conn.error(
                "invalid_request_error",
                "invalid_value",
                &format!("Invalid value: '{other}'. Supported values are: the GA client events."),
            );
            None
        }
    }
}

async fn run_actions(conn: Arc<Conn>, mut lists: mpsc::UnboundedReceiver<Vec<Action>>) {
    while let Some(actions) = lists.recv().await {
        for action in actions {
            if !run_action(&conn, action).await {
                return;
            }
        }
    }
}

/// False when the connection is gone.
async fn run_action(conn: &Conn, action: Action) -> bool {
    match action {
        Action::Sleep { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            true
        }
        Action::Error {
            kind,
            code,
            message,
        } => conn.emit(json!({"type": "error", "error": {"type": kind, "code": code,
            "message": message, "param": null, "event_id": null}})),
        Action::RateLimits {
            remaining_requests,
            remaining_tokens,
        } => conn.emit(json!({"type": "rate_limits.updated", "rate_limits": [
            {"name": "requests", "limit": 1000, "remaining": remaining_requests, "reset_seconds": 1.5},
            {"name": "tokens", "limit": 100000, "remaining": remaining_tokens, "reset_seconds": 2.0}]})),
        Action::Close { code } => {
            let _ = conn.end.send(End::Close(code));
            false
        }
        Action::Drop => {
            let _ = conn.end.send(End::Drop);
            false
        }
        Action::UserTurn { transcript } => {
            let item_id = conn.next_id("item");
            let item = json!({"id": item_id, "object": "realtime.item", "type": "message",
                "status": "completed", "role": "user",
                "content": [{"type": "input_audio", "transcript": null}]});
            conn.emit(json!({"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": item_id}))
                && conn.emit(json!({"type": "input_audio_buffer.speech_stopped", "audio_end_ms": 1200, "item_id": item_id}))
                && conn.emit(json!({"type": "input_audio_buffer.committed", "previous_item_id": null, "item_id": item_id}))
                && conn.emit(json!({"type": "conversation.item.added", "previous_item_id": null, "item": item}))
                && conn.emit(json!({"type": "conversation.item.done", "previous_item_id": null, "item": item}))
                && conn.emit(json!({"type": "conversation.item.input_audio_transcription.completed",
                    "item_id": item_id, "content_index": 0, "transcript": transcript,
                    "usage": {"type": "duration", "seconds": 1.2}}))
        }
        Action::FunctionCall { name, arguments } => {
            let response_id = start_response(conn);
            let item_id = conn.next_id("item");
            let call_id = conn.next_id("call");
            let args = arguments.to_string();
            let mut item = json!({"id": item_id, "object": "realtime.item", "type": "function_call",
                "status": "in_progress", "call_id": call_id, "name": name, "arguments": ""});
            let ok = conn.emit(json!({"type": "response.output_item.added", "response_id": response_id, "output_index": 0, "item": item}))
                && conn.emit(json!({"type": "conversation.item.added", "previous_item_id": null, "item": item}))
                && conn.emit(json!({"type": "response.function_call_arguments.delta", "response_id": response_id,
                    "item_id": item_id, "output_index": 0, "call_id": call_id, "delta": args}))
                && conn.emit(json!({"type": "response.function_call_arguments.done", "response_id": response_id,
                    "item_id": item_id, "output_index": 0, "call_id": call_id, "name": name, "arguments": args}));
            item["status"] = json!("completed");
            item["arguments"] = json!(args);
            ok && conn.emit(json!({"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": item}))
                && conn.emit(json!({"type": "conversation.item.done", "previous_item_id": null, "item": item}))
                && finish_response(conn, &response_id, "completed", vec![item])
        }
        Action::AudioResponse {
            transcript,
            frames,
            drop_after_frames,
            barge_in_after_frames,
        } => {
            audio_response(
                conn,
                &transcript,
                frames,
                drop_after_frames,
                barge_in_after_frames,
            )
            .await
        }
    }
}

fn start_response(conn: &Conn) -> String {
    let response_id = conn.next_id("resp");
    conn.cancel.store(false, Ordering::SeqCst);
    conn.state.lock().expect("state lock").active_response = Some(response_id.clone());
    conn.emit(
        json!({"type": "response.created", "response": {"id": response_id,
        "object": "realtime.response", "status": "in_progress", "output": []}}),
    );
    response_id
}

fn finish_response(conn: &Conn, response_id: &str, status: &str, output: Vec<Value>) -> bool {
    conn.state.lock().expect("state lock").active_response = None;
    conn.emit(
        json!({"type": "response.done", "response": {"id": response_id,
        "object": "realtime.response", "status": status, "output": output,
        "usage": {"total_tokens": 0, "input_tokens": 0, "output_tokens": 0}}}),
    )
}

async fn audio_response(
    conn: &Conn,
    transcript: &str,
    frames: u32,
    drop_after: Option<u32>,
    barge_in_after: Option<u32>,
) -> bool {
    let response_id = start_response(conn);
    let item_id = conn.next_id("item");
    let mut item = json!({"id": item_id, "object": "realtime.item", "type": "message",
        "status": "in_progress", "role": "assistant", "content": []});
    if !(conn.emit(json!({"type": "response.output_item.added", "response_id": response_id, "output_index": 0, "item": item}))
        && conn.emit(json!({"type": "conversation.item.added", "previous_item_id": null, "item": item}))
        && conn.emit(json!({"type": "response.content_part.added", "response_id": response_id,
            "item_id": item_id, "output_index": 0, "content_index": 0,
            "part": {"type": "audio", "transcript": ""}})))
    {
        return false;
    }
    conn.state
        .lock()
        .expect("state lock")
        .audio_ms
        .insert(item_id.clone(), 0);
    // What follows the event id in every audio delta of this item. The ids
    // are generated here and need no escaping.
    let delta_tail = format!(
        r#"","response_id":"{response_id}","item_id":"{item_id}","output_index":0,"content_index":0,"delta":""#
    );
    let words: Vec<&str> = transcript.split_inclusive(' ').collect();
    let mut said = String::new();
    let mut next_word = 0;
    let start = tokio::time::Instant::now();
    let mut status = "completed";
    for i in 0..frames {
        if drop_after == Some(i) {
            let _ = conn.end.send(End::Drop);
            return false;
        }
        if barge_in_after == Some(i) {
            let user_item = conn.next_id("item");
            conn.emit(json!({"type": "input_audio_buffer.speech_started",
                "audio_start_ms": 0, "item_id": user_item}));
            status = "cancelled";
            break;
        }
        if conn.cancel.swap(false, Ordering::SeqCst) {
            status = "cancelled";
            break;
        }
        if conn.shared.pace == Pace::Realtime {
            tokio::time::sleep_until(start + Duration::from_millis(FRAME_MS * i as u64)).await;
        } else {
            tokio::task::yield_now().await;
        }
        // Written by hand: fifty of these a second per connection. Only the
        // event id and the audio change from one delta to the next.
        let mut text = String::with_capacity(
            DELTA_HEAD.len() + 32 + delta_tail.len() + signal::FRAME_SAMPLES * 8 / 3 + 2,
        );
        text.push_str(DELTA_HEAD);
        conn.push_next_id("event", &mut text);
        text.push_str(&delta_tail);
        signal::voice_frame_base64(i as u64, conn.shared.options.stamp_frames, &mut text);
        text.push_str(r#""}"#);
        if !conn.emit_text(text) {
            return false;
        }
        if let Some(ms) = conn
            .state
            .lock()
            .expect("state lock")
            .audio_ms
            .get_mut(&item_id)
        {
            *ms = (i as u64 + 1) * FRAME_MS;
        }
        // Spread the words over the audio, like a real voice.
        let due = ((i as usize + 1) * words.len()).div_ceil(frames as usize);
        while next_word < due.min(words.len()) {
            said.push_str(words[next_word]);
            conn.emit(json!({"type": "response.output_audio_transcript.delta", "response_id": response_id,
                "item_id": item_id, "output_index": 0, "content_index": 0, "delta": words[next_word]}));
            next_word += 1;
        }
    }
    item["status"] = json!(if status == "completed" {
        "completed"
    } else {
        "incomplete"
    });
    item["content"] = json!([{"type": "output_audio", "transcript": said}]);
    conn.emit(json!({"type": "response.output_audio.done", "response_id": response_id,
        "item_id": item_id, "output_index": 0, "content_index": 0}))
        && conn.emit(json!({"type": "response.output_audio_transcript.done", "response_id": response_id,
            "item_id": item_id, "output_index": 0, "content_index": 0, "transcript": said}))
        && conn.emit(json!({"type": "response.output_item.done", "response_id": response_id, "output_index": 0, "item": item}))
        && conn.emit(json!({"type": "conversation.item.done", "previous_item_id": null, "item": item}))
        && finish_response(conn, &response_id, status, vec![item])
}
