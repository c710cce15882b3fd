//! The control connection to the LiveKit server's agent endpoint: connect,
//! register, exchange protobuf messages, reconnect with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use futures::{SinkExt as _, StreamExt as _};
use livekit_api::access_token::{AccessToken, VideoGrants};
use livekit_protocol as proto;
use prost::Message as _;
use proto::server_message::Message as In;
use proto::worker_message::Message as Out;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::jobs::Shared;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The agent endpoint of a LiveKit server URL: `wss://host[/path]` (or
/// `https://…`, which LiveKit's SDKs accept too) becomes `wss://host[/path]/agent`.
pub fn agent_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow!("LiveKit URL {url:?} has no scheme; use wss://host"))?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => bail!("LiveKit URL {url:?} has scheme {other:?}; use wss:// (or ws:// locally)"),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        bail!("LiveKit URL {url:?} has no host");
    }
    Ok(format!("{scheme}://{rest}/agent"))
}

/// Keeps the worker connected and registered until `stop` turns true (or its
/// sender is gone).
pub(super) async fn run(
    shared: Arc<Shared>,
    mut outbox: mpsc::UnboundedReceiver<proto::WorkerMessage>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    loop {
        let connected = tokio::select! {
            connected = connect(&shared) => connected,
            () = stopped(&mut stop) => break,
        };
        match connected {
            Ok((ws, registration)) => {
                failures = 0;
                let ended = session(&shared, ws, registration, &mut outbox, &mut stop).await;
                shared.registration.send_replace(None);
                shared
                    .metrics
                    .connected
                    .store(0, std::sync::atomic::Ordering::Relaxed);
                match ended {
                    Ok(()) => break,
                    Err(e) => {
                        shared
                            .metrics
                            .connection_failures
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::warn!(error = %format!("{e:#}"), "lost the LiveKit agent connection; reconnecting");
                    }
                }
            }
            Err(e) => {
                shared
                    .metrics
                    .connection_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let delay = backoff(&shared, failures);
                failures = failures.saturating_add(1);
                tracing::warn!(
                    error = %format!("{e:#}"),
                    retry_in_ms = delay.as_millis() as u64,
                    "could not register with the LiveKit server"
                );
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    () = stopped(&mut stop) => break,
                }
                continue;
            }
        }
        // A connection that was up dropped: retry soon, but not in a tight loop
        // if the server keeps dropping us right after registration.
        let delay = backoff(&shared, 0);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            () = stopped(&mut stop) => break,
        }
    }
}

/// Exponential backoff with ±20 % jitter, so workers restarted together do not
/// hammer a recovering server in step.
fn backoff(shared: &Shared, failures: u32) -> Duration {
    let min = shared.options.reconnect_min;
    let max = shared.options.reconnect_max.max(min);
    let base = min
        .saturating_mul(2u32.saturating_pow(failures.min(16)))
        .min(max);
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

async fn connect(shared: &Shared) -> anyhow::Result<(Ws, proto::RegisterWorkerResponse)> {
    let options = &shared.options;
    let url = agent_url(&options.url)?;
    let token = AccessToken::with_api_key(&options.api_key, &options.api_secret)
        .with_grants(VideoGrants {
            agent: true,
            ..Default::default()
        })
        .to_jwt()
        .context("signing the worker token")?;
    let mut request = url
        .as_str()
        .into_client_request()
        .with_context(|| format!("bad agent endpoint {url}"))?;
    request.headers_mut().insert(
        AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .context("the worker token is not a valid header value")?,
    );
    let connector = url
        .starts_with("wss:")
        .then(|| Connector::Rustls(crate::tls::client_config()));
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    let mut ws = match tokio::time::timeout(options.connect_timeout, connecting).await {
        Err(_) => bail!(
            "no answer from {url} within {} ms",
            options.connect_timeout.as_millis()
        ),
        Ok(Err(tungstenite::Error::Http(response))) => bail!(
            "{url} refused the worker with HTTP {} {}",
            response.status(),
            response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
                .trim()
        ),
        Ok(Err(e)) => return Err(e).with_context(|| format!("connecting to {url}")),
        Ok(Ok((ws, _))) => ws,
    };
    send(&mut ws, Out::Register(register_request(shared))).await?;
    let answer = tokio::time::timeout(options.connect_timeout, next_message(&mut ws))
        .await
        .map_err(|_| anyhow!("{url} did not answer the registration"))??;
    match answer.message {
        Some(In::Register(registration)) => Ok((ws, registration)),
        other => bail!("expected the registration answer first, got {other:?}"),
    }
}

/// What the worker registers as: a room agent dispatched by name, allowed to
/// publish its voice, subscribe to the learner, send data and set its own
/// attributes (the `lk.agent.state` attribute). The deprecated `agent`
/// permission stays unset: the server marks the participant an agent by its
/// kind.
pub(super) fn register_request(shared: &Shared) -> proto::RegisterWorkerRequest {
    proto::RegisterWorkerRequest {
        r#type: proto::JobType::JtRoom as i32,
        agent_name: shared.options.agent_name.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ping_interval: shared.options.ping_interval.as_secs().min(u32::MAX as u64) as u32,
        namespace: None,
        allowed_permissions: Some(proto::ParticipantPermission {
            can_subscribe: true,
            can_publish: true,
            can_publish_data: true,
            can_update_metadata: true,
            ..Default::default()
        }),
        deployment: String::new(),
        endpoints: Vec::new(),
        instance_id: shared.instance_id.clone(),
        endpoint_protocol: 0,
    }
}

/// One registered connection, until it drops (an error: reconnect) or the
/// worker stops (`Ok`).
async fn session(
    shared: &Arc<Shared>,
    mut ws: Ws,
    registration: proto::RegisterWorkerResponse,
    outbox: &mut mpsc::UnboundedReceiver<proto::WorkerMessage>,
    stop: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let server = registration.server_info.unwrap_or_default();
    tracing::info!(
        worker_id = %registration.worker_id,
        agent_name = %shared.options.agent_name,
        region = %server.region,
        node_id = %server.node_id,
        "registered with the LiveKit server"
    );
    shared
        .metrics
        .registrations
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    shared
        .metrics
        .connected
        .store(1, std::sync::atomic::Ordering::Relaxed);
    shared
        .registration
        .send_replace(Some(registration.worker_id));

    // Status sequence numbers are per registration.
    let mut seq = 0u64;
    send(&mut ws, status(shared, &mut seq)).await?;
    let start = tokio::time::Instant::now();
    let mut status_tick = tokio::time::interval_at(
        start + shared.options.status_interval,
        shared.options.status_interval,
    );
    status_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ping_tick = tokio::time::interval_at(
        start + shared.options.ping_interval,
        shared.options.ping_interval,
    );
    ping_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();

    loop {
        tokio::select! {
            biased;
            () = stopped(stop) => {
                // The drain has already run: what is queued are the last job
                // reports, which the server should hear before we leave.
                while let Ok(message) = outbox.try_recv() {
                    send_message(&mut ws, message).await?;
                }
                send(&mut ws, status(shared, &mut seq)).await?;
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return Ok(());
            }
            message = outbox.recv() => match message {
                Some(message) => send_message(&mut ws, message).await?,
                None => return Ok(()),
            },
            _ = shared.status_changed.notified() => send(&mut ws, status(shared, &mut seq)).await?,
            _ = status_tick.tick() => send(&mut ws, status(shared, &mut seq)).await?,
            _ = ping_tick.tick() => {
                if last_heard.elapsed() > shared.options.ping_timeout {
                    bail!(
                        "no word from the server for {} s",
                        last_heard.elapsed().as_secs()
                    );
                }
                send(&mut ws, Out::Ping(proto::WorkerPing { timestamp: now_ms() })).await?;
            }
            frame = next_message(&mut ws) => {
                last_heard = Instant::now();
                match frame?.message {
                    Some(In::Availability(request)) => {
                        // Answering looks the subtopic up in the curriculum:
                        // the connection keeps serving meanwhile.
                        let shared = shared.clone();
                        tokio::spawn(async move { shared.answer_availability(request).await });
                    }
                    Some(In::Assignment(assignment)) => shared.start_assigned(assignment),
                    Some(In::Termination(termination)) => shared.terminate(&termination.job_id),
                    Some(In::Pong(pong)) => tracing::trace!(
                        rtt_ms = now_ms().saturating_sub(pong.last_timestamp),
                        "pong"
                    ),
                    Some(In::GoAway(go_away)) => {
                        // Running lessons live in their rooms, not on this
                        // connection: they carry on while we register again.
                        bail!("the server is draining this connection ({})", go_away.reason);
                    }
                    Some(In::Register(_)) => tracing::warn!("unexpected second registration answer"),
                    None => tracing::debug!("server message of a kind this worker does not know"),
                }
            }
        }
    }
}

fn status(shared: &Shared, seq: &mut u64) -> Out {
    let now = shared.status();
    *seq += 1;
    let status = if now.full {
        proto::WorkerStatus::WsFull
    } else {
        proto::WorkerStatus::WsAvailable
    };
    Out::UpdateWorker(proto::UpdateWorkerStatus {
        status: Some(status as i32),
        load: now.load,
        job_count: now.job_count,
        draining: now.draining,
        seq: *seq,
    })
}

async fn send(ws: &mut Ws, message: Out) -> anyhow::Result<()> {
    send_message(
        ws,
        proto::WorkerMessage {
            message: Some(message),
        },
    )
    .await
}

async fn send_message(ws: &mut Ws, message: proto::WorkerMessage) -> anyhow::Result<()> {
    ws.send(Frame::Binary(message.encode_to_vec().into()))
        .await
        .context("sending to the LiveKit server")
}

/// The next protobuf message from the server; WebSocket pings are answered by
/// the WebSocket layer, text frames are not part of the protocol.
async fn next_message(ws: &mut Ws) -> anyhow::Result<proto::ServerMessage> {
    loop {
        match ws.next().await {
            None => bail!("the server closed the connection"),
            Some(Err(e)) => return Err(e).context("reading from the LiveKit server"),
            Some(Ok(Frame::Binary(bytes))) => {
                return proto::ServerMessage::decode(bytes.as_ref())
                    .context("undecodable message from the LiveKit server");
            }
            Some(Ok(Frame::Close(frame))) => bail!(
                "the server closed the connection{}",
                frame
                    .map(|f| format!(": {} {}", f.code, f.reason))
                    .unwrap_or_default()
            ),
            Some(Ok(Frame::Text(_))) => tracing::warn!("ignoring a text frame from the server"),
            Some(Ok(_)) => {}
        }
    }
}

/// Completes once the worker stops (or its handle is gone). The watch guard
/// stays inside, so callers' futures remain `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_endpoint_follows_the_server_url() {
        for (given, expected) in [
            ("wss://lk.example.com", "wss://lk.example.com/agent"),
            ("wss://lk.example.com/", "wss://lk.example.com/agent"),
            (
                "https://lk.example.com/base/",
                "wss://lk.example.com/base/agent",
            ),
            ("http://127.0.0.1:7880", "ws://127.0.0.1:7880/agent"),
            ("ws://localhost:7880?x=1", "ws://localhost:7880/agent"),
        ] {
            assert_eq!(agent_url(given).unwrap(), expected, "{given}");
        }
        for bad in ["lk.example.com", "ftp://lk", "wss://", "wss:///x", ""] {
            assert!(agent_url(bad).is_err(), "{bad:?}");
        }
    }
}
