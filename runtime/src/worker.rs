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
mod lessons;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use connection::agent_url;
pub use lessons::SubtopicCatalog;
pub use metrics::WorkerMetrics;

/// The lesson an accepted job teaches: the subtopic (as the dispatch metadata
/// named it, or the worker's default for a room whose token named none,
/// checked against the curriculum) and the learner, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMetadata {
    /// The subtopic the lesson starts on.
    pub subtopic_id: String,
    /// The learner's identity, when known; otherwise the first participant
    /// in the room who is not an agent is the learner.
    pub learner: Option<String>,
}

/// What a dispatched job asks for, from its dispatch metadata: empty, or the
/// JSON object `{"subtopic_id": "...", "learner": "..."}` with either field
/// optional. The learner falls back to the job's participant identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRequest {
    /// The subtopic named, if any.
    pub subtopic_id: Option<String>,
    /// The learner named (or the job's participant), if any.
    pub learner: Option<String>,
}

/// Longest subtopic id or learner identity a job may carry.
const MAX_ID_LEN: usize = 256;

/// Why a job's metadata was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The metadata is neither empty nor a JSON object.
    #[error("job metadata is neither empty nor a JSON object: {0}")]
    NotJson(String),
    /// A field is not a string, is empty, too long or holds control characters.
    #[error("job metadata field `{0}` must be a string of 1 to 256 printable characters")]
    BadField(&'static str),
}

impl JobRequest {
    /// Reads a job's dispatch metadata. `participant` is the identity of the
    /// participant the job was dispatched for, the learner when the metadata
    /// names none. Empty metadata (a token that named no subtopic) asks for
    /// nothing: the worker's default subtopic, the learner found in the room.
    pub fn parse(metadata: &str, participant: Option<&str>) -> Result<Self, MetadataError> {
        let mut request = JobRequest {
            subtopic_id: None,
            learner: None,
        };
        if !metadata.trim().is_empty() {
            let value: serde_json::Value = serde_json::from_str(metadata)
                .map_err(|e| MetadataError::NotJson(e.to_string()))?;
            let serde_json::Value::Object(fields) = value else {
                return Err(MetadataError::NotJson(format!(
                    "{} is not an object",
                    kind_of(&value)
                )));
            };
            request.subtopic_id = optional_id(&fields, "subtopic_id")?;
            request.learner = optional_id(&fields, "learner")?;
        }
        if request.learner.is_none() {
            request.learner = participant
                .filter(|p| !p.is_empty())
                .map(|identity| valid_id(identity, "learner"))
                .transpose()?;
        }
        Ok(request)
    }
}

fn kind_of(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A field that may be absent or null, else must be a valid id.
fn optional_id(
    fields: &serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<Option<String>, MetadataError> {
    match fields.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(value)) => valid_id(value, field).map(Some),
        Some(_) => Err(MetadataError::BadField(field)),
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
    /// The subtopic of a job whose metadata names none; `None` teaches the
    /// curriculum's first subtopic (looked up when the job is offered).
    pub default_subtopic: Option<String>,
    /// How long looking a job's subtopic up may take before the job is refused
    /// (LiveKit offers it to another worker when the answer is late).
    pub lesson_lookup_timeout: Duration,
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
            default_subtopic: None,
            lesson_lookup_timeout: Duration::from_secs(2),
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
    /// Starts the worker: connects, registers and keeps reconnecting until shut
    /// down. Offered jobs' subtopics are looked up in `subtopics`.
    pub fn spawn(
        mut options: WorkerOptions,
        runner: Arc<dyn JobRunner>,
        subtopics: Arc<dyn SubtopicCatalog>,
        metrics: Arc<WorkerMetrics>,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(options.max_jobs > 0, "max_jobs must be at least 1");
        anyhow::ensure!(
            !options.agent_name.trim().is_empty(),
            "the agent name may not be empty"
        );
        if let Some(default) = options.default_subtopic.take() {
            let id = valid_id(&default, "default_subtopic").map_err(|_| {
                anyhow::anyhow!(
                    "the default subtopic {default:?} is not a subtopic id (1 to 256 printable characters)"
                )
            })?;
            options.default_subtopic = Some(id);
        }
        agent_url(&options.url)?;
        let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(jobs::Shared::new(
            options, runner, subtopics, metrics, outbox_tx,
        ));
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
            JobRequest::parse(r#"{"subtopic_id":"fractions-1","learner":"ada"}"#, None).unwrap();
        assert_eq!(m.subtopic_id.as_deref(), Some("fractions-1"));
        assert_eq!(m.learner.as_deref(), Some("ada"));
    }

    #[test]
    fn the_learner_falls_back_to_the_participant_or_the_room() {
        let m = JobRequest::parse(r#"{"subtopic_id":"s"}"#, Some("learner-7")).unwrap();
        assert_eq!(m.learner.as_deref(), Some("learner-7"));
        let m = JobRequest::parse(r#"{"subtopic_id":"s"}"#, Some("")).unwrap();
        assert_eq!(m.learner, None);
    }

    #[test]
    fn metadata_without_a_subtopic_asks_for_the_default() {
        for empty in ["", "  ", "{}", r#"{"subtopic_id":null}"#] {
            assert_eq!(
                JobRequest::parse(empty, None),
                Ok(JobRequest {
                    subtopic_id: None,
                    learner: None
                }),
                "{empty:?}"
            );
        }
        let m = JobRequest::parse(r#"{"learner":"ada"}"#, Some("p")).unwrap();
        assert_eq!((m.subtopic_id, m.learner.as_deref()), (None, Some("ada")));
    }

    #[test]
    fn bad_metadata_is_refused() {
        for bad in ["null", "[]", "5", r#""s""#, "not json", "{"] {
            assert!(
                matches!(
                    JobRequest::parse(bad, Some("p")),
                    Err(MetadataError::NotJson(_))
                ),
                "{bad:?}"
            );
        }
        for (bad, field) in [
            (r#"{"subtopic_id":"  "}"#, "subtopic_id"),
            (r#"{"subtopic_id":5}"#, "subtopic_id"),
            (r#"{"subtopic_id":"a\nb"}"#, "subtopic_id"),
            (r#"{"subtopic_id":"s","learner":""}"#, "learner"),
            (r#"{"subtopic_id":"s","learner":["ada"]}"#, "learner"),
        ] {
            assert_eq!(
                JobRequest::parse(bad, Some("p")),
                Err(MetadataError::BadField(field)),
                "{bad:?}"
            );
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            JobRequest::parse(
                &format!(r#"{{"subtopic_id":"s","learner":"{long}"}}"#),
                None
            ),
            Err(MetadataError::BadField("learner"))
        );
    }
}
