//! Agent worker: registers with a LiveKit server's agent endpoint, is offered
//! lesson jobs, accepts the ones it can run and reports its load.
//!
//! The room side of a job (joining, audio, the lesson) is behind [`JobRunner`],
//! so the worker protocol does not depend on the room transport.

use futures::future::BoxFuture;
use serde::Deserialize;

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
