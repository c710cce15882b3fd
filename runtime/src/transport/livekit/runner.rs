//! [`LiveKitJobRunner`]: runs the lessons the agent worker accepts, each in
//! its LiveKit room.

use std::time::Duration;

use anyhow::Context as _;
use futures::future::BoxFuture;

use super::inbound::lesson_spec;
use super::room::{LiveKitOptions, LiveKitTransport};
use crate::session::{LessonConfig, LessonDeps, LessonSession};
use crate::worker::{AssignedJob, JobRunner};

/// Runs a lesson over [`LiveKitTransport`] for each assigned job.
#[derive(Clone)]
pub struct LiveKitJobRunner {
    deps: LessonDeps,
    config: LessonConfig,
    learner_wait: Duration,
    playout_queue_ms: u32,
}

impl LiveKitJobRunner {
    /// A runner teaching with the process's plugin host, store and metrics.
    pub fn new(deps: LessonDeps, config: LessonConfig) -> Self {
        let defaults = LiveKitOptions::default();
        LiveKitJobRunner {
            deps,
            config,
            learner_wait: defaults.learner_wait,
            playout_queue_ms: defaults.playout_queue_ms,
        }
    }

    /// How long a job waits for its learner to be in the room.
    pub fn with_learner_wait(mut self, wait: Duration) -> Self {
        self.learner_wait = wait;
        self
    }

    /// Audio held by the WebRTC source, in ms (a multiple of 10).
    pub fn with_playout_queue_ms(mut self, ms: u32) -> Self {
        self.playout_queue_ms = ms;
        self
    }
}

impl JobRunner for LiveKitJobRunner {
    fn run(&self, job: AssignedJob) -> BoxFuture<'static, anyhow::Result<()>> {
        let runner = self.clone();
        Box::pin(async move {
            let AssignedJob {
                job_id,
                room_name,
                url,
                token,
                metadata,
                shutdown,
            } = job;
            let mut draining = shutdown.clone();
            if *draining.borrow() {
                anyhow::bail!("job {job_id}: the worker is shutting down");
            }
            let options = LiveKitOptions {
                learner: metadata.learner.clone(),
                learner_wait: runner.learner_wait,
                playout_queue_ms: runner.playout_queue_ms,
                shutdown: Some(shutdown),
            };
            let transport = tokio::select! {
                joined = LiveKitTransport::connect(&url, &token, options) => {
                    joined.with_context(|| format!("job {job_id} in room {room_name}"))?
                }
                // Draining before the learner is there: nothing to end cleanly.
                Ok(_) = draining.wait_for(|down| *down) => {
                    anyhow::bail!("job {job_id}: the worker shut down before the lesson started");
                }
            };
            let spec = lesson_spec(
                &room_name,
                &metadata.subtopic_id,
                transport.learner_identity(),
            );
            let session_id = spec.session_id.clone();
            tracing::info!(
                job_id,
                room = room_name,
                session_id,
                subtopic_id = metadata.subtopic_id,
                "lesson starting in the room"
            );
            let summary = LessonSession::run(runner.deps, runner.config, spec, transport)
                .await
                .with_context(|| format!("job {job_id}: lesson {session_id} could not start"))?;
            tracing::info!(
                job_id,
                session_id,
                reason = summary.reason.as_str(),
                tool_calls = summary.tool_calls,
                interruptions = summary.interruptions,
                reconnects = summary.reconnects,
                "lesson ended"
            );
            Ok(())
        })
    }
}
