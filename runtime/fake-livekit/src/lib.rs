//! A stand-in for a LiveKit server's agent dispatcher, for tests.
//!
//! It listens on a local port and speaks LiveKit's agent worker protocol
//! (`WorkerMessage` / `ServerMessage` protobufs in binary WebSocket frames):
//! it answers a worker's registration and pings by itself, and lets a test
//! offer jobs (`AvailabilityRequest`), assign them (`JobAssignment`), end them
//! (`JobTermination`), drop the connection or refuse the next connections.
//! Every message the worker sent is recorded with the connection it came on,
//! together with each connection's request path and `Authorization` header.
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow};
use futures::{SinkExt as _, StreamExt as _};
use livekit_protocol as proto;
use prost::Message as _;
use proto::server_message::Message as ToWorker;
use proto::worker_message::Message as FromWorker;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

/// One message a worker sent.
#[derive(Debug, Clone)]
pub struct Received {
    /// 0-based connection number.
    pub connection: usize,
    /// The message.
    pub message: FromWorker,
}

/// How a worker connected.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The request path (`/agent` for a LiveKit worker).
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

enum Command {
    Send(Box<proto::ServerMessage>),
    /// Drop the TCP connection without a close handshake, as a crashed or
    /// partitioned server would.
    Drop,
}

struct Shared {
    recorded: Mutex<Vec<Received>>,
    /// Bumped on every recorded message and connection, so waiters never miss one.
    version: watch::Sender<u64>,
    connections: Mutex<Vec<ConnectionInfo>>,
    current: Mutex<Option<mpsc::UnboundedSender<Command>>>,
    refuse_next: AtomicUsize,
    refused: AtomicUsize,
}

impl Shared {
    fn bump(&self) {
        self.version.send_modify(|v| *v += 1);
    }
}

/// A running fake dispatcher. Dropping it stops listening.
pub struct FakeDispatcher {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for FakeDispatcher {
    fn drop(&mut self) {
        self.accept.abort();
        if let Some(conn) = self.shared.current.lock().expect("lock").take() {
            let _ = conn.send(Command::Drop);
        }
    }
}

impl FakeDispatcher {
    /// Listens on a free local port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            recorded: Mutex::default(),
            version: watch::Sender::new(0),
            connections: Mutex::default(),
            current: Mutex::default(),
            refuse_next: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    /// The server URL to configure a worker with (`ws://127.0.0.1:port`); the
    /// worker adds `/agent`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Connections accepted so far (refused ones are not listed).
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.shared.connections.lock().expect("lock").clone()
    }

    /// Connections refused with HTTP 503 so far.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Everything the workers sent, in order.
    pub fn received(&self) -> Vec<Received> {
        self.shared.recorded.lock().expect("lock").clone()
    }

    /// Refuses the next `n` connection attempts with HTTP 503.
    pub fn refuse_next_connections(&self, n: usize) {
        self.shared.refuse_next.store(n, Ordering::SeqCst);
    }

    /// Waits for the first recorded message at index `from` or later that
    /// `matches` accepts, and returns it with its index.
    pub async fn wait_for<T>(
        &self,
        from: usize,
        timeout: Duration,
        mut matches: impl FnMut(&Received) -> Option<T>,
    ) -> anyhow::Result<(usize, T)> {
        let mut version = self.shared.version.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            version.borrow_and_update();
            {
                let recorded = self.shared.recorded.lock().expect("lock");
                for (i, r) in recorded.iter().enumerate().skip(from) {
                    if let Some(found) = matches(r) {
                        return Ok((i, found));
                    }
                }
            }
            tokio::time::timeout_at(deadline, version.changed())
                .await
                .map_err(|_| {
                    anyhow!(
                        "no matching worker message within {timeout:?}; received: {:#?}",
                        self.received()
                    )
                })?
                .context("dispatcher gone")?;
        }
    }

    /// Waits for the worker's registration on connection `connection`.
    pub async fn registration(
        &self,
        connection: usize,
        timeout: Duration,
    ) -> anyhow::Result<proto::RegisterWorkerRequest> {
        self.wait_for(0, timeout, |r| match &r.message {
            FromWorker::Register(req) if r.connection == connection => Some(req.clone()),
            _ => None,
        })
        .await
        .map(|(_, r)| r)
    }

    /// Sends a message to the worker on the current connection.
    pub fn send(&self, message: ToWorker) -> anyhow::Result<()> {
        let current = self.shared.current.lock().expect("lock");
        let conn = current
            .as_ref()
            .ok_or_else(|| anyhow!("no worker connected"))?;
        conn.send(Command::Send(Box::new(proto::ServerMessage {
            message: Some(message),
        })))
        .map_err(|_| anyhow!("the worker connection is gone"))
    }

    /// Offers `job` as LiveKit does and returns the worker's answer.
    pub async fn offer(
        &self,
        job: proto::Job,
        timeout: Duration,
    ) -> anyhow::Result<proto::AvailabilityResponse> {
        let from = self.received().len();
        let job_id = job.id.clone();
        self.send(ToWorker::Availability(proto::AvailabilityRequest {
            job: Some(job),
            resuming: false,
        }))?;
        self.wait_for(from, timeout, |r| match &r.message {
            FromWorker::Availability(a) if a.job_id == job_id => Some(a.clone()),
            _ => None,
        })
        .await
        .map(|(_, a)| a)
    }

    /// Assigns `job` with a room token named after it (`token-{job id}`).
    pub fn assign(&self, job: proto::Job, url: Option<String>) -> anyhow::Result<()> {
        let token = format!("token-{}", job.id);
        self.send(ToWorker::Assignment(proto::JobAssignment {
            job: Some(job),
            url,
            token,
        }))
    }

    /// Offers `job` and, when the worker says it is available, assigns it.
    /// Returns the worker's answer.
    pub async fn dispatch(
        &self,
        job: proto::Job,
        timeout: Duration,
    ) -> anyhow::Result<proto::AvailabilityResponse> {
        let answer = self.offer(job.clone(), timeout).await?;
        if answer.available {
            self.assign(job, None)?;
        }
        Ok(answer)
    }

    /// Ends a job, as LiveKit does when its room closes.
    pub fn terminate(&self, job_id: &str) -> anyhow::Result<()> {
        self.send(ToWorker::Termination(proto::JobTermination {
            job_id: job_id.to_owned(),
        }))
    }

    /// Drops the current connection without a close handshake.
    pub fn drop_connection(&self) -> anyhow::Result<()> {
        let conn = self
            .shared
            .current
            .lock()
            .expect("lock")
            .take()
            .ok_or_else(|| anyhow!("no worker connected"))?;
        let _ = conn.send(Command::Drop);
        Ok(())
    }

    /// The job status updates the worker sent for `job_id`, in order.
    pub fn job_statuses(&self, job_id: &str) -> Vec<proto::UpdateJobStatus> {
        self.received()
            .into_iter()
            .filter_map(|r| match r.message {
                FromWorker::UpdateJob(u) if u.job_id == job_id => Some(u),
                _ => None,
            })
            .collect()
    }

    /// The worker status updates sent so far, in order.
    pub fn worker_statuses(&self) -> Vec<proto::UpdateWorkerStatus> {
        self.received()
            .into_iter()
            .filter_map(|r| match r.message {
                FromWorker::UpdateWorker(u) => Some(u),
                _ => None,
            })
            .collect()
    }

    /// Waits for a job status update for `job_id` with `status`, at index
    /// `from` or later.
    pub async fn job_status(
        &self,
        from: usize,
        job_id: &str,
        status: proto::JobStatus,
        timeout: Duration,
    ) -> anyhow::Result<proto::UpdateJobStatus> {
        self.wait_for(from, timeout, |r| match &r.message {
            FromWorker::UpdateJob(u) if u.job_id == job_id && u.status == status as i32 => {
                Some(u.clone())
            }
            _ => None,
        })
        .await
        .map(|(_, u)| u)
    }
}

/// A room job as LiveKit sends it for an explicit dispatch: `metadata` is the
/// dispatch metadata, `participant` the identity the job was created for.
pub fn room_job(id: &str, room: &str, metadata: &str, participant: Option<&str>) -> proto::Job {
    proto::Job {
        id: id.to_owned(),
        dispatch_id: format!("AD_{id}"),
        r#type: proto::JobType::JtRoom as i32,
        room: Some(proto::Room {
            sid: format!("RM_{room}"),
            name: room.to_owned(),
            ..Default::default()
        }),
        participant: participant.map(|identity| proto::ParticipantInfo {
            identity: identity.to_owned(),
            ..Default::default()
        }),
        metadata: metadata.to_owned(),
        agent_name: String::new(),
        ..Default::default()
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut number = 0usize;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        match handshake(stream, &shared).await {
            Ok(Some(ws)) => {
                let (tx, rx) = mpsc::unbounded_channel();
                // A new connection replaces the previous one, as a worker has one
                // control connection at a time.
                if let Some(old) = shared.current.lock().expect("lock").replace(tx) {
                    let _ = old.send(Command::Drop);
                }
                shared.bump();
                tokio::spawn(serve(ws, rx, shared.clone(), number));
                number += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "fake dispatcher handshake failed"),
        }
    }
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

async fn handshake(stream: TcpStream, shared: &Arc<Shared>) -> anyhow::Result<Option<Ws>> {
    let mut info = None;
    let refuse = shared
        .refuse_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    // The handshake callback's signature is tungstenite's.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if refuse {
            let mut refusal = ErrorResponse::new(Some("unavailable".to_owned()));
            *refusal.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return Err(refusal);
        }
        info = Some(ConnectionInfo {
            path: request.uri().path().to_owned(),
            authorization: request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        Ok(response)
    };
    let accepted = tokio_tungstenite::accept_hdr_async(stream, callback).await;
    if refuse {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        shared.bump();
        return Ok(None);
    }
    let ws = accepted?;
    shared
        .connections
        .lock()
        .expect("lock")
        .push(info.expect("set by the accepted handshake"));
    Ok(Some(ws))
}

async fn serve(
    mut ws: Ws,
    mut commands: mpsc::UnboundedReceiver<Command>,
    shared: Arc<Shared>,
    connection: usize,
) {
    if let Err(e) = exchange(&mut ws, &mut commands, &shared, connection).await {
        tracing::debug!(connection, error = %e, "fake dispatcher connection ended");
    }
}

async fn exchange(
    ws: &mut Ws,
    commands: &mut mpsc::UnboundedReceiver<Command>,
    shared: &Shared,
    connection: usize,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Send(message)) => {
                    ws.send(Frame::Binary(message.encode_to_vec().into())).await?;
                }
                Some(Command::Drop) | None => return Ok(()),
            },
            frame = ws.next() => {
                let bytes = match frame {
                    None | Some(Ok(Frame::Close(_))) => return Ok(()),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Frame::Binary(bytes))) => bytes,
                    Some(Ok(_)) => continue,
                };
                let message = proto::WorkerMessage::decode(bytes.as_ref())
                    .context("undecodable worker message")?
                    .message
                    .ok_or_else(|| anyhow!("empty worker message"))?;
                let reply = match &message {
                    FromWorker::Register(_) => Some(ToWorker::Register(proto::RegisterWorkerResponse {
                        worker_id: format!("AW_fake_{connection}"),
                        server_info: Some(proto::ServerInfo {
                            edition: proto::server_info::Edition::Standard as i32,
                            version: "fake".to_owned(),
                            protocol: 16,
                            region: "local".to_owned(),
                            node_id: "fake-node".to_owned(),
                            ..Default::default()
                        }),
                        endpoint_settings: None,
                    })),
                    FromWorker::Ping(ping) => Some(ToWorker::Pong(proto::WorkerPong {
                        last_timestamp: ping.timestamp,
                        timestamp: now_ms(),
                    })),
                    _ => None,
                };
                shared
                    .recorded
                    .lock()
                    .expect("lock")
                    .push(Received { connection, message });
                shared.bump();
                if let Some(reply) = reply {
                    ws.send(Frame::Binary(
                        proto::ServerMessage { message: Some(reply) }.encode_to_vec().into(),
                    ))
                    .await?;
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
