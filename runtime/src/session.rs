//! The lesson orchestrator: one [`LessonSession`] per lesson.
//!
//! It owns the learner's transport, the Realtime client, the tool runner (the
//! plugin host) and the store writer, and runs one loop that handles, in
//! arrival order, learner input, Realtime server events (one handler each),
//! finished tool calls, plugin registry changes and the idle timer.
//!
//! - Tool loop: `response.function_call_arguments.done` -> the plugin runs
//!   (off the loop, so barge-in stays immediate) -> `conversation.item.create`
//!   with the `function_call_output` -> `response.create` once the model's
//!   current response is done.
//! - Barge-in: when the learner starts speaking over the tutor, playout stops
//!   at once and `conversation.item.truncate` carries the milliseconds the
//!   learner actually heard (clamped to what was received; not sent at 0).
//!   Only the heard part of the tutor's reply is stored.
//! - Subtopic switch and hot-swap: a new `session.update` with the new
//!   instructions/tools, sent at the next turn boundary.

mod host_tools;
pub mod instructions;
pub mod metrics;
mod turn;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

use crate::lesson::Subtopic;
use crate::plugin::{PluginHost, ToolBinding, ToolSet};
use crate::realtime::protocol::{
    AudioConfig, AudioFormat, AudioInputConfig, AudioOutputConfig, ClientEvent, SessionConfig,
    Tool, Transcription,
};
use crate::realtime::{RealtimeClient, RealtimeConfig, RealtimeError};
use crate::store::{ConversationStatus, Mastery, NewConversation, Store};
use crate::transport::{ErrorBody, LessonEvent, SubtopicRef, Transport};

pub use metrics::LessonMetrics;

/// How long a reply in progress may go on once the server shuts down.
pub const SHUTDOWN_FINISH_MS: u64 = 3_000;

/// Settings of a lesson beyond the Realtime connection.
#[derive(Debug, Clone)]
pub struct LessonConfig {
    /// The Realtime connection.
    pub realtime: RealtimeConfig,
    /// Quiet time before the tutor nudges the learner.
    pub idle_nudge_ms: u64,
    /// Further quiet time after the nudge before the lesson ends.
    pub idle_end_ms: u64,
    /// BCP 47 language tag handed to tools.
    pub locale: String,
}

impl Default for LessonConfig {
    fn default() -> Self {
        LessonConfig {
            realtime: RealtimeConfig::default(),
            idle_nudge_ms: 45_000,
            idle_end_ms: 60_000,
            locale: "en-US".into(),
        }
    }
}

/// Who and what a lesson is for.
#[derive(Debug, Clone)]
pub struct LessonSpec {
    /// Session id; also the conversation id in the store.
    pub session_id: String,
    /// The learner (opaque).
    pub learner_id: String,
    /// The subtopic to start with.
    pub subtopic_id: String,
    /// Room name (LiveKit room, or the session id for `ws`).
    pub room: String,
}

/// What the session needs from the rest of the process.
#[derive(Clone)]
pub struct LessonDeps {
    /// Runs the teaching tools.
    pub host: PluginHost,
    /// Keeps the lesson's record.
    pub store: Store,
    /// Process-wide lesson metrics.
    pub metrics: Arc<LessonMetrics>,
}

/// Why a lesson ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The tutor ended it (`end_lesson`) or the curriculum ran out.
    Completed,
    /// The learner pressed end.
    LearnerEnded,
    /// The learner's connection went away.
    LearnerLeft,
    /// Nobody spoke after the nudge.
    Idle,
    /// The Realtime API could not be used.
    Error,
    /// The server is shutting down.
    Shutdown,
}

impl EndReason {
    /// Name on the wire (`lesson.ended`).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::LearnerEnded => "learner_ended",
            EndReason::LearnerLeft => "learner_left",
            EndReason::Idle => "idle",
            EndReason::Error => "error",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// What a finished lesson reports.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonSummary {
    /// Why it ended.
    pub reason: EndReason,
    /// Tool calls run.
    pub tool_calls: u32,
    /// Barge-ins.
    pub interruptions: u32,
    /// Realtime reconnects.
    pub reconnects: u32,
}

/// A lesson could not start.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// The subtopic or its tools could not be loaded.
    #[error("lesson_subtopic: the subtopic could not be loaded ({0}); check the subtopic id")]
    Subtopic(String),
    /// The conversation could not be stored.
    #[error("lesson_store: the lesson could not be recorded ({0}); check the database")]
    Store(String),
    /// Realtime refused or was unreachable.
    #[error(transparent)]
    Realtime(#[from] RealtimeError),
}

/// The subtopic being taught and its tools.
pub(crate) struct Teaching {
    pub(crate) subtopic: Arc<Subtopic>,
    pub(crate) bindings: Vec<ToolBinding>,
    pub(crate) tools: ToolSet,
    pub(crate) mastery: Option<Mastery>,
}

impl Teaching {
    pub(crate) async fn load(
        deps: &LessonDeps,
        subtopic_id: &str,
        learner_id: &str,
    ) -> Result<Self, LessonError> {
        let content = deps.store.content();
        let subtopic = content
            .lesson(subtopic_id)
            .await
            .map_err(|e| LessonError::Subtopic(e.to_string()))?;
        let bindings: Vec<ToolBinding> = content
            .tool_bindings(subtopic_id)
            .await
            .map_err(|e| LessonError::Subtopic(e.to_string()))?
            .into_iter()
            .filter(|b| b.enabled)
            .map(|b| ToolBinding {
                plugin: b.plugin,
                version: b.version,
                config: b.config,
            })
            .collect();
        let tools = resolve_tools(&deps.host, &bindings);
        let mastery = deps
            .store
            .progress()
            .mastery(learner_id, subtopic_id)
            .await
            .map_err(|e| tracing::debug!(error = %e, "no progress for the learner"))
            .ok();
        Ok(Teaching {
            subtopic: Arc::new(subtopic),
            bindings,
            tools,
            mastery,
        })
    }

    pub(crate) fn subtopic_ref(&self) -> SubtopicRef {
        SubtopicRef {
            id: self.subtopic.id.clone(),
            title: self.subtopic.title.clone(),
            topic_title: self.subtopic.topic_title.clone(),
        }
    }

    pub(crate) fn realtime_tools(&self) -> Vec<Tool> {
        instructions::all_tools(self.tools.realtime_tools())
    }
}

/// Resolves bindings one by one so that one missing or disabled plugin does
/// not take the others' tools away.
pub(crate) fn resolve_tools(host: &PluginHost, bindings: &[ToolBinding]) -> ToolSet {
    match host.tool_set(bindings) {
        Ok(tools) => tools,
        Err(e) => {
            tracing::warn!(error = %e, "some tools of the subtopic are unavailable");
            let usable: Vec<ToolBinding> = bindings
                .iter()
                .filter(|b| host.tool_set(std::slice::from_ref(*b)).is_ok())
                .cloned()
                .collect();
            host.tool_set(&usable).unwrap_or_default()
        }
    }
}

/// The `session.update` for a subtopic.
pub(crate) fn session_update(config: &RealtimeConfig, teaching: &Teaching) -> ClientEvent {
    ClientEvent::SessionUpdate {
        session: SessionConfig {
            kind: "realtime".into(),
            model: None,
            output_modalities: Some(vec!["audio".into()]),
            instructions: Some(instructions::compose(
                &teaching.subtopic,
                teaching.mastery.as_ref(),
            )),
            audio: Some(AudioConfig {
                input: Some(AudioInputConfig {
                    format: Some(AudioFormat::pcm24k()),
                    turn_detection: Some(config.vad.turn_detection()),
                    transcription: config.transcription_model.as_ref().map(|m| Transcription {
                        model: m.clone(),
                        language: None,
                    }),
                }),
                output: Some(AudioOutputConfig {
                    format: Some(AudioFormat::pcm24k()),
                    voice: Some(config.voice.clone()),
                }),
            }),
            tools: Some(teaching.realtime_tools()),
            tool_choice: Some("auto".into()),
        },
    }
}

/// Runs one lesson to its end.
pub struct LessonSession;

impl LessonSession {
    /// Runs the lesson over `transport` until it ends. Errors before the
    /// lesson starts are returned (and told to the learner); once it runs,
    /// nothing a tool or the network does ends it except as described in
    /// [`EndReason`].
    pub async fn run<T: Transport>(
        deps: LessonDeps,
        config: LessonConfig,
        spec: LessonSpec,
        transport: T,
    ) -> Result<LessonSummary, LessonError> {
        // A sender that is never used: the lesson is never told to stop.
        let (_keep, shutdown) = watch::channel(false);
        Self::run_until(deps, config, spec, transport, shutdown).await
    }

    /// Like [`LessonSession::run`], and when `shutdown` turns true the lesson
    /// ends cleanly ([`EndReason::Shutdown`]): the tutor's reply in progress
    /// may finish for up to [`SHUTDOWN_FINISH_MS`], then is cut; what was
    /// said is stored and the conversation is closed.
    pub async fn run_until<T: Transport>(
        deps: LessonDeps,
        config: LessonConfig,
        spec: LessonSpec,
        mut transport: T,
        shutdown: watch::Receiver<bool>,
    ) -> Result<LessonSummary, LessonError> {
        let started = async {
            let teaching = Teaching::load(&deps, &spec.subtopic_id, &spec.learner_id).await?;
            deps.store
                .history()
                .create_conversation(NewConversation {
                    id: Some(spec.session_id.clone()),
                    room: spec.room.clone(),
                    learner_id: spec.learner_id.clone(),
                    subtopic_id: Some(spec.subtopic_id.clone()),
                    started_at_ms: None,
                })
                .await
                .map_err(|e| LessonError::Store(e.to_string()))?;
            let connected = RealtimeClient::connect(config.realtime.clone()).await;
            let (client, events) = match connected {
                Ok(c) => c,
                Err(e) => {
                    let _ = deps
                        .store
                        .history()
                        .end_conversation(&spec.session_id, ConversationStatus::Failed)
                        .await;
                    return Err(LessonError::Realtime(e));
                }
            };
            Ok((teaching, client, events))
        }
        .await;
        let (teaching, client, events) = match started {
            Ok(s) => s,
            Err(e) => {
                deps.metrics.realtime_error(match &e {
                    LessonError::Realtime(r) => r.code(),
                    _ => "not_started",
                });
                let code = match &e {
                    LessonError::Subtopic(_) => "lesson_subtopic",
                    LessonError::Store(_) => "lesson_store",
                    LessonError::Realtime(_) => "lesson_realtime",
                };
                let _ = transport.send(LessonEvent::Error {
                    error: ErrorBody {
                        code: code.into(),
                        message: e.to_string(),
                    },
                });
                let _ = transport.send(LessonEvent::Ended {
                    reason: EndReason::Error.as_str().into(),
                });
                transport.close().await;
                return Err(e);
            }
        };
        deps.metrics.started.fetch_add(1, Ordering::Relaxed);
        deps.metrics.active.fetch_add(1, Ordering::Relaxed);
        let registry_events = deps.host.registry().subscribe();
        // Microphone frames go from the transport to Realtime directly when
        // the transport can: the session has nothing to do with them.
        transport.forward_audio(client.audio_sink());
        // Tutor audio the same way, from the connection task to the learner.
        let direct = transport.audio_player().map(|player| {
            let direct = Arc::new(turn::DirectAudio::new(player));
            client.play_audio_directly(direct.clone());
            direct
        });
        let mut turn = turn::Turns::new(
            deps.clone(),
            config,
            spec,
            client,
            teaching,
            registry_events,
            direct,
        );
        let summary = turn.run(&mut transport, events, shutdown).await;
        deps.metrics.active.fetch_sub(1, Ordering::Relaxed);
        deps.metrics.ended.fetch_add(1, Ordering::Relaxed);
        Ok(summary)
    }
}

/// Milliseconds as a `Duration`.
pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}
