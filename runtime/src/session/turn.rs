//! The session loop: one handler per input, server event and tool result.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use base64::Engine as _;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc, watch};

use super::host_tools::{self, HostOutcome};
use super::instructions::is_host_tool;
use super::{EndReason, LessonConfig, LessonDeps, LessonSpec, LessonSummary, Teaching, ms};
use crate::audio;
use crate::plugin::{CallRecord, Mastery as ToolMastery, RegistryEvent, ToolCall};
use crate::realtime::protocol::{ClientEvent, Item, Role, ServerEvent, Tool};
use crate::realtime::{RealtimeClient, RealtimeEvent};
use crate::store::{
    ConversationStatus, Evidence as StoredEvidence, MessageRole, NewMessage, NewToolInvocation,
};
use crate::transport::{
    AgentState, AudioPlayer, ErrorBody, LearnerInput, LessonEvent, ObjectiveProgress, Transport,
};

/// Slack after the estimated end of playout during which a barge-in still
/// asks the client what was heard (network and jitter buffer).
const PLAYOUT_SLACK_MS: u64 = 1_000;
/// Name recorded as the plugin of the host's own tools.
const HOST_PLUGIN: &str = "lectern";
/// Name recorded as the plugin of a call to a tool no plugin provides.
const UNRESOLVED_PLUGIN: &str = "unresolved";

struct ToolDone {
    call_id: String,
    name: String,
    arguments: String,
    record: CallRecord,
}

/// Tutor audio frames the Realtime connection task plays itself: those of
/// the item being played, once the session has started it, while it is not
/// cut. The first frame of an item (which starts it) and any frame behind
/// one still queued for the session go through the session, in order.
pub(super) struct DirectAudio {
    route: Mutex<Route>,
    player: AudioPlayer,
}

#[derive(Default)]
struct Route {
    /// The item whose frames may be played directly.
    item_id: Option<String>,
    /// Audio deltas sent to the session and not yet handled by it.
    queued: usize,
    /// Samples received of `item_id`, by either path.
    received_samples: usize,
}

impl DirectAudio {
    pub(super) fn new(player: AudioPlayer) -> Self {
        DirectAudio {
            route: Mutex::new(Route::default()),
            player,
        }
    }

    fn route(&self) -> MutexGuard<'_, Route> {
        self.route.lock().expect("audio route lock")
    }
}

impl crate::realtime::DirectAudio for DirectAudio {
    fn try_play(&self, item_id: &str, delta: &str) -> bool {
        let mut route = self.route();
        let bytes = match route.item_id.as_deref() {
            Some(id) if id == item_id && route.queued == 0 => {
                // Bad audio goes to the session, which reports it.
                base64::engine::general_purpose::STANDARD
                    .decode(delta)
                    .ok()
                    .filter(|b| b.len().is_multiple_of(2))
            }
            _ => None,
        };
        let Some(bytes) = bytes else {
            route.queued += 1;
            return false;
        };
        route.received_samples += bytes.len() / 2;
        // Under the route's lock: the session cannot play a frame between.
        (self.player)(item_id, bytes.into());
        true
    }
}

/// The tutor audio item being (or last) played.
struct Playing {
    item_id: String,
    received_samples: usize,
    first_audio: Instant,
    text: String,
    /// Stored as a message already (transcript done before the barge-in).
    stored: bool,
    cut: bool,
}

pub(super) struct Turns {
    deps: LessonDeps,
    config: LessonConfig,
    spec: LessonSpec,
    client: RealtimeClient,
    teaching: Teaching,
    /// Set when the transport plays audio from the connection task.
    direct: Option<Arc<DirectAudio>>,
    registry: Option<broadcast::Receiver<RegistryEvent>>,
    tool_tx: mpsc::UnboundedSender<ToolDone>,
    tool_rx: mpsc::UnboundedReceiver<ToolDone>,
    last_tools: Vec<Tool>,
    tools_dirty: bool,
    response_active: bool,
    pending_calls: usize,
    want_response: bool,
    ending: Option<EndReason>,
    playing: Option<Playing>,
    /// Tutor transcripts of items not (yet) playing.
    tutor_text: HashMap<String, String>,
    speech_stopped_at: Option<Instant>,
    tool_turn_started: Option<Instant>,
    idle_deadline: tokio::time::Instant,
    nudged: bool,
    state: Option<AgentState>,
    tool_calls: u32,
    interruptions: u32,
    reconnects: u32,
}

impl Turns {
    pub(super) fn new(
        deps: LessonDeps,
        config: LessonConfig,
        spec: LessonSpec,
        client: RealtimeClient,
        teaching: Teaching,
        registry: broadcast::Receiver<RegistryEvent>,
        direct: Option<Arc<DirectAudio>>,
    ) -> Self {
        let (tool_tx, tool_rx) = mpsc::unbounded_channel();
        let idle_deadline = tokio::time::Instant::now() + ms(config.idle_nudge_ms);
        Turns {
            deps,
            config,
            spec,
            client,
            teaching,
            direct,
            registry: Some(registry),
            tool_tx,
            tool_rx,
            last_tools: Vec::new(),
            tools_dirty: false,
            response_active: false,
            pending_calls: 0,
            want_response: false,
            ending: None,
            playing: None,
            tutor_text: HashMap::new(),
            speech_stopped_at: None,
            tool_turn_started: None,
            idle_deadline,
            nudged: false,
            state: None,
            tool_calls: 0,
            interruptions: 0,
            reconnects: 0,
        }
    }

    pub(super) async fn run<T: Transport>(
        &mut self,
        transport: &mut T,
        mut events: mpsc::Receiver<RealtimeEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) -> LessonSummary {
        self.send_session_update();
        let _ = transport.send(LessonEvent::Ready {
            session_id: self.spec.session_id.clone(),
            subtopic: self.teaching.subtopic_ref(),
        });
        self.send_progress(transport);
        self.set_state(transport, AgentState::Listening);
        let mut stopping = false;
        let finish_by = tokio::time::sleep(std::time::Duration::MAX);
        tokio::pin!(finish_by);
        // The waits on shared signals (the shutdown watch, the registry's
        // broadcast) live across loop turns: re-created per turn, each would
        // register and unregister a waiter under a lock every lesson shares,
        // once per audio frame.
        let stop_signal = async move { shutdown.wait_for(|s| *s).await.is_ok() };
        tokio::pin!(stop_signal);
        let registry = self.registry.take().map(|rx| {
            futures::stream::unfold(rx, |mut rx| async move {
                match rx.recv().await {
                    Err(broadcast::error::RecvError::Closed) => None,
                    change => Some((change, rx)),
                }
            })
        });
        let mut registry = Box::pin(futures::stream::iter(registry).flatten());
        // One timer re-armed in place: a fresh one per loop turn would cost a
        // timer registration per audio frame.
        let idle = tokio::time::sleep_until(self.idle_deadline);
        tokio::pin!(idle);
        let reason = loop {
            if idle.deadline() != self.idle_deadline {
                idle.as_mut().reset(self.idle_deadline);
            }
            if let Some(reason) = self
                .ending
                .filter(|_| !self.response_active && self.pending_calls == 0)
            {
                break reason;
            }
            tokio::select! {
                stop = &mut stop_signal, if !stopping => {
                    stopping = true;
                    if stop {
                        // No new turn starts; a reply being spoken may end.
                        self.ending.get_or_insert(EndReason::Shutdown);
                        finish_by.as_mut().reset(tokio::time::Instant::now() + ms(super::SHUTDOWN_FINISH_MS));
                    }
                },
                _ = &mut finish_by, if stopping => break self.ending.unwrap_or(EndReason::Shutdown),
                input = transport.recv() => match input {
                    None => break EndReason::LearnerLeft,
                    Some(input) => if let Some(r) = self.on_input(transport, input).await { break r },
                },
                event = events.recv() => match event {
                    None => break EndReason::Error,
                    Some(ev) => if let Some(r) = self.on_realtime(transport, ev).await { break r },
                },
                Some(done) = self.tool_rx.recv() => self.on_tool_done(transport, done).await,
                Some(change) = registry.next() => self.on_registry(change),
                _ = &mut idle => {
                    if let Some(r) = self.on_idle() { break r }
                }
            }
        };
        self.finish(transport, reason).await
    }

    async fn finish<T: Transport>(
        &mut self,
        transport: &mut T,
        reason: EndReason,
    ) -> LessonSummary {
        // What the learner heard of a reply in flight is kept.
        if let Some(p) = self.playing.take()
            && !p.stored
            && !p.cut
            && !p.text.trim().is_empty()
        {
            self.store_message(MessageRole::Tutor, &p.text, Some(&p.item_id))
                .await;
        }
        let status = if reason == EndReason::Error {
            ConversationStatus::Failed
        } else {
            ConversationStatus::Ended
        };
        if let Err(e) = self
            .deps
            .store
            .history()
            .end_conversation(&self.spec.session_id, status)
            .await
        {
            tracing::warn!(error = %e, "the conversation could not be closed");
        }
        self.deps.host.state().end_session(&self.spec.session_id);
        self.set_state(transport, AgentState::Ended);
        let _ = transport.send(LessonEvent::Ended {
            reason: reason.as_str().into(),
        });
        transport.close().await;
        self.client.shutdown().await;
        tracing::info!(session = %self.spec.session_id, reason = reason.as_str(), "lesson ended");
        LessonSummary {
            reason,
            tool_calls: self.tool_calls,
            interruptions: self.interruptions,
            reconnects: self.reconnects,
        }
    }

    // ----- learner input -------------------------------------------------

    async fn on_input<T: Transport>(
        &mut self,
        transport: &mut T,
        input: LearnerInput,
    ) -> Option<EndReason> {
        match input {
            LearnerInput::Audio(frame) => {
                if self.client.append_audio(&frame).is_err() {
                    return Some(EndReason::Error);
                }
            }
            LearnerInput::Text(text) => {
                self.touch_idle();
                if self.response_active {
                    let _ = self
                        .client
                        .send(ClientEvent::ResponseCancel { response_id: None });
                }
                self.barge_in(transport).await;
                self.store_message(MessageRole::Learner, &text, None).await;
                let _ = self.client.send(ClientEvent::ConversationItemCreate {
                    previous_item_id: None,
                    item: Item::text_message(Role::User, text),
                });
                self.want_response = true;
                self.maybe_respond(transport);
            }
            LearnerInput::Mute(muted) => tracing::debug!(muted, "learner microphone"),
            LearnerInput::End => return Some(EndReason::LearnerEnded),
        }
        None
    }

    // ----- Realtime events -----------------------------------------------

    async fn on_realtime<T: Transport>(
        &mut self,
        transport: &mut T,
        event: RealtimeEvent,
    ) -> Option<EndReason> {
        let event = match event {
            RealtimeEvent::Server(ev) => ev,
            RealtimeEvent::Reconnecting { error, .. } => {
                self.reconnects += 1;
                self.deps.metrics.reconnects.fetch_add(1, Ordering::Relaxed);
                self.deps.metrics.realtime_error(error.code());
                self.response_active = false;
                self.set_state(transport, AgentState::Thinking);
                return None;
            }
            RealtimeEvent::Reconnected {
                response_interrupted,
                ..
            } => {
                // The rest of a reply cut by the drop never comes; the learner
                // hears what arrived, which is what the replay kept.
                self.stop_direct();
                if let Some(p) = self.playing.as_mut() {
                    p.cut = true;
                    let _ = transport.audio_done(&p.item_id);
                    if !p.stored && !p.text.trim().is_empty() {
                        let (text, id) = (p.text.clone(), p.item_id.clone());
                        p.stored = true;
                        self.store_message(MessageRole::Tutor, &text, Some(&id))
                            .await;
                    }
                }
                self.tools_dirty = true;
                if response_interrupted {
                    self.want_response = true;
                }
                self.maybe_respond(transport);
                if !self.want_response && !self.response_active {
                    self.set_state(transport, AgentState::Listening);
                }
                return None;
            }
            RealtimeEvent::Failed(e) => {
                self.deps.metrics.realtime_error(e.code());
                let _ = transport.send(LessonEvent::Error {
                    error: ErrorBody {
                        code: format!("realtime_{}", e.code()),
                        message: e.to_string(),
                    },
                });
                return Some(EndReason::Error);
            }
        };
        match event {
            ServerEvent::SpeechStarted { .. } => {
                self.touch_idle();
                self.barge_in(transport).await;
                self.apply_tools_if_dirty();
                self.set_state(transport, AgentState::Listening);
            }
            ServerEvent::SpeechStopped { .. } => {
                self.speech_stopped_at = Some(Instant::now());
                self.set_state(transport, AgentState::Thinking);
            }
            ServerEvent::InputTranscriptionCompleted {
                item_id,
                transcript,
                ..
            } => {
                if !transcript.trim().is_empty() {
                    self.store_message(MessageRole::Learner, &transcript, Some(&item_id))
                        .await;
                }
                let _ = transport.send(LessonEvent::LearnerTranscript {
                    item_id,
                    text: transcript,
                    is_final: true,
                });
            }
            ServerEvent::ResponseCreated { .. } => {
                self.response_active = true;
                self.set_state(transport, AgentState::Thinking);
            }
            ServerEvent::ResponseOutputAudioDelta { item_id, delta, .. } => {
                self.on_audio(transport, item_id, &delta);
            }
            ServerEvent::ResponseOutputAudioTranscriptDelta { item_id, delta, .. } => {
                match self.playing.as_mut().filter(|p| p.item_id == item_id) {
                    Some(p) if p.cut => return None,
                    Some(p) => p.text.push_str(&delta),
                    None => self
                        .tutor_text
                        .entry(item_id.clone())
                        .or_default()
                        .push_str(&delta),
                }
                let _ = transport.send(LessonEvent::TutorDelta { item_id, delta });
            }
            ServerEvent::ResponseOutputAudioTranscriptDone {
                item_id,
                transcript,
                ..
            } => {
                let cut = self
                    .playing
                    .as_ref()
                    .is_some_and(|p| p.item_id == item_id && p.cut);
                if cut {
                    return None;
                }
                self.tutor_text.remove(&item_id);
                if let Some(p) = self.playing.as_mut().filter(|p| p.item_id == item_id) {
                    p.text = transcript.clone();
                    p.stored = true;
                }
                self.store_message(MessageRole::Tutor, &transcript, Some(&item_id))
                    .await;
                let _ = transport.send(LessonEvent::TutorDone {
                    item_id,
                    text: transcript,
                });
            }
            ServerEvent::ResponseOutputAudioDone { item_id, .. } => {
                if self
                    .playing
                    .as_ref()
                    .is_some_and(|p| p.item_id == item_id && !p.cut)
                {
                    let _ = transport.audio_done(&item_id);
                }
            }
            ServerEvent::ResponseFunctionCallArgumentsDone {
                call_id,
                name,
                arguments,
                ..
            } => {
                self.on_function_call(transport, call_id, name, arguments)
                    .await;
            }
            ServerEvent::ResponseDone { response } => {
                self.response_active = false;
                if response.status.as_deref() == Some("failed") {
                    self.deps.metrics.realtime_error("response_failed");
                }
                self.rearm_idle();
                self.apply_tools_if_dirty();
                self.maybe_respond(transport);
                if !self.response_active && self.pending_calls == 0 && !self.want_response {
                    self.set_state(transport, AgentState::Listening);
                }
            }
            ServerEvent::Error { error } => {
                self.deps.metrics.realtime_error(&error.kind);
                tracing::warn!(kind = %error.kind, code = ?error.code, message = %error.message, "realtime error");
                if error.code.as_deref() == Some("conversation_already_has_active_response") {
                    self.response_active = true;
                    self.want_response = true;
                }
            }
            ServerEvent::RateLimitsUpdated { rate_limits } => {
                for l in rate_limits.iter().filter(|l| l.remaining == 0) {
                    tracing::warn!(limit = %l.name, reset_s = l.reset_seconds, "realtime rate limit reached");
                }
            }
            ServerEvent::ConversationItemTruncated {
                item_id,
                audio_end_ms,
                ..
            } => {
                tracing::debug!(item_id, audio_end_ms, "truncation confirmed");
            }
            ServerEvent::InputTranscriptionFailed { error, .. } => {
                self.deps.metrics.realtime_error("transcription_failed");
                tracing::debug!(message = %error.message, "learner transcription failed");
            }
            ServerEvent::SessionCreated { .. }
            | ServerEvent::SessionUpdated { .. }
            | ServerEvent::InputAudioBufferCommitted { .. }
            | ServerEvent::InputAudioBufferCleared
            | ServerEvent::ConversationItemAdded { .. }
            | ServerEvent::ConversationItemDone { .. }
            | ServerEvent::ResponseOutputItemAdded { .. }
            | ServerEvent::ResponseOutputItemDone { .. }
            | ServerEvent::ResponseFunctionCallArgumentsDelta { .. }
            | ServerEvent::Unknown => {}
        }
        None
    }

    fn on_audio<T: Transport>(&mut self, transport: &mut T, item_id: String, delta: &str) {
        // Held while this frame is played, so that the connection task
        // cannot play a later one first.
        let direct = self.direct.clone();
        let mut route = direct.as_deref().map(DirectAudio::route);
        if let Some(r) = route.as_mut() {
            r.queued = r.queued.saturating_sub(1);
        }
        // Decoded straight to the little-endian bytes the transport ships.
        let bytes = match base64::engine::general_purpose::STANDARD.decode(delta) {
            Ok(b) if b.len().is_multiple_of(2) => b,
            Ok(b) => {
                self.deps.metrics.realtime_error("bad_audio");
                tracing::warn!(
                    bytes = b.len(),
                    "tutor audio with an odd byte count dropped"
                );
                return;
            }
            Err(e) => {
                self.deps.metrics.realtime_error("bad_audio");
                tracing::warn!(error = %e, "tutor audio dropped");
                return;
            }
        };
        let samples = bytes.len() / 2;
        let new_item = self.playing.as_ref().is_none_or(|p| p.item_id != item_id);
        if new_item {
            if let Some(stopped) = self.speech_stopped_at.take() {
                self.deps
                    .metrics
                    .first_audio_ms
                    .observe_ms(stopped.elapsed().as_secs_f64() * 1000.0);
            }
            let text = self.tutor_text.remove(&item_id).unwrap_or_default();
            self.playing = Some(Playing {
                item_id: item_id.clone(),
                received_samples: 0,
                first_audio: Instant::now(),
                text,
                stored: false,
                cut: false,
            });
            self.set_state(transport, AgentState::Speaking);
        }
        let p = self.playing.as_mut().expect("set above");
        if p.cut {
            return;
        }
        p.received_samples += samples;
        if let Some(r) = route.as_mut() {
            if r.item_id.as_deref() != Some(item_id.as_str()) {
                r.received_samples = p.received_samples - samples;
                r.item_id = Some(item_id.clone());
            }
            r.received_samples += samples;
        }
        let _ = transport.play_le_bytes(&item_id, bytes.into());
    }

    /// Samples received of the item being played, by either path.
    fn received_samples(&self, p: &Playing) -> usize {
        match self.direct.as_deref().map(DirectAudio::route) {
            Some(r) if r.item_id.as_deref() == Some(p.item_id.as_str()) => r.received_samples,
            _ => p.received_samples,
        }
    }

    /// Frames of the current item go through the session again (which
    /// drops them once the item is cut).
    fn stop_direct(&self) {
        if let Some(d) = &self.direct {
            d.route().item_id = None;
        }
    }

    /// The learner started talking (or typing): if the tutor may still be
    /// heard, stop playout and cut the reply where the learner stopped hearing it.
    async fn barge_in<T: Transport>(&mut self, transport: &mut T) {
        let Some(p) = self.playing.as_ref().filter(|p| !p.cut) else {
            return;
        };
        let received_ms = audio::ms_of_24k(self.received_samples(p));
        let playout_end = p.first_audio + ms(received_ms + PLAYOUT_SLACK_MS);
        if Instant::now() > playout_end {
            return;
        }
        let item_id = p.item_id.clone();
        let reported = transport.interrupt(&item_id).await;
        let p = self.playing.as_mut().expect("still playing");
        let heard_ms = reported.map_or(received_ms, |ms| (ms as u64).min(received_ms));
        if heard_ms >= received_ms && reported.is_some() && p.stored {
            // Everything was heard already; nothing to cut.
            return;
        }
        if let Some(d) = &self.direct {
            d.route().item_id = None;
        }
        p.cut = true;
        let heard_ms = heard_ms as u32;
        let heard = heard_text(&p.text, heard_ms as u64, received_ms);
        let was_stored = p.stored;
        p.stored = true;
        self.interruptions += 1;
        self.deps
            .metrics
            .interruptions
            .fetch_add(1, Ordering::Relaxed);
        if self.client.truncate(&item_id, heard_ms, &heard).is_err() {
            tracing::warn!("truncate not sent: realtime client closed");
        }
        let history = self.deps.store.history();
        let result = if was_stored {
            history
                .replace_message_content(&self.spec.session_id, &item_id, &heard)
                .await
                .map(|_| ())
        } else if !heard.trim().is_empty() {
            self.store_message(MessageRole::Tutor, &heard, Some(&item_id))
                .await;
            Ok(())
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "heard text not stored");
        }
        let _ = transport.send(LessonEvent::Truncated {
            item_id,
            audio_end_ms: heard_ms,
            text: heard,
        });
    }

    // ----- tools ----------------------------------------------------------

    async fn on_function_call<T: Transport>(
        &mut self,
        transport: &mut T,
        call_id: String,
        name: String,
        arguments: String,
    ) {
        self.tool_calls += 1;
        self.tool_turn_started.get_or_insert_with(Instant::now);
        self.set_state(transport, AgentState::Thinking);
        if is_host_tool(&name) {
            self.run_host_tool(transport, call_id, name, arguments)
                .await;
            return;
        }
        self.pending_calls += 1;
        let call = ToolCall {
            tool: name.clone(),
            arguments: arguments.clone(),
            session_id: self.spec.session_id.clone(),
            learner_id: self.spec.learner_id.clone(),
            locale: self.config.locale.clone(),
            lesson: self.teaching.subtopic.clone(),
            mastery: self.tool_mastery(),
        };
        let host = self.deps.host.clone();
        let tools = self.teaching.tools.clone();
        let tx = self.tool_tx.clone();
        tokio::spawn(async move {
            let record = host.call(&tools, call).await;
            let _ = tx.send(ToolDone {
                call_id,
                name,
                arguments,
                record,
            });
        });
    }

    async fn on_tool_done<T: Transport>(&mut self, transport: &mut T, done: ToolDone) {
        self.pending_calls = self.pending_calls.saturating_sub(1);
        let record = &done.record;
        self.record_invocation(&done.call_id, record).await;
        if record.outcome == crate::plugin::Outcome::Ok && !record.evidence.is_empty() {
            for e in &record.evidence {
                let stored = StoredEvidence {
                    learner_id: self.spec.learner_id.clone(),
                    subtopic_id: self.teaching.subtopic.id.clone(),
                    objective_id: e.objective_id.clone(),
                    score: e.score as f64,
                    note: e.note.clone(),
                };
                if let Err(err) = self.deps.store.progress().record_evidence(&stored).await {
                    tracing::warn!(error = %err, "evidence not stored");
                }
            }
            self.teaching.mastery = self
                .deps
                .store
                .progress()
                .mastery(&self.spec.learner_id, &self.teaching.subtopic.id)
                .await
                .ok();
            self.send_progress(transport);
        }
        if let Some(display) = record.output.as_ref().and_then(|o| o.display.as_ref()) {
            let _ = transport.send(LessonEvent::ToolCard {
                call_id: done.call_id.clone(),
                tool: done.name.clone(),
                display: serde_json::to_value(display).unwrap_or(Value::Null),
            });
        }
        let _ = transport.send(LessonEvent::ToolResult {
            call_id: done.call_id.clone(),
            tool: done.name.clone(),
            outcome: record.outcome.as_str().into(),
        });
        tracing::debug!(tool = %done.name, outcome = %record.outcome, args = %done.arguments, "tool call done");
        self.send_output(&done.call_id, record.model_text());
        self.maybe_respond(transport);
    }

    async fn run_host_tool<T: Transport>(
        &mut self,
        transport: &mut T,
        call_id: String,
        name: String,
        arguments: String,
    ) {
        let started = Instant::now();
        let outcome = host_tools::run(
            &self.deps,
            &self.teaching,
            &self.spec.learner_id,
            &name,
            &arguments,
        )
        .await;
        let (output, outcome_name, error) = match outcome {
            HostOutcome::Output(text) => (text, "ok", None),
            HostOutcome::Invalid(msg) => (
                serde_json::json!({"error": "invalid_arguments", "message": msg}).to_string(),
                "invalid_arguments",
                Some(msg),
            ),
            HostOutcome::End(reason) => {
                self.ending = Some(EndReason::Completed);
                (
                    format!("The lesson ends now ({reason}). Do not say anything more."),
                    "ok",
                    None,
                )
            }
            HostOutcome::Switch(teaching) => {
                let sub = teaching.subtopic.clone();
                self.teaching = *teaching;
                if let Err(e) = self
                    .deps
                    .store
                    .history()
                    .set_conversation_subtopic(&self.spec.session_id, &sub.id)
                    .await
                {
                    tracing::warn!(error = %e, "conversation subtopic not updated");
                }
                self.send_session_update();
                let _ = transport.send(LessonEvent::SubtopicChanged {
                    subtopic: self.teaching.subtopic_ref(),
                });
                self.send_progress(transport);
                (
                    format!(
                        "Now teaching \"{}\": {} Introduce it to the learner.",
                        sub.title, sub.summary
                    ),
                    "ok",
                    None,
                )
            }
        };
        let record = NewToolInvocation {
            conversation_id: Some(self.spec.session_id.clone()),
            call_id: Some(call_id.clone()),
            subtopic_id: Some(self.teaching.subtopic.id.clone()),
            plugin_name: HOST_PLUGIN.into(),
            plugin_version: Some(env!("CARGO_PKG_VERSION").into()),
            version_digest: None,
            tool_name: name.clone(),
            arguments: parse_arguments(&arguments),
            outcome: outcome_name.into(),
            duration_us: started.elapsed().as_micros() as i64,
            output: error.is_none().then(|| output.clone()),
            error,
            limits_hit: Vec::new(),
        };
        if let Err(e) = self
            .deps
            .store
            .history()
            .record_tool_invocation(&record)
            .await
        {
            tracing::warn!(error = %e, "tool invocation not stored");
        }
        let _ = transport.send(LessonEvent::ToolResult {
            call_id: call_id.clone(),
            tool: name,
            outcome: outcome_name.into(),
        });
        self.send_output(&call_id, output);
        if self.ending.is_none() {
            self.maybe_respond(transport);
        }
    }

    fn send_output(&mut self, call_id: &str, output: String) {
        let _ = self.client.send(ClientEvent::ConversationItemCreate {
            previous_item_id: None,
            item: Item::FunctionCallOutput {
                id: None,
                call_id: call_id.to_string(),
                output,
            },
        });
        if self.ending.is_none() {
            self.want_response = true;
        }
    }

    async fn record_invocation(&self, call_id: &str, record: &CallRecord) {
        let new = NewToolInvocation {
            conversation_id: Some(self.spec.session_id.clone()),
            call_id: Some(call_id.to_string()),
            subtopic_id: Some(self.teaching.subtopic.id.clone()),
            // A tool the lesson does not have still leaves a record.
            plugin_name: if record.plugin.is_empty() {
                UNRESOLVED_PLUGIN.to_string()
            } else {
                record.plugin.clone()
            },
            plugin_version: (!record.version.is_empty()).then(|| record.version.clone()),
            version_digest: (!record.digest.is_empty()).then(|| record.digest.clone()),
            tool_name: record.tool.clone(),
            arguments: parse_arguments(&record.arguments),
            outcome: record.outcome.as_str().into(),
            duration_us: record.duration_us.min(i64::MAX as u64) as i64,
            output: record.output.as_ref().map(|o| o.content.clone()),
            error: record.error.clone(),
            limits_hit: record
                .limits_hit
                .iter()
                .map(|l| {
                    serde_json::to_value(l)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| format!("{l:?}"))
                })
                .collect(),
        };
        if let Err(e) = self.deps.store.history().record_tool_invocation(&new).await {
            tracing::warn!(error = %e, "tool invocation not stored");
        }
    }

    fn tool_mastery(&self) -> Vec<ToolMastery> {
        self.teaching
            .mastery
            .as_ref()
            .map(|m| {
                m.objectives
                    .iter()
                    .map(|o| ToolMastery {
                        objective_id: o.objective_id.clone(),
                        score: o.score as f32,
                        evidence_count: o.evidence_count.clamp(0, u32::MAX as i64) as u32,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asks for a response when one is wanted and the model is free.
    fn maybe_respond<T: Transport>(&mut self, transport: &mut T) {
        if !self.want_response
            || self.response_active
            || self.pending_calls > 0
            || self.ending.is_some()
        {
            return;
        }
        self.apply_tools_if_dirty();
        if let Some(started) = self.tool_turn_started.take() {
            self.deps
                .metrics
                .tool_turn_ms
                .observe_ms(started.elapsed().as_secs_f64() * 1000.0);
        }
        self.want_response = false;
        if self
            .client
            .send(ClientEvent::ResponseCreate { response: None })
            .is_ok()
        {
            // Counted as active until response.done; a refusal puts it back.
            self.response_active = true;
            self.set_state(transport, AgentState::Thinking);
        }
    }

    // ----- tool list changes ------------------------------------------------

    fn on_registry(&mut self, change: Result<RegistryEvent, broadcast::error::RecvError>) {
        let plugin = match &change {
            Ok(RegistryEvent::Activated { plugin, .. })
            | Ok(RegistryEvent::Disabled { plugin })
            | Ok(RegistryEvent::Enabled { plugin })
            | Ok(RegistryEvent::Removed { plugin, .. }) => Some(plugin.as_str()),
            Ok(_) => return,
            Err(broadcast::error::RecvError::Lagged(_)) => None,
            // The stream ends instead.
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if plugin.is_none_or(|p| self.teaching.bindings.iter().any(|b| b.plugin == p)) {
            self.tools_dirty = true;
        }
    }

    fn apply_tools_if_dirty(&mut self) {
        if !self.tools_dirty || self.response_active {
            return;
        }
        self.tools_dirty = false;
        self.teaching.tools = super::resolve_tools(&self.deps.host, &self.teaching.bindings);
        if self.teaching.realtime_tools() != self.last_tools {
            tracing::info!(session = %self.spec.session_id, "tool list changed; updating the session");
            self.send_session_update();
        }
    }

    fn send_session_update(&mut self) {
        self.last_tools = self.teaching.realtime_tools();
        let _ = self
            .client
            .send(super::session_update(&self.config.realtime, &self.teaching));
    }

    // ----- idle -------------------------------------------------------------

    fn touch_idle(&mut self) {
        self.nudged = false;
        self.idle_deadline = tokio::time::Instant::now() + ms(self.config.idle_nudge_ms);
    }

    /// Quiet time restarts after the tutor finishes, without forgetting a nudge.
    fn rearm_idle(&mut self) {
        let wait = if self.nudged {
            self.config.idle_end_ms
        } else {
            self.config.idle_nudge_ms
        };
        self.idle_deadline = tokio::time::Instant::now() + ms(wait);
    }

    fn on_idle(&mut self) -> Option<EndReason> {
        if self.response_active || self.pending_calls > 0 {
            self.rearm_idle();
            return None;
        }
        if self.nudged {
            return Some(EndReason::Idle);
        }
        self.nudged = true;
        self.idle_deadline = tokio::time::Instant::now() + ms(self.config.idle_end_ms);
        let _ = self.client.send(ClientEvent::ConversationItemCreate {
            previous_item_id: None,
            item: Item::text_message(
                Role::System,
                "The learner has been quiet for a while. Gently check in with one short question; if they stay quiet, the lesson will end.",
            ),
        });
        let _ = self
            .client
            .send(ClientEvent::ResponseCreate { response: None });
        self.response_active = true;
        None
    }

    // ----- helpers ----------------------------------------------------------

    fn set_state<T: Transport>(&mut self, transport: &mut T, state: AgentState) {
        if self.state != Some(state) {
            self.state = Some(state);
            let _ = transport.send(LessonEvent::AgentState { state });
        }
    }

    fn send_progress<T: Transport>(&self, transport: &mut T) {
        let objectives = self
            .teaching
            .subtopic
            .objectives
            .iter()
            .map(|o| {
                let p = self
                    .teaching
                    .mastery
                    .as_ref()
                    .and_then(|m| m.objectives.iter().find(|p| p.objective_id == o.id));
                ObjectiveProgress {
                    objective_id: o.id.clone(),
                    text: o.text.clone(),
                    score: p.map_or(0.0, |p| p.score),
                    evidence_count: p
                        .map_or(0, |p| p.evidence_count.clamp(0, u32::MAX as i64) as u32),
                }
            })
            .collect();
        let _ = transport.send(LessonEvent::Progress { objectives });
    }

    async fn store_message(&self, role: MessageRole, content: &str, item_id: Option<&str>) {
        let new = NewMessage {
            role,
            content: content.to_string(),
            item_id: item_id.map(str::to_string),
            spoken_at_ms: Some(crate::store::now_ms()),
        };
        if let Err(e) = self
            .deps
            .store
            .history()
            .append_message(&self.spec.session_id, new)
            .await
        {
            tracing::warn!(error = %e, "message not stored");
        }
    }
}

fn parse_arguments(arguments: &str) -> Value {
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_string()))
}

/// The part of `text` heard in `heard_ms` of `total_ms`, cut at a word end.
pub(crate) fn heard_text(text: &str, heard_ms: u64, total_ms: u64) -> String {
    if total_ms == 0 || heard_ms == 0 {
        return String::new();
    }
    if heard_ms >= total_ms {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let keep = (chars.len() as u64 * heard_ms / total_ms) as usize;
    let mut cut: String = chars[..keep].iter().collect();
    if keep < chars.len() && !chars[keep].is_whitespace() {
        // Drop a half-heard word.
        match cut.rfind(char::is_whitespace) {
            Some(i) => cut.truncate(i),
            None => cut.clear(),
        }
    }
    cut.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::heard_text;

    #[test]
    fn heard_text_is_proportional_and_cut_at_words() {
        assert_eq!(heard_text("one two three four", 500, 1000), "one two");
        assert_eq!(heard_text("one two three four", 0, 1000), "");
        assert_eq!(heard_text("one two", 1000, 1000), "one two");
        assert_eq!(heard_text("abcdef", 500, 1000), "");
    }
}
