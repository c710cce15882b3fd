//! [`LiveKitTransport`]: the tutor as a participant of the learner's room.
//!
//! Four tasks per lesson:
//! - room events: finds the learner, starts a microphone reader per audio
//!   track they publish, turns mute changes and `lk.chat` text into learner
//!   input, and ends the input when the learner (or the room) goes away;
//! - microphone readers: 48 kHz frames -> 20 ms at 24 kHz -> the session;
//! - playout: 24 kHz tutor audio -> 10 ms frames at 48 kHz -> the WebRTC
//!   source, which releases them in real time;
//! - outbox: the room actions decided by [`Router`], strictly in order
//!   (a segment's stream must open before it is written).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use livekit::ParticipantKind;
use livekit::data_stream::api::{
    SendTextOptions, StreamTextOptions, StreamWriter, TextStreamReader, TextStreamWriter,
};
use livekit::options::TrackPublishOptions;
use livekit::prelude::*;
use livekit::webrtc::audio_frame::AudioFrame;
use livekit::webrtc::audio_source::native::NativeAudioSource;
use livekit::webrtc::audio_source::{AudioSourceOptions, RtcAudioSource};
use livekit::webrtc::audio_stream::native::NativeAudioStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::audio_path::{MicChain, PlayoutChain, PlayoutClock, SAMPLES_PER_10MS_48K};
use super::inbound::{Candidate, MAX_CHAT_BYTES, chat_text, pick_learner};
use super::outbound::{RoomAction, Router, Sender};
use super::{AGENT_STATE_ATTRIBUTE, CHAT_TOPIC, TRANSCRIPTION_TOPIC, TUTOR_TRACK_NAME};
use crate::audio::RATE_48K_HZ;
use crate::transport::ws::INPUT_QUEUE_FRAMES;
use crate::transport::{AgentState, LearnerInput, LessonEvent, Transport, TransportError};

/// How long `close` waits for the tutor's last words and messages to go out.
pub const CLOSE_FLUSH_TIMEOUT_MS: u64 = 5_000;

/// How the tutor joins a room.
#[derive(Debug, Clone)]
pub struct LiveKitOptions {
    /// The learner's identity, when the job names one; otherwise the first
    /// person (not an agent) in the room is the learner.
    pub learner: Option<String>,
    /// How long to wait for the learner to be in the room.
    pub learner_wait: Duration,
    /// Audio the WebRTC source holds before `play` waits, in ms (a multiple
    /// of 10). More absorbs scheduling hiccups; it is dropped on barge-in.
    pub playout_queue_ms: u32,
    /// Ends the lesson cleanly (as if the learner ended it) when it turns
    /// true: the worker is draining.
    pub shutdown: Option<watch::Receiver<bool>>,
}

impl Default for LiveKitOptions {
    fn default() -> Self {
        LiveKitOptions {
            learner: None,
            learner_wait: Duration::from_secs(60),
            playout_queue_ms: 100,
            shutdown: None,
        }
    }
}

/// The tutor could not take its place in the room.
#[derive(Debug, thiserror::Error)]
pub enum LiveKitTransportError {
    /// Joining failed.
    #[error("livekit_connect: could not join the room ({0}); check the LiveKit URL and the token")]
    Connect(String),
    /// The tutor's voice track could not be published.
    #[error("livekit_publish: could not publish the tutor's voice ({0})")]
    Publish(String),
    /// Nobody came.
    #[error("livekit_no_learner: no learner joined the room within {0} s")]
    NoLearner(u64),
    /// The room closed first.
    #[error("livekit_disconnected: the room closed before the learner joined")]
    Disconnected,
    /// Bad options.
    #[error("livekit_options: {0}")]
    Options(String),
}

enum PlayoutCmd {
    Audio {
        generation: u64,
        item_id: Arc<str>,
        pcm: Vec<i16>,
    },
    Done {
        generation: u64,
        item_id: Arc<str>,
    },
}

struct PlayoutShared {
    /// Bumped by each interruption: audio queued before it is dropped.
    generation: AtomicU64,
    clock: Mutex<PlayoutClock>,
}

/// A lesson's seat in a LiveKit room.
pub struct LiveKitTransport {
    room: Arc<Room>,
    learner: String,
    input: mpsc::Receiver<LearnerInput>,
    shutdown: Option<watch::Receiver<bool>>,
    router: Router,
    learner_track: Arc<Mutex<Option<String>>>,
    actions: Option<mpsc::UnboundedSender<RoomAction>>,
    playout_tx: Option<mpsc::UnboundedSender<PlayoutCmd>>,
    playout: Arc<PlayoutShared>,
    source: NativeAudioSource,
    /// The item `play` last queued, and whether it was interrupted.
    current: Option<(Arc<str>, bool)>,
    events_task: JoinHandle<()>,
    outbox_task: Option<JoinHandle<()>>,
    playout_task: Option<JoinHandle<()>>,
    closed: bool,
}

impl Drop for LiveKitTransport {
    fn drop(&mut self) {
        self.events_task.abort();
        if let Some(task) = &self.playout_task {
            task.abort();
        }
    }
}

impl LiveKitTransport {
    /// Joins the room at `url` with `token`, publishes the tutor's voice and
    /// waits for the learner.
    pub async fn connect(
        url: &str,
        token: &str,
        options: LiveKitOptions,
    ) -> Result<Self, LiveKitTransportError> {
        if options.playout_queue_ms == 0 || !options.playout_queue_ms.is_multiple_of(10) {
            return Err(LiveKitTransportError::Options(format!(
                "playout_queue_ms must be a positive multiple of 10, not {}",
                options.playout_queue_ms
            )));
        }
        let (room, events) = Room::connect(url, token, RoomOptions::default())
            .await
            .map_err(|e| LiveKitTransportError::Connect(e.to_string()))?;
        let room = Arc::new(room);
        match Self::start(room.clone(), events, options).await {
            Ok(transport) => Ok(transport),
            Err(e) => {
                let _ = room.close().await;
                Err(e)
            }
        }
    }

    async fn start(
        room: Arc<Room>,
        events: mpsc::UnboundedReceiver<RoomEvent>,
        options: LiveKitOptions,
    ) -> Result<Self, LiveKitTransportError> {
        let local = room.local_participant();
        let mut router = Router::new();

        let (actions, actions_rx) = mpsc::unbounded_channel();
        let learner_name = Arc::new(Mutex::new(String::new()));
        let outbox_task = tokio::spawn(outbox(local.clone(), learner_name.clone(), actions_rx));
        for action in router.route(LessonEvent::AgentState {
            state: AgentState::Connecting,
        }) {
            let _ = actions.send(action);
        }

        let source = NativeAudioSource::new(
            AudioSourceOptions::default(),
            RATE_48K_HZ,
            1,
            options.playout_queue_ms,
        );
        let track = LocalAudioTrack::create_audio_track(
            TUTOR_TRACK_NAME,
            RtcAudioSource::Native(source.clone()),
        );
        let publish = TrackPublishOptions {
            // Frontends look for an agent's voice as its microphone.
            source: TrackSource::Microphone,
            ..Default::default()
        };
        let publication = local
            .publish_track(LocalTrack::Audio(track), publish)
            .await
            .map_err(|e| LiveKitTransportError::Publish(e.to_string()))?;
        router.set_tutor_track(Some(publication.sid().to_string()));

        let (input_tx, input) = mpsc::channel(INPUT_QUEUE_FRAMES);
        let (found_tx, found_rx) = oneshot::channel();
        let learner_track = Arc::new(Mutex::new(None));
        let events_task = tokio::spawn(
            RoomEvents {
                room: room.clone(),
                wanted: options.learner.clone(),
                learner: None,
                found: Some(found_tx),
                input: input_tx,
                learner_track: learner_track.clone(),
                readers: HashMap::new(),
                chats: Vec::new(),
            }
            .run(events),
        );
        let learner = match tokio::time::timeout(options.learner_wait, found_rx).await {
            Ok(Ok(identity)) => identity,
            Ok(Err(_)) => {
                events_task.abort();
                return Err(LiveKitTransportError::Disconnected);
            }
            Err(_) => {
                events_task.abort();
                return Err(LiveKitTransportError::NoLearner(
                    options.learner_wait.as_secs(),
                ));
            }
        };
        *learner_name.lock().expect("learner lock") = learner.clone();
        tracing::info!(room = %room.name(), learner, "learner is in the room");

        let playout = Arc::new(PlayoutShared {
            generation: AtomicU64::new(0),
            clock: Mutex::new(PlayoutClock::new()),
        });
        let (playout_tx, playout_rx) = mpsc::unbounded_channel();
        let playout_task = tokio::spawn(play_out(source.clone(), playout.clone(), playout_rx));

        Ok(LiveKitTransport {
            room,
            learner,
            input,
            shutdown: options.shutdown,
            router,
            learner_track,
            actions: Some(actions),
            playout_tx: Some(playout_tx),
            playout,
            source,
            current: None,
            events_task,
            outbox_task: Some(outbox_task),
            playout_task: Some(playout_task),
            closed: false,
        })
    }

    /// The learner's participant identity.
    pub fn learner_identity(&self) -> &str {
        &self.learner
    }

    /// The room's name.
    pub fn room_name(&self) -> String {
        self.room.name()
    }

    fn generation(&self) -> u64 {
        self.playout.generation.load(Ordering::Acquire)
    }

    /// Hands `cmd` to the playout task; once the transport has closed it, the
    /// lesson hears `Closed`.
    fn send_playout(&self, cmd: PlayoutCmd) -> Result<(), TransportError> {
        self.playout_tx
            .as_ref()
            .ok_or(TransportError::Closed)?
            .send(cmd)
            .map_err(|_| TransportError::Closed)
    }

    fn item(&mut self, item_id: &str) -> (Arc<str>, bool) {
        match &self.current {
            Some((id, cleared)) if &**id == item_id => (id.clone(), *cleared),
            _ => {
                let id: Arc<str> = Arc::from(item_id);
                self.current = Some((id.clone(), false));
                (id, false)
            }
        }
    }
}

/// Waits until `shutdown` is true; never, if its sender is gone.
async fn shutdown_requested(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|down| *down).await.is_err() {
        std::future::pending::<()>().await;
    }
}

impl Transport for LiveKitTransport {
    async fn recv(&mut self) -> Option<LearnerInput> {
        let Some(shutdown) = self.shutdown.as_mut() else {
            return self.input.recv().await;
        };
        let shut_down = tokio::select! {
            biased;
            () = shutdown_requested(shutdown) => None,
            input = self.input.recv() => Some(input),
        };
        match shut_down {
            Some(input) => input,
            None => {
                tracing::info!(room = %self.room.name(), "ending the lesson: the worker is shutting down");
                // Once is enough: the session ends the lesson on it.
                self.shutdown = None;
                Some(LearnerInput::End)
            }
        }
    }

    fn play(&mut self, item_id: &str, pcm: &[i16]) -> Result<(), TransportError> {
        let (item_id, cleared) = self.item(item_id);
        if cleared {
            // Interrupted: late audio of this item is never played.
            return Ok(());
        }
        let generation = self.generation();
        self.send_playout(PlayoutCmd::Audio {
            generation,
            item_id,
            pcm: pcm.to_vec(),
        })
    }

    fn audio_done(&mut self, item_id: &str) -> Result<(), TransportError> {
        let (item_id, cleared) = self.item(item_id);
        if cleared {
            return Ok(());
        }
        let generation = self.generation();
        self.send_playout(PlayoutCmd::Done {
            generation,
            item_id,
        })
    }

    async fn interrupt(&mut self, item_id: &str) -> Option<u32> {
        let known = match self.current.as_mut() {
            Some((id, cleared)) if &**id == item_id => {
                *cleared = true;
                true
            }
            _ => false,
        };
        self.playout.generation.fetch_add(1, Ordering::AcqRel);
        self.source.clear_buffer();
        let now = Instant::now();
        let mut clock = self.playout.clock.lock().expect("playout clock lock");
        clock.on_clear(now);
        match clock.played_ms(item_id, now) {
            Some(ms) => Some(ms),
            // Dropped before any of it reached the source: nothing heard.
            None if known => Some(0),
            None => None,
        }
    }

    fn send(&mut self, event: LessonEvent) -> Result<(), TransportError> {
        let track = self.learner_track.lock().expect("track lock").clone();
        self.router.set_learner_track(track);
        let actions = self.actions.as_ref().ok_or(TransportError::Closed)?;
        for action in self.router.route(event) {
            actions.send(action).map_err(|_| TransportError::Closed)?;
        }
        Ok(())
    }

    async fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(CLOSE_FLUSH_TIMEOUT_MS);
        let learner_here = !self.events_task.is_finished();
        // The tutor's last words (a goodbye) play out unless nobody is left
        // to hear them.
        self.playout_tx = None;
        if let Some(task) = self.playout_task.take() {
            if learner_here {
                let _ = tokio::time::timeout_at(deadline, task).await;
                let queued = {
                    let clock = self.playout.clock.lock().expect("playout clock lock");
                    self.current
                        .as_ref()
                        .and_then(|(id, _)| {
                            let now = Instant::now();
                            Some(
                                clock
                                    .captured_ms(id)?
                                    .saturating_sub(clock.played_ms(id, now)?),
                            )
                        })
                        .unwrap_or(0)
                };
                let _ = tokio::time::timeout_at(
                    deadline,
                    tokio::time::sleep(Duration::from_millis(queued as u64)),
                )
                .await;
            } else {
                task.abort();
            }
        }
        self.actions = None;
        if let Some(task) = self.outbox_task.take() {
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
        self.events_task.abort();
        if let Err(e) = self.room.close().await {
            tracing::debug!(error = %e, "leaving the room");
        }
    }
}

/// Feeds tutor audio to the WebRTC source in 10 ms frames.
async fn play_out(
    source: NativeAudioSource,
    shared: Arc<PlayoutShared>,
    mut commands: mpsc::UnboundedReceiver<PlayoutCmd>,
) {
    let mut chain = PlayoutChain::new();
    let mut chain_generation = 0;
    let mut frames: Vec<Vec<i16>> = Vec::new();
    while let Some(command) = commands.recv().await {
        let (generation, item_id, done) = match command {
            PlayoutCmd::Audio {
                generation,
                item_id,
                pcm,
            } => {
                if generation != chain_generation {
                    chain.reset();
                    chain_generation = generation;
                }
                chain.push(&pcm, |f| frames.push(f.to_vec()));
                (generation, item_id, false)
            }
            PlayoutCmd::Done {
                generation,
                item_id,
            } => {
                if generation == chain_generation {
                    chain.finish(|f| frames.push(f.to_vec()));
                }
                (generation, item_id, true)
            }
        };
        for frame in frames.drain(..) {
            if shared.generation.load(Ordering::Acquire) != generation {
                // Interrupted meanwhile.
                break;
            }
            shared.clock.lock().expect("playout clock lock").on_capture(
                &item_id,
                frame.len(),
                Instant::now(),
            );
            let frame = AudioFrame {
                data: Cow::Owned(frame),
                sample_rate: RATE_48K_HZ,
                num_channels: 1,
                samples_per_channel: SAMPLES_PER_10MS_48K as u32,
            };
            if let Err(e) = source.capture_frame(&frame).await {
                tracing::warn!(error = %e, "tutor audio frame dropped");
            }
        }
        frames.clear();
        if done {
            tracing::trace!(item_id = %item_id, "tutor audio queued in full");
        }
    }
}

/// Sends the room actions in order.
async fn outbox(
    local: LocalParticipant,
    learner: Arc<Mutex<String>>,
    mut actions: mpsc::UnboundedReceiver<RoomAction>,
) {
    let mut streams: HashMap<String, TextStreamWriter> = HashMap::new();
    while let Some(action) = actions.recv().await {
        let result: Result<(), String> = match action {
            RoomAction::SetAgentState(state) => local
                .set_attributes(HashMap::from([(
                    AGENT_STATE_ATTRIBUTE.to_string(),
                    state.to_string(),
                )]))
                .await
                .map_err(|e| e.to_string()),
            RoomAction::SendText {
                topic,
                text,
                attributes,
                sender,
            } => {
                let mut options =
                    SendTextOptions::new_with_topic(topic).with_attributes(attributes);
                if sender == Sender::Learner {
                    let learner = learner.lock().expect("learner lock").clone();
                    options = options.with_sender_identity(learner);
                }
                local
                    .send_text(&text, options)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            RoomAction::OpenStream {
                segment_id,
                attributes,
            } => {
                let options = StreamTextOptions::new_with_topic(TRANSCRIPTION_TOPIC)
                    .with_attributes(attributes);
                match local.stream_text(options).await {
                    Ok(writer) => {
                        streams.insert(segment_id, writer);
                        Ok(())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            RoomAction::WriteStream { segment_id, text } => match streams.get(&segment_id) {
                Some(writer) => writer.write(&text).await.map_err(|e| e.to_string()),
                None => Ok(()),
            },
            RoomAction::CloseStream {
                segment_id,
                attributes,
            } => match streams.remove(&segment_id) {
                Some(writer) => writer
                    .close_with_options(None, Some(attributes))
                    .await
                    .map_err(|e| e.to_string()),
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "a message to the room was not sent");
        }
    }
    for (_, writer) in streams {
        let _ = writer.close().await;
    }
}

/// The room-events task's state.
struct RoomEvents {
    room: Arc<Room>,
    wanted: Option<String>,
    learner: Option<String>,
    found: Option<oneshot::Sender<String>>,
    input: mpsc::Sender<LearnerInput>,
    learner_track: Arc<Mutex<Option<String>>>,
    readers: HashMap<String, JoinHandle<()>>,
    chats: Vec<JoinHandle<()>>,
}

impl RoomEvents {
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<RoomEvent>) {
        self.find_learner();
        while let Some(event) = events.recv().await {
            if !self.on_event(event).await {
                break;
            }
        }
        tracing::info!(room = %self.room.name(), "the learner left the room");
        for (_, reader) in self.readers.drain() {
            reader.abort();
        }
        for chat in self.chats.drain(..) {
            chat.abort();
        }
        // Dropping `input` ends the lesson (as a closed WebSocket does).
    }

    fn is_learner(&self, identity: &str) -> bool {
        self.learner.as_deref() == Some(identity)
    }

    /// Chooses the learner among the participants present, once.
    fn find_learner(&mut self) {
        if self.learner.is_some() {
            return;
        }
        let mut people: Vec<RemoteParticipant> =
            self.room.remote_participants().into_values().collect();
        // The earliest arrival is "first"; identity breaks ties.
        people.sort_by_key(|p| (p.joined_at(), p.identity().to_string()));
        let identities: Vec<String> = people.iter().map(|p| p.identity().to_string()).collect();
        let candidates = people
            .iter()
            .zip(&identities)
            .map(|(p, identity)| Candidate {
                identity,
                is_agent: matches!(p.kind(), ParticipantKind::Agent | ParticipantKind::Egress),
            });
        let Some(chosen) = pick_learner(candidates, self.wanted.as_deref()).map(str::to_string)
        else {
            return;
        };
        let participant = people
            .into_iter()
            .find(|p| p.identity().to_string() == chosen)
            .expect("chosen among them");
        self.learner = Some(chosen.clone());
        if let Some(found) = self.found.take() {
            let _ = found.send(chosen);
        }
        for publication in participant.track_publications().into_values() {
            if let Some(RemoteTrack::Audio(track)) = publication.track() {
                self.start_reader(&publication, track);
            }
            if publication.kind() == TrackKind::Audio && publication.is_muted() {
                let _ = self.input.try_send(LearnerInput::Mute(true));
            }
        }
    }

    fn start_reader(&mut self, publication: &RemoteTrackPublication, track: RemoteAudioTrack) {
        if publication.source() == TrackSource::ScreenshareAudio {
            return;
        }
        let sid = publication.sid().to_string();
        if self.readers.contains_key(&sid) {
            return;
        }
        *self.learner_track.lock().expect("track lock") = Some(sid.clone());
        let input = self.input.clone();
        self.readers
            .insert(sid, tokio::spawn(read_microphone(track, input)));
    }

    /// Handles one event; `false` once the lesson's input is over.
    async fn on_event(&mut self, event: RoomEvent) -> bool {
        match event {
            RoomEvent::ParticipantConnected(_) => self.find_learner(),
            RoomEvent::ParticipantDisconnected(participant)
                if self.is_learner(participant.identity().as_str()) =>
            {
                return false;
            }
            RoomEvent::Disconnected { reason } => {
                tracing::info!(?reason, "disconnected from the room");
                return false;
            }
            RoomEvent::TrackSubscribed {
                track: RemoteTrack::Audio(track),
                publication,
                participant,
            } if self.is_learner(participant.identity().as_str()) => {
                self.start_reader(&publication, track);
            }
            RoomEvent::TrackUnsubscribed {
                publication,
                participant,
                ..
            } if self.is_learner(participant.identity().as_str()) => {
                if let Some(reader) = self.readers.remove(&publication.sid().to_string()) {
                    reader.abort();
                }
            }
            RoomEvent::TrackMuted {
                participant,
                publication,
            } if self.is_learner(participant.identity().as_str())
                && publication.kind() == TrackKind::Audio =>
            {
                let _ = self.input.send(LearnerInput::Mute(true)).await;
            }
            RoomEvent::TrackUnmuted {
                participant,
                publication,
            } if self.is_learner(participant.identity().as_str())
                && publication.kind() == TrackKind::Audio =>
            {
                let _ = self.input.send(LearnerInput::Mute(false)).await;
            }
            RoomEvent::TextStreamOpened {
                reader,
                topic,
                participant_identity,
            } if topic == CHAT_TOPIC && self.is_learner(participant_identity.as_str()) => {
                if let Some(reader) = reader.take() {
                    self.chats.retain(|c| !c.is_finished());
                    self.chats
                        .push(tokio::spawn(read_chat(reader, self.input.clone())));
                }
            }
            RoomEvent::ChatMessage {
                message,
                participant: Some(participant),
            } if self.is_learner(participant.identity().as_str()) => {
                accept_chat(&message.message, &self.input).await;
            }
            _ => {}
        }
        true
    }
}

/// Learner microphone -> 20 ms frames at 24 kHz for the session.
async fn read_microphone(track: RemoteAudioTrack, input: mpsc::Sender<LearnerInput>) {
    let mut stream = NativeAudioStream::new(track.rtc_track(), RATE_48K_HZ as i32, 1);
    let mut chain = MicChain::new();
    let mut frames: Vec<Vec<i16>> = Vec::new();
    let mut warned = false;
    while let Some(frame) = stream.next().await {
        if let Err(e) = chain.push(frame.sample_rate, frame.num_channels, &frame.data, |f| {
            frames.push(f.to_vec())
        }) {
            if !warned {
                tracing::warn!(error = %e, "learner audio dropped");
                warned = true;
            }
            continue;
        }
        for pcm in frames.drain(..) {
            if input.send(LearnerInput::Audio(pcm)).await.is_err() {
                return;
            }
        }
    }
}

/// One `lk.chat` text stream -> a typed learner message.
async fn read_chat(mut reader: TextStreamReader, input: mpsc::Sender<LearnerInput>) {
    let mut text = String::new();
    while let Some(chunk) = reader.next().await {
        match chunk {
            Ok(chunk) => {
                if text.len() + chunk.len() > MAX_CHAT_BYTES {
                    tracing::debug!("a chat message over {MAX_CHAT_BYTES} bytes was ignored");
                    return;
                }
                text.push_str(&chunk);
            }
            Err(e) => {
                tracing::debug!(error = %e, "a chat message did not arrive whole");
                return;
            }
        }
    }
    accept_chat(&text, &input).await;
}

async fn accept_chat(raw: &str, input: &mpsc::Sender<LearnerInput>) {
    match chat_text(raw) {
        Ok(text) => {
            let _ = input.send(LearnerInput::Text(text)).await;
        }
        Err(e) => tracing::debug!(error = %e, "chat message ignored"),
    }
}
