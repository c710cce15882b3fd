//! Agent worker: registers with a LiveKit server's agent endpoint, is offered
//! lesson jobs, accepts the ones it can run and reports its load.
//!
//! The room side of a job (joining, audio, the lesson) is behind [`JobRunner`],
//! so the worker protocol does not depend on the room transport.
//!
//! The exchange follows LiveKit's agent protocol (`livekit_agent.proto`): the
//! worker opens a WebSocket to `{url}/agent` with a token carrying the `agent`
//! grant and sends `RegisterWorkerRequest`; the server answers
//! `RegisterWorkerResponse`, then offers jobs with `AvailabilityRequest`. A job
//! the worker said yes to comes back as a `JobAssignment` with the room token;
//! the worker reports `UpdateJobStatus` (running, then success or failure) and,
//! periodically and on every change, `UpdateWorkerStatus` with its load.

mod connection;
mod jobs;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use connection::agent_url;
pub use metrics::WorkerMetrics;

/// What a dispatched job says about the lesson (from the dispatch metadata JSON
/// `{"subtopic_id": "...", "learner": "..."}`; learner falls back to the job's
/// participant identity).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobMetadata {
    /// The subtopic the lesson starts on.
    pub subtopic_id: String,
    /// The learner's identity, when known.
    #[serde(default)]
    pub learner: Option<String>,
}

/// Longest subtopic id or learner identity a job may carry.
const MAX_ID_LEN: usize = 256;

/// Why a job's metadata was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The metadata is not the expected JSON object.
    #[error("job metadata is not a JSON object with a subtopic_id: {0}")]
    NotJson(String),
    /// A field is empty, too long or holds control characters.
    #[error("job metadata field `{0}` must be 1 to 256 printable characters")]
    BadField(&'static str),
    /// Neither the metadata nor the job names the learner.
    #[error("job names no learner (metadata `learner` or a participant)")]
    NoLearner,
}

impl JobMetadata {
    /// Reads a job's dispatch metadata. `participant` is the identity of the
    /// participant the job was dispatched for, used when the metadata names no
    /// learner; a job with neither is refused, as a lesson needs its learner.
    pub fn parse(metadata: &str, participant: Option<&str>) -> Result<Self, MetadataError> {
        let mut parsed: JobMetadata =
            serde_json::from_str(metadata).map_err(|e| MetadataError::NotJson(e.to_string()))?;
        parsed.subtopic_id = valid_id(&parsed.subtopic_id, "subtopic_id")?;
        parsed.learner = match parsed.learner.as_deref() {
            Some(learner) => Some(valid_id(learner, "learner")?),
            None => match participant.filter(|p| !p.is_empty()) {
                Some(identity) => Some(valid_id(identity, "learner")?),
                None => return Err(MetadataError::NoLearner),
            },
        };
        Ok(parsed)
    }
}

fn valid_id(value: &str, field: &'static str) -> Result<String, MetadataError> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_ID_LEN || value.chars().any(char::is_control) {
        return Err(MetadataError::BadField(field));
    }
    Ok(value.to_owned())
}

/// A job this worker accepted, handed to a [`JobRunner`].
#[derive(Debug)]
pub struct AssignedJob {
    /// LiveKit's job id.
    pub job_id: String,
    /// The room the lesson happens in.
    pub room_name: String,
    /// LiveKit server URL to join (the assignment's url, else the worker's configured one).
    pub url: String,
    /// Token the agent joins the room with (from the JobAssignment).
    pub token: String,
    /// The lesson the job is for.
    pub metadata: JobMetadata,
    /// Turns true when the worker drains/shuts down: end the lesson cleanly.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Runs accepted jobs.
pub trait JobRunner: Send + Sync + 'static {
    /// Run one accepted job to its end (the lesson). Errors are reported as job failure.
    fn run(&self, job: AssignedJob) -> BoxFuture<'static, anyhow::Result<()>>;
}

/// How the worker reaches LiveKit and how much it takes on.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// LiveKit server URL (`wss://…`, `ws://…`, or `https://…`); the agent
    /// endpoint is `{url}/agent`.
    pub url: String,
    /// LiveKit API key.
    pub api_key: String,
    /// LiveKit API secret (signs the worker's token).
    pub api_secret: String,
    /// Name LiveKit dispatches jobs to (explicit dispatch by agent name).
    pub agent_name: String,
    /// Lessons run at once; beyond it availability requests are refused.
    pub max_jobs: usize,
    /// Name the tutor has in the room.
    pub participant_name: String,
    /// How often load and status are reported when nothing changes.
    pub status_interval: Duration,
    /// How often the worker pings the server.
    pub ping_interval: Duration,
    /// Silence from the server after which the connection counts as dead.
    pub ping_timeout: Duration,
    /// Deadline for connecting and registering.
    pub connect_timeout: Duration,
    /// How long an accepted job waits for its assignment before the slot is freed.
    pub assignment_timeout: Duration,
    /// How long a drain waits for running lessons before stopping them.
    pub drain_timeout: Duration,
    /// First delay before reconnecting; doubles per failure up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest delay between reconnection attempts.
    pub reconnect_max: Duration,
}

impl WorkerOptions {
    /// Options with the defaults: 16 lessons at once, status every 2.5 s
    /// (as LiveKit's own workers do), pings every 10 s, a 10-minute drain.
    pub fn new(
        url: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: impl Into<String>,
        agent_name: impl Into<String>,
    ) -> Self {
        Self {
            url: url.into(),
            api_key: api_key.into(),
            api_secret: api_secret.into(),
            agent_name: agent_name.into(),
            max_jobs: 16,
            participant_name: "Tutor".to_owned(),
            status_interval: Duration::from_millis(2500),
            ping_interval: Duration::from_secs(10),
            ping_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            assignment_timeout: Duration::from_millis(7500),
            drain_timeout: Duration::from_secs(600),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(10),
        }
    }
}

/// What a drain ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Lessons that ended on their own after being told to stop.
    pub finished: usize,
    /// Lessons still running at the drain timeout, stopped and reported failed.
    pub abandoned: usize,
}

/// A running worker. Dropping it stops the connection without draining; call
/// [`Worker::shutdown`] to drain.
pub struct Worker {
    shared: Arc<jobs::Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker: connects, registers and keeps reconnecting until shut down.
    pub fn spawn(
        options: WorkerOptions,
        runner: Arc<dyn JobRunner>,
        metrics: Arc<WorkerMetrics>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(options.max_jobs > 0, "max_jobs must be at least 1");
        anyhow::ensure!(
            !options.agent_name.trim().is_empty(),
            "the agent name may not be empty"
        );
        agent_url(&options.url)?;
        let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(jobs::Shared::new(options, runner, metrics, outbox_tx));
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(connection::run(shared.clone(), outbox_rx, stop_rx));
        Ok(Self {
            shared,
            stop,
            task: Some(task),
        })
    }

    /// The worker's metrics.
    pub fn metrics(&self) -> Arc<WorkerMetrics> {
        self.shared.metrics.clone()
    }

    /// The id the server gave the current registration, if registered now.
    pub fn worker_id(&self) -> Option<String> {
        self.shared.registration.borrow().clone()
    }

    /// Waits until the worker is registered and returns its id.
    pub async fn registered(&self) -> String {
        let mut rx = self.shared.registration.subscribe();
        let id = rx
            .wait_for(Option::is_some)
            .await
            .expect("the worker keeps its registration sender");
        id.clone().unwrap_or_default()
    }

    /// Lessons running now.
    pub fn active_jobs(&self) -> usize {
        self.shared.running_count()
    }

    /// Drains and stops: reports itself full and draining, refuses new jobs,
    /// tells running lessons to end, waits for them up to the drain timeout
    /// (stopping and failing any still running then), and closes the connection.
    pub async fn shutdown(mut self) -> DrainReport {
        let report = self.shared.drain().await;
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        report
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_the_subtopic_and_learner() {
        let m =
            JobMetadata::parse(r#"{"subtopic_id":"fractions-1","learner":"ada"}"#, None).unwrap();
        assert_eq!(m.subtopic_id, "fractions-1");
        assert_eq!(m.learner.as_deref(), Some("ada"));
    }

    #[test]
    fn the_learner_falls_back_to_the_participant() {
        let m = JobMetadata::parse(r#"{"subtopic_id":"s"}"#, Some("learner-7")).unwrap();
        assert_eq!(m.learner.as_deref(), Some("learner-7"));
        assert_eq!(
            JobMetadata::parse(r#"{"subtopic_id":"s"}"#, Some("")),
            Err(MetadataError::NoLearner)
        );
    }

    #[test]
    fn bad_metadata_is_refused() {
        for bad in ["", "null", "[]", "{}", r#"{"subtopic_id":5}"#, "not json"] {
            assert!(
                matches!(
                    JobMetadata::parse(bad, Some("p")),
                    Err(MetadataError::NotJson(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            JobMetadata::parse(r#"{"subtopic_id":"  "}"#, Some("p")),
            Err(MetadataError::BadField("subtopic_id"))
        );
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            JobMetadata::parse(
                &format!(r#"{{"subtopic_id":"s","learner":"{long}"}}"#),
                None
            ),
            Err(MetadataError::BadField("learner"))
        );
        assert_eq!(
            JobMetadata::parse(r#"{"subtopic_id":"a\nb"}"#, Some("p")),
            Err(MetadataError::BadField("subtopic_id"))
        );
    }
}
