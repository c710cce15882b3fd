//! The worker's jobs: the capacity decision, accepted jobs waiting for their
//! assignment, running lessons and the drain.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use livekit_protocol as proto;
use proto::worker_message::Message as Out;
use tokio::sync::{Notify, mpsc, watch};

use super::lessons::{self, SubtopicCatalog};
use super::{
    AssignedJob, DrainReport, JobMetadata, JobRequest, JobRunner, WorkerMetrics, WorkerOptions,
};

/// Why an availability request was answered no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Full,
    Draining,
    InvalidMetadata,
    /// The subtopic asked for (or the default one) is not in the curriculum,
    /// or the curriculum is empty.
    UnknownSubtopic,
    /// The curriculum could not be read in time.
    CurriculumUnavailable,
}

/// A job the worker said yes to, holding a slot until its assignment arrives.
struct Reservation {
    metadata: JobMetadata,
    expires: Instant,
}

struct RunningJob {
    shutdown: watch::Sender<bool>,
    abort: tokio::task::AbortHandle,
}

#[derive(Default)]
struct State {
    draining: bool,
    reserved: HashMap<String, Reservation>,
    running: HashMap<String, RunningJob>,
}

impl State {
    /// Frees the slots of accepted jobs whose assignment never came (the server
    /// gave the job to another worker or dropped it).
    fn purge_expired(&mut self, now: Instant) {
        self.reserved.retain(|_, r| r.expires > now);
    }

    fn taken(&self) -> usize {
        self.reserved.len() + self.running.len()
    }
}

/// What one status report says.
pub(crate) struct Status {
    pub full: bool,
    pub draining: bool,
    pub load: f32,
    pub job_count: u32,
}

/// Everything the connection task and the [`super::Worker`] handle share.
pub(crate) struct Shared {
    pub options: WorkerOptions,
    pub metrics: Arc<WorkerMetrics>,
    /// Random per process, constant across reconnections, so the server can
    /// tell a re-registration of this worker from a new one.
    pub instance_id: String,
    /// The current registration's worker id.
    pub registration: watch::Sender<Option<String>>,
    /// Wakes the connection task to report status now.
    pub status_changed: Notify,
    runner: Arc<dyn JobRunner>,
    subtopics: Arc<dyn SubtopicCatalog>,
    state: Mutex<State>,
    running: watch::Sender<usize>,
    /// Job replies and job status updates, sent in order by whichever
    /// connection is up (kept across reconnections).
    outbox: mpsc::UnboundedSender<proto::WorkerMessage>,
}

impl Shared {
    pub fn new(
        options: WorkerOptions,
        runner: Arc<dyn JobRunner>,
        subtopics: Arc<dyn SubtopicCatalog>,
        metrics: Arc<WorkerMetrics>,
        outbox: mpsc::UnboundedSender<proto::WorkerMessage>,
    ) -> Self {
        Self {
            options,
            metrics,
            instance_id: uuid::Uuid::new_v4().simple().to_string(),
            registration: watch::Sender::new(None),
            status_changed: Notify::new(),
            runner,
            subtopics,
            state: Mutex::default(),
            running: watch::Sender::new(0),
            outbox,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain maps behind,
        // which stay consistent enough to keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn running_count(&self) -> usize {
        self.state().running.len()
    }

    fn send(&self, message: Out) {
        // The receiver lives as long as the connection task; once it is gone
        // nobody is listening for these messages any more.
        let _ = self.outbox.send(proto::WorkerMessage {
            message: Some(message),
        });
    }

    pub fn status(&self) -> Status {
        let mut state = self.state();
        state.purge_expired(Instant::now());
        let taken = state.taken();
        let max = self.options.max_jobs;
        Status {
            full: state.draining || taken >= max,
            draining: state.draining,
            load: (taken as f32 / max as f32).min(1.0),
            job_count: state.running.len() as u32,
        }
    }

    /// Answers an availability request: yes (reserving a slot) when there is
    /// room, the worker is not draining, the metadata is well formed and the
    /// subtopic it asks for (or the default one) is in the curriculum.
    pub async fn answer_availability(&self, request: proto::AvailabilityRequest) {
        let Some(job) = request.job else {
            tracing::warn!("availability request without a job");
            return;
        };
        let decision = self.decide(&job).await;
        let answer = match decision {
            Ok(()) => {
                self.metrics.accepted();
                tracing::info!(job_id = %job.id, room = ?job.room.as_ref().map(|r| &r.name), "accepted a lesson job");
                proto::AvailabilityResponse {
                    job_id: job.id.clone(),
                    available: true,
                    participant_identity: format!("agent-{}", job.id),
                    participant_name: self.options.participant_name.clone(),
                    ..Default::default()
                }
            }
            Err(refusal) => {
                self.metrics.refused(refusal);
                proto::AvailabilityResponse {
                    job_id: job.id.clone(),
                    available: false,
                    ..Default::default()
                }
            }
        };
        self.send(Out::Availability(answer));
        self.status_changed.notify_one();
    }

    /// Whether a job could take a slot now: `Ok(true)` when it already holds one
    /// (offered again after a lost answer).
    fn room_for(&self, state: &mut State, job_id: &str, now: Instant) -> Result<bool, Refusal> {
        if state.draining {
            return Err(Refusal::Draining);
        }
        state.purge_expired(now);
        if state.running.contains_key(job_id) || state.reserved.contains_key(job_id) {
            return Ok(true);
        }
        if state.taken() >= self.options.max_jobs {
            tracing::info!(%job_id, max_jobs = self.options.max_jobs, "refused a job: full");
            return Err(Refusal::Full);
        }
        Ok(false)
    }

    async fn decide(&self, job: &proto::Job) -> Result<(), Refusal> {
        let participant = job.participant.as_ref().map(|p| p.identity.as_str());
        let request = match JobRequest::parse(&job.metadata, participant) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "refused a job");
                return Err(Refusal::InvalidMetadata);
            }
        };
        // Full or draining needs no trip to the database.
        let held = {
            let mut state = self.state();
            self.room_for(&mut state, &job.id, Instant::now())?
        };
        if held {
            return Ok(());
        }
        let lookup = lessons::choose(
            self.subtopics.as_ref(),
            self.options.default_subtopic.as_deref(),
            request.subtopic_id.as_deref(),
        );
        let subtopic_id =
            match tokio::time::timeout(self.options.lesson_lookup_timeout, lookup).await {
                Ok(Ok(id)) => id,
                Ok(Err(no_lesson)) => {
                    tracing::warn!(job_id = %job.id, reason = %no_lesson.reason, "refused a job");
                    return Err(no_lesson.refusal);
                }
                Err(_) => {
                    tracing::warn!(
                        job_id = %job.id,
                        timeout_ms = self.options.lesson_lookup_timeout.as_millis() as u64,
                        "refused a job: the curriculum did not answer in time; check the database"
                    );
                    return Err(Refusal::CurriculumUnavailable);
                }
            };
        if request.subtopic_id.is_none() {
            tracing::info!(job_id = %job.id, %subtopic_id, "the job names no subtopic; teaching the default");
        }
        // The lookup took time: the slot is checked again, under the same
        // lock that takes it.
        let now = Instant::now();
        let mut state = self.state();
        if self.room_for(&mut state, &job.id, now)? {
            return Ok(());
        }
        state.reserved.insert(
            job.id.clone(),
            Reservation {
                metadata: JobMetadata {
                    subtopic_id,
                    learner: request.learner,
                },
                expires: now + self.options.assignment_timeout,
            },
        );
        Ok(())
    }

    /// Starts the lesson of an assignment this worker accepted; reports a
    /// failure for one it did not (or whose slot expired, or when draining).
    pub fn start_assigned(self: &Arc<Self>, assignment: proto::JobAssignment) {
        let Some(job) = assignment.job else {
            tracing::warn!("job assignment without a job");
            return;
        };
        let job_id = job.id.clone();
        {
            let mut state = self.state();
            if state.running.contains_key(&job_id) {
                tracing::warn!(%job_id, "assignment for a job already running; ignored");
                return;
            }
            let reservation = match state.reserved.remove(&job_id) {
                None => Err("the job was not accepted by this worker (or its slot expired)"),
                Some(r) if r.expires <= Instant::now() => {
                    Err("the job was not accepted by this worker (or its slot expired)")
                }
                Some(_) if state.draining => Err("the worker is shutting down"),
                Some(reservation) => Ok(reservation),
            };
            let reservation = match reservation {
                Ok(reservation) => reservation,
                Err(reason) => {
                    drop(state);
                    tracing::warn!(%job_id, reason, "assignment not started");
                    self.send(Out::UpdateJob(proto::UpdateJobStatus {
                        job_id,
                        status: proto::JobStatus::JsFailed as i32,
                        error: reason.to_owned(),
                    }));
                    self.status_changed.notify_one();
                    return;
                }
            };
            let (shutdown_tx, shutdown) = watch::channel(false);
            let assigned = AssignedJob {
                job_id: job_id.clone(),
                room_name: job.room.map(|r| r.name).unwrap_or_default(),
                url: assignment
                    .url
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| self.options.url.clone()),
                token: assignment.token,
                metadata: reservation.metadata,
                shutdown,
            };
            // Running is reported before the lesson can finish, so the server
            // always sees running, then success or failure.
            self.send(Out::UpdateJob(proto::UpdateJobStatus {
                job_id: job_id.clone(),
                status: proto::JobStatus::JsRunning as i32,
                error: String::new(),
            }));
            let lesson = tokio::spawn(self.runner.run(assigned));
            state.running.insert(
                job_id.clone(),
                RunningJob {
                    shutdown: shutdown_tx,
                    abort: lesson.abort_handle(),
                },
            );
            self.running.send_replace(state.running.len());
            self.metrics.job_started();
            let shared = self.clone();
            tokio::spawn(async move {
                let outcome = lesson.await;
                shared.finish(job_id, outcome);
            });
        }
        self.status_changed.notify_one();
    }

    fn finish(&self, job_id: String, outcome: Result<anyhow::Result<()>, tokio::task::JoinError>) {
        let (status, error) = match outcome {
            Ok(Ok(())) => (proto::JobStatus::JsSuccess, String::new()),
            Ok(Err(e)) => (proto::JobStatus::JsFailed, format!("{e:#}")),
            Err(e) if e.is_panic() => (
                proto::JobStatus::JsFailed,
                "the lesson stopped on an internal error".to_owned(),
            ),
            Err(_) => (
                proto::JobStatus::JsFailed,
                "the lesson was still running when the worker's drain timed out".to_owned(),
            ),
        };
        if status == proto::JobStatus::JsSuccess {
            tracing::info!(%job_id, "lesson job ended");
        } else {
            tracing::warn!(%job_id, %error, "lesson job failed");
        }
        self.metrics
            .job_finished(status == proto::JobStatus::JsSuccess);
        self.send(Out::UpdateJob(proto::UpdateJobStatus {
            job_id: job_id.clone(),
            status: status as i32,
            error,
        }));
        {
            let mut state = self.state();
            state.running.remove(&job_id);
            self.running.send_replace(state.running.len());
        }
        self.status_changed.notify_one();
    }

    /// The server ended a job (room closed, dispatch deleted): tell its lesson to stop.
    pub fn terminate(&self, job_id: &str) {
        let state = self.state();
        match state.running.get(job_id) {
            Some(job) => {
                tracing::info!(%job_id, "server terminated the job");
                job.shutdown.send_replace(true);
            }
            None => tracing::debug!(%job_id, "termination for a job not running here"),
        }
    }

    pub async fn drain(&self) -> DrainReport {
        let before = {
            let mut state = self.state();
            state.draining = true;
            state.reserved.clear();
            for job in state.running.values() {
                job.shutdown.send_replace(true);
            }
            state.running.len()
        };
        self.metrics.set_draining();
        self.status_changed.notify_one();
        tracing::info!(
            running = before,
            timeout_s = self.options.drain_timeout.as_secs_f32(),
            "draining: no new lessons, running ones told to end"
        );
        let mut running = self.running.subscribe();
        let ended = tokio::time::timeout(self.options.drain_timeout, running.wait_for(|n| *n == 0))
            .await
            .is_ok();
        if ended {
            return DrainReport {
                finished: before,
                abandoned: 0,
            };
        }
        let abandoned = {
            let state = self.state();
            for job in state.running.values() {
                job.abort.abort();
            }
            state.running.len()
        };
        tracing::warn!(abandoned, "drain timed out; stopping the remaining lessons");
        // Aborted lessons report their failure from their supervising task;
        // give those a moment so the server hears of them before we leave.
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            running.wait_for(|n| *n == 0),
        )
        .await;
        DrainReport {
            finished: before.saturating_sub(abandoned),
            abandoned,
        }
    }
}
