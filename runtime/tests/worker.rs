//! The agent worker against a fake LiveKit agent dispatcher: registration,
//! accepted and refused jobs, the default subtopic, job status, drain and
//! reconnection.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use lectern_fake_livekit::{FakeDispatcher, room_job};
use lectern_runtime::lesson::Level;
use lectern_runtime::store::{NewSubtopic, NewTopic, Store};
use lectern_runtime::worker::{
    AssignedJob, DrainReport, JobMetadata, JobRunner, SubtopicCatalog, Worker, WorkerMetrics,
    WorkerOptions,
};
use livekit_api::access_token::TokenVerifier;
use livekit_protocol as proto;
use proto::worker_message::Message as FromWorker;
use tokio::sync::{mpsc, oneshot, watch};

const KEY: &str = "APIworkerkey";
const SECRET: &str = "a-secret-long-enough-to-sign-worker-tokens";
const WAIT: Duration = Duration::from_secs(10);
const LESSON: &str = r#"{"subtopic_id":"fractions-1","learner":"ada"}"#;

/// A lesson the test runner was handed; the test decides how it ends.
struct Started {
    job_id: String,
    room_name: String,
    url: String,
    token: String,
    metadata: JobMetadata,
    shutdown: watch::Receiver<bool>,
    finish: oneshot::Sender<anyhow::Result<()>>,
}

/// How lessons react to the worker's shutdown signal.
#[derive(Clone, Copy)]
enum OnShutdown {
    /// End cleanly this long after the signal.
    EndAfter(Duration),
    /// Keep going (a lesson that never ends on its own).
    Ignore,
}

struct TestRunner {
    started: mpsc::UnboundedSender<Started>,
    on_shutdown: OnShutdown,
}

impl JobRunner for TestRunner {
    fn run(&self, job: AssignedJob) -> BoxFuture<'static, anyhow::Result<()>> {
        let (finish, finished) = oneshot::channel();
        let mut shutdown = job.shutdown.clone();
        let _ = self.started.send(Started {
            job_id: job.job_id,
            room_name: job.room_name,
            url: job.url,
            token: job.token,
            metadata: job.metadata,
            shutdown: job.shutdown,
            finish,
        });
        let on_shutdown = self.on_shutdown;
        async move {
            let stop = async {
                match on_shutdown {
                    OnShutdown::EndAfter(delay) => {
                        let _ = shutdown.wait_for(|s| *s).await;
                        tokio::time::sleep(delay).await;
                    }
                    OnShutdown::Ignore => futures::future::pending::<()>().await,
                }
            };
            tokio::select! {
                outcome = finished => outcome.unwrap_or(Ok(())),
                () = stop => Ok(()),
            }
        }
        .boxed()
    }
}

/// The curriculum the worker checks subtopics against: these ids in teaching
/// order, or `None` for a database that does not answer.
struct Curriculum(Option<&'static [&'static str]>);

/// What most tests teach from.
const CURRICULUM: Curriculum = Curriculum(Some(&["fractions-1", "nouns"]));

impl Curriculum {
    fn ids(&self) -> anyhow::Result<&'static [&'static str]> {
        self.0
            .ok_or_else(|| anyhow::anyhow!("connection refused by the database"))
    }
}

impl SubtopicCatalog for Curriculum {
    fn has_subtopic<'a>(&'a self, id: &'a str) -> BoxFuture<'a, anyhow::Result<bool>> {
        let found = self.ids().map(|ids| ids.contains(&id));
        async move { found }.boxed()
    }

    fn first_subtopic(&self) -> BoxFuture<'_, anyhow::Result<Option<String>>> {
        let first = self.ids().map(|ids| ids.first().map(|s| (*s).to_owned()));
        async move { first }.boxed()
    }
}

struct Setup {
    fake: FakeDispatcher,
    worker: Worker,
    metrics: Arc<WorkerMetrics>,
    started: mpsc::UnboundedReceiver<Started>,
}

async fn setup(configure: impl FnOnce(&mut WorkerOptions), on_shutdown: OnShutdown) -> Setup {
    setup_with(Arc::new(CURRICULUM), configure, on_shutdown).await
}

async fn setup_with(
    subtopics: Arc<dyn SubtopicCatalog>,
    configure: impl FnOnce(&mut WorkerOptions),
    on_shutdown: OnShutdown,
) -> Setup {
    let fake = FakeDispatcher::start().await.unwrap();
    let mut options = WorkerOptions::new(fake.url(), KEY, SECRET, "lectern-tutor");
    options.reconnect_min = Duration::from_millis(50);
    options.reconnect_max = Duration::from_millis(200);
    configure(&mut options);
    let (tx, started) = mpsc::unbounded_channel();
    let metrics = Arc::new(WorkerMetrics::default());
    let runner = Arc::new(TestRunner {
        started: tx,
        on_shutdown,
    });
    let worker = Worker::spawn(options, runner, subtopics, metrics.clone()).unwrap();
    tokio::time::timeout(WAIT, worker.registered())
        .await
        .expect("the worker registers");
    Setup {
        fake,
        worker,
        metrics,
        started,
    }
}

/// Dispatches job `id` into a room and says whether the worker took it.
async fn takes(s: &Setup, id: &str, metadata: &str, participant: Option<&str>) -> bool {
    s.fake
        .dispatch(room_job(id, "room", metadata, participant), WAIT)
        .await
        .unwrap()
        .available
}

fn refused_unknown(s: &Setup) -> u64 {
    s.metrics
        .jobs_refused_unknown_subtopic
        .load(Ordering::Relaxed)
}

async fn next_started(started: &mut mpsc::UnboundedReceiver<Started>) -> Started {
    tokio::time::timeout(WAIT, started.recv())
        .await
        .expect("a lesson starts")
        .expect("runner alive")
}

fn statuses(fake: &FakeDispatcher, job_id: &str) -> Vec<(i32, String)> {
    fake.job_statuses(job_id)
        .into_iter()
        .map(|s| (s.status, s.error))
        .collect()
}

const RUNNING: i32 = proto::JobStatus::JsRunning as i32;
const SUCCESS: i32 = proto::JobStatus::JsSuccess as i32;
const FAILED: i32 = proto::JobStatus::JsFailed as i32;
const AVAILABLE: i32 = proto::WorkerStatus::WsAvailable as i32;
const FULL: i32 = proto::WorkerStatus::WsFull as i32;

#[tokio::test]
async fn registers_as_a_room_agent_with_the_agent_grant() {
    let s = setup(
        |o| o.ping_interval = Duration::from_secs(7),
        OnShutdown::Ignore,
    )
    .await;
    let register = s.fake.registration(0, WAIT).await.unwrap();
    assert_eq!(register.r#type, proto::JobType::JtRoom as i32);
    assert_eq!(register.agent_name, "lectern-tutor");
    assert_eq!(register.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(register.ping_interval, 7);
    assert_eq!(register.namespace, None);
    assert_eq!(register.deployment, "");
    assert!(register.endpoints.is_empty());
    assert_eq!(register.endpoint_protocol, 0);
    assert_eq!(register.instance_id.len(), 32, "{}", register.instance_id);
    assert_eq!(
        register.allowed_permissions,
        Some(proto::ParticipantPermission {
            can_subscribe: true,
            can_publish: true,
            can_publish_data: true,
            can_update_metadata: true,
            ..Default::default()
        })
    );
    assert_eq!(s.worker.worker_id().as_deref(), Some("AW_fake_0"));

    // The endpoint and the token: `/agent`, a bearer JWT signed with the API
    // secret that carries the agent grant and joins no room.
    let connections = s.fake.connections();
    assert_eq!(connections.len(), 1);
    assert_eq!(connections[0].path, "/agent");
    let bearer = connections[0].authorization.as_deref().unwrap();
    let jwt = bearer.strip_prefix("Bearer ").expect("a bearer token");
    let claims = TokenVerifier::with_api_key(KEY, SECRET)
        .verify(jwt)
        .unwrap();
    assert!(claims.video.agent);
    assert!(!claims.video.room_join);
    assert!(
        TokenVerifier::with_api_key(KEY, "another-secret-entirely-here")
            .verify(jwt)
            .is_err()
    );

    // Right after registering: available, no load.
    let (_, first) = s
        .fake
        .wait_for(0, WAIT, |r| match &r.message {
            FromWorker::UpdateWorker(u) => Some(*u),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(
        first,
        proto::UpdateWorkerStatus {
            status: Some(AVAILABLE),
            load: 0.0,
            job_count: 0,
            draining: false,
            seq: 1,
        }
    );
    // Registration is the first thing sent on the connection.
    assert!(matches!(
        s.fake.received()[0].message,
        FromWorker::Register(_)
    ));
}

#[tokio::test]
async fn an_accepted_job_runs_and_reports_running_then_success_or_failure() {
    let mut s = setup(|o| o.max_jobs = 4, OnShutdown::Ignore).await;
    let answer = s
        .fake
        .dispatch(room_job("AJ_1", "room-1", LESSON, None), WAIT)
        .await
        .unwrap();
    assert!(answer.available);
    assert_eq!(answer.job_id, "AJ_1");
    assert_eq!(answer.participant_identity, "agent-AJ_1");
    assert_eq!(answer.participant_name, "Tutor");

    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.job_id, "AJ_1");
    assert_eq!(lesson.room_name, "room-1");
    assert_eq!(
        lesson.url,
        s.fake.url(),
        "no url in the assignment: the worker's own"
    );
    assert_eq!(lesson.token, "token-AJ_1");
    assert_eq!(
        lesson.metadata,
        JobMetadata {
            subtopic_id: "fractions-1".into(),
            learner: Some("ada".into())
        }
    );
    assert!(!*lesson.shutdown.borrow());
    s.fake
        .job_status(0, "AJ_1", proto::JobStatus::JsRunning, WAIT)
        .await
        .unwrap();
    // The load report counts the running lesson.
    s.fake
        .wait_for(0, WAIT, |r| match &r.message {
            FromWorker::UpdateWorker(u) if u.job_count == 1 => Some(*u),
            _ => None,
        })
        .await
        .map(|(_, u)| {
            assert_eq!(u.status, Some(AVAILABLE));
            assert_eq!(u.load, 0.25);
        })
        .unwrap();
    assert_eq!(s.worker.active_jobs(), 1);
    assert_eq!(s.metrics.jobs_active.load(Ordering::Relaxed), 1);

    lesson.finish.send(Ok(())).unwrap();
    s.fake
        .job_status(0, "AJ_1", proto::JobStatus::JsSuccess, WAIT)
        .await
        .unwrap();
    assert_eq!(
        statuses(&s.fake, "AJ_1"),
        [(RUNNING, String::new()), (SUCCESS, String::new())]
    );

    // An assignment naming its own server URL; the lesson fails.
    s.fake
        .offer(room_job("AJ_2", "room-2", LESSON, None), WAIT)
        .await
        .unwrap();
    s.fake
        .assign(
            room_job("AJ_2", "room-2", LESSON, None),
            Some("wss://edge.example.com".into()),
        )
        .unwrap();
    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.url, "wss://edge.example.com");
    lesson
        .finish
        .send(Err(anyhow::anyhow!("the Realtime API refused the key")))
        .unwrap();
    s.fake
        .job_status(0, "AJ_2", proto::JobStatus::JsFailed, WAIT)
        .await
        .unwrap();
    assert_eq!(
        statuses(&s.fake, "AJ_2"),
        [
            (RUNNING, String::new()),
            (FAILED, "the Realtime API refused the key".to_owned())
        ]
    );
    assert_eq!(s.metrics.jobs_accepted.load(Ordering::Relaxed), 2);
    assert_eq!(s.metrics.jobs_succeeded.load(Ordering::Relaxed), 1);
    assert_eq!(s.metrics.jobs_failed.load(Ordering::Relaxed), 1);
    assert_eq!(s.metrics.jobs_active.load(Ordering::Relaxed), 0);
    let text = s.metrics.render_prometheus();
    assert!(
        text.contains("lectern_worker_jobs_accepted_total 2"),
        "{text}"
    );
}

#[tokio::test]
async fn refuses_jobs_when_full_and_takes_them_again_when_a_slot_frees() {
    let mut s = setup(
        |o| {
            o.max_jobs = 1;
            o.assignment_timeout = Duration::from_millis(300);
        },
        OnShutdown::Ignore,
    )
    .await;
    assert!(
        s.fake
            .dispatch(room_job("AJ_1", "room-1", LESSON, None), WAIT)
            .await
            .unwrap()
            .available
    );
    let lesson = next_started(&mut s.started).await;

    let from = s.fake.received().len();
    let refused = s
        .fake
        .offer(room_job("AJ_2", "room-2", LESSON, None), WAIT)
        .await
        .unwrap();
    assert!(!refused.available);
    assert_eq!(refused.job_id, "AJ_2");
    assert_eq!(refused.participant_identity, "");
    assert_eq!(s.metrics.jobs_refused_full.load(Ordering::Relaxed), 1);
    // Full shows in the load report.
    let (_, full) = s
        .fake
        .wait_for(from, WAIT, |r| match &r.message {
            FromWorker::UpdateWorker(u) if u.job_count == 1 => Some(*u),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(
        (full.status, full.load, full.job_count),
        (Some(FULL), 1.0, 1)
    );

    lesson.finish.send(Ok(())).unwrap();
    s.fake
        .job_status(0, "AJ_1", proto::JobStatus::JsSuccess, WAIT)
        .await
        .unwrap();

    // An accepted job holds its slot until its assignment comes...
    assert!(
        s.fake
            .offer(room_job("AJ_3", "room-3", LESSON, None), WAIT)
            .await
            .unwrap()
            .available
    );
    assert!(
        !s.fake
            .offer(room_job("AJ_4", "room-4", LESSON, None), WAIT)
            .await
            .unwrap()
            .available
    );
    // ...or the assignment timeout passes (the server gave it elsewhere).
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        s.fake
            .dispatch(room_job("AJ_5", "room-5", LESSON, None), WAIT)
            .await
            .unwrap()
            .available
    );
    let fifth = next_started(&mut s.started).await;
    assert_eq!(fifth.job_id, "AJ_5");
    // A late assignment for the expired job is reported failed, not run.
    s.fake
        .assign(room_job("AJ_3", "room-3", LESSON, None), None)
        .unwrap();
    let failed = s
        .fake
        .job_status(0, "AJ_3", proto::JobStatus::JsFailed, WAIT)
        .await
        .unwrap();
    assert!(failed.error.contains("not accepted"), "{}", failed.error);
    assert_eq!(statuses(&s.fake, "AJ_3").len(), 1);
    assert_eq!(s.metrics.jobs_refused_full.load(Ordering::Relaxed), 2);
    assert_eq!(s.worker.active_jobs(), 1);
}

#[tokio::test]
async fn malformed_metadata_and_unknown_subtopics_are_refused() {
    let mut s = setup(|_| {}, OnShutdown::Ignore).await;
    let malformed = [
        ("AJ_a", "not json"),
        ("AJ_b", "[]"),
        ("AJ_c", r#"{"subtopic_id":""}"#),
        ("AJ_d", r#"{"subtopic_id":42}"#),
        ("AJ_e", r#"{"subtopic_id":"fractions-1","learner":" "}"#),
    ];
    for (id, metadata) in malformed {
        assert!(
            !takes(&s, id, metadata, Some("learner-1")).await,
            "{id} {metadata:?} was accepted"
        );
    }
    assert_eq!(
        s.metrics.jobs_refused_invalid.load(Ordering::Relaxed),
        malformed.len() as u64
    );
    assert!(
        !takes(&s, "AJ_f", r#"{"subtopic_id":"verbs-9"}"#, None).await,
        "an unknown subtopic was accepted"
    );
    assert_eq!(refused_unknown(&s), 1);
    assert!(s.started.try_recv().is_err(), "no refused job may run");
    let text = s.metrics.render_prometheus();
    assert!(
        text.contains("lectern_worker_jobs_refused_total{reason=\"unknown_subtopic\"} 1"),
        "{text}"
    );

    // The learner falls back to the participant the job was dispatched for.
    let answer = s
        .fake
        .dispatch(
            room_job(
                "AJ_ok",
                "room",
                r#"{"subtopic_id":"fractions-1"}"#,
                Some("learner-9"),
            ),
            WAIT,
        )
        .await
        .unwrap();
    assert!(answer.available);
    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.metadata.learner.as_deref(), Some("learner-9"));
}

#[tokio::test]
async fn a_job_naming_no_subtopic_teaches_the_default() {
    // A token that named no subtopic: empty dispatch metadata, and a room job
    // has no participant, so the learner is whoever joins.
    let mut s = setup(|_| {}, OnShutdown::Ignore).await;
    for (id, metadata) in [("AJ_1", ""), ("AJ_2", "{}")] {
        assert!(
            takes(&s, id, metadata, None).await,
            "{metadata:?} was refused"
        );
        let lesson = next_started(&mut s.started).await;
        assert_eq!(
            lesson.metadata,
            JobMetadata {
                subtopic_id: "fractions-1".into(),
                learner: None
            },
            "the curriculum's first subtopic"
        );
    }

    // A configured default wins over the first subtopic...
    let mut s = setup(
        |o| o.default_subtopic = Some("nouns".into()),
        OnShutdown::Ignore,
    )
    .await;
    assert!(takes(&s, "AJ_3", "", Some("ada")).await);
    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.metadata.subtopic_id, "nouns");
    assert_eq!(lesson.metadata.learner.as_deref(), Some("ada"));
    // ...but not over a subtopic the job names.
    assert!(takes(&s, "AJ_4", r#"{"subtopic_id":"fractions-1"}"#, None).await);
    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.metadata.subtopic_id, "fractions-1");

    // A default that is not in the curriculum refuses such jobs.
    let mut s = setup(
        |o| o.default_subtopic = Some("gone".into()),
        OnShutdown::Ignore,
    )
    .await;
    assert!(!takes(&s, "AJ_5", "", None).await);
    assert_eq!(refused_unknown(&s), 1);
    assert!(s.started.try_recv().is_err());
}

#[tokio::test]
async fn jobs_are_refused_while_the_curriculum_cannot_be_read() {
    let mut s = setup_with(Arc::new(Curriculum(None)), |_| {}, OnShutdown::Ignore).await;
    assert!(!takes(&s, "AJ_1", "", None).await);
    assert!(!takes(&s, "AJ_2", r#"{"subtopic_id":"fractions-1"}"#, None).await);
    assert_eq!(
        s.metrics
            .jobs_refused_curriculum_unavailable
            .load(Ordering::Relaxed),
        2
    );
    assert!(s.started.try_recv().is_err());
    // Nothing was reserved: the worker reports no load.
    let (_, status) = s
        .fake
        .wait_for(0, WAIT, |r| match &r.message {
            FromWorker::UpdateWorker(u) if u.seq > 1 => Some(*u),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!((status.status, status.load), (Some(AVAILABLE), 0.0));
}

#[tokio::test]
async fn the_default_subtopic_comes_from_the_store_when_the_job_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("lectern.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let mut s = setup_with(Arc::new(store.clone()), |_| {}, OnShutdown::Ignore).await;

    // An empty curriculum has nothing to teach.
    assert!(!takes(&s, "AJ_1", "", None).await);
    assert_eq!(refused_unknown(&s), 1);

    // Imported afterwards: the next job finds it. The first topic by
    // position, its first subtopic by position.
    let content = store.content();
    for (id, position) in [("later", 1), ("first", 0)] {
        content
            .create_topic(&NewTopic {
                id: id.into(),
                title: format!("Topic {id}"),
                description: String::new(),
                position: Some(position),
            })
            .await
            .unwrap();
    }
    for (id, topic, position) in [
        ("later-1", "later", 0),
        ("first-2", "first", 1),
        ("first-1", "first", 0),
    ] {
        content
            .create_subtopic(&subtopic(id, topic, position))
            .await
            .unwrap();
    }
    assert!(takes(&s, "AJ_2", "", None).await);
    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.metadata.subtopic_id, "first-1");
    // A named subtopic is checked against the store too.
    assert!(takes(&s, "AJ_3", r#"{"subtopic_id":"later-1"}"#, None).await);
    assert!(!takes(&s, "AJ_4", r#"{"subtopic_id":"later-9"}"#, None).await);
    assert_eq!(refused_unknown(&s), 2);
    let lesson = next_started(&mut s.started).await;
    assert_eq!(lesson.metadata.subtopic_id, "later-1");
    store.close().await;
}

fn subtopic(id: &str, topic: &str, position: i64) -> NewSubtopic {
    NewSubtopic {
        id: id.into(),
        topic_id: topic.into(),
        title: format!("Subtopic {id}"),
        summary: String::new(),
        level: Level::Beginner,
        content: "Content.".into(),
        objectives: Vec::new(),
        key_points: Vec::new(),
        examples: Vec::new(),
        position: Some(position),
    }
}

#[tokio::test]
async fn drain_stops_accepting_tells_running_lessons_and_waits_for_them() {
    let mut s = setup(
        |o| o.max_jobs = 4,
        OnShutdown::EndAfter(Duration::from_millis(1500)),
    )
    .await;
    s.fake
        .dispatch(room_job("AJ_1", "room-1", LESSON, None), WAIT)
        .await
        .unwrap();
    let lesson = next_started(&mut s.started).await;
    let mut shutdown = lesson.shutdown.clone();
    let from = s.fake.received().len();

    let Setup { fake, worker, .. } = s;
    let draining = tokio::spawn(worker.shutdown());

    // The lesson is told to end, the server hears the worker is full and draining.
    tokio::time::timeout(WAIT, shutdown.wait_for(|s| *s))
        .await
        .expect("the lesson is told to stop")
        .unwrap();
    let (_, status) = fake
        .wait_for(from, WAIT, |r| match &r.message {
            FromWorker::UpdateWorker(u) if u.draining => Some(*u),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!((status.status, status.job_count), (Some(FULL), 1));

    // No new lessons while draining.
    let answer = fake
        .offer(room_job("AJ_2", "room-2", LESSON, None), WAIT)
        .await
        .unwrap();
    assert!(!answer.available);
    assert!(!draining.is_finished(), "the drain waits for the lesson");

    let report = tokio::time::timeout(WAIT, draining)
        .await
        .expect("the drain ends")
        .unwrap();
    assert_eq!(
        report,
        DrainReport {
            finished: 1,
            abandoned: 0
        }
    );
    // The last reports reach the server before the worker leaves.
    fake.job_status(0, "AJ_1", proto::JobStatus::JsSuccess, WAIT)
        .await
        .unwrap();
    assert_eq!(
        statuses(&fake, "AJ_1"),
        [(RUNNING, String::new()), (SUCCESS, String::new())]
    );
    assert!(statuses(&fake, "AJ_2").is_empty());
    let (_, last) = fake
        .wait_for(from, WAIT, |r| match &r.message {
            FromWorker::UpdateWorker(u) if u.draining && u.job_count == 0 => Some(*u),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(last.status, Some(FULL));
    drop(lesson);
}

#[tokio::test]
async fn a_drain_that_times_out_stops_the_lesson_and_reports_it_failed() {
    let mut s = setup(
        |o| o.drain_timeout = Duration::from_millis(300),
        OnShutdown::Ignore,
    )
    .await;
    s.fake
        .dispatch(room_job("AJ_1", "room-1", LESSON, None), WAIT)
        .await
        .unwrap();
    let _lesson = next_started(&mut s.started).await;
    let report = tokio::time::timeout(WAIT, s.worker.shutdown())
        .await
        .expect("the drain ends at its timeout");
    assert_eq!(
        report,
        DrainReport {
            finished: 0,
            abandoned: 1
        }
    );
    s.fake
        .job_status(0, "AJ_1", proto::JobStatus::JsFailed, WAIT)
        .await
        .unwrap();
    let reported = statuses(&s.fake, "AJ_1");
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert_eq!(reported[1].0, FAILED);
    assert!(reported[1].1.contains("drain"), "{}", reported[1].1);
    assert_eq!(s.metrics.jobs_active.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_terminated_job_is_told_to_stop() {
    let mut s = setup(|_| {}, OnShutdown::EndAfter(Duration::ZERO)).await;
    s.fake
        .dispatch(room_job("AJ_1", "room-1", LESSON, None), WAIT)
        .await
        .unwrap();
    let lesson = next_started(&mut s.started).await;
    s.fake.terminate("AJ_1").unwrap();
    s.fake
        .job_status(0, "AJ_1", proto::JobStatus::JsSuccess, WAIT)
        .await
        .unwrap();
    assert!(*lesson.shutdown.borrow());
}

#[tokio::test]
async fn reconnects_after_the_dispatcher_drops_the_connection() {
    let mut s = setup(|_| {}, OnShutdown::Ignore).await;
    let first = s.fake.registration(0, WAIT).await.unwrap();
    s.fake
        .dispatch(room_job("AJ_1", "room-1", LESSON, None), WAIT)
        .await
        .unwrap();
    let lesson = next_started(&mut s.started).await;

    // The server goes away and refuses the first attempt to come back.
    s.fake.refuse_next_connections(1);
    s.fake.drop_connection().unwrap();
    let second = s.fake.registration(1, WAIT).await.unwrap();
    assert_eq!(s.fake.refused(), 1);
    assert_eq!(second.instance_id, first.instance_id, "same process");
    assert_eq!(
        tokio::time::timeout(WAIT, s.worker.registered())
            .await
            .unwrap(),
        "AW_fake_1"
    );
    assert_eq!(s.fake.connections().len(), 2);
    assert_eq!(s.fake.connections()[1].path, "/agent");

    // The running lesson carried on; its end is reported on the new connection.
    assert_eq!(s.worker.active_jobs(), 1);
    lesson.finish.send(Ok(())).unwrap();
    let (_, connection) = s
        .fake
        .wait_for(0, WAIT, |r| match &r.message {
            FromWorker::UpdateJob(u) if u.job_id == "AJ_1" && u.status == SUCCESS => {
                Some(r.connection)
            }
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(connection, 1);

    // And new jobs are taken on the new connection.
    assert!(
        s.fake
            .dispatch(room_job("AJ_2", "room-2", LESSON, None), WAIT)
            .await
            .unwrap()
            .available
    );
    assert_eq!(next_started(&mut s.started).await.job_id, "AJ_2");
    assert_eq!(s.metrics.registrations.load(Ordering::Relaxed), 2);
    assert!(s.metrics.connection_failures.load(Ordering::Relaxed) >= 2);
}

#[tokio::test]
async fn a_blank_default_subtopic_stops_the_worker_before_it_connects() {
    let mut options = WorkerOptions::new("ws://127.0.0.1:9", KEY, SECRET, "lectern-tutor");
    options.default_subtopic = Some(" \t".into());
    let runner = Arc::new(TestRunner {
        started: mpsc::unbounded_channel().0,
        on_shutdown: OnShutdown::Ignore,
    });
    let error = Worker::spawn(
        options,
        runner,
        Arc::new(CURRICULUM),
        Arc::new(WorkerMetrics::default()),
    )
    .err()
    .expect("a blank default subtopic is refused")
    .to_string();
    assert!(error.contains("default subtopic"), "{error}");
}
